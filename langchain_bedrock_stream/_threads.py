"""Blocking botocore work awaited from the event loop.

``run_blocking``: building a client, resolving credentials (a ``credential_process`` may
take seconds) and signing a request run in one small bounded pool, never on the loop. A few
workers are enough: each job is short (the stream itself is read on the loop), and hundreds
of threads doing Python work would starve the loop of the GIL. The pool is shared by every
model and every event loop.

``run_in_thread``: work that waits on a network the loop cannot see (a client whose HTTP
layer was replaced, a fake client) gets a thread of its own, so it never holds up signing.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["WORKERS", "run_blocking", "run_in_thread"]

T = TypeVar("T")

WORKERS = 4
_POOL = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bedrock-prepare")


async def run_blocking(function: Callable[[], T]) -> T:
    """Await ``function()`` run in the bounded pool, with the caller's context variables.

    Cancelling the awaiting task drops a job still queued; one already running finishes
    in its thread and its result is discarded.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    return await loop.run_in_executor(_POOL, context.run, function)


async def run_in_thread(function: Callable[[], T]) -> T:
    """Await ``function()`` in a daemon thread of its own (with the caller's context)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    context = contextvars.copy_context()

    def settle(error: BaseException | None, value: T | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)  # type: ignore[arg-type]

    def run() -> None:
        try:
            value, error = context.run(function), None
        except BaseException as exc:
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is waiting
            loop.call_soon_threadsafe(settle, error, value)

    threading.Thread(target=run, name="bedrock-call", daemon=True).start()
    return await future
