"""Earlier reasoning in assistant turns -> ``reasoningContent``.

Accepted: this package's ``reasoning_content`` (``text``/``signature`` or
``redacted_content``), LangChain v1 ``reasoning``, Anthropic ``thinking`` /
``redacted_thinking``; pieces a streamed ``+`` left apart are joined. Reasoning goes back as
``reasoningContent``, except to DeepSeek-R1 (as ``<think>`` text, which it accepts) and without
a signature to Anthropic models (left out: rejected).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._blocks import _b64decode, _Block, _extras, _Unconvertible
from ._context import _Ctx


@dataclass
class _Reasoning:
    text: str = ""
    signature: str | None = None
    redacted: Any = None


def _reasoning_parts(block: Mapping[str, Any]) -> _Reasoning:
    kind = block.get("type")
    if kind == "reasoning":  # LangChain v1 standard block
        extras = _extras(block)
        return _Reasoning(
            str(block.get("reasoning") or ""),
            extras.get("signature"),
            extras.get("redacted_content"),
        )
    if kind == "thinking":  # Anthropic style
        return _Reasoning(str(block.get("thinking") or ""), block.get("signature"))
    if kind == "redacted_thinking":
        return _Reasoning(redacted=block.get("data"))
    inner = block.get("reasoning_content") or block.get("reasoningContent") or {}
    if not isinstance(inner, Mapping):
        raise _Unconvertible("'reasoning_content' must be a dict", block)
    if isinstance(inner.get("reasoning_text"), Mapping):  # non-streamed camel->snake form
        inner = {**inner, **inner["reasoning_text"]}
    redacted = inner.get("redacted_content", inner.get("redactedContent"))
    return _Reasoning(str(inner.get("text") or ""), inner.get("signature"), redacted)


def _reasoning(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    parts = _reasoning_parts(block)
    if parts.redacted:
        if ctx.reasoning == "think_tags":
            return []
        return [{"reasoningContent": {"redactedContent": _b64decode(parts.redacted, block)}}]
    if ctx.reasoning == "think_tags":
        return [{"text": f"<think>\n{parts.text}\n</think>"}] if parts.text else []
    if not parts.signature and (ctx.reasoning == "signed_only" or not parts.text):
        return []
    reasoning_text: _Block = {"text": parts.text}
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


def _merge_split_reasoning(items: Sequence[Any]) -> list[Any]:
    """Join reasoning pieces a streamed ``+`` left apart (text parts, then the signature)."""
    merged: list[Any] = []
    for item in items:
        if merged and _mergeable(merged[-1], item):
            before, after = _reasoning_parts(merged[-1]), _reasoning_parts(item)
            joined: _Block = {"text": before.text + after.text}
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
