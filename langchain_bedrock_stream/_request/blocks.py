"""The pieces every converter shares, and the converters of non-media blocks.

- What one conversion carries (:class:`Ctx`: the role, the request's document names, how
  earlier reasoning goes back), the conversion error and small readers.
- Raw Converse blocks (one camelCase member) pass untouched, base64-string bytes decoded.
- Text (with citations), guard content, search results.
- Earlier reasoning (``reasoningContent``), pieces a streamed ``+`` left apart joined.
- Tool calls in assistant turns (``toolUse``), with the one policy for tool-input JSON.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._accumulator import parse_tool_input
from ..models import FamilyProfile
from ..models import ReasoningHistory as ReasoningMode

PLACEHOLDER_TEXT = "."
"""Text sent where Bedrock rejects emptiness (where: see the docstring of ``messages``)."""

Role = Literal["user", "assistant", "system"]
Block = dict[str, Any]


class Unconvertible(Exception):
    """Raised by block converters; the message loop adds the message index."""

    def __init__(self, reason: str, block: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.block = block


def block_kind(block: Any) -> str:
    """How an error names a content item: ``'image' block``, ``untyped block with keys ...``."""
    if isinstance(block, Mapping):
        kind = block.get("type")
        if isinstance(kind, str):
            return f"{kind!r} block"
        keys = ", ".join(repr(key) for key in list(block)[:3])
        return f"untyped block with keys {keys}" if keys else "empty block"
    return f"{type(block).__name__} content item"


def b64decode(data: Any, block: Any) -> bytes:
    """Bytes from base64 text (line breaks allowed) or bytes as they are."""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if not isinstance(data, str) or not data:
        raise Unconvertible("expected base64 data as a non-empty string or bytes", block)
    try:
        return base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Unconvertible("data is not valid base64", block) from None


def extras(block: Mapping[str, Any]) -> Mapping[str, Any]:
    """A LangChain block's ``extras`` dict, or an empty one."""
    value = block.get("extras")
    return value if isinstance(value, Mapping) else {}


def first(block: Mapping[str, Any], *keys: str) -> Any:
    """The first present, non-empty value of ``keys`` in ``block`` or its ``extras``."""
    for source in (block, extras(block)):
        for key in keys:
            value = source.get(key)
            if value not in (None, ""):
                return value
    return None


def is_blank(text: Any) -> bool:
    """Whether ``text`` is a string Bedrock rejects as a text block: empty or whitespace."""
    return isinstance(text, str) and not text.strip()


# --- what one conversion carries ------------------------------------------------------------

_NAME_DISALLOWED = re.compile(r"[^A-Za-z0-9_\s\-()\[\]]+")
_WHITESPACE_RUN = re.compile(r"\s+")
_NAME_MAX = 200


def document_name(name: str) -> str:
    """Make ``name`` acceptable as a Converse document name.

    Bedrock allows alphanumerics, single whitespace characters, hyphens, parentheses and
    square brackets (and, as recorded traffic shows, underscores). Other runs of characters
    become a hyphen, whitespace runs one space, and the result is cut to 200 characters.
    Returns ``""`` when nothing usable is left.
    """
    cleaned = _NAME_DISALLOWED.sub("-", name)
    cleaned = _WHITESPACE_RUN.sub(" ", cleaned).strip()
    return cleaned[:_NAME_MAX].strip()


@dataclass
class DocumentNames:
    """Document names used so far in one request: Bedrock rejects duplicates.

    Unnamed documents get ``Document 1``, ``Document 2``, ... in order of appearance, so the
    same history always serialises the same way (prompt caching matches on it); a duplicate
    name gets `` (2)``.
    """

    used: set[str] = field(default_factory=set)
    generated: int = 0

    def claim(self, wanted: Any) -> str:
        name = document_name(wanted) if isinstance(wanted, str) else ""
        if not name:
            return self._generate()
        unique, n = name, 1
        while unique in self.used:
            n += 1
            unique = f"{name} ({n})"
        self.used.add(unique)
        return unique

    def note(self, name: Any) -> None:
        if isinstance(name, str):
            self.used.add(name)

    def _generate(self) -> str:
        while True:
            self.generated += 1
            name = f"Document {self.generated}"
            if name not in self.used:
                self.used.add(name)
                return name


@dataclass
class Ctx:
    """What the conversion of one message carries from block to block."""

    role: Role
    names: DocumentNames
    reasoning: ReasoningMode = "native"
    profile: FamilyProfile | None = None
    """The model's profile when the model data knows the model."""


# --- raw Converse blocks --------------------------------------------------------------------

CONTENT_KEYS = frozenset(
    {
        "text", "image", "document", "video", "audio", "toolUse", "toolResult", "guardContent",
        "cachePoint", "reasoningContent", "citationsContent", "searchResult", "toolAddition",
        "toolRemoval", "json",
    }
)  # fmt: skip
_MEDIA_KEYS = ("image", "document", "video", "audio")


