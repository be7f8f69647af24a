"""One content block of a streamed answer: the checks on its events' members, what the fold
keeps for it, and the Converse content it becomes.

Pure: no boto3, no LangChain. ``accumulator.Accumulator`` keeps one ``Block`` per
``contentBlockIndex``; a known member of the wrong shape raises ``MalformedEvent`` before it
changes any state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._response import parse_tool_input

__all__ = [
    "START_MEMBERS",
    "Block",
    "MalformedEvent",
    "block_content",
    "block_index",
    "mapping",
    "optional",
    "required_mapping",
]


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


def block_index(kind: str, body: Any) -> int:
    """The ``contentBlockIndex`` of a block event: a non-negative int (not a bool)."""
    index = body.get("contentBlockIndex")
    if type(index) is not int or index < 0:
        raise MalformedEvent(kind, "contentBlockIndex", index, "a non-negative integer")
    return index


def mapping(kind: str, field: str, value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, ``{}`` for ``None``; otherwise ``MalformedEvent``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedEvent(kind, field, value, "an object")
    return value


def required_mapping(kind: str, field: str, value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping; otherwise (``None`` included) ``MalformedEvent``."""
    if not isinstance(value, Mapping):
        raise MalformedEvent(kind, field, value, "an object")
    return value


def optional(kind: str, field: str, value: Any, types: type | tuple[type, ...]) -> Any:
    """``value`` when it is ``None`` or of ``types``; otherwise ``MalformedEvent``."""
    if value is not None and not isinstance(value, types):
        name = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise MalformedEvent(kind, field, value, f"{name} or absent")
    return value


START_MEMBERS: dict[str, tuple[str, dict[str, str]]] = {
    "toolUse": ("tool_use", {"toolUseId": "tool_use_id", "name": "name", "type": "tool_type"}),
    "toolResult": (
        "tool_result",
        {"toolUseId": "tool_use_id", "status": "status", "type": "tool_type"},
    ),
    "image": ("image", {"format": "image_format"}),
}
"""The ``contentBlockStart`` members this version knows: the kind of block each opens, and
the ``Block`` field each of its (optional, string) members sets."""


_RUN = 256


@dataclass(slots=True)
class Block:
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

    def claim(self, kind: str, event: str, field: str, value: Any) -> None:
        """Give the block its kind; a member of another kind in the same block is malformed
        (text folded into a tool input, say, would change what the call runs with)."""
        if self.kind != kind:
            if self.kind:
                raise MalformedEvent(
                    event, field, value, f"content of the {self.kind} block {self.index}"
                )
            self.kind = kind

    def start(self, member: str, value: Any) -> None:
        """Open the block with the ``contentBlockStart`` member ``member`` (one of
        ``START_MEMBERS``) whose value is ``value``; its members are checked first."""
        kind, fields = START_MEMBERS[member]
        where = f"start.{member}"
        found = required_mapping("contentBlockStart", where, value)
        strings = [
            optional("contentBlockStart", f"{where}.{name}", found.get(name), str)
            for name in fields
        ]
        self.claim(kind, "contentBlockStart", where, value)
        for name, string in zip(fields.values(), strings, strict=True):
            setattr(self, name, string)

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

    def keep_unknown(self, member: str, value: Any) -> int:
        """Keep a member this version does not know; how many of it the block had before."""
        seen = self.unknown.setdefault(member, [])
        seen.append(value)
        return len(seen) - 1


def block_content(block: Block) -> list[dict[str, Any]]:
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
