"""The request we send against ``ChatBedrockConverse``'s for the same inputs.

Both models send to one loopback server, which records each request body as it arrived
(boto3 serialised it: bytes as base64). For each typical input the two bodies must be equal,
except for the members listed in ``DELIBERATE``, each with its reason (the README's
migration section and ``test_compat_langchain_aws.py`` list the behaviours behind them).
"""

from __future__ import annotations

import base64
import struct
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, Field

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply, StreamReply
from tests.support.converse_clients import converse_clients
from tests.support.events import text_events

langchain_aws = pytest.importorskip("langchain_aws")

CLAUDE = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
CLAUDE_37 = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"
REGION = "us-east-1"


class Weather(BaseModel):
    """The weather in a city."""

    city: str = Field(description="the city")
    celsius: float = Field(description="the temperature")


def get_weather(city: str) -> str:
    """Look up the weather in a city."""
    return f"sunny in {city}"


PNG = (
    b"\x89PNG\r\n\x1a\n"
    + struct.pack(">I", 13)
    + b"IHDR"
    + struct.pack(">II", 8, 8)
    + bytes(range(64))
)

TOOL_TURNS = [
    HumanMessage("weather in Paris?"),
    AIMessage(
        content="",
        tool_calls=[{"id": "call-1", "name": "get_weather", "args": {"city": "Paris"}}],
    ),
    ToolMessage("sunny in Paris", tool_call_id="call-1"),
]


def _answer(tool: str | None = None) -> dict[str, Any]:
    content: list[dict[str, Any]]
    if tool is None:
        content = [{"text": "ok"}]
    else:
        content = [
            {
                "toolUse": {
                    "toolUseId": "t1",
                    "name": tool,
                    "input": {"city": "Paris", "celsius": 21},
                }
            }
        ]
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": "end_turn" if tool is None else "tool_use",
        "usage": {"inputTokens": 5, "outputTokens": 1, "totalTokens": 6},
        "metrics": {"latencyMs": 12},
    }


Case = tuple[dict[str, Any], Callable[[BaseChatModel], Any], str | None]

CASES: dict[str, Case] = {
    "plain": ({}, lambda m: m.invoke("hi"), None),
    "system prompt": (
        {},
        lambda m: m.invoke([SystemMessage("Be brief."), HumanMessage("hi")]),
        None,
    ),
    "inference settings": (
        {"temperature": 0.2, "max_tokens": 100, "top_p": 0.9},
        lambda m: m.invoke("hi", stop=["END"]),
        None,
    ),
    "tools": ({}, lambda m: m.bind_tools([get_weather]).invoke("weather?"), None),
    "tool_choice any": (
        {},
        lambda m: m.bind_tools([get_weather], tool_choice="any").invoke("weather?"),
        None,
    ),
    "named tool_choice": (
        {},
        lambda m: m.bind_tools([get_weather], tool_choice="get_weather").invoke("weather?"),
        None,
    ),
    "image": (
        {},
        lambda m: m.invoke(
            [
                HumanMessage(
                    content=[
                        {"type": "text", "text": "what is this?"},
                        {
                            "type": "image",
                            "base64": base64.b64encode(PNG).decode(),
                            "mime_type": "image/png",
                        },
                    ]
                )
            ]
        ),
        None,
    ),
    "tool results": ({}, lambda m: m.bind_tools([get_weather]).invoke(TOOL_TURNS), None),
    "structured output": (
        {},
        lambda m: m.with_structured_output(Weather).invoke("weather in Paris?"),
        "Weather",
    ),
    "streamed": ({}, lambda m: list(m.stream([SystemMessage("Be brief."), "hi"])), "stream"),
    "reasoning effort": (
        {"model": CLAUDE_37, "reasoning_effort": "low"},
        lambda m: m.invoke("hi"),
        None,
    ),
}

DELIBERATE: dict[str, dict[str, str]] = {
    "reasoning effort": {
        "additionalModelRequestFields": "reasoning_effort is applied, never ignored: on "
        "Claude 3.7 it becomes a thinking budget (low: 1024 tokens); ChatBedrockConverse "
        "warns and sends the request without it",
        "inferenceConfig": "with a thinking budget and no max_tokens, maxTokens becomes the "
        "budget plus 4096 (Anthropic requires it above the budget)",
    },
}
"""Members that differ on purpose, per case, with the reason."""


def _body(
    server: BedrockWireServer, cls: type[BaseChatModel], settings: dict[str, Any], case: Case
) -> dict[str, Any]:
    _, call, tool = case
    if tool == "stream":
        server.enqueue(StreamReply(text_events(["ok"])))
    else:
        server.enqueue(JsonReply(_answer(tool)))
    settings = {"model": CLAUDE, **settings}
    if cls is langchain_aws.ChatBedrockConverse:
        settings.update(converse_clients(server.endpoint_url, REGION))
    model = cls(region_name=REGION, endpoint_url=server.endpoint_url, **settings)
    before = len(server.requests)
    call(model)
    assert len(server.requests) == before + 1
    return dict(server.requests[-1].body)


@pytest.mark.parametrize("name", list(CASES))
def test_our_request_equals_chat_bedrock_converses(server: BedrockWireServer, name: str) -> None:
    settings = CASES[name][0]
    with warnings.catch_warnings():  # theirs warns where it ignores a setting
        warnings.simplefilter("ignore", UserWarning)
        theirs = _body(server, langchain_aws.ChatBedrockConverse, settings, CASES[name])
    ours = _body(server, ChatBedrockStream, settings, CASES[name])
    differ = DELIBERATE.get(name, {})
    for member in differ:
        assert ours.get(member) != theirs.get(member), f"{member} no longer differs"
    assert {k: v for k, v in ours.items() if k not in differ} == {
        k: v for k, v in theirs.items() if k not in differ
    }
