"""Event lists for scripted ConverseStream answers, shared by the tests."""

from __future__ import annotations

from typing import Any


def text_events(
    pieces: list[str],
    *,
    input_tokens: int | None = 3,
    latency_ms: int | None = 42,
    stop_reason: str = "end_turn",
) -> list[dict[str, Any]]:
    """A text answer in ``pieces``, one delta each, in block 0.

    Ends with ``metadata`` (usage: ``input_tokens`` in, one output token per piece; and
    ``latency_ms``) unless ``input_tokens`` is None.
    """
    events: list[dict[str, Any]] = [
        {"messageStart": {"role": "assistant"}},
        *({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": p}}} for p in pieces),
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": stop_reason}},
    ]
    if input_tokens is not None:
        usage = {
            "inputTokens": input_tokens,
            "outputTokens": len(pieces),
            "totalTokens": input_tokens + len(pieces),
        }
        metadata: dict[str, Any] = {"usage": usage}
        if latency_ms is not None:
            metadata["metrics"] = {"latencyMs": latency_ms}
        events.append({"metadata": metadata})
    return events
