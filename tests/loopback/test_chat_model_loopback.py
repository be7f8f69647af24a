"""ChatBedrockStream over a real socket: the loopback Bedrock-wire server, real boto3.

Streaming, invoke with and without streaming, callbacks, async without a thread pool,
cancellation seen by the server, tool calls, and stream/invoke agreement.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.messages import AIMessageChunk, HumanMessage, ToolMessage

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    JsonReply,
    StreamReply,
    make_simulator_responder,
    simulated_converse_response,
    simulated_events,
)
from tests.support.events import text_events
from tests.support.loopback import MODEL, model_on, regroups


class Tokens(BaseCallbackHandler):
    """Records what LangChain callbacks see."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.chunks: list[Any] = []
        self.ends: list[Any] = []

    def on_llm_new_token(self, token: str, *, chunk: Any = None, **_: Any) -> None:
        self.tokens.append(token)
        self.chunks.append(chunk)

    def on_llm_end(self, response: Any, **_: Any) -> None:
        self.ends.append(response)


class AsyncTokens(AsyncCallbackHandler):
    """Records tokens on the event loop (a sync handler would run in the thread pool)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []

    async def on_llm_new_token(self, token: str, **_: Any) -> None:
        self.tokens.append(token)


def test_stream_paced_events_arrive_in_order_with_usage_last(server: BedrockWireServer) -> None:
    pieces = ["Par", "is ", "is ", "the ", "capital."]
    server.enqueue(StreamReply(text_events(pieces), delay=0.02))
    chunks = list(model_on(server).stream("Capital of France?"))
    # Events read together share a chunk; how many that is depends on the machine's load.
    assert regroups([c.text for c in chunks], pieces)
    last = chunks[-1]
    assert last.chunk_position == "last"
    assert last.usage_metadata == {
        "input_tokens": 3,
        "output_tokens": 5,
        "total_tokens": 8,
        "input_token_details": {"cache_read": 0, "cache_creation": 0},
    }
    meta = last.response_metadata
    assert meta["stopReason"] == "end_turn"
    assert meta["model_name"] == MODEL
    assert meta["model_provider"] == "amazon_bedrock"
    assert meta["metrics"]["latencyMs"] == [42]
    assert meta["request_id"]
    assert meta["timing"]["time_to_first_token_ms"] <= meta["timing"]["duration_ms"]
    assert server.requests[0].body["messages"] == [
        {"role": "user", "content": [{"text": "Capital of France?"}]}
    ]


def test_burst_of_events_becomes_one_chunk(server: BedrockWireServer) -> None:
    pieces = [f"w{i} " for i in range(200)]
    server.enqueue(StreamReply(text_events(pieces), batch=500))
    chunks = list(model_on(server).stream("go"))
    assert "".join(c.text for c in chunks) == "".join(pieces)
    assert len(chunks) < 10


def test_one_chunk_per_event_when_asked(server: BedrockWireServer) -> None:
    pieces = [f"w{i} " for i in range(50)]
    server.enqueue(StreamReply(text_events(pieces), batch=100))
    chunks = list(model_on(server, stream_chunking="event").stream("go"))
    assert [c.text for c in chunks[:-1]] == pieces


def test_invoke_uses_converse_and_maps_the_answer(server: BedrockWireServer) -> None:
    request = {"messages": [{"role": "user", "content": [{"text": "Hello there"}]}]}
    server.enqueue(JsonReply(simulated_converse_response(request)))
    message = model_on(server).invoke("Hello there")
    assert server.requests[0].operation == "converse"
    assert "Hello there" in message.text
    assert message.usage_metadata["output_tokens"] > 0


@pytest.mark.parametrize("chunking", ["burst", "event"])
def test_invoke_streaming_sends_every_token_to_callbacks_and_never_sums_chunks(
    server: BedrockWireServer, monkeypatch: pytest.MonkeyPatch, chunking: str
) -> None:
    pieces = ["a", "b", "c", "d"]
    server.enqueue(StreamReply(text_events(pieces), delay=0.01))
    added = []
    original = AIMessageChunk.__add__

    def counting_add(self: AIMessageChunk, other: Any) -> Any:
        added.append(1)
        return original(self, other)

    monkeypatch.setattr(AIMessageChunk, "__add__", counting_add)
    handler = Tokens()
    model = model_on(server, streaming=True, stream_chunking=chunking)
    message = model.invoke("x", config={"callbacks": [handler]})
    assert server.requests[0].operation == "converse-stream"
    assert message.content == "abcd"
    assert regroups(handler.tokens, pieces)
    if chunking == "event":  # one token per event, then the closing chunk
        assert handler.tokens == [*pieces, ""]
    assert handler.chunks[-1].message.chunk_position == "last"
    assert added == []  # built once by the accumulator
    assert handler.ends[0].generations[0][0].message.content == "abcd"


def test_tool_call_stream_and_invoke_agree(server: BedrockWireServer) -> None:
    request = {
        "messages": [{"role": "user", "content": [{"text": "What is the weather in Paris?"}]}],
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_weather",
                        "description": "Weather for a city.",
                        "inputSchema": {
                            "json": {
                                "type": "object",
                                "properties": {"city": {"type": "string"}},
                                "required": ["city"],
                            }
                        },
                    }
                }
            ]
        },
    }
    server.enqueue(
        StreamReply(simulated_events(request), delay=0.002),
        JsonReply(simulated_converse_response(request)),
    )

    def get_weather(city: str) -> str:
        """Weather for a city."""
        return "sunny"

    model = model_on(server).bind_tools([get_weather])
    chunks = list(model.stream("What is the weather in Paris?"))
    streamed = chunks[0]
    for chunk in chunks[1:]:
        streamed = streamed + chunk
    invoked = model.invoke("What is the weather in Paris?")
    assert streamed.tool_calls == invoked.tool_calls
    assert streamed.tool_calls[0]["name"] == "get_weather"
    assert streamed.tool_calls[0]["args"] == {"city": "Paris"}
    assert streamed.text == invoked.text
    assert streamed.usage_metadata == invoked.usage_metadata
    assert server.requests[0].body["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"


def test_tool_result_round_trip() -> None:
    with BedrockWireServer(responder=make_simulator_responder()) as server:
        _tool_result_round_trip(server)


def _tool_result_round_trip(server: BedrockWireServer) -> None:

    def get_weather(city: str) -> str:
        """Weather for a city."""
        return "sunny"

    model = model_on(server).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Paris?")
    first = model.invoke([question])
    call = first.tool_calls[0]
    answer = model.invoke([question, first, ToolMessage("sunny, 22C", tool_call_id=call["id"])])
    assert "sunny, 22C" in answer.text
    sent = server.requests[1].body["messages"]
    assert sent[1]["content"][-1]["toolUse"] == {
        "toolUseId": call["id"],
        "name": "get_weather",
        "input": {"city": "Paris"},
    }
    assert sent[2]["content"][0]["toolResult"]["toolUseId"] == call["id"]


class NoThreadPool(concurrent.futures.ThreadPoolExecutor):
    """An executor that fails the test if anything is submitted to the loop's pool."""

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a thread-pool hop happened")


