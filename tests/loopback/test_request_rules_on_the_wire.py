"""Bedrock's documented request rules on the wire: requests the chat model sends through real
boto3 to the loopback server obey the rules (the checkers and the requests built without a
model are in ``tests/unit/test_request_rules.py``), and a request that breaks Bedrock's input
limits is refused before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.errors import InputConversionError
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply
from tests.unit.test_request_rules import (
    CLAUDE,
    TOOL_HISTORY,
    assert_no_blank_text,
    assert_tool_blocks_have_tool_config,
    assert_valid,
    image_block,
    png,
)


def test_limits_are_checked_before_any_request_is_sent() -> None:
    big = png(size=4 * 1024 * 1024)
    with BedrockWireServer() as server:
        model = ChatBedrockStream(
            model=CLAUDE, region_name="us-east-1", endpoint_url=server.endpoint_url
        )
        with pytest.raises(InputConversionError, match=r"3\.75 MB"):
            model.invoke([HumanMessage(["Look.", image_block(big)])])
        with pytest.raises(InputConversionError, match=r"3\.75 MB"):
            list(model.stream([HumanMessage(["Look.", image_block(big)])]))
        assert server.requests == []


def test_tool_history_without_tools_reaches_the_wire_as_text() -> None:
    reply = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Sunny in Oslo."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
    }
    with BedrockWireServer() as server:
        server.enqueue(JsonReply(reply))
        model = ChatBedrockStream(
            model=CLAUDE, region_name="us-east-1", endpoint_url=server.endpoint_url
        )
        with pytest.warns(RuntimeWarning, match="without toolConfig"):
            answer = model.invoke(TOOL_HISTORY)
        body = {"modelId": CLAUDE, **server.requests[-1].body}
    assert answer.content == "Sunny in Oslo."
    assert_valid(body)
    assert_no_blank_text(body)
    assert_tool_blocks_have_tool_config(body)
    assert body["messages"][1]["content"][1] == {
        "text": '[Called get_weather with {"city": "Oslo"}]'
    }


# --- through the chat model, on the wire ----------------------------------------------------------


def _reply() -> JsonReply:
    return JsonReply(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 5, "outputTokens": 1, "totalTokens": 6},
        }
    )


def _sent(server: BedrockWireServer) -> dict[str, Any]:
    recorded = server.requests[-1]
    body = {"modelId": recorded.model_id, **recorded.body}
    assert_valid(body)
    assert_no_blank_text(body)
    assert_tool_blocks_have_tool_config(body)
    return body


def get_weather(city: str) -> str:
    """Weather for a city."""
    return city


def test_stop_string_and_tool_choice_none_on_the_wire() -> None:
    with BedrockWireServer() as server:
        model = ChatBedrockStream(
            model=CLAUDE, region_name="us-east-1", endpoint_url=server.endpoint_url
        )
        server.enqueue(_reply())
        model.invoke("count", stop="END")  # type: ignore[arg-type]
        assert _sent(server)["inferenceConfig"]["stopSequences"] == ["END"]

        server.enqueue(_reply())
        model.bind_tools([get_weather], tool_choice="none").invoke(TOOL_HISTORY)
        body = _sent(server)
        assert "toolConfig" not in body
        assert body["messages"][1]["content"][1] == {
            "text": '[Called get_weather with {"city": "Oslo"}]'
        }

        server.enqueue(_reply())
        model.invoke("hi", tools=[get_weather], tool_choice="none")
        assert "toolConfig" not in _sent(server)

        server.enqueue(_reply())
        model.bind_tools([get_weather], tool_choice="auto").invoke(TOOL_HISTORY)
        body = _sent(server)
        assert body["toolConfig"]["toolChoice"] == {"auto": {}}
        assert "toolResult" in body["messages"][2]["content"][0]
