"""Prompt caching: cache points, where they go, and Bedrock's rules for them.

:func:`cache_point` is the one way a cache point is built (:func:`create_cache_point` is its
public name, as on ChatBedrockConverse). Where they come from:

- ``cache_control`` on a content block (or in its ``extras``) puts one right after the block;
- ``cache_system`` / ``cache_tools`` put one after the system prompt / the tool definitions;
- ``cache_messages`` (automatic caching of a growing conversation) puts one at the end of the
  conversation and one at the end of the turn that ended the previous call's conversation,
  so each call reads what the one before wrote and writes what the next one reads;
- a call's ``cache_control={"ttl": ...}`` (what langchain-aws's prompt-caching middleware
  sends) asks for all three for that call.

A cache point never directly follows a document or video block (Bedrock rejects that; images
are fine): one that would goes before the trailing run of documents and videos instead
(:func:`place_after_media`), as an automatic conversation point does.

Checked before sending (:func:`check_cache_points`): at most :data:`MAX_CACHE_POINTS` cache
points, and longer TTLs before shorter ones in the order Bedrock reads a request (tools,
system, messages). Automatic points only use what the limit leaves; explicit ones that break
it are an error.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ..models import FamilyProfile
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


def create_cache_point(cache_type: str = "default", ttl: str | None = None) -> Block:
    """A cache point block to put in message content, system content or a tool list:
    everything before it is cached. ``cache_type``: ``"default"``, the only type Bedrock
    has; ``ttl``: ``"5m"`` or ``"1h"`` (the model's default when unset)."""
    if cache_type != "default":
        raise ValueError(f"Bedrock's only cache point type is 'default', got {cache_type!r}")
    return cache_point(ttl)


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


def _has_point(blocks: Any) -> bool:
    return _count(blocks) > 0


@dataclass(frozen=True)
class CachePlan:
    """Where one request gets cache points beyond its ``cache_control`` markers."""

    system: bool = False
    tools: bool = False
    messages: bool = False
    ttl: str | None = None
    budgeted: bool = False
    """Whether system and tool points only use room left under the limit (a call's
    ``cache_control``) rather than being required (``cache_system`` / ``cache_tools``)."""


def plan_from(
    cache_control: Mapping[str, Any] | None,
    *,
    system: bool,
    tools: bool,
    messages: bool,
    ttl: str | None,
) -> CachePlan:
    """The plan for one call: a call's ``cache_control`` asks for every point with its TTL
    (``"5m"``, the default lifetime, is left out as langchain-aws does); otherwise the
    model's ``cache_system`` / ``cache_tools`` / ``cache_messages`` with ``cache_ttl``."""
    if cache_control:
        if not isinstance(cache_control, Mapping):
            raise ValueError(
                f"cache_control must be a dict such as {{'type': 'ephemeral', 'ttl': '1h'}}, "
                f"got {cache_control!r}"
            )
        wanted = cache_control.get("ttl")
        cache_point(wanted)  # validates
        return CachePlan(True, True, True, None if wanted == "5m" else wanted, budgeted=True)
    return CachePlan(system, tools, messages, ttl)


def _nova(profile: FamilyProfile | None) -> bool:
    return profile is not None and profile.family.startswith("nova")


def _with_tool_blocks(turn: Mapping[str, Any]) -> bool:
    return any("toolUse" in block or "toolResult" in block for block in turn["content"])


def apply_cache_plan(
    request: dict[str, Any], plan: CachePlan, profile: FamilyProfile | None
) -> None:
    """Add the cache points of ``plan`` to ``request`` (in place).

    Order of priority while room is left: system, the last turn, tools, the turn that ended
    the previous call. Nova models get no conversation point in a turn holding tool blocks,
    and for a call's ``cache_control`` no TTL and no point after tools (langchain-aws observes
    the same rules). ``profile`` is the profile of a model the data knows (``None``
    otherwise): a family known not to cache gets no automatic points, only the ones asked for
    by name (``cache_system`` / ``cache_tools``).
    """
    if profile is not None and not profile.prompt_caching:
        if plan.budgeted:
            return
        plan = CachePlan(plan.system, plan.tools, False, plan.ttl)
    nova = _nova(profile)
    ttl = None if nova and plan.budgeted else plan.ttl
    point = cache_point(ttl)
    system: list[Block] | None = request.get("system")
    tool_config = request.get("toolConfig") or {}
    tools = tool_config.get("tools")
    turns = request.get("messages") or []
    room = MAX_CACHE_POINTS - total_cache_points(request)

    def add(blocks: list[Block] | None, *, required: bool) -> None:
        nonlocal room
        if not blocks or _has_point(blocks[-1:]) or (not required and room <= 0):
            return
        at = _media_run_start(blocks, len(blocks))
        if at == 0 or _has_point(blocks[at - 1 : at]):
            return  # only documents/videos to cache after, or a point already there
        blocks.insert(at, dict(point))
        room -= 1

    if plan.system and system:
        add(system, required=not plan.budgeted)
    if plan.messages and turns and not (nova and _with_tool_blocks(turns[-1])):
        add(turns[-1]["content"], required=False)
    if plan.tools and tools and not (nova and plan.budgeted):
        tools = list(tools)
        add(tools, required=not plan.budgeted)
        request["toolConfig"] = {**tool_config, "tools": tools}
    if plan.messages and len(turns) >= 3 and turns[-1]["role"] == "user":
        previous = turns[-3]
        if not (nova and _with_tool_blocks(previous)) and not _ends_in_reasoning(previous):
            add(previous["content"], required=False)


_NO_POINT_AFTER = ("document", "video")
"""Blocks Bedrock rejects a cache point directly after (images are fine)."""


def _is_media(block: Any) -> bool:
    return isinstance(block, Mapping) and any(kind in block for kind in _NO_POINT_AFTER)


def _media_run_start(blocks: list[Any], end: int) -> int:
    """Where the run of document/video blocks ending just before ``end`` starts (``end``
    when the block before it is none of them)."""
    start = end
    while start > 0 and _is_media(blocks[start - 1]):
        start -= 1
    return start


def place_after_media(request: Mapping[str, Any]) -> None:
    """Move every cache point that directly follows a document or video block to before
    the run of documents and videos it follows (in place; a point already there makes the
    moved one redundant). Raises ``ValueError`` when nothing precedes that run in its
    message: Bedrock rejects the point where it is, and there is nowhere else to put it."""
    for index, message in enumerate(request.get("messages") or ()):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        placed: list[Any] = []
        for block in content:
            if not (_has_point([block]) and placed and _is_media(placed[-1])):
                placed.append(block)
                continue
            at = _media_run_start(placed, len(placed))
            if at == 0:
                raise ValueError(
                    f"messages[{index}]: a cache point directly after a document or video "
                    "block, with nothing before them in the message; Bedrock rejects a cache "
                    "point there: add text before the documents, or drop the cache point"
                )
            if not _has_point(placed[at - 1 : at]):
                placed.insert(at, block)
        message["content"] = placed


def _ends_in_reasoning(turn: Mapping[str, Any]) -> bool:
    content = turn["content"]
    return bool(content) and "reasoningContent" in content[-1]


def _sections(request: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """Where cache points can be, in the order Bedrock reads a request."""
    yield "tools", (request.get("toolConfig") or {}).get("tools")
    yield "system", request.get("system")
    for index, message in enumerate(request.get("messages") or ()):
        yield f"messages[{index}]", message.get("content")


def total_cache_points(request: Mapping[str, Any]) -> int:
    return sum(_count(blocks) for _, blocks in _sections(request))


def _check_ttl_order(request: Mapping[str, Any]) -> None:
    shorter_at: str | None = None
    for where, blocks in _sections(request):
        for block in blocks or ():
            point = block.get("cachePoint") if isinstance(block, Mapping) else None
            if not isinstance(point, Mapping):
                continue
            if point.get("ttl") == "1h" and shorter_at is not None:
                raise ValueError(
                    f"a cache point with ttl '1h' in {where} comes after one with the default "
                    f"5-minute lifetime in {shorter_at}; Bedrock needs longer TTLs before "
                    "shorter ones (it reads tools, then system, then messages): give the "
                    "earlier cache point ttl '1h' too, or drop the later one's"
                )
            if point.get("ttl") != "1h" and shorter_at is None:
                shorter_at = where


def check_cache_points(request: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` when ``request``'s cache points break Bedrock's rules.

    At most :data:`MAX_CACHE_POINTS` ``cachePoint`` blocks in ``system``,
    ``toolConfig.tools`` and the content of every message together; and no ``1h`` point
    after a shorter-lived one in the order tools, system, messages.
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
    _check_ttl_order(request)