async def test_astream_many_concurrent_streams_without_thread_pool() -> None:
    asyncio.get_running_loop().set_default_executor(NoThreadPool())
    with BedrockWireServer(
        responder=lambda request: StreamReply(
            text_events([request.body["messages"][0]["content"][0]["text"], "!", "!"]), delay=0.01
        )
    ) as server:
        await _many_streams(model_on(server))


async def _many_streams(model: ChatBedrockStream) -> None:

    async def one(i: int) -> str:
        text = ""
        async for chunk in model.astream(f"q{i}"):
            text += chunk.text
        return text

    results = await asyncio.gather(*(one(i) for i in range(40)))
    assert results == [f"q{i}!!" for i in range(40)]


async def test_ainvoke_streaming_and_plain(server: BedrockWireServer) -> None:
    asyncio.get_running_loop().set_default_executor(NoThreadPool())
    server.enqueue(StreamReply(text_events(["x", "y"]), delay=0.02))
    request = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    server.enqueue(JsonReply(simulated_converse_response(request)))
    handler = AsyncTokens()
    streamed = await model_on(server, streaming=True).ainvoke("hi", config={"callbacks": [handler]})
    assert streamed.content == "xy"
    assert "".join(handler.tokens) == "xy"
    plain = await model_on(server).ainvoke("hi")
    assert "hi" in plain.text


