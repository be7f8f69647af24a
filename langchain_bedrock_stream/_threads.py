"""Blocking botocore work awaited from the event loop, in one small bounded pool.

Building a client, resolving credentials (a ``credential_process`` may take seconds) and
signing a request run here, never on the loop. A few workers are enough: each job is short
(the stream itself is read on the loop), and hundreds of threads doing Python work would
starve the loop of the GIL. The pool is shared by every model and every event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["WORKERS", "run_blocking"]

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
