"""The accumulator: ConverseStream events in, typed deltas out, final response at the end.

Pure: no boto3, no LangChain. ``Accumulator.feed`` takes botocore-shaped events
(``{"contentBlockDelta": {...}}``) one at a time, keeps state per ``contentBlockIndex``
(blocks may interleave, indices need not start at 0 or be contiguous) and returns the
deltas that event produced. ``Accumulator.response()`` builds, from a consumed stream, the
same answer Converse would have returned: ordered content blocks, parsed tool inputs,
stop reason, usage, metrics and trace. Unknown events and delta members are kept, never fatal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONTENT_DELTAS",
    "Accumulator",
    "BedrockStream",
    "BlockStopped",
    "CitationDelta",
    "Delta",
    "ImageDelta",
    "ImageStarted",
    "InvalidToolInput",
    "MessageStarted",
    "MessageStopped",
    "MetadataReceived",
    "ReasoningDelta",
    "StreamResponse",
    "TextDelta",
    "ToolInputDelta",
    "ToolResultDelta",
    "ToolResultStarted",
    "ToolUseStarted",
    "UnknownDelta",
    "UnknownEvent",
]

SERVER_TOOL_USE = "server_tool_use"


# --- deltas -------------------------------------------------------------------------------


@dataclass(slots=True)
class MessageStarted:
    """``messageStart``: the assistant turn began."""

    role: str


@dataclass(slots=True)
class TextDelta:
    """A piece of answer text for block ``index``."""

    index: int
    text: str


@dataclass(slots=True)
class CitationDelta:
    """A citation attached to the text of block ``index`` (Bedrock's camelCase dict)."""

    index: int
    citation: dict[str, Any]


@dataclass(slots=True)
class ToolUseStarted:
    """A tool use block opened. ``server`` marks a tool Bedrock runs itself."""

    index: int
    tool_use_id: str
    name: str
    type: str | None = None

    @property
    def server(self) -> bool:
        """True for ``server_tool_use``: not a call for the client to execute."""
        return self.type == SERVER_TOOL_USE


@dataclass(slots=True)
class ToolInputDelta:
    """A fragment of a tool's JSON input (concatenate the fragments of one block)."""

    index: int
    fragment: str
    server: bool = False


@dataclass(slots=True)
class ReasoningDelta:
    """Reasoning text, its signature, or redacted (encrypted) reasoning bytes."""

    index: int
    text: str | None = None
    signature: str | None = None
    redacted: bytes | None = None


@dataclass(slots=True)
class ToolResultStarted:
    """A tool result block opened (results of server tools arrive this way)."""

    index: int
    tool_use_id: str
    status: str | None = None
    type: str | None = None


@dataclass(slots=True)
class ToolResultDelta:
    """Content of a tool result block: ``[{"text": ...} | {"json": ...}, ...]``."""

    index: int
    content: list[dict[str, Any]]


@dataclass(slots=True)
class ImageStarted:
    """An image block opened."""

    index: int
    format: str | None


@dataclass(slots=True)
class ImageDelta:
    """Image data (``source``) or an error for an image block."""

    index: int
    source: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass(slots=True)
class UnknownDelta:
    """A delta or start member this version does not know; kept, never dropped."""

    index: int
    member: str
    value: Any


@dataclass(slots=True)
class BlockStopped:
    """``contentBlockStop`` for block ``index``."""

    index: int


@dataclass(slots=True)
class MessageStopped:
    """``messageStop``: the stop reason and any additional model response fields."""

    stop_reason: str | None
    additional_model_response_fields: dict[str, Any] | None = None


@dataclass(slots=True)
class MetadataReceived:
    """``metadata``: usage, metrics, trace, performance config and service tier."""

    usage: dict[str, Any] | None
    metrics: dict[str, Any] | None
    trace: dict[str, Any] | None = None
    performance_config: dict[str, Any] | None = None
    service_tier: dict[str, Any] | None = None


@dataclass(slots=True)
class UnknownEvent:
    """An event kind this version does not know; kept in the response's ``extras``."""

    kind: str
    body: Any


Delta = (
    MessageStarted
    | TextDelta
    | CitationDelta
    | ToolUseStarted
    | ToolInputDelta
    | ReasoningDelta
    | ToolResultStarted
    | ToolResultDelta
    | ImageStarted
    | ImageDelta
    | UnknownDelta
    | BlockStopped
    | MessageStopped
    | MetadataReceived
    | UnknownEvent
)
"""Everything ``Accumulator.feed`` can return."""

CONTENT_DELTAS = (
    TextDelta,
    ReasoningDelta,
    CitationDelta,
    ToolUseStarted,
    ToolInputDelta,
    ToolResultStarted,
    ToolResultDelta,
    ImageStarted,
    ImageDelta,
    UnknownDelta,
)
"""The deltas that carry answer content (the others mark boundaries or metadata)."""


# --- per-block state -----------------------------------------------------------------------


@dataclass(slots=True)
class _Block:
    """Everything received for one ``contentBlockIndex``."""

    index: int
    kind: str = ""
    """"text", "tool_use", "reasoning", "tool_result", "image" or "" (only unknown members)."""
    parts: list[str] = field(default_factory=list)
    """Text, tool input fragments or reasoning text, in arrival order."""
    citations: list[dict[str, Any]] = field(default_factory=list)
    tool_use_id: str | None = None
    name: str | None = None
    tool_type: str | None = None
    signature: str | None = None
    redacted: list[bytes] = field(default_factory=list)
    result: list[dict[str, Any]] = field(default_factory=list)
    status: str | None = None
    image_format: str | None = None
    image_source: dict[str, Any] | None = None
    image_error: dict[str, Any] | None = None
    unknown: dict[str, list[Any]] = field(default_factory=dict)
    stopped: bool = False


@dataclass(frozen=True, slots=True)
class InvalidToolInput:
    """A tool input that is not a JSON object when its block ended: not a runnable call."""

    tool_use_id: str | None
    name: str | None
    raw: str
    error: str


@dataclass(slots=True)
class StreamResponse:
    """The final answer, shaped like a Converse response (see ``to_converse``)."""

    content: list[dict[str, Any]]
    """Converse content blocks in ``contentBlockIndex`` order."""
    role: str = "assistant"
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    trace: dict[str, Any] | None = None
    additional_model_response_fields: dict[str, Any] | None = None
    performance_config: dict[str, Any] | None = None
    service_tier: dict[str, Any] | None = None
    invalid_tool_inputs: dict[int, InvalidToolInput] = field(default_factory=dict)
    """Keyed by position in ``content``: tool inputs that did not parse."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Unknown metadata members and unknown events, kept verbatim."""
    complete: bool = True
    """False when the stream ended before ``messageStop`` (a partial answer)."""

    def to_converse(self) -> dict[str, Any]:
        """The dict Converse returns for this answer (``output``, ``stopReason``, ...)."""
        out: dict[str, Any] = {
            "output": {"message": {"role": self.role, "content": self.content}},
            "stopReason": self.stop_reason,
        }
        for key, value in (
            ("usage", self.usage),
            ("metrics", self.metrics),
            ("trace", self.trace),
            ("additionalModelResponseFields", self.additional_model_response_fields),
            ("performanceConfig", self.performance_config),
            ("serviceTier", self.service_tier),
        ):
            if value is not None:
                out[key] = value
        return out

    @classmethod
    def from_converse(cls, response: Mapping[str, Any]) -> StreamResponse:
        """Read a Converse (non-streaming) response into the same type."""
        message = (response.get("output") or {}).get("message") or {}
        known = {
            "output",
            "stopReason",
            "usage",
            "metrics",
            "trace",
            "additionalModelResponseFields",
            "performanceConfig",
            "serviceTier",
            "ResponseMetadata",
        }
        return cls(
            content=list(message.get("content") or []),
            role=message.get("role", "assistant"),
            stop_reason=response.get("stopReason"),
            usage=response.get("usage"),
            metrics=response.get("metrics"),
            trace=response.get("trace"),
            additional_model_response_fields=response.get("additionalModelResponseFields"),
            performance_config=response.get("performanceConfig"),
            service_tier=response.get("serviceTier"),
            extras={k: v for k, v in response.items() if k not in known},
        )


# --- the accumulator -----------------------------------------------------------------------


class Accumulator:
    """Folds one ConverseStream answer; see the module docstring.

    ``feed(event)`` for botocore-shaped events, ``apply(kind, body, out)`` for the decoded
    ``(event type, body)`` pairs the fast wire path produces. Both return/append deltas.
    """

    __slots__ = (
        "_blocks",
        "additional_model_response_fields",
        "extras",
        "message_started",
        "message_stopped",
        "metadata",
        "role",
        "stop_reason",
    )

    def __init__(self) -> None:
        self._blocks: dict[int, _Block] = {}
        self.role = "assistant"
        self.stop_reason: str | None = None
        self.additional_model_response_fields: dict[str, Any] | None = None
        self.metadata: MetadataReceived | None = None
        self.extras: dict[str, Any] = {}
        self.message_started = False
        self.message_stopped = False

    @property
    def complete(self) -> bool:
        """True once ``messageStop`` arrived."""
        return self.message_stopped

    @property
    def has_content(self) -> bool:
        """True once any content block received something."""
        return bool(self._blocks)

    def feed(self, event: Mapping[str, Any]) -> list[Delta]:
        """Fold one botocore-shaped event; return the deltas it produced."""
        out: list[Delta] = []
        for kind, body in event.items():
            self.apply(kind, body, out)
        return out

    def apply(self, kind: str, body: Any, out: list[Delta]) -> None:
        """Fold one ``(event type, body)`` pair, appending its deltas to ``out``."""
        if kind == "contentBlockDelta":
            self._delta(body["contentBlockIndex"], body.get("delta") or {}, out)
        elif kind == "contentBlockStart":
            self._start(body["contentBlockIndex"], body.get("start") or {}, out)
        elif kind == "contentBlockStop":
            index = body["contentBlockIndex"]
            self._block(index).stopped = True
            out.append(BlockStopped(index))
        elif kind == "messageStart":
            self.message_started = True
            self.role = body.get("role", "assistant")
            out.append(MessageStarted(self.role))
        elif kind == "messageStop":
            self.message_stopped = True
            self.stop_reason = body.get("stopReason")
            self.additional_model_response_fields = body.get("additionalModelResponseFields")
            out.append(MessageStopped(self.stop_reason, self.additional_model_response_fields))
        elif kind == "metadata":
            self.metadata = MetadataReceived(
                usage=body.get("usage"),
                metrics=body.get("metrics"),
                trace=body.get("trace"),
                performance_config=body.get("performanceConfig"),
                service_tier=body.get("serviceTier"),
            )
            for key, value in body.items():
                if key not in _METADATA_KEYS:
                    self.extras[key] = value
            out.append(self.metadata)
        else:
            self.extras.setdefault("unknown_events", []).append({kind: body})
            out.append(UnknownEvent(kind, body))

    # -- block events --

    def _block(self, index: int) -> _Block:
        block = self._blocks.get(index)
        if block is None:
            block = self._blocks[index] = _Block(index)
        return block

    def _start(self, index: int, start: Mapping[str, Any], out: list[Delta]) -> None:
        block = self._block(index)
        for member, value in start.items():
            if member == "toolUse":
                block.kind = "tool_use"
                block.tool_use_id = value.get("toolUseId")
                block.name = value.get("name")
                block.tool_type = value.get("type")
                out.append(
                    ToolUseStarted(
                        index, block.tool_use_id or "", block.name or "", block.tool_type
                    )
                )
            elif member == "toolResult":
                block.kind = "tool_result"
                block.tool_use_id = value.get("toolUseId")
                block.status = value.get("status")
                block.tool_type = value.get("type")
                out.append(
                    ToolResultStarted(index, block.tool_use_id or "", block.status, block.tool_type)
                )
            elif member == "image":
                block.kind = "image"
                block.image_format = value.get("format")
                out.append(ImageStarted(index, block.image_format))
            else:
                block.unknown.setdefault(member, []).append(value)
                out.append(UnknownDelta(index, member, value))

    def _delta(self, index: int, delta: Mapping[str, Any], out: list[Delta]) -> None:
        block = self._blocks.get(index)
        if block is None:
            block = self._blocks[index] = _Block(index)
        for member, value in delta.items():
            if member == "text":
                if not block.kind:
                    block.kind = "text"
                block.parts.append(value)
                out.append(TextDelta(index, value))
            elif member == "toolUse":
                fragment = value.get("input") or ""
                if not block.kind:
                    block.kind = "tool_use"
                block.parts.append(fragment)
                out.append(ToolInputDelta(index, fragment, block.tool_type == SERVER_TOOL_USE))
            elif member == "reasoningContent":
                self._reasoning(block, value, out)
            elif member == "citation":
                if not block.kind:
                    block.kind = "text"
                block.citations.append(value)
                out.append(CitationDelta(index, value))
            elif member == "toolResult":
                if not block.kind:
                    block.kind = "tool_result"
                items = list(value)
                for item in items:
                    last = block.result[-1] if block.result else None
                    if last is not None and "text" in item and set(last) == {"text"}:
                        last["text"] += item["text"]
                    else:
                        block.result.append(dict(item))
                out.append(ToolResultDelta(index, items))
            elif member == "image":
                if not block.kind:
                    block.kind = "image"
                if "source" in value:
                    block.image_source = value["source"]
                if "error" in value:
                    block.image_error = value["error"]
                out.append(ImageDelta(index, value.get("source"), value.get("error")))
            else:
                block.unknown.setdefault(member, []).append(value)
                out.append(UnknownDelta(index, member, value))

    @staticmethod
    def _reasoning(block: _Block, value: Mapping[str, Any], out: list[Delta]) -> None:
        if not block.kind:
            block.kind = "reasoning"
        text = value.get("text")
        signature = value.get("signature")
        redacted = value.get("redactedContent")
        if text is not None:
            block.parts.append(text)
        if signature is not None:
            block.signature = (block.signature or "") + signature
        if redacted is not None:
            block.redacted.append(redacted)
        out.append(ReasoningDelta(block.index, text, signature, redacted))

    # -- the final answer --

    def response(self) -> StreamResponse:
        """Build the final answer from everything received (partial if not complete)."""
        content: list[dict[str, Any]] = []
        invalid: dict[int, InvalidToolInput] = {}
        for index in sorted(self._blocks):
            block = self._blocks[index]
            for item in _block_content(block):
                if "toolUse" in item and isinstance(item["toolUse"].get("input"), _RawInput):
                    raw = item["toolUse"]["input"]
                    item["toolUse"]["input"] = str(raw)
                    invalid[len(content)] = InvalidToolInput(
                        block.tool_use_id, block.name, str(raw), self._input_error(raw, block)
                    )
                content.append(item)
        meta = self.metadata
        return StreamResponse(
            content=content,
            role=self.role,
            stop_reason=self.stop_reason,
            usage=meta.usage if meta else None,
            metrics=meta.metrics if meta else None,
            trace=meta.trace if meta else None,
            additional_model_response_fields=self.additional_model_response_fields,
            performance_config=meta.performance_config if meta else None,
            service_tier=meta.service_tier if meta else None,
            invalid_tool_inputs=invalid,
            extras=dict(self.extras),
            complete=self.message_stopped,
        )

    def _input_error(self, raw: _RawInput, block: _Block) -> str:
        reason = raw.error
        if not block.stopped:
            reason += "; the block never ended (the stream was cut short)"
        elif self.stop_reason == "max_tokens":
            reason += "; the answer stopped at max_tokens"
        return reason


_METADATA_KEYS = frozenset({"usage", "metrics", "trace", "performanceConfig", "serviceTier"})


class _RawInput(str):
    """Tool input text that did not parse; carries the parser's complaint."""

    error: str


def parse_tool_input(raw: str) -> dict[str, Any] | _RawInput:
    """``""`` -> ``{}``; a JSON object -> dict; anything else -> ``_RawInput`` with the reason."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        bad = _RawInput(raw)
        bad.error = f"tool input is not valid JSON ({exc})"
        return bad
    if not isinstance(value, dict):
        bad = _RawInput(raw)
        bad.error = f"tool input is JSON but not an object (got {type(value).__name__})"
        return bad
    return value


def _block_content(block: _Block) -> list[dict[str, Any]]:
    """The Converse content block(s) for one accumulated block."""
    items: list[dict[str, Any]] = []
    kind = block.kind
    if kind == "text":
        text = "".join(block.parts)
        if block.citations:
            items.append(
                {"citationsContent": {"content": [{"text": text}], "citations": block.citations}}
            )
        else:
            items.append({"text": text})
    elif kind == "tool_use":
        tool: dict[str, Any] = {
            "toolUseId": block.tool_use_id,
            "name": block.name,
            "input": parse_tool_input("".join(block.parts)),
        }
        if block.tool_type:
            tool["type"] = block.tool_type
        items.append({"toolUse": tool})
    elif kind == "reasoning":
        if block.redacted:
            redacted = block.redacted[0] if len(block.redacted) == 1 else b"".join(block.redacted)
            items.append({"reasoningContent": {"redactedContent": redacted}})
        if block.parts or block.signature is not None or not block.redacted:
            reasoning: dict[str, Any] = {"text": "".join(block.parts)}
            if block.signature is not None:
                reasoning["signature"] = block.signature
            items.append({"reasoningContent": {"reasoningText": reasoning}})
    elif kind == "tool_result":
        result: dict[str, Any] = {"toolUseId": block.tool_use_id, "content": block.result}
        if block.status:
            result["status"] = block.status
        if block.tool_type:
            result["type"] = block.tool_type
        items.append({"toolResult": result})
    elif kind == "image":
        image: dict[str, Any] = {}
        if block.image_format:
            image["format"] = block.image_format
        if block.image_source is not None:
            image["source"] = block.image_source
        if block.image_error is not None:
            image["error"] = block.image_error
        items.append({"image": image})
    for member, values in block.unknown.items():
        items.append({member: values[0] if len(values) == 1 else values})
    return items


BedrockStream = Accumulator
"""The public name of the accumulator (kept for 0.1.0 code)."""
