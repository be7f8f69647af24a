"""Prompt caching: cache points, where they go, and Bedrock's rules for them.

:func:`cache_point` is the one way a cache point is built. ``cache_control`` on a content block
(or in its ``extras``) puts one after the block; :func:`check_cache_points` enforces Bedrock's
limit of cache points per request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .blocks import Block, Unconvertible, extras

CACHE_TTLS = ("5m", "1h")
"""Cache point lifetimes Bedrock accepts."""

MAX_CACHE_POINTS = 4
"""Bedrock accepts at most this many ``cachePoint`` blocks in one request."""


def cache_point(ttl: str | None = None) -> Block:
    """A ``{"cachePoint": ...}`` content block, with ``ttl`` (``"5m"`` / ``"1h"``) when given.

    Raises ``ValueError`` for any other ``ttl``.
    """
    point: Block = {"type": "default"}
    if ttl is not None:
        if ttl not in CACHE_TTLS:
            raise ValueError(f"cache ttl must be one of {list(CACHE_TTLS)}, got {ttl!r}")
        point["ttl"] = ttl
    return {"cachePoint": point}


def cache_marker(block: Mapping[str, Any]) -> list[Block]:
    """The cache point a block's ``cache_control`` asks for after it (none without one)."""
    marker = block.get("cache_control")
    if marker is None:
        marker = extras(block).get("cache_control")
    if not marker:
        return []
    ttl = marker.get("ttl") if isinstance(marker, Mapping) else None
    try:
        return [cache_point(ttl)]
    except ValueError as err:
        raise Unconvertible(str(err), block) from None


def _count(blocks: Any) -> int:
    return sum(1 for block in blocks or () if isinstance(block, Mapping) and "cachePoint" in block)


def check_cache_points(request: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` when ``request`` holds more cache points than Bedrock allows.

    Counted: ``cachePoint`` blocks in ``system``, in ``toolConfig.tools`` and in the content
    of every message.
    """
    counts = {
        "system": _count(request.get("system")),
        "tools": _count((request.get("toolConfig") or {}).get("tools")),
        "messages": sum(
            _count(message.get("content")) for message in request.get("messages") or ()
        ),
    }
    total = sum(counts.values())
    if total > MAX_CACHE_POINTS:
        where = ", ".join(f"{name}: {count}" for name, count in counts.items() if count)
        raise ValueError(
            f"the request has {total} cache points ({where}); Bedrock allows at most "
            f"{MAX_CACHE_POINTS} per request: drop some cache_control markers or "
            "cache_system / cache_tools"
        )
