"""A blocking body read in a thread of its own, for a caller on the event loop.

For a client whose calls are made as botocore makes them (a watched client, a fake, a
replayed one): its body blocks, so one thread per stream reads it, ahead of the caller, and
hands what it read to the loop in one piece. See ``_loop_call.LoopCall`` and
``docs/transport.md`` ("Fallbacks").
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import Any, cast

from ._body import Body, Burst
from ._threads import BURST, PAUSE

__all__ = ["ThreadedBody"]


_AHEAD = 32
"""Reads a ``ThreadedBody`` makes ahead of its caller at most (then it waits)."""

_gate = threading.Lock()  # every reading thread passes it after each read; held to rest
_rested = 0.0  # when reading threads last rested
_behind = 0  # bodies holding reads their caller has not taken yet: the loop is behind
_behind_lock = threading.Lock()


def _count_behind(change: int) -> None:
    global _behind
    with _behind_lock:
        _behind += change


def _take_turns() -> None:
    """After a read, while the loop is behind (reads wait for it): at most every ``BURST``
    seconds, one reading thread rests ``PAUSE`` seconds holding the gate, and the others
    stop at it, so that the event loop's thread takes the GIL however many streams are read
    in threads (see ``_threads``). A loop that keeps up costs the readers nothing."""
    global _rested
    if not _behind or time.perf_counter() - _rested < BURST:
        with _gate:
            return
    with _gate:
        if time.perf_counter() - _rested >= BURST:
            time.sleep(PAUSE)
            _rested = time.perf_counter()


class ThreadedBody:
    """A blocking body (a watched, fake or replayed client's) read in a thread of its own.

    The thread reads ahead of the caller (at most ``_AHEAD`` reads): whatever it has read
    by the time the caller asks is handed over in one piece, and the loop is woken only
    when the caller is waiting. A loop that falls behind so gets several events per wake-up
    (and per chunk) instead of one thread hop per event, and the reading threads take turns
    with it (``_take_turns``). An error comes after the events read before it; the end,
    after all of them.
    """

    def __init__(self, body: Body) -> None:
        self._body = body
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._ready: list[Burst] = []
        self._end: Burst | BaseException | None = None  # the empty burst, or the failure
        self._waiter: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def delimited_by_close(self) -> bool:
        """Whether the body read ends where the connection closed (see ``_chunked``)."""
        return self._body.delimited_by_close

    async def read(self) -> Burst:
        while True:
            with self._lock:
                if self._ready:
                    ready, self._ready = self._ready, []
                    self._room.notify()
                    _count_behind(-1)
                    return _joined(ready)
                end = self._end
                if end is None:
                    if self._loop is None:
                        self._loop = asyncio.get_running_loop()
                        threading.Thread(target=self._run, name="bedrock-body", daemon=True).start()
                    waiter = self._waiter = self._loop.create_future()
            if isinstance(end, BaseException):
                raise end
            if end is not None:
                return end
            await waiter

    def _run(self) -> None:
        """The reading thread: read until the end, a failure, or ``close()``."""
        while True:
            with self._lock:
                while len(self._ready) >= _AHEAD and not self._closed:
                    self._room.wait()
                if self._closed:
                    return
            data: Burst | BaseException
            try:
                data = self._body.read()
            except BaseException as exc:  # handed to the caller, in order
                data = exc
            _take_turns()
            with self._lock:
                if self._closed:
                    return
                if data and not isinstance(data, BaseException):
                    if not self._ready:
                        _count_behind(1)
                    self._ready.append(data)
                else:
                    self._end = data
                waiter, self._waiter = self._waiter, None
            if waiter is not None:
                assert self._loop is not None
                with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits
                    self._loop.call_soon_threadsafe(_wake, waiter)
            if self._end is not None:
                return

    def close(self) -> None:
        with self._lock:
            if self._ready:
                self._ready = []
                _count_behind(-1)
            self._closed = True
            self._room.notify()
        self._body.close()  # wakes a read blocked on its socket


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _joined(bursts: list[Burst]) -> Burst:
    """Bursts read one after the other, as one (all bytes, or all parsed events)."""
    if len(bursts) == 1:
        return bursts[0]
    if isinstance(bursts[0], bytes):
        return b"".join(cast("list[bytes]", bursts))
    return [pair for burst in cast("list[list[tuple[str, Any]]]", bursts) for pair in burst]
