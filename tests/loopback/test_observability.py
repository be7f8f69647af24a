"""Cost, usage, timing and tracing on real calls over the loopback Bedrock-wire server."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.tools import tool
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    JsonReply,
    StreamReply,
    make_simulator_responder,
)
from langchain_bedrock_stream.usage import get_bedrock_usage_callback

NOVA_MICRO = "us.amazon.nova-micro-v1:0"  # $0.035 in / $0.14 out per million tokens
SONNET_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"  # $3 / $15, read $0.30, write $3.75


def answer(usage: dict[str, int], trace: dict | None = None) -> list[dict[str, Any]]:
    metadata: dict[str, Any] = {"usage": usage, "metrics": {"latencyMs": 5}}
    if trace:
        metadata["trace"] = trace
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "fine"}}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": metadata},
    ]


def converse_body(usage: dict[str, int]) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": "fine"}]}},
        "stopReason": "end_turn",
        "usage": usage,
        "metrics": {"latencyMs": 5},
    }


def model(server: BedrockWireServer, model_id: str, **kwargs: Any) -> ChatBedrockStream:
    return ChatBedrockStream(
        model=model_id, region_name="us-east-1", endpoint_url=server.endpoint_url, **kwargs
    )


def test_streamed_and_invoked_answers_carry_the_same_cost() -> None:
    usage = {"inputTokens": 1_000_000, "outputTokens": 500_000, "totalTokens": 1_500_000}
    with BedrockWireServer([StreamReply(answer(usage)), JsonReply(converse_body(usage))]) as s:
        chunks = list(model(s, NOVA_MICRO).stream("hi"))
        invoked = model(s, NOVA_MICRO).invoke("hi")
    streamed_cost = chunks[-1].response_metadata["cost"]
    assert streamed_cost["input"] == pytest.approx(0.035)
    assert streamed_cost["output"] == pytest.approx(0.07)
    assert streamed_cost["total"] == pytest.approx(0.105)
    assert streamed_cost["currency"] == "USD"
    assert invoked.response_metadata["cost"]["total"] == pytest.approx(0.105)


def test_cached_usage_is_priced_per_kind() -> None:
    usage = {
        "inputTokens": 1_000_000,
        "outputTokens": 1_000_000,
        "totalTokens": 4_000_000,
        "cacheReadInputTokens": 1_000_000,
        "cacheWriteInputTokens": 1_000_000,
    }
    with BedrockWireServer([JsonReply(converse_body(usage))]) as s:
        message = model(s, SONNET_4).invoke("hi")
    cost = message.response_metadata["cost"]
    assert message.usage_metadata["input_tokens"] == 3_000_000
    assert cost["input"] == pytest.approx(3.0)
    assert cost["output"] == pytest.approx(15.0)
    assert cost["cache_read"] == pytest.approx(0.30)
    assert cost["cache_write"] == pytest.approx(3.75)
    assert cost["total"] == pytest.approx(22.05)


def test_prompt_router_cost_uses_the_invoked_model() -> None:
    router = "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/anthropic.claude:1"
    invoked = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"
    usage = {"inputTokens": 1_000_000, "outputTokens": 0, "totalTokens": 1_000_000}
    trace = {"promptRouter": {"invokedModelId": invoked}}
    with BedrockWireServer([StreamReply(answer(usage, trace))]) as s:
        chunks = list(model(s, router).stream("hi"))
    assert chunks[-1].response_metadata["cost"]["total"] == pytest.approx(0.035)
    assert chunks[-1].response_metadata["trace"] == trace


def test_unknown_model_has_no_cost() -> None:
    usage = {"inputTokens": 10, "outputTokens": 10, "totalTokens": 20}
    with BedrockWireServer([JsonReply(converse_body(usage))]) as s:
        message = model(s, "example.unknown-model-v9:0").invoke("hi")
    assert "cost" not in message.response_metadata
    assert message.usage_metadata["total_tokens"] == 20


def test_timing_is_reported_next_to_bedrock_latency() -> None:
    usage = {"inputTokens": 1, "outputTokens": 40, "totalTokens": 41}
    with BedrockWireServer([StreamReply(answer(usage), delay=0.01)]) as s:
        last = list(model(s, NOVA_MICRO).stream("hi"))[-1]
    timing = last.response_metadata["timing"]
    assert 0 < timing["time_to_first_token_ms"] <= timing["duration_ms"]
    assert timing["output_tokens_per_second"] > 0
    assert last.response_metadata["metrics"]["latencyMs"] == [5]


def test_usage_totals_across_an_agent_run() -> None:
    @tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return "sunny"

    with BedrockWireServer(responder=make_simulator_responder()) as s:
        agent = create_agent(model(s, NOVA_MICRO), tools=[get_weather])
        with get_bedrock_usage_callback() as totals:
            state = agent.invoke({"messages": [("user", "What is the weather in Paris?")]})
    ai = [m for m in state["messages"] if m.type == "ai"]
    assert len(ai) == 2
    assert totals.calls == 2
    assert totals.total_tokens == sum(m.usage_metadata["total_tokens"] for m in ai)
    expected = sum(m.response_metadata["cost"]["total"] for m in ai)
    assert totals.total_cost == pytest.approx(expected)
    assert totals.total_cost > 0


class Collect(BaseTracer):
    """A LangSmith-style tracer that keeps finished runs."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[Run] = []

    def _persist_run(self, run: Run) -> None:
        self.runs.append(run)

    def _end_trace(self, run: Run) -> None:
        self.runs.append(run)
        super()._end_trace(run)


