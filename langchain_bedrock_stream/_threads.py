"""The async I/O edge: one reader thread per call feeding the event loop.

boto3 is blocking. Rather than hopping to a thread pool once per chunk, each call gets one
dedicated daemon thread for its whole life: it does the blocking reads and hands finished
items to the loop with ``call_soon_threadsafe``; the loop only awaits. A cancelled or
abandoned consumer calls ``cancel`` (which shuts the socket down) and the thread ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar

__all__ = ["iterate_in_thread", "run_in_thread"]

T = TypeVar("T")

_ITEM, _END, _ERROR = 0, 1, 2


async def iterate_in_thread(
    make_iterator: Callable[[], Iterator[T]],
    cancel: Callable[[], None],
    *,
    name: str = "bedrock-stream-reader",
) -> AsyncIterator[T]:
    """Run ``make_iterator()`` in its own thread and yield its items on the event loop.

    Closing or cancelling the async iterator calls ``cancel`` and stops the thread at its
    next step; items produced after that are dropped.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
    stopped = threading.Event()

    def post(kind: int, value: Any) -> None:
        if stopped.is_set():
            return
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is closed: nobody is listening any more
            stopped.set()

    def run() -> None:
        iterator = None
        try:
            iterator = make_iterator()
            for item in iterator:
                if stopped.is_set():
                    break
                post(_ITEM, item)
            post(_END, None)
        except BaseException as exc:
            post(_ERROR, exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):  # the consumer is gone; nothing to tell
                    close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == _ITEM:
                yield value
            elif kind == _END:
                return
            else:
                raise value
    finally:
        if thread.is_alive():
            stopped.set()
            cancel()


async def run_in_thread(function: Callable[[], T], *, name: str = "bedrock-call") -> T:
    """Await ``function()`` run in its own thread (not the shared default pool)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def run() -> None:
        ok: bool
        value: Any
        try:
            value = function()
            ok = True
        except BaseException as exc:
            ok, value = False, exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting
            loop.call_soon_threadsafe(settle, ok, value)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future
