"""Blocking boto3 work awaited from the event loop, in a thread of its own.

Opening a stream (request, response headers, first content, retries) and a non-streaming
Converse call block inside boto3; each runs in a dedicated short-lived daemon thread rather
than the loop's shared default pool, whose few workers would queue hundreds of concurrent
calls. Stream bodies are not read here: the event loop reads them itself (see ``_reader``).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["run_in_thread"]

T = TypeVar("T")


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