def test_tracers_see_provider_model_usage_and_cost() -> None:
    usage = {"inputTokens": 100, "outputTokens": 50, "totalTokens": 150}
    with BedrockWireServer([JsonReply(converse_body(usage))]) as s:
        tracer = Collect()
        model(s, NOVA_MICRO, temperature=0.2, max_tokens=64).invoke(
            "hi", config={"callbacks": [tracer]}
        )
    run = tracer.runs[-1]
    assert run.extra["metadata"]["ls_provider"] == "amazon_bedrock"
    assert run.extra["metadata"]["ls_model_name"] == NOVA_MICRO
    assert run.extra["metadata"]["ls_temperature"] == 0.2
    assert run.extra["metadata"]["ls_max_tokens"] == 64
    message = run.outputs["generations"][0][0]["message"]
    fields = message.get("kwargs", message)  # serialized for tracing
    assert fields["usage_metadata"]["total_tokens"] == 150
    assert fields["response_metadata"]["cost"]["total"] > 0


def test_debug_log_names_model_region_and_request_id_but_no_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    usage = {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}
    caplog.set_level(logging.DEBUG, logger="langchain_bedrock_stream")
    with BedrockWireServer([StreamReply(answer(usage)), JsonReply(converse_body(usage))]) as s:
        chunks = list(model(s, NOVA_MICRO).stream("my private question"))
        invoked = model(s, NOVA_MICRO).invoke("my private question")
    ours = [r.getMessage() for r in caplog.records if r.name == "langchain_bedrock_stream"]
    for request_id in (
        chunks[-1].response_metadata["request_id"],
        invoked.response_metadata["request_id"],
    ):
        assert any(NOVA_MICRO in m and "us-east-1" in m and request_id in m for m in ours)
    assert not any("private question" in r.getMessage() for r in caplog.records)


def test_the_model_pickles_without_its_client_and_works_after() -> None:
    import pickle

    usage = {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}
    with BedrockWireServer([JsonReply(converse_body(usage)), JsonReply(converse_body(usage))]) as s:
        original = model(s, NOVA_MICRO, temperature=0.3)
        original.invoke("warm up")  # builds the boto3 client
        copy = pickle.loads(pickle.dumps(original))
        assert copy.temperature == 0.3
        assert copy._client_cache is None
        assert copy.invoke("again").text == "fine"
