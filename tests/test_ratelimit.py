"""The token bucket behind the rate limiters, on an injected clock; the in-process limiter
and its feedback handler with a real model on the loopback server."""

from __future__ import annotations

import pickle

import pytest
from langchain_core.rate_limiters import BaseRateLimiter

from langchain_bedrock_stream import BedrockRateLimitError, ChatBedrockStream
from langchain_bedrock_stream.pricing import lookup_price
from langchain_bedrock_stream.ratelimit import (
    LocalRateLimiter,
    RateLimits,
    TokenBucket,
)
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    ErrorReply,
    JsonReply,
    RecordedRequest,
    Reply,
    Responder,
    StreamReply,
)
from langchain_bedrock_stream.usage import BedrockUsageCallbackHandler

from .events import text_events

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


# --- with a model on the loopback server ------------------------------------------------------


def answering(pieces: list[str], input_tokens: int) -> Responder:
    """The same answer to every request, streamed or not: ``input_tokens`` in, one output
    token per piece."""

    def respond(request: RecordedRequest) -> Reply:
        if request.operation == "converse-stream":
            return StreamReply(text_events(pieces, input_tokens=input_tokens))
        usage = {
            "inputTokens": input_tokens,
            "outputTokens": len(pieces),
            "totalTokens": input_tokens + len(pieces),
        }
        message = {"role": "assistant", "content": [{"text": "".join(pieces)}]}
        body = {"output": {"message": message}, "stopReason": "end_turn", "usage": usage}
        return JsonReply({**body, "metrics": {"latencyMs": 5}})

    return respond


def limited_model(server: BedrockWireServer, limiter: LocalRateLimiter) -> ChatBedrockStream:
    return ChatBedrockStream(
        model=MODEL,
        region_name="us-east-1",
        endpoint_url=server.endpoint_url,
        rate_limiter=limiter,
        callbacks=[limiter.feedback()],
        max_retries=0,
    )


def test_feedback_reports_usage_and_totals() -> None:
    with BedrockWireServer(responder=answering(["a", "b", "c"], 7)) as server:
        limiter = LocalRateLimiter(RateLimits(requests_per_minute=6000, tokens_per_minute=60_000))
        model = limited_model(server, limiter)
        assert model.invoke("one").text == "abc"
        assert "".join(c.text for c in model.stream("two")) == "abc"
        assert model.batch(["three"])[0].text == "abc"

    # 7 input tokens and 3 output tokens per answer
    state = limiter.state()
    assert (state.granted, state.tokens_reported) == (3, 30)
    totals = limiter.totals()
    assert (totals.calls, totals.input_tokens, totals.output_tokens) == (3, 21, 9)
    price = lookup_price(MODEL)
    assert price is not None
    expected = 3 * (7 * price.price.input + 3 * price.price.output) / 1e6
    assert totals.total_cost == pytest.approx(expected)


async def test_feedback_reports_usage_of_async_calls() -> None:
    with BedrockWireServer(responder=answering(["x", "y"], 4)) as server:
        limiter = LocalRateLimiter(RateLimits(requests_per_minute=6000, tokens_per_minute=60_000))
        model = limited_model(server, limiter)
        assert (await model.ainvoke("one")).text == "xy"
        assert "".join([c.text async for c in model.astream("two")]) == "xy"
    assert limiter.state().tokens_reported == 12
    assert limiter.totals().calls == 2


def test_a_throttled_call_slows_the_bucket() -> None:
    throttled = ErrorReply(429, "ThrottlingException", "Too many requests, please wait.")
    with BedrockWireServer([throttled], responder=answering(["ok"], 3)) as server:
        limiter = LocalRateLimiter(RateLimits(requests_per_minute=6000))
        model = limited_model(server, limiter)
        with pytest.raises(BedrockRateLimitError):
            model.invoke("first")
        state = limiter.state()
        assert (state.throttles, state.slowdowns, state.speed) == (1, 1, 0.5)
        assert model.invoke("again").text == "ok"  # paced by the slower bucket, then answered
        assert len(server.requests) == 2


