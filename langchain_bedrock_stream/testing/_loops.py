"""Event-loop instruments: how late a loop runs, and a loop without ``add_reader``.

:class:`LoopLagTicker` wakes every few milliseconds and records how late each wake-up
was: anything that blocks the loop thread (a blocking socket read, a TLS handshake,
credential resolution) shows up as lateness. Use generous bounds in tests (seconds):
a loaded machine delays timers too.

:class:`ReaderlessEventLoop` behaves like asyncio's Proactor loop (Windows' default) in
the one way that matters to network code written for selectors: ``add_reader`` and
``add_writer`` raise ``NotImplementedError``. Transports and streams keep working.

::

    async with LoopLagTicker() as ticker:
        async for chunk in model.astream("hi"):
            ...
    assert ticker.worst < 1.5
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

__all__ = ["LoopLagTicker", "ReaderlessEventLoop"]


class LoopLagTicker:
    """An async context manager measuring the running loop's worst lateness, in seconds.

    A task sleeps ``interval`` seconds at a time and records, for each wake-up, how much
    later than due it ran. :attr:`worst` is the largest lateness seen, :attr:`ticks` the
    number of wake-ups; both are readable inside the block and after it.
    """

    def __init__(self, interval: float = 0.005) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval = interval
        self.worst = 0.0
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            late = loop.time() - due
            self.ticks += 1
            if late > self.worst:
                self.worst = late

    async def __aenter__(self) -> LoopLagTicker:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class ReaderlessEventLoop(asyncio.SelectorEventLoop):
    """A selector loop whose ``add_reader`` / ``add_writer`` raise ``NotImplementedError``,
    as on asyncio's Proactor loop; transports and ``sock_*`` methods still work.

    ``remove_reader`` / ``remove_writer`` stay usable: asyncio's own ``sock_connect`` calls
    them in its clean-up."""

    def add_reader(self, fd: Any, callback: Any, *args: Any) -> None:  # type: ignore[override]
        """Refused, as on the Proactor loop."""
        raise NotImplementedError("add_reader is not available on this event loop")

    def add_writer(self, fd: Any, callback: Any, *args: Any) -> None:  # type: ignore[override]
        """Refused, as on the Proactor loop."""
        raise NotImplementedError("add_writer is not available on this event loop")
