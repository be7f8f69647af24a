"""The fold (``Accumulator``) and the typed deltas it returns; described in ``accumulator``,
its public home.

``__all__`` names the deltas, the vocabulary every reader of a stream sees (``stream`` and
``accumulator`` re-export it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._blocks import (
    START_MEMBERS,
    Block,
    MalformedEvent,
    block_content,
    block_index,
    mapping,
    optional,
    required_mapping,
)
from ._response import (
    METADATA_MEMBERS,
    SERVER_TOOL_USE,
    InvalidToolInput,
    RawInput,
    StreamResponse,
    usable_usage,
)

__all__ = [
    "BlockStopped",
    "CitationDelta",
    "Delta",
    "ImageDelta",
    "ImageStarted",
    "MessageStarted",
    "MessageStopped",
    "MetadataReceived",
    "ReasoningDelta",
    "TextDelta",
    "ToolInputDelta",
    "ToolResultDelta",
    "ToolResultStarted",
    "ToolUseStarted",
    "UnknownDelta",
    "UnknownEvent",
]

_METADATA_KEYS = frozenset(METADATA_MEMBERS)


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
        self._blocks: dict[int, Block] = {}
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

    def keep_partial(
        self, error: Any, build: Callable[[], StreamResponse] | None = None
    ) -> StreamResponse | None:
        """The partial answer a failure carries, for both faces: its own ``partial_response``
        if it has one, else everything received so far (given to it; ``build`` makes it,
        by default :meth:`response`), or ``None`` when no content arrived."""
        partial = getattr(error, "partial_response", None)
        if partial is None and self.has_content and hasattr(error, "partial_response"):
            partial = error.partial_response = (build or self.response)()
        return partial

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
                body = mapping(kind, "body", body)
            delta = body.get("delta")
            if type(delta) is not dict:
                delta = mapping(kind, "delta", delta)
            self._delta(block_index(kind, body), delta, out)
        elif kind == "contentBlockStart":
            body = mapping(kind, "body", body)
            self._start(block_index(kind, body), mapping(kind, "start", body.get("start")), out)
        elif kind == "contentBlockStop":
            index = block_index(kind, mapping(kind, "body", body))
            self._block(index).stopped = True
            out.append(BlockStopped(index))
        elif kind == "messageStart":
            role = optional(kind, "role", mapping(kind, "body", body).get("role"), str)
            self.message_started = True
            self.role = role or "assistant"
            out.append(MessageStarted(self.role))
        elif kind == "messageStop":
            body = mapping(kind, "body", body)
            reason = optional(kind, "stopReason", body.get("stopReason"), str)
            fields = body.get("additionalModelResponseFields")  # as received, any JSON
            self.message_stopped = True
            self.stop_reason = reason
            self.additional_model_response_fields = fields
            out.append(MessageStopped(reason, fields))
        elif kind == "metadata":
            body = mapping(kind, "body", body)
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

    def _block(self, index: int) -> Block:
        block = self._blocks.get(index)
        if block is None:
            block = self._blocks[index] = Block(index)
        return block

    def _start(self, index: int, start: Mapping[str, Any], out: list[Delta]) -> None:
        block = self._block(index)
        for member, value in start.items():
            if member in START_MEMBERS:
                block.start(member, value)
                out.append(_started(block))
            else:
                seen = block.keep_unknown(member, value)
                out.append(UnknownDelta(index, member, value, seen))

    def _delta(self, index: int, delta: Mapping[str, Any], out: list[Delta]) -> None:
        block = self._blocks.get(index)
        if block is None:
            block = self._blocks[index] = Block(index)
        event = "contentBlockDelta"
        for member, value in delta.items():
            if member == "text":
                if type(value) is not str:
                    raise MalformedEvent(event, "delta.text", value, "a string")
                if block.kind != "text":
                    block.claim("text", event, "delta.text", value)
                block.add(value)
                out.append(TextDelta(index, value))
            elif member == "toolUse":
                if type(value) is not dict:
                    value = required_mapping(event, "delta.toolUse", value)
                fragment = value.get("input")
                if fragment is None:
                    fragment = ""
                elif type(fragment) is not str:
                    raise MalformedEvent(event, "delta.toolUse.input", fragment, "a string")
                if block.kind != "tool_use":
                    block.claim("tool_use", event, "delta.toolUse", value)
                block.add(fragment)
                out.append(ToolInputDelta(index, fragment, block.tool_type == SERVER_TOOL_USE))
            elif member == "reasoningContent":
                self._reasoning(block, value, out)
            elif member == "citation":
                if not isinstance(value, dict):
                    raise MalformedEvent(event, "delta.citation", value, "an object")
                block.claim("text", event, "delta.citation", value)
                block.citations.append(value)
                out.append(CitationDelta(index, value))
            elif member == "toolResult":
                if not isinstance(value, list) or not all(type(i) is dict for i in value):
                    raise MalformedEvent(event, "delta.toolResult", value, "a list of objects")
                bad = next((i for i in value if "text" in i and type(i["text"]) is not str), None)
                if bad is not None:
                    raise MalformedEvent(event, "delta.toolResult[].text", bad["text"], "a string")
                block.claim("tool_result", event, "delta.toolResult", value)
                for item in value:
                    last = block.result[-1] if block.result else None
                    if last is not None and "text" in item and set(last) == {"text"}:
                        last["text"] += item["text"]
                    else:
                        block.result.append(dict(item))
                out.append(ToolResultDelta(index, list(value)))
            elif member == "image":
                value = required_mapping(event, "delta.image", value)
                source = optional(event, "delta.image.source", value.get("source"), dict)
                error = optional(event, "delta.image.error", value.get("error"), dict)
                block.claim("image", event, "delta.image", value)
                if source is not None:
                    block.image_source = source
                if error is not None:
                    block.image_error = error
                out.append(ImageDelta(index, source, error))
            else:
                seen = block.keep_unknown(member, value)
                out.append(UnknownDelta(index, member, value, seen))

    @staticmethod
    def _reasoning(block: Block, value: Any, out: list[Delta]) -> None:
        event = "contentBlockDelta"
        value = required_mapping(event, "delta.reasoningContent", value)
        text = optional(event, "delta.reasoningContent.text", value.get("text"), str)
        signature = optional(event, "delta.reasoningContent.signature", value.get("signature"), str)
        redacted = optional(
            event,
            "delta.reasoningContent.redactedContent",
            value.get("redactedContent"),
            (bytes, bytearray),
        )
        if block.kind != "reasoning":
            block.claim("reasoning", event, "delta.reasoningContent", value)
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
            for item in block_content(block):
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

    def _input_error(self, parsed: dict[str, Any] | RawInput, block: Block) -> str | None:
        """Why a tool block's input is not a runnable call, or ``None`` when it is one.

        A client tool call whose block never ended is never runnable, even if the part
        received happens to parse (a cut ``{"a": 1, "b": 2}`` may read as ``{"a": 1}``);
        a server tool's input is Bedrock's to run and is kept as received.
        """
        if block.tool_type == SERVER_TOOL_USE:
            return parsed.error if isinstance(parsed, RawInput) else None
        if not block.stopped:
            reason = "the stream was cut short: it ended before this tool call was complete"
            if isinstance(parsed, RawInput):
                reason += f" ({parsed.error})"
            return reason
        if not isinstance(parsed, RawInput):
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


def _started(block: Block) -> Delta:
    """The delta of a block a ``contentBlockStart`` just opened."""
    if block.kind == "tool_use":
        return ToolUseStarted(
            block.index, block.tool_use_id or "", block.name or "", block.tool_type
        )
    if block.kind == "tool_result":
        return ToolResultStarted(
            block.index, block.tool_use_id or "", block.status, block.tool_type
        )
    return ImageStarted(block.index, block.image_format)
