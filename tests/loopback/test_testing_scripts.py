"""The test kit's scripted answers, served over real HTTP to real boto3 calls of both kinds."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from langchain_bedrock_stream import BedrockError, BedrockStream, converse_stream
from langchain_bedrock_stream import testing as kit
from langchain_bedrock_stream.testing import (
    Answer,
    BedrockWireServer,
    JsonReply,
    StreamReply,
    error_reply,
    reasoning_answer,
    script,
    text_answer,
    tool_call_answer,
)

NOVA = "us.amazon.nova-micro-v1:0"
HELLO = [{"role": "user", "content": [{"text": "Hello"}]}]
TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "lookup",
                "inputSchema": {"json": {"type": "object", "properties": {}}},
            }
        }
    ]
}


@pytest.fixture
def server() -> Iterator[BedrockWireServer]:
    with BedrockWireServer() as running:
        yield running


def client_for(server: BedrockWireServer) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )


def both(client: Any, answer: Answer, server: BedrockWireServer) -> tuple[BedrockStream, dict]:
    """The answer streamed and not streamed: the folded stream and the Converse body."""
    server.enqueue(answer.stream_reply(), answer.json_reply())
    streamed = BedrockStream(client.converse_stream(modelId=NOVA, messages=HELLO, toolConfig=TOOLS))
    streamed.consume()
    body = client.converse(modelId=NOVA, messages=HELLO, toolConfig=TOOLS)
    return streamed, body


def test_a_text_answer_is_the_same_streamed_or_not(server: BedrockWireServer) -> None:
    answer = text_answer("Hello there, friend.", chunk=3)
    assert [e["contentBlockDelta"]["delta"]["text"] for e in answer.events()[1:8]] == [
        "Hel",
        "lo ",
        "the",
        "re,",
        " fr",
        "ien",
        "d.",
    ]
    streamed, body = both(client_for(server), answer, server)
    assert streamed.text == "Hello there, friend."
    assert body["output"]["message"]["content"] == [{"text": "Hello there, friend."}]
    assert streamed.stop_reason == body["stopReason"] == "end_turn"
    assert streamed.usage == body["usage"]


def test_a_tool_call_answer(server: BedrockWireServer) -> None:
    answer = tool_call_answer("lookup", {"query": "weather in Oslo"}, text="One moment.", chunk=5)
    streamed, body = both(client_for(server), answer, server)
    [call] = streamed.tool_calls
    assert (call.id, call.name, call.args) == (
        "tooluse_lookup",
        "lookup",
        {"query": "weather in Oslo"},
    )
    assert streamed.text == "One moment."
    assert body["output"]["message"]["content"][1] == {
        "toolUse": {
            "toolUseId": "tooluse_lookup",
            "name": "lookup",
            "input": {"query": "weather in Oslo"},
        }
    }
    assert streamed.stop_reason == body["stopReason"] == "tool_use"
    fragments = [
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in answer.events()
        if "toolUse" in e.get("contentBlockDelta", {}).get("delta", {})
    ]
    assert len(fragments) > 1 and "".join(fragments) == '{"query": "weather in Oslo"}'


def test_a_tool_call_without_arguments_streams_no_input_at_all(server: BedrockWireServer) -> None:
    answer = tool_call_answer("lookup", tool_use_id="t-9")
    assert not any(
        "toolUse" in e.get("contentBlockDelta", {}).get("delta", {}) for e in answer.events()
    )
    streamed, body = both(client_for(server), answer, server)
    assert [(c.id, c.args) for c in streamed.tool_calls] == [("t-9", {})]
    assert body["output"]["message"]["content"][0]["toolUse"]["input"] == {}


def test_a_reasoning_answer(server: BedrockWireServer) -> None:
    answer = reasoning_answer("First, think.", "Done.", signature="sig-42")
    streamed, body = both(client_for(server), answer, server)
    assert streamed.reasoning == "First, think."
    assert streamed.text == "Done."
    expected = {
        "reasoningContent": {"reasoningText": {"text": "First, think.", "signature": "sig-42"}}
    }
    assert streamed.message_param["content"][0] == expected
    assert body["output"]["message"]["content"][0] == expected


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("throttling", 429, "ThrottlingException"), ("validation", 400, "ValidationException")],
)
def test_error_replies_reach_both_operations(
    server: BedrockWireServer, kind: str, status: int, code: str
) -> None:
    server.enqueue(error_reply(kind, "scripted failure"), error_reply(kind, "scripted failure"))
    client = client_for(server)
    for call in (client.converse, client.converse_stream):
        with pytest.raises(ClientError) as caught:
            call(modelId=NOVA, messages=HELLO)
        assert caught.value.response["Error"]["Code"] == code
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
        assert "scripted failure" in str(caught.value)
    with pytest.raises(ValueError, match="unknown error kind"):
        error_reply("gremlins")


def test_a_stream_that_fails_part_way(server: BedrockWireServer) -> None:
    answer = text_answer("abcdefgh", chunk=2)
    server.enqueue(answer.stream_reply(fail_after=3, error="modelStreamErrorException"))
    stream = BedrockStream(client_for(server).converse_stream(modelId=NOVA, messages=HELLO))
    with pytest.raises(BedrockError, match="The model stream failed"):
        stream.consume()
    assert stream.text == "abcd"  # messageStart, then two deltas


def test_script_serves_each_answer_in_the_kind_asked_for() -> None:
    responder = script(text_answer("one"), tool_call_answer("lookup"), text_answer("three"))
    with BedrockWireServer(responder=responder) as server:
        client = client_for(server)
        first = client.converse(modelId=NOVA, messages=HELLO)
        second = converse_stream(client, modelId=NOVA, messages=HELLO, toolConfig=TOOLS)
        second.consume()
        third = client.converse(modelId=NOVA, messages=HELLO)
        with pytest.raises(ClientError, match="all were served"):
            client.converse(modelId=NOVA, messages=HELLO)
    assert first["output"]["message"]["content"] == [{"text": "one"}]
    assert [c.name for c in second.tool_calls] == ["lookup"]
    assert third["output"]["message"]["content"] == [{"text": "three"}]


def test_a_stream_reply_to_a_converse_call_says_what_is_wrong(server: BedrockWireServer) -> None:
    server.enqueue(text_answer("hi").stream_reply())
    with pytest.raises(ClientError) as caught:
        client_for(server).converse(modelId=NOVA, messages=HELLO)
    message = str(caught.value)
    assert "StreamReply" in message and "converse call" in message and "JsonReply" in message
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_a_json_reply_to_a_stream_call_says_what_is_wrong(server: BedrockWireServer) -> None:
    server.enqueue(text_answer("hi").json_reply())
    with pytest.raises(ClientError) as caught:
        client_for(server).converse_stream(modelId=NOVA, messages=HELLO)
    message = str(caught.value)
    assert "JsonReply" in message and "converse-stream call" in message and "StreamReply" in message


def test_a_json_error_body_still_answers_a_stream_call(server: BedrockWireServer) -> None:
    server.enqueue(
        JsonReply(
            {"message": "bad input"},
            status=400,
            headers={"x-amzn-ErrorType": "ValidationException"},
        )
    )
    with pytest.raises(ClientError, match="bad input"):
        client_for(server).converse_stream(modelId=NOVA, messages=HELLO)


def test_an_answer_refuses_blocks_it_cannot_stream() -> None:
    with pytest.raises(ValueError, match="cannot stream"):
        Answer(({"image": {"format": "png"}},)).events()
    with pytest.raises(ValueError, match="count-tokens"):
        text_answer("x").reply_for("count-tokens")
    assert isinstance(text_answer("x").reply_for("converse-stream"), StreamReply)


def test_every_public_name_of_the_kit_has_its_own_docstring() -> None:
    missing = []
    for name in kit.__all__:
        value = getattr(kit, name)
        if not (inspect.isclass(value) or inspect.isfunction(value)):
            continue  # type aliases: documented in their module's source
        doc = value.__doc__ or ""
        if not doc.strip():
            missing.append(name)
        if inspect.isclass(value):
            for member, attribute in vars(value).items():
                public = not member.startswith("_") and inspect.isfunction(attribute)
                if public and not (attribute.__doc__ or "").strip():
                    missing.append(f"{name}.{member}")
    assert missing == []
