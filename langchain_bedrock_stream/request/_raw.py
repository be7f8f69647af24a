"""Raw Converse blocks (one camelCase member, e.g. ``{"cachePoint": {...}}``) pass untouched,
except that base64-string media bytes are decoded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._blocks import _b64decode, _Block, _Unconvertible

_CONTENT_KEYS = frozenset(
    {
        "text", "image", "document", "video", "audio", "toolUse", "toolResult", "guardContent",
        "cachePoint", "reasoningContent", "citationsContent", "searchResult", "toolAddition",
        "toolRemoval", "json",
    }
)  # fmt: skip
_MEDIA_KEYS = ("image", "document", "video", "audio")


def _with_decoded_bytes(block: _Block) -> _Block:
    """A copy of a raw media block whose base64-string ``source.bytes`` is decoded."""
    key = next(iter(block))
    if key in _MEDIA_KEYS:
        media = block[key]
        source = media.get("source") if isinstance(media, Mapping) else None
        if isinstance(source, Mapping) and isinstance(source.get("bytes"), str):
            data = _b64decode(source["bytes"], block)
            return {key: {**media, "source": {**source, "bytes": data}}}
    if key == "toolResult" and isinstance(block[key], Mapping):
        result = block[key]
        content = result.get("content")
        if isinstance(content, list):
            decoded = [_with_decoded_bytes(item) if _is_raw(item) else item for item in content]
            return {key: {**result, "content": decoded}}
    if key == "reasoningContent" and isinstance(block[key], Mapping):
        redacted = block[key].get("redactedContent")
        if isinstance(redacted, str):
            return {key: {**block[key], "redactedContent": _b64decode(redacted, block)}}
    return block


def _is_raw(block: Any) -> bool:
    return isinstance(block, Mapping) and len(block) == 1 and next(iter(block)) in _CONTENT_KEYS


def _raw_block(block: Mapping[str, Any]) -> list[_Block]:
    body = {key: value for key, value in block.items() if key not in ("cache_control", "index")}
    if not _is_raw(body):
        raise _Unconvertible(
            "an untyped block must be a Converse content block with exactly one member "
            f"of {sorted(_CONTENT_KEYS)}",
            block,
        )
    if body.get("text") == "":
        return []
    return [_with_decoded_bytes(dict(body))]
