"""Resuming an interrupted text answer: the continuation request, and how its events map
onto the answer so far (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._accumulator import StreamResponse

__all__ = ["Splice", "continuation", "text_only"]


def text_only(response: StreamResponse) -> str | None:
    """The answer's text when it has nothing but plain text blocks, else ``None``."""
    parts = []
    for item in response.content:
        if set(item) != {"text"}:
            return None
        parts.append(item["text"])
    return "".join(parts)


def continuation(request: Mapping[str, Any], text: str) -> tuple[dict[str, Any], str]:
    """The request continuing ``text``, and the trailing whitespace its prefill left out.

    The partial text becomes a final assistant message (appended to the caller's own
    prefill when the request already ends with one). Trailing whitespace is left out of
    the prefill because models reject or mishandle it; the continuation is expected to
    start with it.
    """
    messages = [dict(m) for m in request.get("messages") or []]
    content: list[dict[str, Any]] = []
    prefix = ""
    if messages and messages[-1].get("role") == "assistant":
        content = list(messages.pop().get("content") or [])
        if content and set(content[-1]) == {"text"}:
            prefix = content.pop()["text"]
    combined = prefix + text
    prefill = combined.rstrip()
    if prefill:
        content.append({"text": prefill})
    if content:
        messages.append({"role": "assistant", "content": content})
    return {**request, "messages": messages}, combined[len(prefill) :]


class Splice:
    """Maps a continuation's events onto the interrupted answer's accumulator.

    Block indices continue the interrupted text block (or follow it when it had ended);
    ``messageStart`` is dropped (the answer already started); the whitespace the prefill
    left out is dropped from the start of the continuation when the model repeats it.
    """

    _BLOCK_EVENTS = frozenset({"contentBlockStart", "contentBlockDelta", "contentBlockStop"})

    def __init__(self, first_index: int, dropped: str) -> None:
        self.next_index = first_index
        self.indices: dict[int, int] = {}
        self.pending = dropped

    def __call__(self, kind: str, body: Any) -> tuple[str, Any] | None:
        if kind == "messageStart":
            return None
        if kind not in self._BLOCK_EVENTS:
            return kind, body
        index = body.get("contentBlockIndex")
        mapped = self.indices.get(index)
        if mapped is None:
            mapped = self.indices[index] = self.next_index
            self.next_index += 1
        body = {**body, "contentBlockIndex": mapped}
        delta = body.get("delta")
        if self.pending and kind == "contentBlockDelta" and isinstance(delta, dict):
            text = delta.get("text")
            if isinstance(text, str):
                text = self._strip(text)
                if not text:
                    return None
                body["delta"] = {**delta, "text": text}
        return kind, body

    def _strip(self, text: str) -> str:
        pending = self.pending
        same = 0
        while same < len(text) and same < len(pending) and text[same] == pending[same]:
            same += 1
        if same == len(text) and same < len(pending):
            self.pending = pending[same:]
        else:
            self.pending = ""
        return text[same:]
