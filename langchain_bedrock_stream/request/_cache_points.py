"""Cache points: ``cache_control`` markers on content blocks, and Bedrock's limit per request.

``cache_control`` on a block (or in its ``extras``) adds ``{"cachePoint": {"type":
"default"}}`` after it, with its ``ttl``. :func:`check_cache_points` counts the cache points of
a whole request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._blocks import _Block, _extras, _Unconvertible

_CACHE_TTLS = ("5m", "1h")


def _cache_point(marker: Any, block: Any) -> _Block:
    point: _Block = {"type": "default"}
    ttl = marker.get("ttl") if isinstance(marker, Mapping) else None
    if ttl is not None:
        if ttl not in _CACHE_TTLS:
            raise _Unconvertible(f"cache ttl must be one of {_CACHE_TTLS}, got {ttl!r}", block)
        point["ttl"] = ttl
    return {"cachePoint": point}


def _cache_marker(block: Mapping[str, Any]) -> list[_Block]:
    marker = block.get("cache_control")
    if marker is None:
        marker = _extras(block).get("cache_control")
    return [_cache_point(marker, block)] if marker else []


MAX_CACHE_POINTS = 4
"""Bedrock accepts at most this many ``cachePoint`` blocks in one request."""


def _cache_point_block(ttl: str | None) -> _Block:
    point: _Block = {"type": "default"}
    if ttl is not None:
        if ttl not in _CACHE_TTLS:
            raise ValueError(f"cache ttl must be one of {list(_CACHE_TTLS)}, got {ttl!r}")
        point["ttl"] = ttl
    return {"cachePoint": point}


def _count_cache_points(blocks: Any) -> int:
    return sum(1 for block in blocks or () if isinstance(block, Mapping) and "cachePoint" in block)


def check_cache_points(request: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` when ``request`` holds more cache points than Bedrock allows.

    Counted: ``cachePoint`` blocks in ``system``, in ``toolConfig.tools`` and in the content
    of every message.
    """
    counts = {
        "system": _count_cache_points(request.get("system")),
        "tools": _count_cache_points((request.get("toolConfig") or {}).get("tools")),
        "messages": sum(
            _count_cache_points(message.get("content")) for message in request.get("messages") or ()
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