def _with_decoded_bytes(block: Block) -> Block:
    """A copy of a raw media block whose base64-string ``source.bytes`` is decoded."""
    key = next(iter(block))
    if key in _MEDIA_KEYS:
        media = block[key]
        source = media.get("source") if isinstance(media, Mapping) else None
        if isinstance(source, Mapping) and isinstance(source.get("bytes"), str):
            data = b64decode(source["bytes"], block)
            return {key: {**media, "source": {**source, "bytes": data}}}
    if key == "toolResult" and isinstance(block[key], Mapping):
        result = block[key]
        content = result.get("content")
        if isinstance(content, list):
            decoded = [_with_decoded_bytes(item) if is_raw(item) else item for item in content]
            return {key: {**result, "content": decoded}}
    if key == "reasoningContent" and isinstance(block[key], Mapping):
        redacted = block[key].get("redactedContent")
        if isinstance(redacted, str):
            return {key: {**block[key], "redactedContent": b64decode(redacted, block)}}
    return block


def is_raw(block: Any) -> bool:
    """Whether ``block`` is a Converse content block: one member named like the schema."""
    return isinstance(block, Mapping) and len(block) == 1 and next(iter(block)) in CONTENT_KEYS


def _blank_citations(cited: Any) -> bool:
    if not isinstance(cited, Mapping):
        return False
    content = cited.get("content")
    return isinstance(content, list) and all(
        isinstance(item, Mapping) and is_blank(item.get("text")) for item in content
    )


def raw_block(block: Mapping[str, Any]) -> list[Block]:
    """A raw Converse block as sent (``cache_control`` / ``index`` keys aside)."""
    body = {key: value for key, value in block.items() if key not in ("cache_control", "index")}
    if not is_raw(body):
        raise Unconvertible(
            "an untyped block must be a Converse content block with exactly one member "
            f"of {sorted(CONTENT_KEYS)}",
            block,
        )
    if body.get("text") == "" or _blank_citations(body.get("citationsContent")):
        return []
    return [_with_decoded_bytes(dict(body))]


# --- text, citations, guard content, search results -----------------------------------------

_CITATION_MEMBERS = ("title", "source", "sourceContent", "location")


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(value: Any) -> Any:
    """Citation dicts only: every key of a citation is a schema member name."""
    if isinstance(value, Mapping):
        return {_camel(str(key)): _camel_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel_keys(item) for item in value]
    return value


def _annotation_citation(annotation: Mapping[str, Any]) -> dict[str, Any]:
    """A LangChain ``citation`` annotation as a Bedrock citation (snake_case keys)."""
    citation: dict[str, Any] = dict(extras(annotation))
    if "title" in annotation:
        citation["title"] = annotation["title"]
    if "cited_text" in annotation:
        citation["source_content"] = [{"text": annotation["cited_text"]}]
    if "url" in annotation and "location" not in citation:
        citation["location"] = {"web": {"url": annotation["url"]}}
    return citation


def _citation(item: Any, block: Any) -> Block:
    if not isinstance(item, Mapping):
        raise Unconvertible("a citation must be a dict", block)
    if item.get("type") == "citation":
        item = _annotation_citation(item)
    elif item.get("type") == "non_standard_annotation":
        item = item.get("value") or {}
    camel = _camel_keys(item)
    return {key: camel[key] for key in _CITATION_MEMBERS if key in camel}


