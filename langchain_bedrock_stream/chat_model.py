"""``ChatBedrockStream``: the LangChain chat model. Thin: it wires request -> client ->
accumulator -> bridge, and owns only configuration and the sync/async I/O edge."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import JsonOutputKeyToolsParser, JsonOutputParser
from langchain_core.output_parsers.openai_tools import PydanticToolsParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tracers._streaming import _StreamingCallbackHandler
from langchain_core.utils import secret_from_env
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from . import pricing
from ._threads import iterate_in_thread, run_in_thread
from .bridge import chunk_from_deltas, final_chunk, message_from_response
from .client import ClientSettings, RetryPolicy, StreamHandle, build_client, converse
from .client import converse_stream as _converse_stream
from .errors import BedrockError
from .request import build_request
from .stream import BedrockStream, StreamResponse
from .tools import convert_tool_choice, convert_tools, tool_config, tool_names

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
    "stream",
}


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

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    # --- which model, where, as whom ---
    model_id: str = Field(alias="model")
    """Model id, cross-region / global inference profile id, or ARN."""
    base_model_id: str | None = Field(default=None, alias="base_model")
    """The foundation model behind an application inference profile ARN (used for pricing)."""
    provider: str = ""
    """Model provider (``anthropic``, ``amazon``, ...); inferred from the id when empty."""
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

    # --- inference parameters ---
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop_sequences: list[str] | None = Field(default=None, alias="stop")
    system: list[str | dict[str, Any]] | None = None
    """System prompt blocks prepended to every request."""
    additional_model_request_fields: dict[str, Any] | None = None
    additional_model_response_field_paths: list[str] | None = None
    guardrail_config: dict[str, Any] | None = Field(default=None, alias="guardrails")
    performance_config: Mapping[str, Any] | None = None
    service_tier: Literal["priority", "default", "flex", "reserved"] | None = None
    request_metadata: dict[str, str] | None = None
    output_config: dict[str, Any] | None = None
    prompt_variables: dict[str, Any] | None = None
    supports_tool_choice_values: Sequence[Literal["auto", "any", "tool"]] | None = None

    # --- behaviour ---
    streaming: bool = False
    """When True, ``invoke`` uses ConverseStream (callbacks see every token)."""
    stream_chunking: Literal["burst", "event"] = "burst"
    """``burst``: one chunk for all events already received; ``event``: one chunk per event."""
    max_retries: int | None = None
    """Retries before the first content arrives (default 3)."""
    timeout: float | None = None
    """Socket read timeout in seconds."""

    _client_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _client_cache: Any = PrivateAttr(default=None)

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
        """The model serializes with ``dumpd`` (secrets as references, never values)."""
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

        keys = (
            {}
            if self.credentials_profile_name
            else {
                "aws_access_key_id": reveal(self.aws_access_key_id),
                "aws_secret_access_key": reveal(self.aws_secret_access_key),
                "aws_session_token": reveal(self.aws_session_token),
            }
        )
        if not (keys.get("aws_access_key_id") and keys.get("aws_secret_access_key")):
            keys = {}
        client = build_client(
            ClientSettings(
                region_name=self._region(),
                profile_name=self.credentials_profile_name,
                endpoint_url=self.endpoint_url,
                config=self.config,
                timeout=self.timeout,
                **keys,
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
        return RetryPolicy(max_retries=3 if self.max_retries is None else self.max_retries)

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
            tools_config = tool_config(tools, choice)

        system_messages: list[BaseMessage] = []
        if self.system:
            from langchain_core.messages import SystemMessage

            system_messages = [SystemMessage(content=list(self.system))]  # type: ignore[arg-type]
        return build_request(
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
        )

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

    def _chunks(
        self, request: dict[str, Any], run: _Run
    ) -> Iterator[tuple[ChatGenerationChunk, str]]:
        """Generation chunks of one streamed call, the closing chunk last (shared sync/async)."""
        stream: BedrockStream | None = None
        try:
            for batch, stream in _converse_stream(
                self._get_client(),
                request,
                policy=self._policy(),
                region=self._region(),
                handle=run.handle,
                per_event=self.stream_chunking == "event",
            ):
                made = chunk_from_deltas(batch)
                if made is None:
                    continue
                if run.first_token is None:
                    run.first_token = time.perf_counter()
                yield ChatGenerationChunk(message=made[0]), made[1]
        except BedrockError as exc:
            if stream is not None and stream.has_content:
                exc.partial_message = message_from_response(
                    stream.response(), model_id=run.model_id, request_id=run.handle.request_id
                )
            raise
        if stream is None:  # cancelled before the stream opened
            return
        run.response = response = stream.response()
        last = final_chunk(
            response,
            model_id=run.model_id,
            request_id=run.handle.request_id,
            extra=self._extra(run, response),
        )
        yield ChatGenerationChunk(message=last), ""

    def _start(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
               ) -> tuple[dict[str, Any], _Run]:
        request = self._request(messages, stop, kwargs)
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
        async for chunk, text in iterate_in_thread(
            lambda: self._chunks(request, run), run.handle.cancel
        ):
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
        return any(isinstance(h, _StreamingCallbackHandler) for h in handlers)

    def _result(self, run: _Run) -> ChatResult:
        response = run.response
        assert response is not None  # noqa: S101 - _chunks sets it before its last chunk
        message = message_from_response(
            response,
            model_id=run.model_id,
            request_id=run.handle.request_id,
            extra=self._extra(run, response),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _converse(self, request: dict[str, Any], run: _Run) -> ChatResult:
        guardrail = request.get("guardrailConfig")
        if guardrail and "streamProcessingMode" in guardrail:
            # A ConverseStream-only setting; Converse rejects it.
            request = {**request, "guardrailConfig": {
                k: v for k, v in guardrail.items() if k != "streamProcessingMode"}}
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
        for chunk, text in self._chunks(request, run):
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
        return self._result(run)

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
        async for chunk, text in iterate_in_thread(
            lambda: self._chunks(request, run), run.handle.cancel
        ):
            if run_manager:
                await run_manager.on_llm_new_token(text, chunk=chunk)
        return self._result(run)

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
        return self.bind(tool_config=tool_config(converted, choice), **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: Literal["function_calling", "json_schema", "json_mode"] = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Answers parsed into ``schema``.

        ``function_calling`` forces a tool named after the schema; ``json_schema`` uses
        Bedrock's native ``outputConfig.textFormat`` JSON schema; ``json_mode`` asks for a
        JSON object answer through the same native output format with an open schema.
        """
        if kwargs:
            raise TypeError(f"unsupported argument(s): {sorted(kwargs)}")
        is_model = isinstance(schema, type) and issubclass(schema, BaseModel)
        if method == "function_calling":
            name = convert_to_openai_tool(schema)["function"]["name"]
            llm: Runnable[Any, Any] = self.bind_tools([schema], tool_choice=name, strict=strict)
            parser: Runnable[Any, Any] = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_model
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            import json

            if method == "json_schema":
                spec = convert_to_openai_tool(schema)["function"]
                json_schema = spec.get("parameters") or {"type": "object"}
                name, description = spec["name"], spec.get("description")
            else:
                json_schema, name, description = {"type": "object"}, "json_object", None
            definition: dict[str, Any] = {"schema": json.dumps(json_schema), "name": name}
            if description:
                definition["description"] = description
            llm = self.bind(
                output_config={
                    "textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}
                }
            )
            if is_model and method == "json_schema":
                from langchain_core.output_parsers import PydanticOutputParser

                parser = PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
            else:
                parser = JsonOutputParser()
        else:
            raise ValueError(
                f"unknown structured output method {method!r}; "
                "use 'function_calling', 'json_schema' or 'json_mode'"
            )
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        ).with_fallbacks(
            [RunnablePassthrough.assign(parsed=lambda _: None)], exception_key="parsing_error"
        )
        return RunnableMap(raw=llm) | parsed


def _allow_loading() -> None:
    """Let ``langchain_core.load`` rebuild this class with ``allowed_objects="all"``.

    That mode admits the classes of langchain-core's table of integration packages; a
    package outside the table adds its own entry, as the table's integrations are listed.
    Loading still needs the caller to name this namespace in ``valid_namespaces``.
    """
    import importlib

    from langchain_core.load.mapping import SERIALIZABLE_MAPPING

    load_module = importlib.import_module("langchain_core.load.load")

    path = (*ChatBedrockStream.get_lc_namespace(), ChatBedrockStream.__name__)
    SERIALIZABLE_MAPPING.setdefault(path, path)
    mappings = getattr(load_module, "ALL_SERIALIZABLE_MAPPINGS", None)
    if isinstance(mappings, dict):
        mappings.setdefault(path, path)
    cache = getattr(load_module, "_default_class_paths_cache", None)
    if isinstance(cache, dict):
        cache.clear()


_allow_loading()
