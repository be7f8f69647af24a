"""Opt-in checks against Amazon Bedrock itself.

They run only with ``BEDROCK_LIVE_TESTS=1`` and AWS credentials in the environment (model and
region from ``BEDROCK_LIVE_MODEL`` / ``AWS_REGION``, default Nova Micro in us-east-1), and
are skipped otherwise, so the default test run never leaves this machine.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool

from langchain_bedrock_stream import ChatBedrockStream

LIVE = os.environ.get("BEDROCK_LIVE_TESTS") == "1"
pytestmark = pytest.mark.skipif(not LIVE, reason="live AWS checks: set BEDROCK_LIVE_TESTS=1")


@pytest.fixture
def _real_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo the fake credentials the suite's autouse fixture sets, for these tests only."""
    monkeypatch.undo()


@pytest.fixture
def model(_real_aws: None) -> ChatBedrockStream:
    return ChatBedrockStream(
        model=os.environ.get("BEDROCK_LIVE_MODEL", "us.amazon.nova-micro-v1:0"),
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        max_tokens=200,
        temperature=0,
    )


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny and 21 C in {city}."


def test_live_stream_has_text_usage_and_cost(model: ChatBedrockStream) -> None:
    chunks = list(model.stream("Name the capital of France in one word."))
    assert "paris" in "".join(c.text for c in chunks).lower()
    last = chunks[-1]
    assert last.chunk_position == "last"
    assert last.usage_metadata and last.usage_metadata["output_tokens"] > 0
    assert last.response_metadata["request_id"]
    assert last.response_metadata["cost"]["total"] > 0


def test_live_tool_round_trip(model: ChatBedrockStream) -> None:
    bound = model.bind_tools([get_weather], tool_choice="any")
    question = HumanMessage("What is the weather in Lisbon?")
    call = bound.invoke([question])
    assert call.tool_calls and call.tool_calls[0]["name"] == "get_weather"
    result = ToolMessage(
        get_weather.invoke(call.tool_calls[0]["args"]), tool_call_id=call.tool_calls[0]["id"]
    )
    answer = model.bind_tools([get_weather]).invoke([question, call, result])
    assert "21" in answer.text


def test_live_async_streams(model: ChatBedrockStream) -> None:
    async def one(n: int) -> str:
        return "".join([c.text async for c in model.astream(f"Say the number {n}.")])

    async def main() -> list[str]:
        return await asyncio.gather(*(one(n) for n in range(3)))

    answers = asyncio.run(main())
    assert all(str(n) in text for n, text in enumerate(answers))
