"""Blocking botocore work awaited from the event loop.

``run_blocking``: building a client, resolving credentials (a ``credential_process`` may
take seconds) and signing a request run in one small bounded pool, never on the loop. The
pool is shared by every model and every event loop.

Threads doing Python work take the GIL from the loop, and CPython's GIL favours them: a
thread waiting for the GIL asks for it only after 5 ms without any release, and a worker
that lets go of it for a moment (a system call, handing back a result) takes it straight
back, which restarts that wait. A burst of signings (hundreds of streams opening at once)
could so hold the loop off until the whole burst is done. Hence workers take turns (one
runs Python work at a time; a job that keeps its turn past ``TURN_WAIT``, waiting on the
network, lets the next one start), and after ``BURST`` seconds of jobs back to back a
worker rests ``PAUSE`` seconds while others wait: the loop's thread takes the GIL then.
(Resting after every job would leave the pool a few percent of a busy loop's time: the
worker waits out the 5 ms before the loop lets go.) ``benchmarks/bench.py`` measures the
loop's lateness under such bursts.

``run_in_thread``: work that waits on a network the loop cannot see (a client whose HTTP
layer was replaced, a fake client) gets a thread of its own, so it never holds up signing.

A forked child (``multiprocessing``, gunicorn ``--preload``, Celery prefork) inherits the
pool's bookkeeping but none of its threads: the pool, its counters and its locks are built
anew in the child (``os.register_at_fork``). And no job waits for a worker without end: one
not started within ``START_WAIT`` seconds is dropped and its caller gets a
``BedrockTimeoutError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from .errors import BedrockTimeoutError

__all__ = [
    "BURST",
    "PAUSE",
    "START_WAIT",
    "TURN_WAIT",
    "WORKERS",
    "run_blocking",
    "run_in_thread",
]

T = TypeVar("T")

WORKERS = 4
BURST = 0.005
"""Seconds of jobs run back to back before a worker rests (while other jobs wait)."""
PAUSE = 0.0001
"""Seconds a worker rests: long enough for the event loop's thread to wake and take the
GIL, short enough to cost a burst little."""
TURN_WAIT = 0.25
"""Seconds a job waits for its turn before it starts anyway (the job holding the turn is
then waiting on something: credentials from the network, a slow ``credential_process``)."""
START_WAIT = 120.0
"""Seconds a job may wait for a worker before it is dropped as a timeout. Far longer than
any queue of signings; it ends a wait for a pool that can run nothing."""


def _new_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bedrock-prepare")


_POOL = _new_pool()
_unfinished = 0  # jobs submitted and not yet finished (or cancelled)
_count_lock = threading.Lock()
_turn = threading.Lock()
_burst_began: float | None = None  # when the jobs running back to back began


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's workers, yet the inherited pool counts them
    as idle and starts none, and a lock a worker held stays held: start afresh. (The old
    pool is dropped, not shut down: shutting it down would wait for threads that do not
    exist here.)"""
    global _POOL, _unfinished, _count_lock, _turn, _burst_began
    _POOL = _new_pool()
    _unfinished = 0
    _count_lock = threading.Lock()
    _turn = threading.Lock()
    _burst_began = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _count(change: int) -> None:
    global _unfinished
    with _count_lock:
        _unfinished += change


def _finished(_: Future[Any]) -> None:
    _count(-1)


def _job(function: Callable[[], T]) -> T:
    """Run one job in a worker, in turn; rest after a burst if others wait (see the
    module's doc)."""
    global _burst_began
    turn = _turn.acquire(timeout=TURN_WAIT)
    began = _burst_began = _burst_began or time.perf_counter()
    try:
        return function()
    finally:
        if _unfinished <= 1:  # none waiting (this job counts until its future settles)
            _burst_began = None
        elif time.perf_counter() - began >= BURST:
            time.sleep(PAUSE)  # with the turn held: the loop, not a worker, takes the GIL
            _burst_began = None
        if turn:
            _turn.release()


async def run_blocking(function: Callable[[], T]) -> T:
    """Await ``function()`` run in the bounded pool, with the caller's context variables.

    Cancelling the awaiting task drops a job still queued; one already running finishes
    in its thread and its result is discarded. A job no worker started within
    ``START_WAIT`` seconds is dropped: ``BedrockTimeoutError``.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    _count(1)
    try:
        job = _POOL.submit(_job, lambda: context.run(function))
    except BaseException:
        _count(-1)
        raise
    job.add_done_callback(_finished)
    dropped = False

    def drop() -> None:
        nonlocal dropped
        dropped = job.cancel()  # succeeds only for a job no worker has started

    overdue = loop.call_later(START_WAIT, drop)
    try:
        return await asyncio.wrap_future(job, loop=loop)
    except asyncio.CancelledError:
        if dropped:
            raise BedrockTimeoutError(
                f"no worker of the request-signing pool started the job within {START_WAIT} s",
                code="Timeout",
            ) from None
        raise
    finally:
        overdue.cancel()


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