@pytest.mark.parametrize("api", ["invoke", "stream", "ainvoke", "astream"])
async def test_the_models_own_retries_take_their_turn_from_the_bucket(api: str) -> None:
    # Two throttles, then the answer: with the model's default retries (no max_retries=0),
    # each retry takes a request from the shared bucket as the first attempt did, and the
    # retried throttles slow the bucket (the feedback handler reports only the last error).
    from langchain_bedrock_stream import RetryPolicy

    throttled = ErrorReply(429, "ThrottlingException", "Too many requests, please wait.")
    with BedrockWireServer([throttled, throttled], responder=answering(["ok"], 3)) as server:
        limiter = LocalRateLimiter(RateLimits(requests_per_minute=6000, settle=0))
        model = ChatBedrockStream(
            model=MODEL,
            region_name="us-east-1",
            endpoint_url=server.endpoint_url,
            rate_limiter=limiter,
            callbacks=[limiter.feedback()],
            retry_policy=RetryPolicy(initial_delay=0.01, jitter=False),
        )
        if api == "invoke":
            text = model.invoke("go").text
        elif api == "stream":
            text = "".join(chunk.text for chunk in model.stream("go"))
        elif api == "ainvoke":
            text = (await model.ainvoke("go")).text
        else:
            text = "".join([chunk.text async for chunk in model.astream("go")])
        assert text == "ok"
        assert len(server.requests) == 3
    state = limiter.state()
    assert state.granted == 3  # the call and its two retries
    assert (state.throttles, state.slowdowns) == (2, 2)


def test_reported_usage_holds_back_the_next_call() -> None:
    # Each answer uses 10 tokens; the bucket holds 10 and refills 10 a second, on a clock
    # that stands still until the test moves it.
    clock = FakeClock()
    limits = RateLimits(requests_per_minute=6000, tokens_per_minute=600, token_burst=10)
    limiter = LocalRateLimiter(limits, clock=clock)
    with BedrockWireServer(responder=answering(["a", "b", "c"], 7)) as server:
        model = limited_model(server, limiter)
        assert model.invoke("first").text == "abc"  # 10 -> 0 once reported
        assert model.invoke("second").text == "abc"  # 0 is not a debt yet: -> -10
        assert limiter.state().tokens_available == -10
        assert limiter.acquire(blocking=False) is False  # 10 tokens owed
        clock.now = 0.5
        assert limiter.acquire(blocking=False) is False  # 5 still owed
        clock.now = 1.0
        assert model.invoke("third").text == "abc"  # paid back: the call goes
    assert limiter.state().tokens_reported == 30
    assert len(server.requests) == 3


# --- totals that travel -----------------------------------------------------------------------


def test_usage_totals_pickle_and_merge() -> None:
    first, second = BedrockUsageCallbackHandler(), BedrockUsageCallbackHandler()
    with BedrockWireServer(responder=answering(["a", "b"], 5)) as server:
        model = ChatBedrockStream(
            model=MODEL, region_name="us-east-1", endpoint_url=server.endpoint_url
        )
        model.invoke("1", config={"callbacks": [first]})
        model.invoke("2", config={"callbacks": [second]})
        model.invoke("3", config={"callbacks": [second]})

    travelled = pickle.loads(pickle.dumps(second))
    assert (travelled.calls, travelled.total_tokens) == (2, 14)
    merged = BedrockUsageCallbackHandler()
    merged.merge(first, travelled)
    assert (merged.calls, merged.input_tokens, merged.output_tokens) == (3, 15, 6)
    assert merged.total_cost == pytest.approx(first.total_cost + second.total_cost)
    assert merged.by_model[MODEL].priced_calls == 3
    with pytest.raises(ValueError, match="itself"):
        merged.merge(merged)