def test_unknown_events_are_kept_in_metadata(server: BedrockWireServer) -> None:
    events = text_events(["ok"])
    events.insert(1, {"futureEvent": {"detail": 1}})
    server.enqueue(StreamReply(events))
    chunks = list(model_on(server).stream("x"))
    assert "".join(c.text for c in chunks) == "ok"
    assert chunks[-1].response_metadata["extras"]["unknown_events"] == [
        {"futureEvent": {"detail": 1}}
    ]


def test_unknown_constructor_argument_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="max_token"):
        ChatBedrockStream(model=MODEL, max_token=100)


@pytest.mark.parametrize("api", ["stream", "astream"])
def test_a_configuration_error_is_raised_as_itself_without_retries(
    server: BedrockWireServer, api: str
) -> None:
    # An API key needs HTTPS: refused before anything is sent, with any botocore.
    from botocore.exceptions import InvalidEndpointConfigurationError

    model = model_on(server, api_key="bedrock-api-key-for-tests")

    async def drain() -> None:
        async for _ in model.astream("x"):
            pass

    with pytest.raises(InvalidEndpointConfigurationError):
        list(model.stream("x")) if api == "stream" else asyncio.run(drain())
    assert server.requests == []


def test_guard_last_turn_only_wraps_the_last_user_text(server: BedrockWireServer) -> None:
    from langchain_core.messages import AIMessage

    guardrail = {"guardrailIdentifier": "g1", "guardrailVersion": "1"}
    server.enqueue(StreamReply(text_events(["ok"])))
    model = model_on(server, guardrail_config=guardrail, guard_last_turn_only=True)
    list(model.stream([HumanMessage("first"), AIMessage("answer"), HumanMessage("second")]))
    messages = server.requests[0].body["messages"]
    assert messages[0]["content"] == [{"text": "first"}]
    assert messages[2]["content"] == [{"guardContent": {"text": {"text": "second"}}}]
    assert server.requests[0].body["guardrailConfig"]["guardrailIdentifier"] == "g1"
    with pytest.raises(ValueError, match="guardrail_config"):
        model_on(server, guard_last_turn_only=True)


def test_raw_blocks_are_sent_as_the_messages(server: BedrockWireServer) -> None:
    raw = [{"role": "user", "content": [{"text": "raw question"}]}]
    server.enqueue(StreamReply(text_events(["ok"])))
    list(model_on(server, raw_blocks=raw).stream("ignored"))
    assert server.requests[0].body["messages"] == raw


def test_every_chat_bedrock_converse_argument_is_accepted() -> None:
    """Changing the class name is the whole migration: every constructor name and alias of
    langchain-aws's ChatBedrockConverse is one of ours too."""
    from langchain_aws import ChatBedrockConverse

    ours = ChatBedrockStream.model_fields
    our_names = set(ours) | {f.alias for f in ours.values() if f.alias}
    theirs = ChatBedrockConverse.model_fields
    missing = {
        name
        for field_name, field in theirs.items()
        for name in (field_name, field.alias)
        if name and name not in our_names
    }
    assert missing == set()


async def test_breaking_out_of_astream_closes_the_connection(server: BedrockWireServer) -> None:
    pieces = [f"t{i}" for i in range(300)]
    server.enqueue(StreamReply(text_events(pieces), delay=0.01))
    seen = []
    stream = model_on(server).astream("long")
    async for chunk in stream:
        seen.append(chunk.text)
        if len(seen) == 3:
            break
    await stream.aclose()
    assert await asyncio.to_thread(server.wait_for_disconnect, 5)
    # Three chunks of the answer's start, however many events each one took in.
    received = "".join(seen)
    assert received.startswith("t0") and "".join(pieces).startswith(received)
    assert len(received) < len("".join(pieces))
