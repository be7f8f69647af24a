"""Scripted answers for testing your own agents: one answer, served to either operation.

An :class:`Answer` is one model turn (Converse content blocks, a stop reason, usage). The
same answer can be served to a ConverseStream call (:meth:`Answer.stream_reply`: events
split into small deltas, as models stream them) or to a Converse call
(:meth:`Answer.json_reply`); :func:`script` builds a responder that serves a list of
answers in turn, each in the kind its request asks for::

    from langchain_bedrock_stream.testing import (
        BedrockWireServer, script, text_answer, tool_call_answer,
    )

    with BedrockWireServer(responder=script(
        tool_call_answer("get_weather", {"city": "Paris"}),
        text_answer("It is sunny in Paris."),
    )) as server:
        ...  # point boto3 (or ChatBedrockStream) at server.endpoint_url

Helpers: :func:`text_answer`, :func:`tool_call_answer`, :func:`reasoning_answer`,
:func:`error_reply` (an HTTP error, as either operation gets it) and
``Answer.stream_reply(fail_after=n)`` (an exception frame in the middle of a stream).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._eventstream import ExceptionFrame
from ._replies import (
    ErrorReply,
    JsonReply,
    Operation,
    RecordedRequest,
    Reply,
    Responder,
    StreamReply,
)

__all__ = [
    "Answer",
    "error_reply",
    "reasoning_answer",
    "script",
    "text_answer",
    "tool_call_answer",
]

_ERRORS: dict[str, tuple[int, str]] = {
    "throttling": (429, "ThrottlingException"),
    "validation": (400, "ValidationException"),
    "access_denied": (403, "AccessDeniedException"),
    "not_found": (404, "ResourceNotFoundException"),
    "model_timeout": (408, "ModelTimeoutException"),
    "internal": (500, "InternalServerException"),
    "unavailable": (503, "ServiceUnavailableException"),
}


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@dataclass(frozen=True)
class Answer:
    """One scripted model turn, servable to ConverseStream and to Converse.

    ``content`` holds Converse content blocks (``text``, ``toolUse``, ``reasoningContent``);
    ``usage`` is Bedrock's usage (default: 10 input tokens, output estimated from the
    content). Streamed, text and reasoning come in deltas of ``chunk`` characters and tool
    input in JSON fragments of ``chunk`` characters.
    """

    content: Sequence[Mapping[str, Any]]
    stop_reason: str = "end_turn"
    usage: Mapping[str, Any] | None = None
    latency_ms: int = 100
    chunk: int = 4
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Extra ``metadata`` members (``trace``, ``serviceTier``...), sent as given."""

    def __post_init__(self) -> None:
        if self.chunk < 1:
            raise ValueError("chunk must be at least 1")

    def bedrock_usage(self) -> dict[str, Any]:
        """The usage sent with the answer."""
        if self.usage is not None:
            return dict(self.usage)
        chars = len(json.dumps(list(self.content), default=str))
        output = max(1, chars // 4)
        return {"inputTokens": 10, "outputTokens": output, "totalTokens": 10 + output}

    def events(self) -> list[dict[str, Any]]:
        """The ConverseStream events of this answer (botocore-shaped)."""
        events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
        for index, block in enumerate(self.content):
            events.extend(self._block_events(index, block))
            events.append({"contentBlockStop": {"contentBlockIndex": index}})
        events.append({"messageStop": {"stopReason": self.stop_reason}})
        metadata = {
            "usage": self.bedrock_usage(),
            "metrics": {"latencyMs": self.latency_ms},
            **self.metadata,
        }
        events.append({"metadata": metadata})
        return events

    def _block_events(self, index: int, block: Mapping[str, Any]) -> list[dict[str, Any]]:
        def delta(value: dict[str, Any]) -> dict[str, Any]:
            return {"contentBlockDelta": {"contentBlockIndex": index, "delta": value}}

        if "text" in block:
            return [delta({"text": piece}) for piece in _pieces(block["text"], self.chunk)]
        if "toolUse" in block:
            use = block["toolUse"]
            start = {"toolUseId": use["toolUseId"], "name": use["name"]}
            raw = json.dumps(use.get("input") or {}) if use.get("input") else ""
            out = [{"contentBlockStart": {"contentBlockIndex": index, "start": {"toolUse": start}}}]
            out += [
                delta({"toolUse": {"input": piece}}) for piece in _pieces(raw, self.chunk) if piece
            ]
            return out
        if "reasoningContent" in block:
            reasoning = block["reasoningContent"]
            if "redactedContent" in reasoning:
                return [
                    delta({"reasoningContent": {"redactedContent": reasoning["redactedContent"]}})
                ]
            text = reasoning["reasoningText"]
            out = [
                delta({"reasoningContent": {"text": piece}})
                for piece in _pieces(text["text"], self.chunk)
            ]
            if text.get("signature"):
                out.append(delta({"reasoningContent": {"signature": text["signature"]}}))
            return out
        raise ValueError(f"a scripted answer cannot stream the block {sorted(block)}")

    def body(self) -> dict[str, Any]:
        """The Converse response body of this answer."""
        return {
            "output": {
                "message": {"role": "assistant", "content": [dict(b) for b in self.content]}
            },
            "stopReason": self.stop_reason,
            "usage": self.bedrock_usage(),
            "metrics": {"latencyMs": self.latency_ms},
            **self.metadata,
        }

    def stream_reply(
        self,
        *,
        delay: float = 0.0,
        fail_after: int | None = None,
        error: str = "modelStreamErrorException",
        message: str = "The model stream failed.",
    ) -> StreamReply:
        """This answer as a ConverseStream reply; ``delay`` seconds between events.

        ``fail_after=n`` sends the first ``n`` events, then an exception frame of type
        ``error`` (``throttlingException``, ``modelStreamErrorException``...).
        """
        events: list[Mapping[str, Any] | ExceptionFrame] = list(self.events())
        if fail_after is not None:
            events = [*events[:fail_after], ExceptionFrame(error, message)]
        return StreamReply(events, delay=delay)

    def json_reply(self) -> JsonReply:
        """This answer as a Converse reply."""
        return JsonReply(self.body())

    def reply_for(self, operation: Operation) -> Reply:
        """The reply answering ``operation`` with this answer."""
        if operation == "converse-stream":
            return self.stream_reply()
        if operation == "converse":
            return self.json_reply()
        raise ValueError(f"an Answer cannot answer a {operation} call")


def text_answer(text: str, *, stop_reason: str = "end_turn", **options: Any) -> Answer:
    """An answer of plain text. ``options`` as for :class:`Answer` (``usage``, ``chunk``...)."""
    return Answer(({"text": text},), stop_reason=stop_reason, **options)


def tool_call_answer(
    name: str,
    args: Mapping[str, Any] | None = None,
    *,
    tool_use_id: str | None = None,
    text: str | None = None,
    **options: Any,
) -> Answer:
    """A call of tool ``name`` with ``args`` (none: an empty input), after ``text`` if
    given; stop reason ``tool_use``. The id defaults to ``tooluse_<name>``."""
    content: list[Mapping[str, Any]] = [{"text": text}] if text else []
    use = {"toolUseId": tool_use_id or f"tooluse_{name}", "name": name, "input": dict(args or {})}
    content.append({"toolUse": use})
    return Answer(tuple(content), stop_reason="tool_use", **options)


def reasoning_answer(
    reasoning: str, text: str, *, signature: str = "c2lnbmF0dXJl", **options: Any
) -> Answer:
    """Reasoning (with its ``signature``), then the ``text`` answer."""
    block = {"reasoningContent": {"reasoningText": {"text": reasoning, "signature": signature}}}
    return Answer((block, {"text": text}), **options)


def error_reply(kind: str = "throttling", message: str | None = None) -> ErrorReply:
    """An HTTP error as Bedrock sends it, for either operation.

    ``kind``: ``throttling`` (429), ``validation`` (400), ``access_denied`` (403),
    ``not_found`` (404), ``model_timeout`` (408), ``internal`` (500), ``unavailable`` (503).
    """
    if kind not in _ERRORS:
        raise ValueError(f"unknown error kind {kind!r}; one of {sorted(_ERRORS)}")
    status, error_type = _ERRORS[kind]
    return ErrorReply(status, error_type, message or f"Scripted {error_type}.")


def script(*steps: Answer | Reply) -> Responder:
    """A responder serving ``steps`` in turn: each :class:`Answer` in the kind its request
    asks for, any other reply as is. Requests beyond the script get an error saying so."""
    queue = list(steps)
    lock = threading.Lock()
    served = 0

    def respond(request: RecordedRequest) -> Reply:
        nonlocal served
        with lock:
            if served >= len(queue):
                return ErrorReply(
                    500,
                    "InternalServerException",
                    f"the script has {len(queue)} step(s) and all were served; "
                    f"request {served + 1} ({request.operation}) has no answer",
                )
            step = queue[served]
            served += 1
        return step.reply_for(request.operation) if isinstance(step, Answer) else step

    return respond
