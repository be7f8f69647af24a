"""``ChatBedrockStream``: the LangChain chat model. Thin: it wires request -> client ->
accumulator -> bridge, and owns only configuration and the sync/async I/O edge."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import LC_ID_PREFIX
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils import secret_from_env
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from . import pricing
from ._threads import run_in_thread
from .accumulator import Accumulator, Delta, StreamResponse
from .bridge import chunk_from_deltas, final_chunk, message_from_response
from .client import ClientSettings, build_client
from .errors import BedrockError, InputConversionError
from .request import base_model_name, build_request
from .retry import RetryPolicy, resolve_policy
from .tools import (
    check_tool_choice,
    convert_tool_choice,
    convert_tools,
    tool_config,
    tool_names,
)
from .transport import StreamHandle, aconverse_stream, converse, converse_stream

__all__ = ["ChatBedrockStream"]

_PER_CALL = {
    "temperature",
    "max_tokens",
    "top_p",
    "stop",
    "stop_sequences",
    "model",
    "model_id",
    "tools",
    "tool_choice",
    "tool_config",
    "additional_model_request_fields",
    "additional_model_response_field_paths",
    "guardrail_config",
    "performance_config",
    "service_tier",
    "request_metadata",
    "prompt_variables",
    "output_config",
    "reasoning_effort",
    "thinking_budget",
    "cache_system",
    "cache_tools",
    "cache_ttl",
    "stream",
}


def _guard_last_user_turn(messages: list[dict[str, Any]]) -> None:
    """Wrap the text of the last user turn in ``guardContent`` blocks, in place."""
    for message in reversed(messages):
        if message.get("role") == "user":
            message["content"] = [
                {"guardContent": {"text": {"text": block["text"]}}}
                if set(block) == {"text"}
                else block
                for block in message["content"]
            ]
            return


def _message_id(run_manager: Any) -> str | None:
    """The id LangChain gives a run's message, so streamed chunks and the final message match
    (LangGraph groups chunks by it and does not repeat an answer it has streamed)."""
    return f"{LC_ID_PREFIX}-{run_manager.run_id}" if run_manager else None


@dataclass
class _Run:
    """Timing and outcome of one streamed call, shared by its chunks and final message."""

    model_id: str
    started: float
    handle: StreamHandle
    first_token: float | None = None
    response: StreamResponse | None = None


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
    """Accepted for compatibility; the model family is read from the model id (or
    ``base_model_id``) wherever it matters."""
    region_name: str | None = None
    """AWS region; else the ARN's region, ``AWS_REGION``/``AWS_DEFAULT_REGION``, the profile's."""
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
    client: Any = Field(default=None, exclude=True)
    """A ready ``bedrock-runtime`` client; built lazily from the fields above when absent."""
    bedrock_client: Any = Field(default=None, exclude=True)
    """Accepted for compatibility; not used (no control-plane calls are made)."""
    default_headers: Mapping[str, str] | None = None
    """Extra HTTP headers sent with every request."""

    # --- inference parameters (each one can also be passed per call or with ``bind``) ---
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
    Nova 2: ``reasoningConfig.maxReasoningEffort`` (low/medium/high); OpenAI gpt-oss:
    ``reasoning_effort`` (low/medium/high). Other models raise ``ValueError`` (use
    ``additional_model_request_fields``). Claude thinking rejects forced tool choice and
    non-default ``temperature``/``top_k``."""
    thinking_budget: int | None = None
    """Anthropic Claude extended thinking with this many budget tokens (at least 1024):
    ``thinking: {"type": "enabled", "budget_tokens": N}``. ``max_tokens`` must exceed it and
    defaults to the budget plus 4096. Give either this or ``reasoning_effort``."""
    cache_system: bool = False
    """Put a ``cachePoint`` after the system prompt (prompt caching)."""
    cache_tools: bool = False
    """Put a ``cachePoint`` after the tool definitions (prompt caching)."""
    cache_ttl: Literal["5m", "1h"] | None = None
    """Time to live of the cache points ``cache_system`` / ``cache_tools`` add (the model's
    default when unset). A request holds at most 4 cache points in all."""
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
    """The ``tool_choice`` kinds the model accepts; inferred for known families (Claude, Nova,
    Mistral Large: all; Llama: ``auto``) when unset. A forced choice outside them raises
    before any request; structured output then offers its tool with automatic choice."""

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

    @model_validator(mode="after")
    def _guard_needs_guardrail(self) -> ChatBedrockStream:
        if self.guard_last_turn_only and not self.guardrail_config:
            raise ValueError(
                "guard_last_turn_only=True needs guardrail_config (the guardrail that "
                "assesses the last turn)"
            )
        return self

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
        params = LangSmithParams(
            ls_provider="amazon_bedrock",
            ls_model_name=kwargs.get("model") or kwargs.get("model_id") or self.model_id,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stop = stop or kwargs.get("stop") or self.stop_sequences
        if stop:
            params["ls_stop"] = list(stop)
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
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        private["_client_cache"] = None
        private.pop("_client_lock", None)
        state["__pydantic_private__"] = private
        if self.client is not None:
            fields = dict(state["__dict__"])
            fields["client"] = None
            state["__dict__"] = fields
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        super().__setstate__(state)
        self._client_lock = threading.Lock()

    # --- the client ---

    def _region(self) -> str | None:
        if self.region_name:
            return self.region_name
        if self.model_id.startswith("arn:"):
            parts = self.model_id.split(":")
            if len(parts) > 3 and parts[3]:
                return parts[3]
        return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")

    def _get_client(self) -> Any:
        if self.client is not None:
            return self.client
        if self._client_cache is None:
            with self._client_lock:
                if self._client_cache is None:
                    self._client_cache = self._new_client()
        return self._client_cache

    def _new_client(self) -> Any:
        def reveal(secret: SecretStr | None) -> str | None:
            return secret.get_secret_value() if secret is not None else None

        key_id = reveal(self.aws_access_key_id)
        secret = reveal(self.aws_secret_access_key)
        # Explicit keys (or the AWS_* variables) unless a named profile was asked for;
        # otherwise boto3's own chain (profiles, SSO, container and instance roles).
        explicit = bool(key_id and secret and not self.credentials_profile_name)
        client = build_client(
            ClientSettings(
                region_name=self._region(),
                profile_name=self.credentials_profile_name,
                endpoint_url=self.endpoint_url,
                config=self.config,
                timeout=self.timeout,
                aws_access_key_id=key_id if explicit else None,
                aws_secret_access_key=secret if explicit else None,
                aws_session_token=reveal(self.aws_session_token) if explicit else None,
                bearer_token=reveal(self.bedrock_api_key),
            )
        )
        if self.default_headers:
            headers = dict(self.default_headers)

            def add_headers(request: Any, **_: Any) -> None:
                for name, value in headers.items():
                    request.headers[name] = value

            client.meta.events.register_first("before-sign.bedrock-runtime.*", add_headers)
        return client

    def _policy(self) -> RetryPolicy:
        return resolve_policy(
            self.retry_policy, max_retries=self.max_retries, config=self.config, client=self.client
        )

    # --- request ---

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        unknown = set(kwargs) - _PER_CALL
        if unknown:
            raise TypeError(
                f"unsupported argument(s) for {type(self).__name__}: {sorted(unknown)}; "
                f"per-call options are {sorted(_PER_CALL - {'stream'})}"
            )

        def pick(name: str, default: Any) -> Any:
            return kwargs[name] if kwargs.get(name) is not None else default

        inference: dict[str, Any] = {}
        for key, name, default in (
            ("maxTokens", "max_tokens", self.max_tokens),
            ("temperature", "temperature", self.temperature),
            ("topP", "top_p", self.top_p),
        ):
            value = pick(name, default)
            if value is not None:
                inference[key] = value
        stops = stop or kwargs.get("stop") or kwargs.get("stop_sequences") or self.stop_sequences
        if stops:
            inference["stopSequences"] = list(stops)

        tools_config = kwargs.get("tool_config")
        if tools_config is None and kwargs.get("tools"):
            tools = convert_tools(kwargs["tools"])
            choice = convert_tool_choice(kwargs.get("tool_choice"), tool_names(tools))
            self._check_choice(choice, kwargs)
            tools_config = tool_config(tools, choice)

        system_messages: list[BaseMessage] = []
        if self.system:
            from langchain_core.messages import SystemMessage

            system_messages = [SystemMessage(content=list(self.system))]
        request = build_request(
            [*system_messages, *messages],
            model_id=pick("model", pick("model_id", self.model_id)),
            inference_config=inference,
            tool_config=tools_config,
            additional_model_request_fields=pick(
                "additional_model_request_fields", self.additional_model_request_fields
            ),
            additional_model_response_field_paths=pick(
                "additional_model_response_field_paths", self.additional_model_response_field_paths
            ),
            guardrail_config=pick("guardrail_config", self.guardrail_config),
            performance_config=pick("performance_config", self.performance_config),
            service_tier=pick("service_tier", self.service_tier),
            request_metadata=pick("request_metadata", self.request_metadata),
            prompt_variables=pick("prompt_variables", self.prompt_variables),
            output_config=pick("output_config", self.output_config),
            system_cache=pick("cache_system", self.cache_system),
            tools_cache=pick("cache_tools", self.cache_tools),
            cache_ttl=pick("cache_ttl", self.cache_ttl),
            base_model_id=self.base_model_id,
            **self._reasoning(kwargs),
        )
        if self.raw_blocks is not None:
            request["messages"] = list(self.raw_blocks)
            request.pop("system", None)
        if self.guard_last_turn_only:
            _guard_last_user_turn(request["messages"])
        return request

    def _reasoning(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """``reasoning_effort`` / ``thinking_budget`` for one call: a call's own value
        replaces both constructor values."""
        names = ("reasoning_effort", "thinking_budget")
        if any(kwargs.get(name) is not None for name in names):
            return {name: kwargs.get(name) for name in names}
        return {name: getattr(self, name) for name in names}

    # --- answers ---

    def _extra(self, run: _Run, response: StreamResponse) -> dict[str, Any]:
        """Client-side timing and cost, added to ``response_metadata``."""
        now = time.perf_counter()
        timing: dict[str, Any] = {"duration_ms": round((now - run.started) * 1000, 3)}
        if run.first_token is not None:
            timing["time_to_first_token_ms"] = round((run.first_token - run.started) * 1000, 3)
            generating = now - run.first_token
            output = (response.usage or {}).get("outputTokens")
            if output and generating > 0:
                timing["output_tokens_per_second"] = round(output / generating, 1)
        extra: dict[str, Any] = {"timing": timing}
        cost = self._cost(run.model_id, response)
        if cost is not None:
            extra["cost"] = cost
        return extra

    def _cost(self, model_id: str, response: StreamResponse) -> Any:
        from .bridge import usage_metadata

        usage = usage_metadata(response.usage)
        if usage is None:
            return None
        routed = ((response.trace or {}).get("promptRouter") or {}).get("invokedModelId")
        priced = routed or self.base_model_id or model_id
        return pricing.estimate_cost(
            priced,
            usage,
            service_tier=(response.service_tier or {}).get("type"),
            latency=(response.performance_config or {}).get("latency"),
        )

    def _stream_options(self, run: _Run) -> dict[str, Any]:
        return {
            "policy": self._policy(),
            "region": self._region(),
            "handle": run.handle,
            "per_event": self.stream_chunking == "event",
            "resume": self.resume_on_stream_error,
        }

    @staticmethod
    def _chunk(run: _Run, batch: list[Delta]) -> tuple[ChatGenerationChunk, str] | None:
        """One generation chunk (and its text) for a batch of deltas, if it has content."""
        made = chunk_from_deltas(batch)
        if made is None:
            return None
        if run.first_token is None:
            run.first_token = time.perf_counter()
        return ChatGenerationChunk(message=made[0]), made[1]

    @staticmethod
    def _attach_partial(run: _Run, exc: BedrockError, stream: Accumulator | None) -> None:
        """Give a failure the answer received so far, as ``partial_message``."""
        partial = exc.partial_response
        if partial is None and stream is not None and stream.has_content:
            partial = stream.response()
        if partial is not None:
            exc.partial_message = message_from_response(
                partial, model_id=run.model_id, request_id=run.handle.request_id
            )

    def _last(self, run: _Run, stream: Accumulator) -> tuple[ChatGenerationChunk, str]:
        """The closing chunk: usage, metadata, cost and timing."""
        run.response = response = stream.response()
        last = final_chunk(
            response,
            model_id=run.model_id,
            request_id=run.handle.request_id,
            extra=self._extra(run, response),
        )
        return ChatGenerationChunk(message=last), ""

    def _chunks(
        self, request: dict[str, Any], run: _Run
    ) -> Generator[tuple[ChatGenerationChunk, str], None, None]:
        """Generation chunks of one streamed call, the closing chunk last."""
        stream: Accumulator | None = None
        try:
            for batch, stream in converse_stream(  # noqa: B007 - read after the loop
                self._get_client(), request, **self._stream_options(run)
            ):
                made = self._chunk(run, batch)
                if made is not None:
                    yield made
        except BedrockError as exc:
            self._attach_partial(run, exc, stream)
            raise
        if stream is not None:  # None: cancelled before the stream opened
            yield self._last(run, stream)

    async def _achunks(
        self, request: dict[str, Any], run: _Run
    ) -> AsyncIterator[tuple[ChatGenerationChunk, str]]:
        """``_chunks`` on the event loop (the same steps; only the waiting differs)."""
        stream: Accumulator | None = None
        try:
            async for batch, stream in aconverse_stream(  # noqa: B007 - read after the loop
                self._get_client(), request, **self._stream_options(run)
            ):
                made = self._chunk(run, batch)
                if made is not None:
                    yield made
        except BedrockError as exc:
            self._attach_partial(run, exc, stream)
            raise
        if stream is not None:
            yield self._last(run, stream)

    def _start(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[dict[str, Any], _Run]:
        request = self._request(messages, stop, kwargs)
        _check_tool_results(request, messages)
        self._get_client()  # built (once) before the clock starts: timing is the call's own
        return request, _Run(request["modelId"], time.perf_counter(), StreamHandle())

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request, run = self._start(messages, stop, kwargs)
        chunks = self._chunks(request, run)
        try:
            for chunk, text in chunks:
                if run_manager:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        finally:
            chunks.close()
            run.handle.cancel()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request, run = self._start(messages, stop, kwargs)
        async for chunk, text in self._achunks(request, run):
            if run_manager:
                await run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk

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

    def _wants_stream(self, run_manager: Any, kwargs: dict[str, Any]) -> bool:
        if self._streaming_disabled(**kwargs):
            return False
        if self.streaming:
            return True
        handlers = run_manager.handlers if run_manager else []
        return any(_wants_tokens(h) for h in handlers)

    def _result(self, run: _Run, message_id: str | None = None) -> ChatResult:
        response = run.response
        assert response is not None
        message = message_from_response(
            response,
            model_id=run.model_id,
            request_id=run.handle.request_id,
            extra=self._extra(run, response),
        )
        message.id = message_id
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _converse(self, request: dict[str, Any], run: _Run) -> ChatResult:
        guardrail = request.get("guardrailConfig")
        if guardrail and "streamProcessingMode" in guardrail:
            # A ConverseStream-only setting; Converse rejects it.
            request = {
                **request,
                "guardrailConfig": {
                    k: v for k, v in guardrail.items() if k != "streamProcessingMode"
                },
            }
        response, request_id = converse(
            self._get_client(), request, policy=self._policy(), region=self._region()
        )
        run.response = response
        run.handle.request_id = request_id
        return self._result(run)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request, run = self._start(messages, stop, kwargs)
        if not self._wants_stream(run_manager, kwargs):
            return self._converse(request, run)
        message_id = _message_id(run_manager)
        for chunk, text in self._chunks(request, run):
            if run_manager:
                chunk.message.id = message_id
                run_manager.on_llm_new_token(text, chunk=chunk)
        return self._result(run, message_id)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request, run = self._start(messages, stop, kwargs)
        if not self._wants_stream(run_manager, kwargs):
            return await run_in_thread(lambda: self._converse(request, run))
        message_id = _message_id(run_manager)
        async for chunk, text in self._achunks(request, run):
            if run_manager:
                chunk.message.id = message_id
                await run_manager.on_llm_new_token(text, chunk=chunk)
        return self._result(run, message_id)

    # --- tools and structured output ---

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | Any],
        *,
        tool_choice: Any = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (LangChain tools, pydantic models, functions, JSON schemas, Converse
        ``toolSpec``/``systemTool`` dicts). ``tool_choice``: "auto", "any"/"required"/True,
        a tool name, or "none" (tools sent, no choice forced)."""
        converted = convert_tools(tools, strict=strict)
        choice = convert_tool_choice(tool_choice, tool_names(converted))
        self._check_choice(choice, kwargs)
        return self.bind(tool_config=tool_config(converted, choice), **kwargs)

    def _check_choice(self, choice: Mapping[str, Any] | None, kwargs: Mapping[str, Any]) -> None:
        """A forced tool choice the model family does not accept fails here, not at AWS."""
        model = kwargs.get("model") or kwargs.get("model_id") or self.model_id
        check_tool_choice(
            choice, base_model_name(self.base_model_id or model), self.supports_tool_choice_values
        )

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
        See ``langchain_bedrock_stream.structured``.
        """
        from .structured import with_structured_output

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
        See ``langchain_bedrock_stream.tokens``.
        """
        from .tokens import count_message_tokens

        return count_message_tokens(self, messages, tools)

    def get_num_tokens(self, text: str) -> int:
        """Estimated tokens of ``text`` (local, no tokenizer download)."""
        from .tokens import estimate_text_tokens

        return estimate_text_tokens(text)


def _check_tool_results(request: Mapping[str, Any], messages: Sequence[BaseMessage]) -> None:
    """Refuse, before sending, a tool result that answers no earlier tool call."""
    called: list[str] = []
    for turn in request.get("messages") or []:
        for block in turn.get("content") or []:
            if turn.get("role") == "assistant" and "toolUse" in block:
                called.append(block["toolUse"].get("toolUseId"))
            elif turn.get("role") == "user" and "toolResult" in block:
                tool_use_id = block["toolResult"].get("toolUseId")
                if tool_use_id in called:
                    continue
                where = next(
                    (
                        f"message {i} ({type(m).__name__})"
                        for i, m in enumerate(messages)
                        if getattr(m, "tool_call_id", None) == tool_use_id
                    ),
                    "a user message",
                )
                raise InputConversionError(
                    f"{where}: tool result for tool call id {tool_use_id!r} has no matching "
                    f"tool call in an earlier AI message (tool call ids so far: {called})",
                    block=block,
                )


def _wants_tokens(handler: Any) -> bool:
    """True for LangChain's streaming tracers (``astream_events``, LangGraph's ``messages``
    mode), for which ``invoke()`` streams. langchain-core recognises them by these two methods
    (a runtime-checkable protocol in a private module); checking the methods here keeps
    ``import langchain_bedrock_stream`` working whatever becomes of that module."""
    return callable(getattr(handler, "tap_output_iter", None)) and callable(
        getattr(handler, "tap_output_aiter", None)
    )
