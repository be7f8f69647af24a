"""The accumulator: ConverseStream events in, typed deltas out, final response at the end.

Pure: no boto3, no LangChain. ``Accumulator.feed`` takes botocore-shaped events
(``{"contentBlockDelta": {...}}``) one at a time, keeps state per ``contentBlockIndex``
(blocks may interleave, indices need not start at 0 or be contiguous) and returns the
deltas that event produced. ``Accumulator.response()`` builds, from a consumed stream, the
same answer Converse would have returned: ordered content blocks, parsed tool inputs,
stop reason, usage, metrics and trace. Unknown events and delta members are kept, never fatal;
a known member of the wrong shape (an index that is not a non-negative int, text that is
not a string, ...) raises ``MalformedEvent`` before it changes any state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONTENT_DELTAS",
    "Accumulator",
    "BlockStopped",
    "CitationDelta",
    "Delta",
    "ImageDelta",
    "ImageStarted",
    "InvalidToolInput",
    "MalformedEvent",
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


class MalformedEvent(ValueError):
    """An event whose known fields have the wrong shape; names the event, field and value.

    Raised before the event changes the accumulator, so ``response()`` still gives
    everything received up to it.
    """

    def __init__(self, kind: str, field: str, value: Any, expected: str) -> None:
        self.kind = kind
        self.field = field
        self.value = value
        super().__init__(
            f"malformed {kind} event: {field} should be {expected}, got {_clip(value)}"
        )


def _clip(value: Any, limit: int = 80) -> str:
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{text} ({type(value).__name__})"


def _index(kind: str, body: Any) -> int:
    """The ``contentBlockIndex`` of a block event: a non-negative int (not a bool)."""
    index = body.get("contentBlockIndex")
    if type(index) is not int or index < 0:
        raise MalformedEvent(kind, "contentBlockIndex", index, "a non-negative integer")
    return index


def _mapping(kind: str, field: str, value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, ``{}`` for ``None``; otherwise ``MalformedEvent``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedEvent(kind, field, value, "an object")
    return value


def _object(kind: str, field: str, value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping; otherwise (``None`` included) ``MalformedEvent``."""
    if not isinstance(value, Mapping):
        raise MalformedEvent(kind, field, value, "an object")
    return value


def _optional(kind: str, field: str, value: Any, types: type | tuple[type, ...]) -> Any:
    if value is not None and not isinstance(value, types):
        name = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise MalformedEvent(kind, field, value, f"{name} or absent")
    return value


_TOKEN_FIELDS = (
    "inputTokens",
    "outputTokens",
    "totalTokens",
    "cacheReadInputTokens",
    "cacheWriteInputTokens",
)


def usable_usage(usage: Any) -> dict[str, Any] | None:
    """``usage`` when it has the shape token arithmetic needs (an object of non-negative
    integer counts, ``cacheDetails`` a list of objects with integer ``inputTokens``), else
    ``None``. Never raises: an answer with odd usage is still an answer (the value is kept
    as received in ``StreamResponse.extras["usage"]``)."""
    if not isinstance(usage, dict) or not ("inputTokens" in usage or "outputTokens" in usage):
        return None
    for name in _TOKEN_FIELDS:
        count = usage.get(name)
        if count is not None and (type(count) is not int or count < 0):
            return None
    details = usage.get("cacheDetails")
    if details is not None:
        if not isinstance(details, list):
            return None
        for entry in details:
            count = entry.get("inputTokens") if isinstance(entry, dict) else None
            if not isinstance(entry, dict) or (count is not None and type(count) is not int):
                return None
    return usage


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
    seq: int = 0
    """How many values of ``member`` the block had before this one."""


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
    """``metadata``: usage, metrics, trace, performance config and service tier.

    ``usage`` is ``None`` unless it has the shape token counting needs; the other members
    are as received (normally objects; any JSON value is kept).
    """

    usage: dict[str, Any] | None
    metrics: Any
    trace: Any = None
    performance_config: Any = None
    service_tier: Any = None


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
    """Text, tool input fragments or reasoning text, in arrival order; every
    ``_RUN`` new pieces are joined into one (see ``add``)."""
    joined: int = 0
    """How many leading entries of ``parts`` are already joined runs."""
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

    def add(self, piece: str) -> None:
        """Append ``piece``; join the newest pieces into one run now and then, so a long
        answer of small deltas costs about its own size, not an object per delta."""
        parts = self.parts
        parts.append(piece)
        if len(parts) - self.joined >= _RUN:
            parts[self.joined :] = ["".join(parts[self.joined :])]
            self.joined += 1

    def text(self) -> str:
        """Everything ``add`` received, joined."""
        parts = self.parts
        return parts[0] if len(parts) == 1 else "".join(parts)


