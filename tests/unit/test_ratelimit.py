"""The token bucket behind the rate limiters and the in-process limiter, on an injected
clock (its feedback handler with a real model: ``tests/loopback/test_ratelimit_feedback.py``)."""

from __future__ import annotations

import pickle

import pytest
from langchain_core.rate_limiters import BaseRateLimiter

from langchain_bedrock_stream.ratelimit import (
    LocalRateLimiter,
    RateLimits,
    TokenBucket,
)

MODEL = "us.amazon.nova-micro-v1:0"


# --- the pure bucket ------------------------------------------------------------------------


def test_burst_then_one_request_per_interval() -> None:
    bucket = TokenBucket(RateLimits(requests_per_minute=60, request_burst=3), now=0.0)
    assert [bucket.try_acquire(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_acquire(0.0) == pytest.approx(1.0)  # one request per second
    assert bucket.try_acquire(0.5) == pytest.approx(0.5)
    assert bucket.try_acquire(1.0) == 0.0
    assert bucket.try_acquire(1.0) == pytest.approx(1.0)
    assert bucket.state(1.0).granted == 4


def test_default_burst_is_one_seconds_worth() -> None:
    bucket = TokenBucket(RateLimits(requests_per_minute=300), now=0.0)
    granted = 0
    while bucket.try_acquire(0.0) == 0.0:
        granted += 1
    assert granted == 5
    slow = TokenBucket(RateLimits(requests_per_minute=6), now=0.0)
    assert slow.try_acquire(0.0) == 0.0
    assert slow.try_acquire(0.0) == pytest.approx(10.0)


def test_refill_never_exceeds_the_burst() -> None:
    bucket = TokenBucket(RateLimits(requests_per_minute=60, request_burst=2), now=0.0)
    assert bucket.state(1000.0).requests_available == 2.0


def test_reported_tokens_put_the_bucket_in_debt() -> None:
    limits = RateLimits(requests_per_minute=6000, tokens_per_minute=600, token_burst=100)
    bucket = TokenBucket(limits, now=0.0)
    assert bucket.try_acquire(0.0) == 0.0
    bucket.record_usage(300, 0.0)  # 100 - 300: 200 tokens owed, paid back at 10 per second
    assert bucket.state(0.0).tokens_available == pytest.approx(-200.0)
    assert bucket.try_acquire(0.0) == pytest.approx(20.0)
    assert bucket.try_acquire(10.0) == pytest.approx(10.0)
    assert bucket.try_acquire(20.0) == 0.0
    assert bucket.state(20.0).tokens_reported == 300


def test_tokens_per_request_is_reserved_then_corrected() -> None:
    limits = RateLimits(
        requests_per_minute=6000, tokens_per_minute=600, token_burst=100, tokens_per_request=50
    )
    bucket = TokenBucket(limits, now=0.0)
    assert bucket.try_acquire(0.0) == 0.0  # 100 -> 50
    assert bucket.try_acquire(0.0) == 0.0  # 50 -> 0
    assert bucket.try_acquire(0.0) == pytest.approx(5.0)  # 50 needed at 10 per second
    bucket.record_usage(30, 0.0)  # that call used 20 fewer than reserved
    assert bucket.state(0.0).tokens_available == pytest.approx(20.0)
    assert bucket.try_acquire(0.0) == pytest.approx(3.0)


def test_requests_without_a_token_limit_ignore_usage() -> None:
    bucket = TokenBucket(RateLimits(requests_per_minute=60, request_burst=2), now=0.0)
    bucket.record_usage(10**9, 0.0)
    assert bucket.try_acquire(0.0) == 0.0
    assert bucket.state(0.0).tokens_available is None


def test_a_throttle_halves_the_speed_and_drops_the_burst() -> None:
    bucket = TokenBucket(RateLimits(requests_per_minute=60, request_burst=5), now=0.0)
    assert bucket.record_throttle(0.0) is True
    state = bucket.state(0.0)
    assert (state.speed, state.requests_available) == (0.5, 0.0)
    assert bucket.try_acquire(0.0) == pytest.approx(2.0)  # half of one per second
    assert bucket.try_acquire(2.0) == 0.0


def test_throttles_close_together_count_once() -> None:
    limits = RateLimits(requests_per_minute=60, settle=2.0, cooldown=100.0)
    bucket = TokenBucket(limits, now=0.0)
    assert bucket.record_throttle(0.0) is True
    assert bucket.record_throttle(0.5) is False  # answers to requests sent before the slowdown
    assert bucket.record_throttle(1.9) is False
    assert bucket.state(1.9).speed == 0.5
    assert bucket.record_throttle(2.0) is True
    state = bucket.state(2.0)
    assert (state.speed, state.throttles, state.slowdowns) == (0.25, 4, 2)


def test_speed_never_falls_below_the_floor() -> None:
    limits = RateLimits(requests_per_minute=60, min_speed=0.2, settle=0.0, cooldown=1000.0)
    bucket = TokenBucket(limits, now=0.0)
    for t in range(5):
        bucket.record_throttle(float(t))
    assert bucket.state(5.0).speed == 0.2


def test_speed_recovers_step_by_step_after_the_cooldown() -> None:
    limits = RateLimits(requests_per_minute=60, request_burst=100, settle=0.0, cooldown=10.0)
    bucket = TokenBucket(limits, now=0.0)
    bucket.record_throttle(0.0)
    bucket.record_throttle(0.0)
    assert bucket.state(9.9).speed == 0.25
    assert bucket.state(10.0).speed == 0.5
    assert bucket.state(19.9).speed == 0.5
    assert bucket.state(20.0).speed == 1.0
    assert bucket.state(1000.0).speed == 1.0


def test_refill_follows_the_speed_in_force() -> None:
    limits = RateLimits(requests_per_minute=60, request_burst=100, cooldown=10.0)
    bucket = TokenBucket(limits, now=0.0)
    bucket.record_throttle(0.0)  # empty, refilling at 0.5 per second for 10 s
    assert bucket.state(10.0).requests_available == pytest.approx(5.0)
    assert bucket.state(12.0).requests_available == pytest.approx(7.0)  # then 1 per second


def test_a_clock_going_backwards_refills_nothing() -> None:
    bucket = TokenBucket(RateLimits(requests_per_minute=60, request_burst=1), now=10.0)
    assert bucket.try_acquire(10.0) == 0.0
    assert bucket.try_acquire(5.0) > 0
    assert bucket.try_acquire(10.5) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"requests_per_minute": 0},
        {"requests_per_minute": 60, "tokens_per_minute": -1},
        {"requests_per_minute": 60, "slowdown": 0},
        {"requests_per_minute": 60, "slowdown": 1.5},
        {"requests_per_minute": 60, "min_speed": 0},
        {"requests_per_minute": 60, "request_burst": 0},
        {"requests_per_minute": 60, "tokens_per_request": -5},
        {"requests_per_minute": 60, "cooldown": -1},
    ],
)
def test_limits_reject_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RateLimits(**kwargs)  # type: ignore[arg-type]


