"""Totals across LangChain runs: chains, threads, async, streaming; no network."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.runnables import RunnableLambda
from pydantic import Field

from langchain_bedrock_stream.pricing import ModelPrice
from langchain_bedrock_stream.usage import (
    BedrockUsageCallbackHandler,
    ModelUsage,
    get_bedrock_usage_callback,
)

SONNET_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
NOVA_MICRO = "us.amazon.nova-micro-v1:0"
HAIKU_35_ARN = (
    "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0"
)
ROUTER_ARN = "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/anthropic.claude:1"

# Sonnet 4 ($3 in, $15 out, $0.30 cache read, $3.75 cache write per Mtok):
# 1,000 input = 700 uncached + 200 cache read + 100 cache write; 50 output.
SONNET_USAGE = UsageMetadata(
    input_tokens=1_000,
    output_tokens=50,
    total_tokens=1_050,
    input_token_details={"cache_read": 200, "cache_creation": 100},
)
SONNET_COST = (700 * 3.0 + 200 * 0.30 + 100 * 3.75 + 50 * 15.0) / 1e6  # 0.003285
# Nova Micro ($0.035 in, $0.14 out per Mtok): 2,000 input, 300 output.
NOVA_USAGE = UsageMetadata(input_tokens=2_000, output_tokens=300, total_tokens=2_300)
NOVA_COST = (2_000 * 0.035 + 300 * 0.14) / 1e6  # 0.000112


class FakeBedrockChat(BaseChatModel):
    """Answers "ok" with fixed usage and Bedrock-like response metadata; no network."""

    model_id: str = SONNET_4
    usage: UsageMetadata | None = SONNET_USAGE
    metadata_extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return "fake-bedrock"

    def _meta(self) -> dict[str, Any]:
        return {"model_name": self.model_id, "stopReason": "end_turn", **self.metadata_extra}

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(content="ok", usage_metadata=self.usage, response_metadata=self._meta())
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield ChatGenerationChunk(message=AIMessageChunk(content="o"))
        yield ChatGenerationChunk(message=AIMessageChunk(content="k"))
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="", usage_metadata=self.usage, response_metadata=self._meta()
            )
        )

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._stream(messages, stop):
            await asyncio.sleep(0)
            yield chunk


pytestmark = pytest.mark.usefixtures("fresh_pricing")


def sonnet() -> FakeBedrockChat:
    return FakeBedrockChat(model_id=SONNET_4, usage=SONNET_USAGE)


def nova() -> FakeBedrockChat:
    return FakeBedrockChat(model_id=NOVA_MICRO, usage=NOVA_USAGE)


def test_chain_of_two_models() -> None:
    chain = sonnet() | RunnableLambda(lambda m: f"again: {m.content}") | nova()
    with get_bedrock_usage_callback() as cb:
        chain.invoke("hi")

    assert cb.calls == 2
    assert cb.total_tokens == 1_050 + 2_300
    assert cb.input_tokens == 3_000
    assert cb.output_tokens == 350
    assert cb.total_cost == pytest.approx(SONNET_COST + NOVA_COST)
    by_model = cb.by_model
    assert set(by_model) == {SONNET_4, NOVA_MICRO}
    s = by_model[SONNET_4]
    assert isinstance(s, ModelUsage)
    assert (s.calls, s.priced_calls, s.unpriced_calls) == (1, 1, 0)
    assert s.input_cost == pytest.approx(700 * 3.0 / 1e6)
    assert s.cache_read_cost == pytest.approx(200 * 0.30 / 1e6)
    assert s.cache_write_cost == pytest.approx(100 * 3.75 / 1e6)
    assert s.output_cost == pytest.approx(50 * 15.0 / 1e6)
    assert s.usage_metadata["input_token_details"] == {"cache_read": 200, "cache_creation": 100}
    assert any(src.startswith("genai-prices") for src in s.sources)
    assert cb.usage_metadata[NOVA_MICRO]["total_tokens"] == 2_300


def test_runs_outside_the_block_are_not_counted() -> None:
    model = sonnet()
    with get_bedrock_usage_callback() as cb:
        model.invoke("one")
    model.invoke("two")
    assert cb.calls == 1
    with get_bedrock_usage_callback() as other:
        model.invoke("three")
    assert (cb.calls, other.calls) == (1, 1)


def test_same_model_adds_up() -> None:
    model = sonnet()
    with get_bedrock_usage_callback() as cb:
        for _ in range(3):
            model.invoke("hi")
    totals = cb.by_model[SONNET_4]
    assert totals.calls == 3
    assert totals.usage_metadata["input_token_details"] == {
        "cache_read": 600,
        "cache_creation": 300,
    }
    assert cb.total_cost == pytest.approx(3 * SONNET_COST)


def test_batch_in_threads_is_counted_through_the_context() -> None:
    with get_bedrock_usage_callback() as cb:
        sonnet().batch(["a"] * 8, config={"max_concurrency": 4})
    assert cb.calls == 8
    assert cb.total_cost == pytest.approx(8 * SONNET_COST)


def test_concurrent_threads_share_one_handler() -> None:
    handler = BedrockUsageCallbackHandler()
    models = [sonnet(), nova()]

    def work(i: int) -> None:
        for _ in range(25):
            models[i % 2].invoke("hi", config={"callbacks": [handler]})

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert handler.calls == 200
    assert handler.by_model[SONNET_4].calls == 100
    assert handler.total_tokens == 100 * 1_050 + 100 * 2_300
    assert handler.total_cost == pytest.approx(100 * SONNET_COST + 100 * NOVA_COST)


def test_threads_that_copy_the_context_are_counted() -> None:
    model = nova()
    with get_bedrock_usage_callback() as cb:
        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(model.invoke, "x"))
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert cb.calls == 4


async def test_async_runs_are_counted() -> None:
    with get_bedrock_usage_callback() as cb:
        await sonnet().ainvoke("hi")
        await asyncio.gather(*(nova().ainvoke("hi") for _ in range(10)))
    assert cb.calls == 11
    assert cb.by_model[NOVA_MICRO].calls == 10
    assert cb.total_cost == pytest.approx(SONNET_COST + 10 * NOVA_COST)


async def test_async_and_threads_together() -> None:
    with get_bedrock_usage_callback() as cb:
        await asyncio.gather(
            asyncio.to_thread(sonnet().batch, ["a"] * 5),
            *(sonnet().ainvoke("b") for _ in range(5)),
        )
    assert cb.calls == 10
    assert cb.total_cost == pytest.approx(10 * SONNET_COST)


def test_streaming_counts_once_with_the_last_chunks_usage() -> None:
    with get_bedrock_usage_callback() as cb:
        chunks = list(sonnet().stream("hi"))
    assert "".join(str(c.content) for c in chunks) == "ok"
    assert cb.calls == 1
    assert cb.total_tokens == 1_050
    assert cb.total_cost == pytest.approx(SONNET_COST)


async def test_async_streaming_counts_once() -> None:
    with get_bedrock_usage_callback() as cb:
        async for _ in nova().astream("hi"):
            pass
        async for _ in nova().astream("hi"):
            pass
    assert cb.calls == 2
    assert cb.total_cost == pytest.approx(2 * NOVA_COST)


def test_precomputed_cost_is_used() -> None:
    given = {
        "input": 0.25,
        "output": 0.5,
        "cache_read": 0.0,
        "cache_write": 0.25,
        "total": 1.0,
        "currency": "USD",
        "source": "chat model",
        "model": "x",
    }
    model = FakeBedrockChat(model_id=SONNET_4, metadata_extra={"cost": given})
    with get_bedrock_usage_callback() as cb:
        model.invoke("hi")
    totals = cb.by_model[SONNET_4]
    assert cb.total_cost == pytest.approx(1.0)
    assert totals.cache_write_cost == pytest.approx(0.25)
    assert totals.sources == {"chat model"}


def test_prompt_router_is_priced_by_the_invoked_model() -> None:
    trace = {"promptRouter": {"invokedModelId": HAIKU_35_ARN}}
    model = FakeBedrockChat(model_id=ROUTER_ARN, usage=NOVA_USAGE, metadata_extra={"trace": trace})
    with get_bedrock_usage_callback() as cb:
        model.invoke("hi")
    assert set(cb.by_model) == {HAIKU_35_ARN}
    # Claude 3.5 Haiku: $0.80 in, $4 out per Mtok.
    assert cb.total_cost == pytest.approx((2_000 * 0.80 + 300 * 4.0) / 1e6)


def test_unknown_model_counts_tokens_without_cost(caplog: pytest.LogCaptureFixture) -> None:
    model = FakeBedrockChat(model_id="acme.mystery-v1:0", usage=NOVA_USAGE)
    with get_bedrock_usage_callback() as cb:
        model.invoke("a")
        model.invoke("b")
        sonnet().invoke("c")
    assert cb.calls == 3
    assert cb.unpriced_calls == 2
    assert cb.total_tokens == 2 * 2_300 + 1_050
    assert cb.total_cost == pytest.approx(SONNET_COST)
    assert sum("acme.mystery-v1:0" in r.getMessage() for r in caplog.records) == 1
    summary = cb.summary()
    assert "acme.mystery-v1:0" in summary and "cost unknown" in summary
    assert "2 calls without a known price" in summary


def test_flex_tier_answers_are_not_priced() -> None:
    model = FakeBedrockChat(metadata_extra={"serviceTier": {"type": "flex"}})
    with get_bedrock_usage_callback() as cb:
        model.invoke("hi")
    assert (cb.calls, cb.unpriced_calls, cb.total_cost) == (1, 1, 0)


def test_handler_prices_override_everything() -> None:
    prices = {"anthropic.claude-sonnet-4": ModelPrice(input=1.0, output=1.0)}
    given = {"total": 99.0, "source": "chat model"}
    model = FakeBedrockChat(metadata_extra={"cost": given})
    with get_bedrock_usage_callback(prices=prices) as cb:
        model.invoke("hi")
    assert cb.total_cost == pytest.approx(1_050 / 1e6)  # 1,050 tokens at $1 per Mtok


def test_messages_without_usage_are_ignored() -> None:
    handler = BedrockUsageCallbackHandler()
    FakeBedrockChat(usage=None).invoke("hi", config={"callbacks": [handler]})
    handler.on_llm_end(LLMResult(generations=[[]]))
    assert handler.calls == 0
    assert handler.total_cost == 0


def test_every_generation_of_a_result_is_counted() -> None:
    handler = BedrockUsageCallbackHandler()
    gen = ChatGeneration(
        message=AIMessage(
            content="", usage_metadata=NOVA_USAGE, response_metadata={"model_id": NOVA_MICRO}
        )
    )
    handler.on_llm_end(LLMResult(generations=[[gen, gen], [gen]]))
    assert handler.calls == 3
    assert handler.total_cost == pytest.approx(3 * NOVA_COST)


def test_nested_blocks_count_in_the_innermost_handler() -> None:
    with get_bedrock_usage_callback() as outer:
        nova().invoke("a")
        with get_bedrock_usage_callback() as inner:
            nova().invoke("b")
        nova().invoke("c")
    assert (outer.calls, inner.calls) == (2, 1)


def test_repr_summary_and_reset() -> None:
    with get_bedrock_usage_callback() as cb:
        sonnet().invoke("hi")
        nova().invoke("hi")
    text = repr(cb)
    assert "calls=2" in text and "total_tokens=3350" in text and SONNET_4 in text
    summary = cb.summary()
    assert summary.startswith("Bedrock usage: 2 calls, 3,350 tokens, $")
    assert f"{SONNET_4}: 1 call, in 1,000 (cache read 200, cache write 100), out 50" in summary
    assert NOVA_MICRO in summary
    cb.reset()
    assert (cb.calls, cb.total_cost, cb.by_model) == (0, 0, {})
