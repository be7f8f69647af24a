"""Spans of this package's own, following OpenTelemetry's GenAI semantic conventions.

Off until :func:`enable_tracing` is called; until then nothing of OpenTelemetry is imported
and a call pays one ``None`` check. Once on, every Bedrock call made by ``ChatBedrockStream``
or ``BedrockStream`` (``converse_stream`` / ``converse``, blocking or async) is one span of
kind ``CLIENT``, named ``chat {model}``, parented to the caller's active span, started before
the request is signed and ended when the call ends: after the last event reached the caller,
or on a failure, a cancellation or the caller leaving the stream.

Beside the conventions' attributes (``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.*``, ``gen_ai.response.finish_reasons``, ``gen_ai.usage.*`` with cache
reads and writes, ``error.type``) each span carries what auto-instrumentation of botocore does
not record (the ``bedrock_stream.*`` attributes): time to first token, output tokens per
second, cost in USD, the number of attempts, the request id, and on a failure after content
what had arrived (its size; the text itself with ``capture_content=True``).

Needs ``opentelemetry-api`` (the ``otel`` extra): ``pip install 'langchain-bedrock-stream[otel]'``.
Auto-instrumentation of botocore (OpenTelemetry, Datadog, OpenLLMetry, OpenInference) needs
none of this: it sees every call as it does with botocore alone (see ``docs/transport.md``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._timing import Timing

if TYPE_CHECKING:
    from ._accumulator import StreamResponse

__all__ = ["disable_tracing", "enable_tracing", "tracing_enabled"]

PROVIDER = "aws.bedrock"
_PREFIX = "bedrock_stream."


class _Settings:
    __slots__ = ("capture_content", "tracer")

    def __init__(self, tracer: Any, capture_content: bool) -> None:
        self.tracer = tracer
        self.capture_content = capture_content


_settings: _Settings | None = None


def enable_tracing(tracer_provider: Any = None, *, capture_content: bool = False) -> None:
    """Record one span per Bedrock call with ``tracer_provider`` (default: the global one).

    ``capture_content`` also records the answer's text (``gen_ai.output.messages``) and,
    on a failure, the partial text received; off by default, as the conventions advise.
    Raises ``ImportError`` naming the extra when ``opentelemetry-api`` is not installed.
    """
    global _settings
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise ImportError(
            "enable_tracing() needs opentelemetry-api: pip install 'langchain-bedrock-stream[otel]'"
        ) from exc
    from . import __version__

    tracer = trace.get_tracer("langchain_bedrock_stream", __version__, tracer_provider)
    _settings = _Settings(tracer, capture_content)


def disable_tracing() -> None:
    """Stop recording spans (calls already under way finish theirs)."""
    global _settings
    _settings = None


def tracing_enabled() -> bool:
    """Whether :func:`enable_tracing` is in force."""
    return _settings is not None


def start_call(operation: str, request: Mapping[str, Any], region: str | None) -> CallSpan | None:
    """A span for one call of ``operation`` (``ConverseStream`` / ``Converse``), or ``None``
    when tracing is off."""
    settings = _settings
    if settings is None:
        return None
    return CallSpan(settings, operation, request, region)


Outcome = Callable[[], "tuple[StreamResponse | None, str | None]"]
"""The answer so far (or ``None``) and the request id, read when the call ends."""


@contextlib.contextmanager
def traced(
    operation: str, request: Mapping[str, Any], region: str | None, outcome: Outcome
) -> Iterator[CallSpan | None]:
    """Around one call: its span (``None`` when tracing is off), ended with ``outcome()``
    when the block is left, however it is left (an error, a cancellation, a generator
    closed by its caller)."""
    span = start_call(operation, request, region)
    if span is None:
        yield None
        return
    model_id = request.get("modelId")
    model_id = model_id if isinstance(model_id, str) else None
    try:
        yield span
    except BaseException as exc:
        response, request_id = outcome()
        span.end(response, request_id=request_id, model_id=model_id, error=exc)
        raise
    response, request_id = outcome()
    span.end(response, request_id=request_id, model_id=model_id)


class CallSpan:
    """One Bedrock call's span: attempts, first content and the end are reported to it."""

    __slots__ = ("_content", "_ended", "_span", "_timing", "attempts")

    def __init__(
        self, settings: _Settings, operation: str, request: Mapping[str, Any], region: str | None
    ) -> None:
        from opentelemetry.trace import SpanKind

        model = request.get("modelId")
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": PROVIDER,
            "gen_ai.system": PROVIDER,
            "rpc.method": operation,
        }
        if isinstance(model, str):
            attributes["gen_ai.request.model"] = model
        if region:
            attributes["cloud.region"] = region
        attributes.update(_request_attributes(request))
        self._span = settings.tracer.start_span(
            f"chat {model}" if model else "chat", kind=SpanKind.CLIENT, attributes=attributes
        )
        self._content = settings.capture_content
        self._timing = Timing()
        self._ended = False
        self.attempts = 0

    def attempt(self) -> None:
        """A request is about to be sent (the first, or a retry)."""
        self.attempts += 1

    def first_content(self) -> None:
        """The first content is about to reach the caller (idempotent)."""
        self._timing.content()

    def end(
        self,
        response: StreamResponse | None,
        *,
        request_id: str | None = None,
        model_id: str | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Record the outcome and end the span (only the first call counts)."""
        if self._ended:
            return
        self._ended = True
        span = self._span
        try:
            span.set_attributes(self._outcome(response, request_id, model_id, error))
            if error is not None and isinstance(error, Exception):
                from opentelemetry.trace import Status, StatusCode

                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, str(error)[:1024]))
        finally:
            span.end()

    def _outcome(
        self,
        response: StreamResponse | None,
        request_id: str | None,
        model_id: str | None,
        error: BaseException | None,
    ) -> dict[str, Any]:
        self._timing.end()
        out: dict[str, Any] = {_PREFIX + "attempts": max(self.attempts, 1)}
        if request_id:
            out["aws.request_id"] = request_id
        if error is not None:
            out["error.type"] = type(error).__qualname__
            if not isinstance(error, Exception):  # the caller left or was cancelled
                out[_PREFIX + "cancelled"] = True
        first = self._timing.time_to_first_token
        if first is not None:
            out[_PREFIX + "time_to_first_token"] = first
        if response is None:
            return out
        if response.stop_reason:
            out["gen_ai.response.finish_reasons"] = [response.stop_reason]
        routed = ((response.trace or {}).get("promptRouter") or {}).get("invokedModelId")
        if isinstance(routed, str):
            out["gen_ai.response.model"] = routed
        out.update(_usage_attributes(response.usage))
        rate = self._timing.output_tokens_per_second(response.usage)
        if rate is not None:
            out[_PREFIX + "output_tokens_per_second"] = rate
        if model_id and response.usage:
            from .pricing import response_cost

            cost = response_cost(model_id, response)
            if cost is not None:
                out[_PREFIX + "cost_usd"] = cost["total"]
        text = "".join(str(block.get("text", "")) for block in response.content)
        if error is not None:
            out[_PREFIX + "partial_message.characters"] = len(text)
            if self._content:
                out[_PREFIX + "partial_message.text"] = text
        elif self._content:
            message = {"role": "assistant", "parts": _parts(response.content)}
            if response.stop_reason:
                message["finish_reason"] = response.stop_reason
            out["gen_ai.output.messages"] = json.dumps([message], default=str)
        return out


_INFERENCE = {
    "maxTokens": "gen_ai.request.max_tokens",
    "temperature": "gen_ai.request.temperature",
    "topP": "gen_ai.request.top_p",
    "stopSequences": "gen_ai.request.stop_sequences",
}


def _request_attributes(request: Mapping[str, Any]) -> dict[str, Any]:
    config = request.get("inferenceConfig")
    out: dict[str, Any] = {}
    if isinstance(config, Mapping):
        for member, name in _INFERENCE.items():
            value = config.get(member)
            if isinstance(value, (int, float, str)) or (
                isinstance(value, list) and all(isinstance(item, str) for item in value)
            ):
                out[name] = value
    tier = request.get("serviceTier")
    if isinstance(tier, Mapping) and isinstance(tier.get("type"), str):
        out[_PREFIX + "service_tier"] = tier["type"]
    return out


_USAGE = {
    "inputTokens": "gen_ai.usage.input_tokens",
    "outputTokens": "gen_ai.usage.output_tokens",
    "cacheReadInputTokens": "gen_ai.usage.cache_read.input_tokens",
    "cacheWriteInputTokens": "gen_ai.usage.cache_creation.input_tokens",
}


def _usage_attributes(usage: Mapping[str, Any] | None) -> dict[str, Any]:
    if not isinstance(usage, Mapping):
        return {}
    return {
        name: usage[member]
        for member, name in _USAGE.items()
        if isinstance(usage.get(member), int) and not isinstance(usage.get(member), bool)
    }


def _parts(content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Converse content blocks as the conventions' message parts."""
    parts: list[dict[str, Any]] = []
    for block in content:
        if "text" in block:
            parts.append({"type": "text", "content": block["text"]})
        elif "toolUse" in block:
            use = block["toolUse"] or {}
            parts.append(
                {
                    "type": "tool_call",
                    "id": use.get("toolUseId"),
                    "name": use.get("name"),
                    "arguments": use.get("input"),
                }
            )
        elif "reasoningContent" in block:
            reasoning = (block["reasoningContent"] or {}).get("reasoningText") or {}
            parts.append({"type": "reasoning", "content": reasoning.get("text", "")})
    return parts
