"""The pool that signs requests for the event loop: jobs take turns and rest between each
other while more wait, so a burst of streams opening at once leaves the loop's thread its
share of the GIL; a job waiting on the network does not hold the others up for long; a
queued job is dropped when its caller is cancelled. (How late the loop runs under a burst
is measured by ``benchmarks/bench.py``, not asserted here.)"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest

from langchain_bedrock_stream import _threads
from langchain_bedrock_stream._threads import BURST, PAUSE, TURN_WAIT, WORKERS, run_blocking


@pytest.fixture(autouse=True)
async def idle_pool() -> None:
    """The pool is shared by the process: let jobs of earlier tests (a cancelled caller's
    signing, a slow credential_process) finish first."""
    await settled()


async def settled() -> None:
    for _ in range(3000):
        if _threads._unfinished == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{_threads._unfinished} jobs still unfinished after 30 s")


def recording_job(spans: list[tuple[float, float]], seconds: float) -> None:
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        pass
    spans.append((start, time.perf_counter()))


async def test_jobs_of_a_burst_run_one_at_a_time_and_rest_after_each_burst() -> None:
    assert WORKERS > 1  # otherwise taking turns would be trivially true
    job = BURST * 0.6
    spans: list[tuple[float, float]] = []
    await asyncio.gather(*(run_blocking(lambda: recording_job(spans, job)) for _ in range(24)))
    spans.sort()
    assert len(spans) == 24
    gaps = [later[0] - earlier[1] for earlier, later in itertools.pairwise(spans)]
    assert min(gaps) >= 0, "two jobs ran at the same time"
    # A rest (a gap of at least PAUSE) follows every BURST seconds of jobs back to back:
    # with jobs of 0.6 BURST, at most two in a row (a job delayed by a busy machine only
    # brings the rest sooner).
    runs = [1]
    for gap in gaps:
        if gap >= PAUSE * 0.9:
            runs.append(1)
        else:
            runs[-1] += 1
    assert max(runs) <= 2, runs


async def test_a_job_waiting_on_the_network_lets_the_next_start() -> None:
    # A job that sleeps (credentials from a slow process) keeps its turn; the next job
    # starts after TURN_WAIT at the latest, not when the slow one ends.
    slow_started = threading.Event()

    def slow() -> str:
        slow_started.set()
        time.sleep(TURN_WAIT + 3.0)
        return "slow"

    slow_job = asyncio.ensure_future(run_blocking(slow))
    await asyncio.get_running_loop().run_in_executor(None, slow_started.wait, 10)
    began = time.perf_counter()
    assert await run_blocking(lambda: "quick") == "quick"
    assert time.perf_counter() - began < TURN_WAIT + 2.0
    assert await slow_job == "slow"


async def test_cancelled_callers_drop_queued_jobs_and_the_count_settles() -> None:
    ran: list[int] = []
    release = threading.Event()

    def job(i: int) -> None:
        ran.append(i)

    started = threading.Semaphore(0)

    def blocker() -> None:
        started.release()
        release.wait(10)

    blockers = [asyncio.ensure_future(run_blocking(blocker)) for _ in range(WORKERS)]
    loop = asyncio.get_running_loop()
    for _ in range(WORKERS):  # every worker busy (some after waiting for a turn)
        assert await loop.run_in_executor(None, started.acquire, True, 10)
    queued = [asyncio.ensure_future(run_blocking(lambda i=i: job(i))) for i in range(5)]
    await asyncio.sleep(0)
    for task in queued:
        task.cancel()
    results = await asyncio.gather(*queued, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    await asyncio.sleep(0)  # the cancellation reaches the pool's futures on the loop
    release.set()
    await asyncio.gather(*blockers)
    assert ran == []
    await settled()  # a cancelled job's count settles through its future's callback


async def test_a_failing_job_raises_in_the_caller_and_gives_back_its_turn() -> None:
    def fails() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        await run_blocking(fails)
    assert not _threads._turn.locked()
    assert await run_blocking(lambda: 7) == 7


async def test_a_job_no_worker_starts_is_a_timeout_not_a_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every worker is busy waiting on something that does not come: a further job is
    # dropped after START_WAIT as a typed timeout, and never runs.
    from langchain_bedrock_stream import BedrockTimeoutError

    monkeypatch.setattr(_threads, "START_WAIT", 0.5)
    release = threading.Event()
    ran = threading.Event()
    busy = threading.Semaphore(0)

    def block() -> None:
        busy.release()
        release.wait(30)

    blockers = [asyncio.ensure_future(run_blocking(block)) for _ in range(WORKERS)]
    # Every worker is taken before the job is submitted (on 3.12+ ``wait_for`` runs its
    # coroutine at once, before the blockers' tasks would otherwise have started).
    for _ in range(WORKERS):
        while not busy.acquire(blocking=False):
            await asyncio.sleep(0.01)
    try:
        with pytest.raises(BedrockTimeoutError, match="signing pool"):
            await asyncio.wait_for(run_blocking(ran.set), 10)
    finally:
        release.set()
        await asyncio.gather(*blockers)
    await settled()
    assert not ran.is_set()
