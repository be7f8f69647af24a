"""The in-process rate limiter and its feedback handler with a real model on the loopback
server: usage reported back, throttles slowing the bucket, retries taking their turn, totals
that travel (the bucket itself is tested on an injected clock in ``tests/unit``)."""

from __future__ import annotations

import pickle

import pytest

from langchain_bedrock_stream import BedrockRateLimitError, ChatBedrockStream
from langchain_bedrock_stream.pricing import lookup_price
from langchain_bedrock_stream.ratelimit import LocalRateLimiter, RateLimits
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
from tests.support.events import text_events
from tests.unit.test_ratelimit import MODEL, FakeClock


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
