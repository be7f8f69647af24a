"""``ChatBedrockStream``: the LangChain chat model. Thin: its configuration, and the wiring of
request (``request.call``) -> clients (``_clients``) -> transport -> one call's chunks and
result (``_run``) into LangChain's sync and async entry points."""

from __future__ import annotations

import functools
import threading
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import LC_ID_PREFIX
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils import secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from . import _clients
from ._client import build_client
from ._error_boundary import map_errors
from ._model_setup import derive_settings, description_with, prepare_inputs, thinking_on
from ._request import create_cache_point
from ._request.call import (
    CallSettings,
    call_request,
    effective_fields,
    for_converse,
    resolve_choice,
)
from ._retry import RetryPolicy, resolve_policy
from ._run import Run, achunks, chunks
from ._tools import binding
from ._transport import StreamHandle, aconverse, aconverse_stream, converse, converse_stream
from .models import ModelDescription

__all__ = ["ChatBedrockStream"]


def _message_id(run_manager: Any) -> str | None:
    """The id LangChain gives a run's message, so streamed chunks and the final message match
    (LangGraph groups chunks by it and does not repeat an answer it has streamed)."""
    return f"{LC_ID_PREFIX}-{run_manager.run_id}" if run_manager else None


class ChatBedrockStream(BaseChatModel):
    """Amazon Bedrock chat models through Converse / ConverseStream, streaming first.

    A drop-in replacement for langchain-aws's ``ChatBedrockConverse``: the constructor takes
    the same names and aliases, messages have the same content format. Streaming decodes
    the event stream itself, emits one chunk for every burst of events already received,
    and builds final messages once, so it costs less per event; nothing Bedrock sends is
    dropped (unknown events and members are kept), and every failure is a typed
    ``BedrockError`` carrying what had already arrived.

    Example:
        .. code-block:: python

            from langchain_bedrock_stream import ChatBedrockStream

            model = ChatBedrockStream(model="us.anthropic.claude-sonnet-4-20250514-v1:0")
            for chunk in model.stream("Why is the sky blue?"):
                print(chunk.text, end="", flush=True)
    """

    # Unknown constructor arguments are errors, so a typo (``max_token=``) is not ignored.
    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, extra="forbid")

    # --- which model, where, as whom ---
    model_id: str = Field(alias="model")
    """Model id, cross-region / global inference profile id, or ARN."""
    base_model_id: str | None = Field(default=None, alias="base_model")
    """The foundation model behind an application inference profile ARN (used for pricing)."""
    provider: str = ""
    """``anthropic``, ``amazon``, ...: read from the model id (or ``base_model_id``) when not
    given; ``""`` when the id names no model. The family facts come from the model
    description (``model.description``), not from this field."""
    region_name: str | None = None
    """AWS region; when not given, filled in at construction from the ARN, ``AWS_REGION`` /
    ``AWS_DEFAULT_REGION`` or a given ``client``, else the AWS profile's is used. With none
    at all (and no ``endpoint_url``) the first call raises ``ValueError``."""
    credentials_profile_name: str | None = Field(default=None, exclude=True)
    """Named profile from ``~/.aws/credentials``."""
    aws_access_key_id: SecretStr | None = Field(
        default_factory=secret_from_env("AWS_ACCESS_KEY_ID", default=None)
    )
    aws_secret_access_key: SecretStr | None = Field(
        default_factory=secret_from_env("AWS_SECRET_ACCESS_KEY", default=None)
    )
    aws_session_token: SecretStr | None = Field(
        default_factory=secret_from_env("AWS_SESSION_TOKEN", default=None)
    )
    bedrock_api_key: SecretStr | None = Field(default=None, alias="api_key")
    """A Bedrock API key, sent as a bearer token instead of signing with AWS credentials
    (boto3 also reads one from ``AWS_BEARER_TOKEN_BEDROCK`` by itself)."""
    endpoint_url: str | None = Field(default=None, alias="base_url")
    """Custom endpoint (VPC endpoint, proxy, or the local simulator)."""
    config: Any = None
    """A ``botocore.config.Config`` merged over ours."""
    user_client: Any = Field(default=None, alias="client", exclude=True)
    """The ``client=`` given to the constructor (read it as ``model.client``)."""
    bedrock_client: Any = Field(default=None, exclude=True)
    """A ``bedrock`` (control plane) client for ``resolve_inference_profile``; built from
    the model's credentials and Region when needed and not given."""
    resolve_inference_profile: bool = False
    """With an application inference profile ARN and no ``base_model_id``: ask Bedrock
    once which foundation model the profile routes to (``GetInferenceProfile``, before the
    first call, once per ARN in the process; in a worker thread on async paths), and use it
    as ``base_model_id`` (model facts, ``model_name``, LangSmith name, cost). Needs the
    ``bedrock:GetInferenceProfile`` permission. Off by default: no control-plane call."""
    default_headers: Mapping[str, str] | None = None
    """Extra HTTP headers sent with every request."""

    # --- inference parameters (each also per call or with ``bind``: ``request.call.PER_CALL``) ---
    temperature: float | None = None
    """``inferenceConfig.temperature``."""
    max_tokens: int | None = None
    """``inferenceConfig.maxTokens``: the most tokens the answer may use."""
    top_p: float | None = None
    """``inferenceConfig.topP``."""
    stop_sequences: list[str] | None = Field(default=None, alias="stop")
    """``inferenceConfig.stopSequences``; a call's ``stop`` replaces them."""
    system: list[str | dict[str, Any]] | None = None
    """System prompt blocks prepended to every request."""
    additional_model_request_fields: dict[str, Any] | None = None
    """Model-specific request fields (``additionalModelRequestFields``), e.g.
    ``{"top_k": 50}``; its keys win over those ``reasoning_effort`` / ``thinking_budget`` add."""
    additional_model_response_field_paths: list[str] | None = None
    """JSON pointers of model-specific response fields to return (e.g. ``["/stop_sequence"]``);
    they arrive in ``response_metadata["additionalModelResponseFields"]``."""
    guardrail_config: dict[str, Any] | None = Field(default=None, alias="guardrails")
    """``guardrailConfig``: ``guardrailIdentifier``, ``guardrailVersion``, ``trace``
    (``enabled``/``enabled_full``: the assessment arrives in ``response_metadata["trace"]``)
    and, for streaming, ``streamProcessingMode`` (``sync``/``async``; left out of non-streamed
    calls, which reject it). snake_case keys are accepted."""
    performance_config: Mapping[str, Any] | str | None = None
    """``performanceConfig``, e.g. ``{"latency": "optimized"}`` or just ``"optimized"``."""
    service_tier: Literal["priority", "default", "flex", "reserved"] | None = None
    """``serviceTier.type``."""
    request_metadata: dict[str, str] | None = None
    """``requestMetadata``: key-value tags recorded with the invocation (for log filtering)."""
    output_config: dict[str, Any] | None = None
    """``outputConfig``, e.g. a native JSON-schema ``textFormat`` (a dict schema is
    serialised for you); ``with_structured_output(method="json_schema")`` sets it."""
    prompt_variables: dict[str, Any] | None = None
    """``promptVariables`` for a Bedrock Prompt Management ARN used as the model id:
    ``{"topic": "cats"}`` or ``{"topic": {"text": "cats"}}``."""
    reasoning_effort: Literal["none", "low", "medium", "high", "xhigh", "max"] | None = None
    """Turn reasoning on with a family-neutral level. Anthropic Claude 4.6 and later: adaptive
    thinking with ``output_config.effort``; Claude 3.7 to 4.5: thinking with a budget of
    1024 / 4096 / 16384 / 24576 / 32000 tokens for low / medium / high / xhigh / max; Amazon
    Nova 2: ``reasoningConfig.maxReasoningEffort`` (low/medium/high); OpenAI gpt-oss,
    DeepSeek V3, Kimi, GLM: ``reasoning_effort``; OpenAI GPT-5 and later:
    ``reasoning.effort``. Levels are checked against ``profile["reasoning_effort_levels"]``.
    The fields are folded into ``additional_model_request_fields`` at construction (its own
    keys win). Other models raise ``ValueError`` at construction (use
    ``additional_model_request_fields``). Claude 3.7 to 4.5 thinking rejects forced tool
    choice (downgraded to ``auto``) and non-default ``temperature``/``top_k``."""
    thinking_budget: int | None = None
    """Anthropic Claude extended thinking with this many budget tokens (at least 1024):
    ``thinking: {"type": "enabled", "budget_tokens": N}``. ``max_tokens`` must exceed it and
    defaults to the budget plus 4096. Give either this or ``reasoning_effort``."""
    cache_system: bool = False
    """Put a ``cachePoint`` after the system prompt (prompt caching)."""
    cache_tools: bool = False
    """Put a ``cachePoint`` after the tool definitions (prompt caching)."""
    cache_messages: bool = False
    """Keep a growing conversation cached: a ``cachePoint`` at the end of the conversation and
    one where the previous call's conversation ended, so each call reads what the one before
    wrote (within the 4 cache points a request may hold)."""
    cache_ttl: Literal["5m", "1h"] | None = None
    """Time to live of the cache points ``cache_system`` / ``cache_tools`` / ``cache_messages``
    add (the model's default when unset). A request holds at most 4 cache points in all."""
    count_tokens_via_api: bool = False
    """``get_num_tokens_from_messages`` asks Bedrock's CountTokens API (a network call,
    Anthropic Claude models) instead of estimating locally."""
    guard_last_turn_only: bool = False
    """Send the last user turn's text as ``guardContent``, so the guardrail assesses only
    it rather than the whole conversation (needs ``guardrail_config``)."""
    raw_blocks: list[dict[str, Any]] | None = None
    """Converse ``messages`` sent as given instead of the converted input (as in
    ``ChatBedrockConverse``): the call's messages and system prompt are then not sent."""
    supports_tool_choice_values: Sequence[Literal["auto", "any", "tool"]] | None = None
    """The ``tool_choice`` kinds the model accepts; from the model's family profile when unset
    (only ``auto`` while thinking is on for families that refuse forced tool use then). A
    choice outside them raises before any request, except a forced one while thinking,
    which becomes ``auto`` with a warning; structured output then offers its tool with
    automatic choice."""

    # --- behaviour ---
    streaming: bool = False
    """When True, ``invoke`` uses ConverseStream (callbacks see every token)."""
    stream_chunking: Literal["burst", "event"] = "burst"
    """``burst``: one chunk for all events already received; ``event``: one chunk per event."""
    max_retries: int | None = None
    """Retries before the first content arrives (default 3).

    Throttling, 5xx, ``ModelNotReady``, timeouts and connection errors are retried, as HTTP
    errors or as exception frames at the start of the stream, with exponential backoff and
    jitter; never after content reached the caller. One retry layer runs: when ``config``
    turns botocore's own retries on (or a ready ``client`` retries), ours step aside, and
    asking for both raises ``ValueError``."""
    retry_policy: RetryPolicy | None = Field(default=None, exclude=True)
    """Backoff details (delays, total time budget, a sleep hook); ``max_retries`` overrides
    its count when both are given."""
    resume_on_stream_error: bool = False
    """Continue a text answer cut short by a transient failure (dropped connection,
    truncated stream, 5xx or throttling exception frame) with a new request that sends the
    partial text back as an assistant prefill; the continuation is stitched onto the same
    stream without repeating text. Only for text-only partial answers (not after tool calls,
    reasoning, citations or other blocks); the model must accept an assistant prefill;
    ``max_tokens`` applies to each request; usage reports the continuation request."""
    timeout: float | None = None
    """Socket read timeout in seconds."""

    _client_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _client_cache: Any = PrivateAttr(default=None)
    _client_forks: int = PrivateAttr(default=0)  # client.forks when the client was built
    _explicit_fields: Any = PrivateAttr(default=None)
    """``additional_model_request_fields`` as given, before ``reasoning_effort`` was folded in."""
    _folded_fields: Any = PrivateAttr(default=None)
    _derived_choices: bool = PrivateAttr(default=False)
    _control_built: bool = PrivateAttr(default=False)
    _user_profile: Any = PrivateAttr(default=None)
    """The ``profile`` given to the constructor, whose facts win over the packaged data."""

    @model_validator(mode="before")
    @classmethod
    def _derive_inputs(cls, values: Any) -> Any:
        """Provider, region, ``disable_streaming`` from the model id (see ``model_setup``)."""
        if isinstance(values, dict):
            return prepare_inputs(values, cls)
        return values

    @model_validator(mode="after")
    def _derive_settings(self) -> ChatBedrockStream:
        """Checks, ``profile``, tool choices and reasoning fields (see ``model_setup``)."""
        derive_settings(self)
        return self

    @property
    def description(self) -> ModelDescription:
        """What this package knows about the model (see ``langchain_bedrock_stream.models``),
        with the facts of a ``profile`` given to the constructor over it."""
        return description_with(self.model_id, self.base_model_id, self._user_profile)

    @property
    def thinking(self) -> bool:
        """Whether requests leave the model thinking: ``reasoning_effort``,
        ``thinking_budget``, a ``thinking`` request field, or the model's own default."""
        return thinking_on(self.description, self._effective_fields())

    @property
    def client(self) -> Any:
        """The ``bedrock-runtime`` boto3 client: the one given, else built on first use
        (no network call; tests may patch ``model.client.converse``)."""
        return self._get_client()

    @client.setter
    def client(self, value: Any) -> None:
        self.user_client = value

    # --- LangChain identity ---

    @property
    def _llm_type(self) -> str:
        return "amazon_bedrock_converse_stream"

    @property
    def model(self) -> str:
        """The model id (alias kept for ``ChatBedrockConverse`` code that reads ``.model``)."""
        return self.model_id

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "region_name": self._region(),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "stop_sequences": self.stop_sequences,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """LangSmith's run parameters: ``ls_model_name`` is the foundation model
        (``base_model_id`` when given, so an application inference profile is priced as its
        model); ``ls_invocation_params`` carries ``provider`` and the Region, also when only
        the client or the AWS profile knows it. Sampling values the model's profile says it
        rejects (and that are therefore not sent) are not reported."""
        params = LangSmithParams(
            ls_provider="amazon_bedrock",
            ls_model_name=kwargs.get("model")
            or kwargs.get("model_id")
            or self.base_model_id
            or self.model_id,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None and (self.profile or {}).get("temperature") is not False:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stop = stop or kwargs.get("stop") or self.stop_sequences
        if stop:
            params["ls_stop"] = [stop] if isinstance(stop, str) else list(stop)
        invocation: dict[str, Any] = {}
        if self.provider:
            invocation["provider"] = self.provider
        region = _clients.known_region(self)
        if region is not None:
            invocation["region_name"] = region
        params["ls_invocation_params"] = invocation  # type: ignore[typeddict-unknown-key]
        return params

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """The model serializes with ``dumpd`` (secrets as references, never values) and loads
        with ``load(data, allowed_objects=[ChatBedrockStream],
        valid_namespaces=["langchain_bedrock_stream"])``."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """The module path ``load`` imports the class from."""
        return ["langchain_bedrock_stream", "chat_model"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {
            "aws_access_key_id": "AWS_ACCESS_KEY_ID",
            "aws_secret_access_key": "AWS_SECRET_ACCESS_KEY",
            "aws_session_token": "AWS_SESSION_TOKEN",
            "bedrock_api_key": "AWS_BEARER_TOKEN_BEDROCK",
        }

    def __getstate__(self) -> dict[Any, Any]:
        if self.user_client is not None:
            raise TypeError(
                f"a {type(self).__name__} built with client= cannot be pickled: a boto3 "
                "client does not pickle, and a copy without it would call another account "
                "or Region. Build the model from region_name / credentials_profile_name / "
                "endpoint_url instead, and its own client is rebuilt after unpickling."
            )
        return _clients.without_clients(super().__getstate__())

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._client_lock = threading.Lock()

    # --- the client (see ``_clients``) ---

    def _region(self) -> str | None:
        return _clients.region(self)

    def _get_client(self) -> Any:
        return _clients.get_client(self, build_client)

    def _control_client(self) -> Any:
        return _clients.control_client(self)

    @property
    def effective_retry_policy(self) -> RetryPolicy:
        """The retry policy calls use: ``retry_policy`` with ``max_retries`` applied, or
        none of ours when botocore's own retries are on (see ``max_retries``)."""
        return self._policy()

    def converse_request(
        self, messages: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The Converse request this model sends for ``messages`` with per-call ``kwargs``
        (the same ones ``invoke`` takes, e.g. ``tools=``): every parameter resolved in one
        place. Nothing is sent; raises as ``invoke`` would for bad input."""
        messages = self._convert_input(messages).to_messages()
        return call_request(messages, stop, kwargs, self._settings())

    def _policy(self) -> RetryPolicy:
        policy = resolve_policy(
            self.retry_policy,
            max_retries=self.max_retries,
            config=self.config,
            client=self.user_client,
        )
        if self.rate_limiter is not None and policy.rate_limiter is None:
            # Retries take their turn from the model's limiter, as the first attempt did.
            policy = replace(policy, rate_limiter=self.rate_limiter)
        return policy

    # --- request (see ``request.call``) ---

    def _settings(self) -> CallSettings:
        """This model's settings as the request assembly reads them."""
        fields = self.additional_model_request_fields
        return CallSettings.of(
            self,
            owner=type(self).__name__,
            description=self.description,
            # Without what ``reasoning_effort`` folded in at construction: the request
            # builder adds the reasoning fields of the call.
            additional_model_request_fields=(
                self._explicit_fields
                if fields is not None and fields is self._folded_fields
                else fields
            ),
            fields_with_reasoning=fields,
        )

    def _effective_fields(self) -> dict[str, Any]:
        """The request fields with what ``reasoning_effort`` / ``thinking_budget`` add."""
        return effective_fields(self._settings())

    # --- one call (see ``_run``) ---

    def _stream_options(self, run: Run) -> dict[str, Any]:
        return {
            "policy": self._policy(),
            "region": run.region,
            "handle": run.handle,
            "per_event": self.stream_chunking == "event",
            "resume": self.resume_on_stream_error,
        }

    def _start(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], Run]:
        settings = self._settings()
        request = call_request(messages, stop, kwargs, settings)
        self._get_client()  # built (once) before the clock starts: timing is the call's own
        model_id = request["modelId"]
        name = self.base_model_id if self.base_model_id and model_id == self.model_id else None
        run = Run(
            model_id,
            handle=StreamHandle(),
            model_name=name or model_id,
            region=self._region(),
            priced_as=self.base_model_id,
            inline_thinking=settings.description.profile.inline_thinking,
        )
        return request, run

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        _clients.resolve_profile(self)
        request, run = self._start(messages, stop, kwargs)
        made = self._chunks(request, run)
        try:
            for chunk, text in made:
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        finally:
            made.close()
            run.handle.cancel()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        await _clients.aget_client(self, build_client)
        await _clients.aresolve_profile(self)
        request, run = self._start(messages, stop, kwargs)
        async for chunk, text in self._achunks(request, run):
            if run_manager:
                await run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

    def _chunks(
        self, request: dict[str, Any], run: Run
    ) -> Generator[tuple[ChatGenerationChunk, str], None, None]:
        client, options = self._get_client(), self._stream_options(run)  # bad settings raise
        yield from chunks(run, converse_stream(client, request, **options))

    def _achunks(
        self, request: dict[str, Any], run: Run
    ) -> AsyncIterator[tuple[ChatGenerationChunk, str]]:
        client, options = self._get_client(), self._stream_options(run)  # bad settings raise
        return achunks(run, aconverse_stream(client, request, **options))

    def _should_stream(
        self,
        *,
        async_api: bool,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> bool:
        # stream()/astream() ask with stream=True; invoke() always comes to _generate, which
        # streams itself when wanted and builds the final message once from the accumulator.
        if kwargs.get("stream"):
            return super()._should_stream(async_api=async_api, run_manager=run_manager, **kwargs)
        return False

    def _streaming_disabled(self, **kwargs: Any) -> bool:
        """LangChain's rule, plus a call's own ``disable_streaming`` (``bind_tools`` sets it
        for system tools) and tools bound as a ready ``toolConfig``."""
        switch = kwargs.get("disable_streaming", self.disable_streaming)
        if switch is True:
            return True
        config = kwargs.get("toolConfig") or kwargs.get("tool_config")
        if switch == "tool_calling" and (kwargs.get("tools") or (config or {}).get("tools")):
            return True
        return super()._streaming_disabled(**kwargs)

    def _wants_stream(self, run_manager: Any, kwargs: dict[str, Any]) -> bool:
        if self._streaming_disabled(**kwargs):
            return False
        if self.streaming:
            return True
        handlers = run_manager.handlers if run_manager else []
        return any(_wants_tokens(h) for h in handlers)

    def _converse(self, request: dict[str, Any], run: Run) -> ChatResult:
        with run.boundary():
            run.response, run.handle.request_id = converse(
                self._get_client(), for_converse(request), policy=self._policy(), region=run.region
            )
            return run.result()

    async def _aconverse(self, request: dict[str, Any], run: Run) -> ChatResult:
        with run.boundary():
            run.response, run.handle.request_id = await aconverse(
                self._get_client(), for_converse(request), policy=self._policy(), region=run.region
            )
            return run.result()

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        _clients.resolve_profile(self)
        request, run = self._start(messages, stop, kwargs)
        if not self._wants_stream(run_manager, kwargs):
            return self._converse(request, run)
        message_id = _message_id(run_manager)
        for chunk, text in self._chunks(request, run):
            if run_manager:
                chunk.message.id = message_id
                run_manager.on_llm_new_token(text, chunk=chunk)
        with run.boundary():
            return run.result(message_id)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        await _clients.aget_client(self, build_client)
        await _clients.aresolve_profile(self)
        request, run = self._start(messages, stop, kwargs)
        if not self._wants_stream(run_manager, kwargs):
            return await self._aconverse(request, run)
        message_id = _message_id(run_manager)
        async for chunk, text in self._achunks(request, run):
            if run_manager:
                chunk.message.id = message_id
                await run_manager.on_llm_new_token(text, chunk=chunk)
        with run.boundary():
            return run.result(message_id)

    # --- tools and structured output ---

    @classmethod
    def create_cache_point(
        cls, cache_type: str = "default", ttl: str | None = None
    ) -> dict[str, Any]:
        """A ``cachePoint`` block for message content, system content or a tool list."""
        return create_cache_point(cache_type, ttl)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: Any = None,
        strict: bool | None = None,
        response_format: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (LangChain tools, pydantic models, functions, JSON schemas, Converse
        ``toolSpec``/``systemTool`` dicts, system tool names such as ``"nova_grounding"``).

        ``tool_choice``: "auto", "any"/"required"/True, a tool name, or "none" (no tool may
        be called: Converse has no such choice, so the request carries no tools and tool
        history goes as text). A forced choice the model refuses while thinking is on
        becomes "auto" with a warning; one it never takes raises ``ValueError``.
        ``response_format`` (OpenAI ``json_schema`` form, as agents pass it) asks for
        Bedrock's native structured output alongside the tools.

        As with ``ChatBedrockConverse``, the binding holds ``tools`` and ``tool_choice``
        (so ``disable_streaming="tool_calling"`` sees them), or ``toolConfig`` when system
        tools are among them (those calls go through Converse).
        """
        if response_format is not None:
            kwargs["response_format"] = response_format
        resolve = functools.partial(resolve_choice, settings=self._settings())
        bound = binding(tools, tool_choice=tool_choice, strict=strict, resolve=resolve)
        if "disable_streaming" in bound and "disable_streaming" in kwargs:
            bound.pop("disable_streaming")
        return self.bind(**bound, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: Literal["function_calling", "json_schema", "json_mode"] = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Answers parsed into ``schema`` (a pydantic model, TypedDict or JSON schema).

        ``function_calling`` forces a tool named after the schema (automatic choice, with a
        warning, when Claude thinking is on: Anthropic rejects forced tool use with it);
        ``json_schema`` uses Bedrock's native ``outputConfig.textFormat`` JSON schema;
        ``json_mode`` parses a JSON answer the prompt asked for. ``include_raw=True`` gives
        ``{"raw", "parsed", "parsing_error"}``; streaming yields growing partial objects.
        """
        from ._structured import with_structured_output

        return with_structured_output(
            self, schema, method=method, include_raw=include_raw, strict=strict, **kwargs
        )

    # --- token counting ---

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Input tokens of ``messages`` (and ``tools``) as this model would send them.

        A local estimate by default (no network); with ``count_tokens_via_api=True``,
        Bedrock's CountTokens API answers (a network call; Anthropic Claude models).
        """
        from ._tokens import count_message_tokens

        with map_errors(model_id=self.model_id, region=self._region(), langchain=True):
            return count_message_tokens(self, messages, tools)

    def get_num_tokens(self, text: str) -> int:
        """Estimated tokens of ``text`` (local, no tokenizer download)."""
        from ._tokens import estimate_text_tokens

        return estimate_text_tokens(text)


def _wants_tokens(handler: Any) -> bool:
    """True for LangChain's streaming tracers (``astream_events``, LangGraph's ``messages``
    mode), for which ``invoke()`` streams. langchain-core recognises them by these two methods
    (a runtime-checkable protocol in a private module); checking the methods here keeps
    ``import langchain_bedrock_stream`` working whatever becomes of that module."""
    return callable(getattr(handler, "tap_output_iter", None)) and callable(
        getattr(handler, "tap_output_aiter", None)
    )