_RUN = 256


@dataclass(frozen=True, slots=True)
class InvalidToolInput:
    """A tool input that is not a JSON object when its block ended: not a runnable call."""

    tool_use_id: str | None
    name: str | None
    raw: str
    error: str
    index: int | None = None
    """The ``contentBlockIndex`` the input streamed under (its tool call chunks' index)."""


@dataclass(slots=True)
class StreamResponse:
    """The final answer, shaped like a Converse response (see ``to_converse``)."""

    content: list[dict[str, Any]]
    """Converse content blocks in ``contentBlockIndex`` order."""
    role: str = "assistant"
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None
    """Bedrock's usage, when it has the shape token counting needs (an odd one is kept in
    ``extras["usage"]``)."""
    metrics: Any = None
    """The optional members below are as Bedrock sent them: objects normally, but any JSON
    value is kept rather than costing the answer."""
    trace: Any = None
    additional_model_response_fields: Any = None
    performance_config: Any = None
    service_tier: Any = None
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
        known = {"output", "stopReason", *CONVERSE_OPTIONAL_MEMBERS, "ResponseMetadata"}
        extras = {k: v for k, v in response.items() if k not in known}
        usage = usable_usage(response.get("usage"))
        if usage is None and response.get("usage") is not None:
            extras["usage"] = response["usage"]
        return cls(
            content=list(message.get("content") or []),
            role=message.get("role", "assistant"),
            stop_reason=response.get("stopReason"),
            usage=usage,
            metrics=response.get("metrics"),
            trace=response.get("trace"),
            additional_model_response_fields=response.get("additionalModelResponseFields"),
            performance_config=response.get("performanceConfig"),
            service_tier=response.get("serviceTier"),
            extras=extras,
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
        """Fold one ``(event type, body)`` pair, appending its deltas to ``out``.

        Raises ``MalformedEvent`` for a known event whose fields have the wrong shape.
        """
        if kind == "contentBlockDelta":
            if type(body) is not dict:  # the hot path: one exact check, then the general one
                body = _mapping(kind, "body", body)
            delta = body.get("delta")
            if type(delta) is not dict:
                delta = _mapping(kind, "delta", delta)
            self._delta(_index(kind, body), delta, out)
        elif kind == "contentBlockStart":
            body = _mapping(kind, "body", body)
            self._start(_index(kind, body), _mapping(kind, "start", body.get("start")), out)
        elif kind == "contentBlockStop":
            index = _index(kind, _mapping(kind, "body", body))
            self._block(index).stopped = True
            out.append(BlockStopped(index))
        elif kind == "messageStart":
            role = _optional(kind, "role", _mapping(kind, "body", body).get("role"), str)
            self.message_started = True
            self.role = role or "assistant"
            out.append(MessageStarted(self.role))
        elif kind == "messageStop":
            body = _mapping(kind, "body", body)
            reason = _optional(kind, "stopReason", body.get("stopReason"), str)
            fields = body.get("additionalModelResponseFields")  # as received, any JSON
            self.message_stopped = True
            self.stop_reason = reason
            self.additional_model_response_fields = fields
            out.append(MessageStopped(reason, fields))
        elif kind == "metadata":
            body = _mapping(kind, "body", body)
            usage = usable_usage(body.get("usage"))
            if usage is None and body.get("usage") is not None:
                self.extras["usage"] = body["usage"]
            self.metadata = MetadataReceived(
                usage=usage,
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

    @staticmethod
    def _claim(block: _Block, kind: str, event: str, field: str, value: Any) -> None:
        """Give ``block`` its kind; a member of another kind in the same block is malformed
        (text folded into a tool input, say, would change what the call runs with)."""
        if block.kind != kind:
            if block.kind:
                raise MalformedEvent(
                    event, field, value, f"content of the {block.kind} block {block.index}"
                )
            block.kind = kind

    def _start(self, index: int, start: Mapping[str, Any], out: list[Delta]) -> None:
        block = self._block(index)
        event = "contentBlockStart"
        for member, value in start.items():
            if member == "toolUse":
                value = _object(event, "start.toolUse", value)
                tool_use_id = _optional(
                    event, "start.toolUse.toolUseId", value.get("toolUseId"), str
                )
                name = _optional(event, "start.toolUse.name", value.get("name"), str)
                tool_type = _optional(event, "start.toolUse.type", value.get("type"), str)
                self._claim(block, "tool_use", event, "start.toolUse", value)
                block.tool_use_id, block.name, block.tool_type = tool_use_id, name, tool_type
                out.append(ToolUseStarted(index, tool_use_id or "", name or "", tool_type))
            elif member == "toolResult":
                value = _object(event, "start.toolResult", value)
                tool_use_id = _optional(
                    event, "start.toolResult.toolUseId", value.get("toolUseId"), str
                )
                status = _optional(event, "start.toolResult.status", value.get("status"), str)
                tool_type = _optional(event, "start.toolResult.type", value.get("type"), str)
                self._claim(block, "tool_result", event, "start.toolResult", value)
                block.tool_use_id, block.status, block.tool_type = tool_use_id, status, tool_type
                out.append(ToolResultStarted(index, tool_use_id or "", status, tool_type))
            elif member == "image":
                value = _object(event, "start.image", value)
                image_format = _optional(event, "start.image.format", value.get("format"), str)
                self._claim(block, "image", event, "start.image", value)
                block.image_format = image_format
                out.append(ImageStarted(index, image_format))
            else:
                seen = block.unknown.setdefault(member, [])
                seen.append(value)
                out.append(UnknownDelta(index, member, value, len(seen) - 1))

    def _delta(self, index: int, delta: Mapping[str, Any], out: list[Delta]) -> None:
        block = self._blocks.get(index)
        if block is None:
            block = self._blocks[index] = _Block(index)
        event = "contentBlockDelta"
        for member, value in delta.items():
            if member == "text":
                if type(value) is not str:
                    raise MalformedEvent(event, "delta.text", value, "a string")
                if block.kind != "text":
                    self._claim(block, "text", event, "delta.text", value)
                block.add(value)
                out.append(TextDelta(index, value))
            elif member == "toolUse":
                if type(value) is not dict:
                    value = _object(event, "delta.toolUse", value)
                fragment = value.get("input")
                if fragment is None:
                    fragment = ""
                elif type(fragment) is not str:
                    raise MalformedEvent(event, "delta.toolUse.input", fragment, "a string")
                if block.kind != "tool_use":
                    self._claim(block, "tool_use", event, "delta.toolUse", value)
                block.add(fragment)
                out.append(ToolInputDelta(index, fragment, block.tool_type == SERVER_TOOL_USE))
            elif member == "reasoningContent":
                self._reasoning(block, value, out)
            elif member == "citation":
                if not isinstance(value, dict):
                    raise MalformedEvent(event, "delta.citation", value, "an object")
                self._claim(block, "text", event, "delta.citation", value)
                block.citations.append(value)
                out.append(CitationDelta(index, value))
            elif member == "toolResult":
                if not isinstance(value, list) or not all(type(i) is dict for i in value):
                    raise MalformedEvent(event, "delta.toolResult", value, "a list of objects")
                bad = next((i for i in value if "text" in i and type(i["text"]) is not str), None)
                if bad is not None:
                    raise MalformedEvent(event, "delta.toolResult[].text", bad["text"], "a string")
                self._claim(block, "tool_result", event, "delta.toolResult", value)
                for item in value:
                    last = block.result[-1] if block.result else None
                    if last is not None and "text" in item and set(last) == {"text"}:
                        last["text"] += item["text"]
                    else:
                        block.result.append(dict(item))
                out.append(ToolResultDelta(index, list(value)))
            elif member == "image":
                value = _object(event, "delta.image", value)
                source = _optional(event, "delta.image.source", value.get("source"), dict)
                error = _optional(event, "delta.image.error", value.get("error"), dict)
                self._claim(block, "image", event, "delta.image", value)
                if source is not None:
                    block.image_source = source
                if error is not None:
                    block.image_error = error
                out.append(ImageDelta(index, source, error))
            else:
                seen = block.unknown.setdefault(member, [])
                seen.append(value)
                out.append(UnknownDelta(index, member, value, len(seen) - 1))

    @classmethod
    def _reasoning(cls, block: _Block, value: Any, out: list[Delta]) -> None:
        event = "contentBlockDelta"
        value = _object(event, "delta.reasoningContent", value)
        text = _optional(event, "delta.reasoningContent.text", value.get("text"), str)
        signature = _optional(
            event, "delta.reasoningContent.signature", value.get("signature"), str
        )
        redacted = _optional(
            event,
            "delta.reasoningContent.redactedContent",
            value.get("redactedContent"),
            (bytes, bytearray),
        )
        if block.kind != "reasoning":
            cls._claim(block, "reasoning", event, "delta.reasoningContent", value)
        if text is not None:
            block.add(text)
        if signature is not None:
            block.signature = (block.signature or "") + signature
        if redacted is not None:
            block.redacted.append(bytes(redacted))
        out.append(ReasoningDelta(block.index, text, signature, redacted))

    # -- the final answer --

    def response(self, *, text: bool = True) -> StreamResponse:
        """Build the final answer from everything received (partial if not complete).

        ``text=False`` leaves text and reasoning blocks out of ``content``: a summary
        (stop reason, usage, tool calls) for a caller that already handed their deltas
        on, at no cost of a second copy of a long answer.
        """
        content: list[dict[str, Any]] = []
        invalid: dict[int, InvalidToolInput] = {}
        for index in sorted(self._blocks):
            block = self._blocks[index]
            if not text and block.kind in ("text", "reasoning") and not block.unknown:
                continue
            for item in _block_content(block):
                use = item.get("toolUse")
                if use is not None:
                    error = self._input_error(use["input"], block)
                    if error is not None:
                        raw = use["input"]
                        raw = raw if isinstance(raw, str) else block.text()
                        use["input"] = raw
                        invalid[len(content)] = InvalidToolInput(
                            block.tool_use_id, block.name, raw, error, block.index
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

    def _input_error(self, parsed: dict[str, Any] | _RawInput, block: _Block) -> str | None:
        """Why a tool block's input is not a runnable call, or ``None`` when it is one.

        A client tool call whose block never ended is never runnable, even if the part
        received happens to parse (a cut ``{"a": 1, "b": 2}`` may read as ``{"a": 1}``);
        a server tool's input is Bedrock's to run and is kept as received.
        """
        if block.tool_type == SERVER_TOOL_USE:
            return parsed.error if isinstance(parsed, _RawInput) else None
        if not block.stopped:
            reason = "the stream was cut short: it ended before this tool call was complete"
            if isinstance(parsed, _RawInput):
                reason += f" ({parsed.error})"
            return reason
        if not isinstance(parsed, _RawInput):
            return None
        if self.stop_reason == "max_tokens":
            return parsed.error + "; the answer stopped at max_tokens"
        return parsed.error

    def tool_use(self, index: int) -> tuple[str | None, str | None, str] | None:
        """``(toolUseId, name, input text)`` of block ``index`` if it is a client tool call
        (not one Bedrock runs itself), else ``None``."""
        block = self._blocks.get(index)
        if block is None or block.kind != "tool_use" or block.tool_type == SERVER_TOOL_USE:
            return None
        return block.tool_use_id, block.name, block.text()

    def last_block(self) -> tuple[int, bool] | None:
        """The highest block index received and whether that block has ended."""
        if not self._blocks:
            return None
        index = max(self._blocks)
        return index, self._blocks[index].stopped


CONVERSE_OPTIONAL_MEMBERS = (
    "usage",
    "metrics",
    "trace",
    "additionalModelResponseFields",
    "performanceConfig",
    "serviceTier",
)
"""Members of a Converse answer it can be read without (kept as received when odd)."""

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
        text = block.text()
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
            "input": parse_tool_input(block.text()),
        }
        if block.tool_type:
            tool["type"] = block.tool_type
        items.append({"toolUse": tool})
    elif kind == "reasoning":
        if block.redacted:
            redacted = block.redacted[0] if len(block.redacted) == 1 else b"".join(block.redacted)
            items.append({"reasoningContent": {"redactedContent": redacted}})
        if block.parts or block.signature is not None or not block.redacted:
            reasoning: dict[str, Any] = {"text": block.text()}
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
