"""What every converter shares: the Converse block type, the conversion error, base64 decoding
and reading a block's ``extras``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Literal

PLACEHOLDER_TEXT = "."
"""Text sent where Bedrock rejects emptiness (where: see the docstring of ``_messages``)."""

_Role = Literal["user", "assistant", "system"]
_Block = dict[str, Any]


class _Unconvertible(Exception):
    """Raised by block converters; the message loop adds the message index."""

    def __init__(self, reason: str, block: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.block = block


def _block_kind(block: Any) -> str:
    if isinstance(block, Mapping):
        kind = block.get("type")
        if isinstance(kind, str):
            return f"{kind!r} block"
        keys = ", ".join(repr(key) for key in list(block)[:3])
        return f"untyped block with keys {keys}" if keys else "empty block"
    return f"{type(block).__name__} content item"


def _b64decode(data: Any, block: Any) -> bytes:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if not isinstance(data, str) or not data:
        raise _Unconvertible("expected base64 data as a non-empty string or bytes", block)
    try:
        return base64.b64decode("".join(data.split()), validate=True)  # line breaks allowed
    except (binascii.Error, ValueError):
        raise _Unconvertible("data is not valid base64", block) from None


def _extras(block: Mapping[str, Any]) -> Mapping[str, Any]:
    extras = block.get("extras")
    return extras if isinstance(extras, Mapping) else {}


def _first(block: Mapping[str, Any], *keys: str) -> Any:
    """The first present, non-empty value of ``keys`` in ``block`` or its ``extras``."""
    for source in (block, _extras(block)):
        for key in keys:
            value = source.get(key)
            if value not in (None, ""):
                return value
    return None