# --- the in-process limiter ------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_local_limiter_is_a_langchain_rate_limiter_on_its_clock() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(RateLimits(requests_per_minute=60, request_burst=2), clock=clock)
    assert isinstance(limiter, BaseRateLimiter)
    assert limiter.acquire(blocking=False) is True
    assert limiter.acquire(blocking=False) is True
    assert limiter.acquire(blocking=False) is False
    clock.now = 1.0
    assert limiter.acquire(blocking=False) is True
    assert limiter.state().granted == 3


async def test_local_limiter_async_non_blocking() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(RateLimits(requests_per_minute=60, request_burst=1), clock=clock)
    assert await limiter.aacquire(blocking=False) is True
    assert await limiter.aacquire(blocking=False) is False
    clock.now = 1.0
    assert await limiter.aacquire(blocking=False) is True


def test_blocking_acquire_waits_for_its_turn() -> None:
    limiter = LocalRateLimiter(RateLimits(requests_per_minute=1200, request_burst=1))
    assert [limiter.acquire(), limiter.acquire(), limiter.acquire()] == [True, True, True]
    assert limiter.state().granted == 3


async def test_blocking_aacquire_waits_for_its_turn() -> None:
    limiter = LocalRateLimiter(RateLimits(requests_per_minute=1200, request_burst=1))
    assert [await limiter.aacquire() for _ in range(3)] == [True, True, True]
    assert limiter.state().granted == 3


def test_local_limiter_pickles_with_its_state() -> None:
    clock_free = LocalRateLimiter(RateLimits(requests_per_minute=60, request_burst=3))
    clock_free.acquire(blocking=False)
    copy = pickle.loads(pickle.dumps(clock_free))
    assert copy.limits == clock_free.limits
    assert copy.state().granted == 1
    assert copy.acquire(blocking=False) is True
