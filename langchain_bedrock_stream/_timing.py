"""When one call started, first gave content, and ended: the figures both faces report.

``ChatBedrockStream`` (``response_metadata["timing"]``), ``BedrockStream``
(``time_to_first_token``, ``duration``) and the spans of ``telemetry`` read one ``Timing``
each, so the three say the same. Pure: a clock and arithmetic.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

__all__ = ["Timing"]


class Timing:
    """A call's clock: ``start()`` when the request goes out, ``content()`` when the first
    content reaches the caller, ``end()`` when reading stops (each later call is ignored)."""

    __slots__ = ("ended", "first", "started")

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.first: float | None = None
        self.ended: float | None = None

    def start(self) -> None:
        """The request is sent now (the clock restarts)."""
        self.started = time.perf_counter()
        self.first = self.ended = None

    def content(self) -> None:
        """The first content is reaching the caller (idempotent)."""
        if self.first is None:
            self.first = time.perf_counter()

    def end(self) -> None:
        """Reading stopped: at the end, at a failure, or when the caller left (idempotent)."""
        if self.ended is None:
            self.ended = time.perf_counter()

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from the start to the first content, once there was some."""
        return None if self.first is None else self.first - self.started

    @property
    def duration(self) -> float | None:
        """Seconds from the start until reading stopped; ``None`` before."""
        return None if self.ended is None else self.ended - self.started

    def output_tokens_per_second(self, usage: Mapping[str, Any] | None) -> float | None:
        """Output tokens over the time from the first content to the end (or now)."""
        output = (usage or {}).get("outputTokens")
        if self.first is None or not isinstance(output, int) or isinstance(output, bool):
            return None
        generating = (self.ended or time.perf_counter()) - self.first
        return output / generating if output and generating > 0 else None

    def metadata(self, usage: Mapping[str, Any] | None) -> dict[str, Any]:
        """``response_metadata["timing"]``: milliseconds, and tokens per second."""
        end = self.ended or time.perf_counter()
        out: dict[str, Any] = {"duration_ms": round((end - self.started) * 1000, 3)}
        first = self.time_to_first_token
        if first is not None:
            out["time_to_first_token_ms"] = round(first * 1000, 3)
            rate = self.output_tokens_per_second(usage)
            if rate is not None:
                out["output_tokens_per_second"] = round(rate, 1)
        return out