def text(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """``text`` blocks, with Bedrock ``citations`` or LangChain ``citation`` annotations as
    ``citationsContent``. Empty text is dropped (whitespace: see ``messages``)."""
    value = block.get("text")
    if not isinstance(value, str):
        raise Unconvertible("'text' must be a string", block)
    if not value:
        return []
    citations = block.get("citations") or block.get("annotations")
    if not citations:
        return [{"text": value}]
    converted = [_citation(item, block) for item in citations]
    return [{"citationsContent": {"content": [{"text": value}], "citations": converted}}]


def citations_config(value: Any) -> Block | None:
    """The ``citations`` switch of documents and search results."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {"enabled": bool(value.get("enabled", True))}
    return {"enabled": bool(value)}


def guard_content(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    inner = block.get("guard_content")
    value = inner.get("text") if isinstance(inner, Mapping) else block.get("text")
    if not isinstance(value, str) or is_blank(value):
        raise Unconvertible("guard content needs a non-blank 'text'", block)
    guarded: Block = {"text": value}
    if block.get("qualifiers"):
        guarded["qualifiers"] = list(block["qualifiers"])
    return [{"guardContent": {"text": guarded}}]


def search_result(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    items = block.get("content") or []
    texts = [item if isinstance(item, str) else item.get("text") for item in items]
    if any(not isinstance(value, str) for value in texts):
        raise Unconvertible("search result content must be text blocks", block)
    result: Block = {
        "source": block.get("source"),
        "title": block.get("title"),
        "content": [{"text": value} for value in texts],
    }
    citations = citations_config(block.get("citations"))
    if citations is not None:
        result["citations"] = citations
    return [{"searchResult": result}]


# --- earlier reasoning ----------------------------------------------------------------------


@dataclass
class _Reasoning:
    text: str = ""
    signature: str | None = None
    redacted: Any = None


def _reasoning_parts(block: Mapping[str, Any]) -> _Reasoning:
    kind = block.get("type")
    if kind == "reasoning":  # LangChain v1 standard block
        more = extras(block)
        return _Reasoning(
            str(block.get("reasoning") or ""), more.get("signature"), more.get("redacted_content")
        )
    if kind == "thinking":  # Anthropic style
        return _Reasoning(str(block.get("thinking") or ""), block.get("signature"))
    if kind == "redacted_thinking":
        return _Reasoning(redacted=block.get("data"))
    inner = block.get("reasoning_content") or block.get("reasoningContent") or {}
    if not isinstance(inner, Mapping):
        raise Unconvertible("'reasoning_content' must be a dict", block)
    if isinstance(inner.get("reasoning_text"), Mapping):  # non-streamed camel->snake form
        inner = {**inner, **inner["reasoning_text"]}
    redacted = inner.get("redacted_content", inner.get("redactedContent"))
    return _Reasoning(str(inner.get("text") or ""), inner.get("signature"), redacted)


def reasoning(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    """Earlier reasoning (``reasoning_content``, v1 ``reasoning``, Anthropic ``thinking`` /
    ``redacted_thinking``) -> ``reasoningContent``; ``<think>`` text for DeepSeek-R1, and
    unsigned reasoning left out for Anthropic models (they reject it)."""
    parts = _reasoning_parts(block)
    if parts.redacted:
        if ctx.reasoning == "think_tags":
            return []
        return [{"reasoningContent": {"redactedContent": b64decode(parts.redacted, block)}}]
    if ctx.reasoning == "think_tags":
        return [{"text": f"<think>\n{parts.text}\n</think>"}] if parts.text.strip() else []
    if not parts.signature and (ctx.reasoning == "signed_only" or not parts.text):
        return []
    reasoning_text: Block = {"text": parts.text}
    if parts.signature:
        reasoning_text["signature"] = parts.signature
    return [{"reasoningContent": {"reasoningText": reasoning_text}}]


_REASONING_TYPES = frozenset({"reasoning_content", "reasoning", "thinking"})


def _mergeable(previous: Any, item: Any) -> bool:
    if not (isinstance(previous, Mapping) and isinstance(item, Mapping)):
        return False
    if previous.get("type") not in _REASONING_TYPES or item.get("type") not in _REASONING_TYPES:
        return False
    before, after = _reasoning_parts(previous), _reasoning_parts(item)
    if before.redacted or after.redacted or before.signature:
        return False
    same_index = previous.get("index") is not None and previous.get("index") == item.get("index")
    signature_only = not after.text and bool(after.signature)
    return same_index or signature_only


def merge_split_reasoning(items: Sequence[Any]) -> list[Any]:
    """Join reasoning pieces a streamed ``+`` left apart (text parts, then the signature)."""
    merged: list[Any] = []
    for item in items:
        if merged and _mergeable(merged[-1], item):
            before, after = _reasoning_parts(merged[-1]), _reasoning_parts(item)
            joined: Block = {"text": before.text + after.text}
            if after.signature:
                joined["signature"] = after.signature
            merged[-1] = {
                "type": "reasoning_content",
                "reasoning_content": joined,
                "index": merged[-1].get("index"),
            }
        else:
            merged.append(item)
    return merged


# --- tool calls -----------------------------------------------------------------------------


def tool_input(value: Any) -> Any:
    """A tool call's input as Bedrock takes it back in history.

    The one policy for tool-input JSON in requests: text is parsed by the same parser that
    reads streamed input (:func:`~langchain_bedrock_stream._accumulator.parse_tool_input`),
    and text that is not a JSON object becomes ``{}``. Such a call was reported as an
    ``invalid_tool_call`` when it streamed (never runnable); replaying it with ``{}`` keeps its
    ``toolUse`` so the error result that answers it still matches, and never sends the model
    half an argument list as if it had been run. Anything but text is sent as given.
    """
    if isinstance(value, str):
        parsed = parse_tool_input(value)
        return parsed if isinstance(parsed, dict) else {}
    return {} if value is None else value


def tool_use(block: Mapping[str, Any], *, args_key: str, server: bool = False) -> list[Block]:
    """``tool_use`` / ``server_tool_use`` / v1 ``tool_call`` blocks -> ``toolUse``."""
    tool_id, name = block.get("id"), block.get("name")
    if not tool_id or not name:
        raise Unconvertible("a tool call needs an 'id' and a 'name'", block)
    use: Block = {"toolUseId": tool_id, "name": name, "input": tool_input(block.get(args_key))}
    if server:
        use["type"] = "server_tool_use"
    return [{"toolUse": use}]


def invalid_tool_call(block: Mapping[str, Any], ctx: Ctx | None = None) -> list[Block]:
    """A call whose arguments did not parse, replayed with ``{}`` (see :func:`tool_input`)."""
    if not block.get("id") or not block.get("name"):
        return []
    return [{"toolUse": {"toolUseId": block["id"], "name": block["name"], "input": {}}}]
