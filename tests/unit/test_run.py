"""One call's bookkeeping (``_run``): chunks from delta batches, the closing chunk, the final
result and the partial answer on failure, the same from the blocking and the event-loop
shells. Batches come from an accumulator fed Converse events in memory: no sockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from langchain_bedrock_stream._accumulator import Accumulator, Delta
from langchain_bedrock_stream._run import Run, achunks, chunks
from langchain_bedrock_stream.errors import BedrockError, StreamIntegrityError

NOVA = "us.amazon.nova-pro-v1:0"
USAGE = {"inputTokens": 1000, "outputTokens": 100, "totalTokens": 1100}

EVENTS: list[dict[str, Any]] = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hel"}}},
    {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "lo"}}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {"metadata": {"usage": USAGE, "metrics": {"latencyMs": 5}}},
]


def batches(events: list[dict[str, Any]], fail: BaseException | None = None) -> Iterator[Any]:
    """``(deltas, accumulator)`` per event, as the transport yields them; then ``fail``."""
    stream = Accumulator()
    for event in events:
        yield stream.feed(event), stream
    if fail is not None:
        raise fail


async def abatches(
    events: list[dict[str, Any]], fail: BaseException | None = None
) -> AsyncIterator[Any]:
    for item in batches(events, fail):
        await asyncio.sleep(0)
        yield item


def read(run: Run, events: list[dict[str, Any]], fail: BaseException | None = None) -> list[Any]:
    return list(chunks(run, batches(events, fail)))


def aread(run: Run, events: list[dict[str, Any]], fail: BaseException | None = None) -> list[Any]:
    async def main() -> list[Any]:
        return [made async for made in achunks(run, abatches(events, fail))]

    return asyncio.run(main())


READERS = [pytest.param(read, id="blocking"), pytest.param(aread, id="event-loop")]


@pytest.mark.parametrize("reader", READERS)
def test_text_chunks_then_a_closing_chunk_with_usage_and_cost(reader: Any) -> None:
    run = Run(NOVA, model_name=NOVA)
    made = reader(run, EVENTS)
    texts = [text for _chunk, text in made]
    assert texts == ["Hel", "lo", ""]
    closing = made[-1][0].message
    assert closing.usage_metadata["input_tokens"] == 1000
    assert closing.response_metadata["cost"]["total"] > 0
    assert closing.response_metadata["timing"]["time_to_first_token_ms"] >= 0
    result = run.result("lc_run-1").generations[0].message
    assert isinstance(result, AIMessage)
    assert result.text == "Hello" and result.id == "lc_run-1"
    assert run.stream is None  # the accumulator is let go once the message is built


def test_a_batch_without_content_makes_no_chunk_and_does_not_start_the_clock() -> None:
    run = Run(NOVA)
    empty: list[Delta] = []
    assert run.chunk(empty) is None
    assert run.timing.time_to_first_token is None


def test_an_inference_profile_answer_names_the_model_and_keeps_the_profile_id() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc"
    run = Run(arn, model_name="amazon.nova-pro-v1:0", priced_as="amazon.nova-pro-v1:0")
    message = read(run, EVENTS)[-1][0].message
    assert message.response_metadata["model_id"] == arn
    assert message.response_metadata["cost"]["total"] > 0
    unpriced = read(Run(arn, model_name=arn), EVENTS)[-1][0].message
    assert "model_id" not in unpriced.response_metadata
    assert "cost" not in unpriced.response_metadata


@pytest.mark.parametrize("reader", READERS)
def test_a_failure_after_content_carries_the_partial_answer(reader: Any) -> None:
    run = Run(NOVA, model_name=NOVA)
    cut = EVENTS[:2]
    with pytest.raises(BedrockError) as caught:
        reader(run, cut, fail=BedrockError("connection reset"))
    partial = caught.value.partial_message
    assert partial is not None and partial.text == "Hel"


@pytest.mark.parametrize("reader", READERS)
def test_an_unforeseen_error_crosses_as_a_typed_error_with_the_partial_answer(
    reader: Any,
) -> None:
    run = Run(NOVA, model_name=NOVA, region="us-west-2")
    with pytest.raises(StreamIntegrityError) as caught:
        reader(run, EVENTS[:2], fail=KeyError("surprise"))
    assert caught.value.region == "us-west-2" and caught.value.model_id == NOVA
    assert caught.value.partial_message is not None
    assert caught.value.partial_message.text == "Hel"


@pytest.mark.parametrize("reader", READERS)
def test_a_stream_cancelled_before_it_opened_yields_nothing(reader: Any) -> None:
    assert reader(Run(NOVA), []) == []


def test_a_consumer_leaving_early_gets_no_closing_chunk_and_no_error() -> None:
    run = Run(NOVA)
    reading = chunks(run, batches(EVENTS))
    first = next(reading)
    assert first[1] == "Hel"
    reading.close()
    assert run.stream is None
