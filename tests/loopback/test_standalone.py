"""The standalone ``BedrockStream``: sources, items, results, errors, and no LangChain.

Wire-level behaviour goes through real boto3 over real HTTP: the loopback Bedrock-wire
server, and the real recordings replayed by vcrpy (each must give, through this API, the
same answer as through ``ChatBedrockStream``).
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import unquote, urlparse

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.validate import ParamValidator
from langchain_core.messages import AIMessageChunk, HumanMessage

from langchain_bedrock_stream import (
    BedrockError,
    BedrockInvalidToolCall,
    BedrockRateLimitError,
    BedrockStream,
    BedrockTimeoutError,
    BedrockToolCall,
    ChatBedrockStream,
    RetryPolicy,
    StreamIntegrityError,
    converse,
    converse_stream,
)
from langchain_bedrock_stream._accumulator import (
    MetadataReceived,
    StreamResponse,
    TextDelta,
)
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    ExceptionFrame,
    StreamReply,
    encode_events,
    reasoning_answer,
    script,
    tool_call_answer,
)
from tests.conftest import replayer
from tests.support.recordings import (
    RECORDINGS,
    body_bytes,
    is_stream,
    load,
    names,
    requires_recordings,
)

NOVA = "us.amazon.nova-micro-v1:0"
HELLO = [{"role": "user", "content": [{"text": "Hello"}]}]
WEATHER_TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Current weather in a city.",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {"city": {"type": "string"}},
                        "required": ["city"],
                    }
                },
            }
        },
        {
            "toolSpec": {
                "name": "get_time",
                "description": "The time now.",
                "inputSchema": {"json": {"type": "object", "properties": {}}},
            }
        },
    ]
}


def client_for(server: BedrockWireServer) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=30),
    )


def start(index: int, tool_use_id: str, name: str) -> dict[str, Any]:
    return {
        "contentBlockStart": {
            "contentBlockIndex": index,
            "start": {"toolUse": {"toolUseId": tool_use_id, "name": name}},
        }
    }


def delta(index: int, **value: Any) -> dict[str, Any]:
    return {"contentBlockDelta": {"contentBlockIndex": index, "delta": value}}


def stop(index: int) -> dict[str, Any]:
    return {"contentBlockStop": {"contentBlockIndex": index}}


def finish(reason: str, usage: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    usage = usage or {"inputTokens": 1000, "outputTokens": 500, "totalTokens": 1500}
    return [
        {"messageStop": {"stopReason": reason}},
        {"metadata": {"usage": usage, "metrics": {"latencyMs": 120}}},
    ]


# Two tool calls open at once (interleaved), one with no arguments at all, one broken.
INTERLEAVED = [
    {"messageStart": {"role": "assistant"}},
    delta(0, text="Checking "),
    delta(0, text="both."),
    stop(0),
    start(1, "t-weather", "get_weather"),
    start(2, "t-time", "get_time"),
    delta(1, toolUse={"input": '{"ci'}),
    delta(1, toolUse={"input": 'ty": "Paris"}'}),
    stop(2),
    stop(1),
    start(3, "t-broken", "get_weather"),
    delta(3, toolUse={"input": '{"city": '}),
    stop(3),
    *finish("tool_use"),
]


# --- no LangChain ------------------------------------------------------------------------


def test_importing_the_standalone_api_loads_neither_langchain_nor_boto3() -> None:
    code = (
        "import sys\n"
        "import langchain_bedrock_stream.stream\n"
        "from langchain_bedrock_stream import BedrockStream, converse_stream, BedrockToolCall\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('langchain_core', 'langchain', 'boto3', 'botocore', 'pydantic'))\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == ""


# --- items and results, from events -------------------------------------------------------


def test_tool_calls_arrive_right_after_their_block_ends_interleaved_ones_included() -> None:
    items = list(BedrockStream(INTERLEAVED))
    kinds = [(type(i).__name__, getattr(i, "index", None)) for i in items]
    # get_time (block 2) ends first, then get_weather (block 1), then the broken block 3.
    assert kinds[kinds.index(("BlockStopped", 2)) + 1] == ("BedrockToolCall", 2)
    assert kinds[kinds.index(("BlockStopped", 1)) + 1] == ("BedrockToolCall", 1)
    assert kinds[kinds.index(("BlockStopped", 3)) + 1] == ("BedrockInvalidToolCall", 3)
    calls = [i for i in items if isinstance(i, BedrockToolCall)]
    assert calls == [
        BedrockToolCall("t-time", "get_time", {}, 2),
        BedrockToolCall("t-weather", "get_weather", {"city": "Paris"}, 1),
    ]
    assert isinstance(items[-1], MetadataReceived)


def test_results_after_consumption() -> None:
    stream = BedrockStream(INTERLEAVED, model_id=NOVA)
    response = stream.consume()
    assert stream.text == stream.content == "Checking both."
    assert [(c.id, c.name, c.args) for c in stream.tool_calls] == [
        ("t-weather", "get_weather", {"city": "Paris"}),
        ("t-time", "get_time", {}),
    ]
    [invalid] = stream.invalid_tool_calls
    assert (invalid.id, invalid.name, invalid.raw) == ("t-broken", "get_weather", '{"city": ')
    assert "not valid JSON" in invalid.error
    assert stream.stop_reason == "tool_use"
    assert stream.complete
    assert (stream.input_tokens, stream.output_tokens) == (1000, 500)
    assert (stream.cache_read_tokens, stream.cache_write_tokens) == (0, 0)
    # Nova Micro list prices: $0.035 in, $0.14 out per million tokens.
    assert stream.cost == pytest.approx(1000 * 0.035 / 1e6 + 500 * 0.14 / 1e6)
    breakdown = stream.cost_breakdown
    assert breakdown is not None and breakdown["output"] == pytest.approx(500 * 0.14 / 1e6)
    assert response.to_converse()["stopReason"] == "tool_use"
    assert stream.time_to_first_token is not None and stream.duration is not None
    assert 0 <= stream.time_to_first_token <= stream.duration


def test_cost_is_unknown_without_a_model_id_and_never_zero() -> None:
    stream = BedrockStream(INTERLEAVED)
    stream.consume()
    assert stream.cost is None
    assert stream.cost_breakdown is None


def test_cache_usage_is_priced_with_its_cache_rates() -> None:
    usage = {
        "inputTokens": 100,
        "outputTokens": 10,
        "totalTokens": 3110,
        "cacheReadInputTokens": 2000,
        "cacheWriteInputTokens": 1000,
    }
    events = [{"messageStart": {"role": "assistant"}}, delta(0, text="ok"), stop(0)]
    stream = BedrockStream([*events, *finish("end_turn", usage)], model_id=NOVA)
    stream.consume()
    assert (stream.input_tokens, stream.cache_read_tokens, stream.cache_write_tokens) == (
        100,
        2000,
        1000,
    )
    # Nova Micro: cache reads at $0.00875 per million; no write price listed, so input price.
    breakdown = stream.cost_breakdown
    assert breakdown is not None
    assert breakdown["cache_read"] == pytest.approx(2000 * 0.00875 / 1e6)
    assert breakdown["input"] == pytest.approx(100 * 0.035 / 1e6)


def test_message_param_is_what_the_next_request_needs() -> None:
    stream = BedrockStream(INTERLEAVED)
    stream.consume()
    assert stream.message_param == {
        "role": "assistant",
        "content": [
            {"text": "Checking both."},
            {
                "toolUse": {
                    "toolUseId": "t-weather",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                }
            },
            {"toolUse": {"toolUseId": "t-time", "name": "get_time", "input": {}}},
            # Broken arguments are replayed as {} so that the error result still matches.
            {"toolUse": {"toolUseId": "t-broken", "name": "get_weather", "input": {}}},
        ],
    }


def test_message_param_keeps_reasoning_signatures_redactions_and_citations() -> None:
    citation = {
        "title": "Doc",
        "sourceContent": [{"text": "the sky is blue"}],
        "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 15}},
    }
    events = [
        {"messageStart": {"role": "assistant"}},
        delta(0, reasoningContent={"text": "Think "}),
        delta(0, reasoningContent={"text": "hard."}),
        delta(0, reasoningContent={"signature": "sig-1"}),
        stop(0),
        delta(1, reasoningContent={"redactedContent": b"\x00secret"}),
        stop(1),
        delta(2, text="   \n"),
        stop(2),
        delta(3, text="Blue."),
        delta(3, citation=citation),
        stop(3),
        *finish("end_turn"),
    ]
    stream = BedrockStream(events)
    stream.consume()
    assert stream.reasoning == "Think hard."
    assert stream.citations == [citation]
    assert stream.text == "   \nBlue."
    assert stream.message_param["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "Think hard.", "signature": "sig-1"}}},
        {"reasoningContent": {"redactedContent": b"\x00secret"}},
        # the blank text block is left out: Bedrock refuses it in a request
        {"citationsContent": {"content": [{"text": "Blue."}], "citations": [citation]}},
    ]


def test_tool_message_params() -> None:
    stream = BedrockStream(INTERLEAVED)
    stream.consume()
    weather, time_call = stream.tool_calls
    [broken] = stream.invalid_tool_calls
    messages = stream.tool_message_params(
        [
            (weather, {"temperature_c": 21}),
            (time_call, "12:00"),
            (broken, ValueError("arguments were not JSON")),
        ]
    )
    assert messages == [
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "t-weather",
                        "content": [{"json": {"temperature_c": 21}}],
                    }
                },
                {"toolResult": {"toolUseId": "t-time", "content": [{"text": "12:00"}]}},
                {
                    "toolResult": {
                        "toolUseId": "t-broken",
                        "content": [{"text": "arguments were not JSON"}],
                        "status": "error",
                    }
                },
            ],
        }
    ]
    by_id = stream.tool_message_params({"t-time": 42})
    assert by_id[0]["content"][0]["toolResult"]["content"] == [{"text": "42"}]
    assert stream.tool_message_params({}) == []
    with pytest.raises(ValueError, match="not a tool call of this answer"):
        stream.tool_message_params({"t-unknown": "x"})


def test_a_tool_call_whose_block_never_ended_is_invalid() -> None:
    events = [
        {"messageStart": {"role": "assistant"}},
        start(0, "t-1", "get_weather"),
        delta(0, toolUse={"input": '{"city": "Rome"}'}),
    ]
    stream = BedrockStream(events)
    items = list(stream)
    assert not any(isinstance(i, (BedrockToolCall, BedrockInvalidToolCall)) for i in items)
    assert stream.tool_calls == []
    [invalid] = stream.invalid_tool_calls
    assert invalid.raw == '{"city": "Rome"}'
    assert "ended before" in invalid.error
    assert not stream.complete and not stream.response().complete
    assert stream.duration is not None


def test_feeding_by_hand_still_works() -> None:
    stream = BedrockStream()
    deltas = [d for event in INTERLEAVED for d in stream.feed(event)]
    assert [d.text for d in deltas if isinstance(d, TextDelta)] == ["Checking ", "both."]
    assert isinstance(stream.response(), StreamResponse)
    assert stream.response().stop_reason == "tool_use"
    assert [c.id for c in stream.tool_calls] == ["t-weather", "t-time"]
    with pytest.raises(TypeError, match="no source"):
        list(stream)


def test_a_stream_is_read_once() -> None:
    stream = BedrockStream(INTERLEAVED)
    stream.consume()
    with pytest.raises(RuntimeError, match="already iterated"):
        list(stream)


def test_sources_that_are_not_streams_are_refused() -> None:
    with pytest.raises(TypeError, match="converse_stream"):
        BedrockStream({"output": {}})
    with pytest.raises(TypeError):
        BedrockStream(42)
    with pytest.raises(TypeError, match="bytes or events"):
        list(BedrockStream([1, 2]))


# --- bytes sources ------------------------------------------------------------------------


def test_bytes_files_and_chunk_iterables_fold_alike() -> None:
    body = encode_events(INTERLEAVED)
    split = [body[i : i + 7] for i in range(0, len(body), 7)]
    expected = BedrockStream(INTERLEAVED)
    expected.consume()
    for source in (body, io.BytesIO(body), iter(split), bytearray(body)):
        stream = BedrockStream(source)
        stream.consume()
        assert stream.response() == expected.response()
        assert stream.tool_calls == expected.tool_calls


def test_async_sources() -> None:
    body = encode_events(INTERLEAVED)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 11):
            await asyncio.sleep(0)
            yield body[i : i + 11]

    async def events() -> AsyncIterator[dict[str, Any]]:
        for event in INTERLEAVED:
            yield event

    async def read(source: Any) -> tuple[list[str], BedrockStream]:
        stream = BedrockStream(source)
        kinds = [type(item).__name__ async for item in stream]
        return kinds, stream

    expected = [type(item).__name__ for item in BedrockStream(INTERLEAVED)]
    for source in (chunks(), events(), body, INTERLEAVED):
        kinds, stream = asyncio.run(read(source))
        assert kinds == expected
        assert stream.text == "Checking both."


def test_an_exception_frame_in_a_body_is_a_typed_error_with_the_partial_answer() -> None:
    body = encode_events(
        [*INTERLEAVED[:3], ExceptionFrame("throttlingException", "Too many requests")]
    )
    stream = BedrockStream(body, model_id=NOVA)
    seen: list[str] = []
    with pytest.raises(BedrockError) as caught:
        for item in stream:
            if isinstance(item, TextDelta):
                seen.append(item.text)
    assert seen == ["Checking ", "both."]  # what came before the failure was delivered
    assert isinstance(caught.value, BedrockRateLimitError)
    assert "Too many requests" in str(caught.value)
    assert caught.value.partial_response is not None
    assert caught.value.partial_response.content == [{"text": "Checking both."}]


def test_a_body_cut_inside_a_frame_is_a_stream_integrity_error() -> None:
    body = encode_events(INTERLEAVED)
    with pytest.raises(StreamIntegrityError):
        BedrockStream(body[:-5]).consume()


def test_a_malformed_event_in_a_body_is_a_stream_integrity_error_with_the_partial_answer() -> None:
    body = encode_events([*INTERLEAVED[:3], {"contentBlockDelta": {"delta": {"text": "x"}}}])
    with pytest.raises(StreamIntegrityError, match="contentBlockIndex") as caught:
        BedrockStream(body, model_id=NOVA).consume()
    assert caught.value.partial_response is not None
    assert caught.value.partial_response.content == [{"text": "Checking both."}]


# --- over HTTP: converse_stream() and boto3 responses ---------------------------------------


@pytest.fixture
def server() -> Iterator[BedrockWireServer]:
    with BedrockWireServer() as running:
        yield running


def test_converse_stream_and_a_boto3_response_give_the_same_answer(
    server: BedrockWireServer,
) -> None:
    server.enqueue(StreamReply(INTERLEAVED), StreamReply(INTERLEAVED))
    client = client_for(server)
    ours = converse_stream(client, modelId=NOVA, messages=HELLO, toolConfig=WEATHER_TOOLS)
    ours_items = [type(i).__name__ for i in ours]
    theirs = BedrockStream(
        client.converse_stream(modelId=NOVA, messages=HELLO, toolConfig=WEATHER_TOOLS),
        model_id=NOVA,
    )
    theirs_items = [type(i).__name__ for i in theirs]
    assert ours_items == theirs_items
    assert ours.response() == theirs.response()
    assert ours.tool_calls == theirs.tool_calls
    assert ours.cost == theirs.cost is not None
    assert ours.request_id is not None and theirs.request_id is not None
    assert server.requests[0].body["toolConfig"] == WEATHER_TOOLS


def test_converse_stream_under_async_for(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(INTERLEAVED, delay=0.001))
    client = client_for(server)

    async def main() -> list[Any]:
        stream = converse_stream(client, modelId=NOVA, messages=HELLO, toolConfig=WEATHER_TOOLS)
        return [item async for item in stream] + [stream]

    *items, stream = asyncio.run(main())
    assert [i for i in items if isinstance(i, BedrockToolCall)] == [
        BedrockToolCall("t-time", "get_time", {}, 2),
        BedrockToolCall("t-weather", "get_weather", {"city": "Paris"}, 1),
    ]
    assert isinstance(items[-1], MetadataReceived)
    assert stream.text == "Checking both."


def test_converse_stream_failure_after_content_carries_the_partial_answer(
    server: BedrockWireServer,
) -> None:
    events = [*INTERLEAVED[:4], ExceptionFrame("modelStreamErrorException", "model broke")]
    server.enqueue(StreamReply(events))
    stream = converse_stream(
        client_for(server), retry_policy=RetryPolicy(max_retries=0), modelId=NOVA, messages=HELLO
    )
    with pytest.raises(BedrockError) as caught:
        stream.consume()
    assert "model broke" in str(caught.value)
    assert caught.value.partial_response is not None
    assert caught.value.partial_response.content == [{"text": "Checking both."}]


def test_converse_stream_retries_a_throttled_start(server: BedrockWireServer) -> None:
    throttled = [ExceptionFrame("throttlingException", "slow down")]
    server.enqueue(StreamReply(throttled), StreamReply(INTERLEAVED))
    stream = converse_stream(
        client_for(server),
        retry_policy=RetryPolicy(max_retries=1, initial_delay=0.01, max_delay=0.01),
        modelId=NOVA,
        messages=HELLO,
    )
    stream.consume()
    assert stream.text == "Checking both."
    assert len(server.requests) == 2


def test_leaving_the_loop_early_and_closing_releases_the_connection(
    server: BedrockWireServer,
) -> None:
    events = [{"messageStart": {"role": "assistant"}}] + [
        delta(0, text=f"{n} ") for n in range(200)
    ]
    server.enqueue(StreamReply([*events, stop(0), *finish("end_turn")], delay=0.01))
    with converse_stream(client_for(server), modelId=NOVA, messages=HELLO) as stream:
        for item in stream:
            if isinstance(item, TextDelta):
                break
    assert server.wait_for_disconnect(timeout=10)


def test_a_multi_turn_tool_conversation_without_langchain() -> None:
    answers = script(
        tool_call_answer("get_weather", {"city": "Paris"}, text="Let me look.", tool_use_id="t1"),
        reasoning_answer("The tool said sunny.", "It is sunny in Paris.", signature="sig"),
    )
    with BedrockWireServer(responder=answers) as server:
        _converse_with_tools(server)


def _converse_with_tools(server: BedrockWireServer) -> None:
    client = client_for(server)
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": "Paris?"}]}]
    answers = []
    while True:
        stream = converse_stream(client, modelId=NOVA, messages=messages, toolConfig=WEATHER_TOOLS)
        outputs = {}
        for item in stream:
            if isinstance(item, BedrockToolCall):
                outputs[item.id] = f"sunny in {item.args['city']}"
        answers.append(stream.text)
        messages.append(stream.message_param)
        if not outputs:
            break
        messages += stream.tool_message_params(outputs)
    assert answers == ["Let me look.", "It is sunny in Paris."]
    # What the second request carried, as the server received it.
    sent = server.requests[1].body["messages"]
    assert sent[1] == {
        "role": "assistant",
        "content": [
            {"text": "Let me look."},
            {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}},
        ],
    }
    assert sent[2] == {
        "role": "user",
        "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "sunny in Paris"}]}}],
    }
    assert messages[-1]["content"][0] == {
        "reasoningContent": {"reasoningText": {"text": "The tool said sunny.", "signature": "sig"}}
    }


# --- every real recording: the same answer as through the chat model ----------------------


def check_next_request(stream: BedrockStream) -> None:
    """The answer, and results for its tool calls, make a request botocore's model accepts."""
    messages = [HELLO[0], stream.message_param]
    outputs = {c.id: "done" for c in [*stream.tool_calls, *stream.invalid_tool_calls]}
    messages += stream.tool_message_params(outputs)
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    shape = model.operation_model("ConverseStream").input_shape
    report = ParamValidator().validate({"modelId": "m", "messages": messages}, shape)
    assert not report.has_errors(), report.generate_report()


def status(interaction: dict[str, Any]) -> int:
    return int(interaction["response"]["status"]["code"])


def _target(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return unquote(parsed.path.split("/")[2]), str(parsed.hostname).split(".")[1]


STREAM_FILES = [
    name
    for name in names()
    if any(is_stream(i) and status(i) == 200 for i in load(name)["interactions"])
]


def _replay_standalone(name: str, how: str) -> list[BedrockStream]:
    interactions = load(name)["interactions"]
    model_id, region = _target(interactions[0]["request"]["uri"])
    client = boto3.client(
        "bedrock-runtime", region_name=region, config=Config(retries={"total_max_attempts": 1})
    )
    out = []
    with replayer().use_cassette(str(RECORDINGS / name)):
        for interaction in interactions:
            if not is_stream(interaction):
                client.converse(modelId=model_id, messages=HELLO)  # keep the order
                continue
            if how == "transport":
                stream = converse_stream(client, modelId=model_id, messages=HELLO)
            else:
                stream = BedrockStream(
                    client.converse_stream(modelId=model_id, messages=HELLO), model_id=model_id
                )
            stream.consume()
            out.append(stream)
    return out


def _replay_chat_model(name: str) -> list[AIMessageChunk]:
    interactions = load(name)["interactions"]
    model_id, region = _target(interactions[0]["request"]["uri"])
    model = ChatBedrockStream(model=model_id, region_name=region, max_retries=0)
    out = []
    with replayer().use_cassette(str(RECORDINGS / name)):
        for interaction in interactions:
            if not is_stream(interaction):
                model.invoke([HumanMessage("replay")])
                continue
            chunks = list(model.stream([HumanMessage("replay")]))
            full = chunks[0]
            for chunk in chunks[1:]:
                full = full + chunk
            out.append(full)
    return out


@requires_recordings
@pytest.mark.parametrize("name", STREAM_FILES)
def test_every_stream_recording_gives_the_chat_models_answer(name: str) -> None:
    via_transport = _replay_standalone(name, "transport")
    via_boto3 = _replay_standalone(name, "boto3")
    messages = _replay_chat_model(name)
    bodies = [body_bytes(i) for i in load(name)["interactions"] if is_stream(i)]
    assert len(via_transport) == len(via_boto3) == len(messages) == len(bodies)
    for ours, theirs, message, body in zip(via_transport, via_boto3, messages, bodies, strict=True):
        raw = BedrockStream(body)
        raw.consume()
        assert ours.response() == theirs.response() == raw.response()
        assert ours.text == message.text
        assert [(c.id, c.name, c.args) for c in ours.tool_calls] == [
            (c["id"], c["name"], c["args"]) for c in message.tool_calls
        ]
        assert ours.invalid_tool_calls == [] and message.invalid_tool_calls == []
        reasoning = [b for b in message.content_blocks if b["type"] == "reasoning"]
        assert ours.reasoning == "".join(b.get("reasoning", "") for b in reasoning)
        cited = [
            a["cited_text"]
            for b in message.content_blocks
            if b["type"] == "text"
            for a in b.get("annotations", [])
        ]
        assert ["".join(s["text"] for s in c["sourceContent"]) for c in ours.citations] == cited
        assert ours.stop_reason == message.response_metadata["stopReason"]
        usage = message.usage_metadata
        assert usage is not None and ours.usage is not None
        cache = (ours.cache_read_tokens or 0) + (ours.cache_write_tokens or 0)
        assert usage["input_tokens"] == ours.input_tokens + cache
        assert usage["output_tokens"] == ours.output_tokens
        assert ours.cost_breakdown == message.response_metadata.get("cost")
        assert ours.complete
        check_next_request(ours)


ERROR_STREAMS = [
    name
    for name in names()
    if any(is_stream(i) and status(i) >= 400 for i in load(name)["interactions"])
]


@requires_recordings
@pytest.mark.parametrize("name", ERROR_STREAMS)
def test_stream_error_recordings_raise_typed_errors(name: str) -> None:
    interaction = load(name)["interactions"][0]
    model_id, region = _target(interaction["request"]["uri"])
    client = boto3.client(
        "bedrock-runtime", region_name=region, config=Config(retries={"total_max_attempts": 1})
    )
    recorded = json.loads(body_bytes(interaction))["message"]
    with replayer().use_cassette(str(RECORDINGS / name)), pytest.raises(BedrockError) as caught:
        converse_stream(client, modelId=model_id, messages=HELLO).consume()
    assert recorded in str(caught.value)
    assert caught.value.status_code == interaction["response"]["status"]["code"]


# --- Converse (not streamed) answers: the same results API -----------------------------------


CONVERSE_FILES = [
    name
    for name in names()
    if any(not is_stream(i) and status(i) == 200 for i in load(name)["interactions"])
]


def _replay_converse(name: str) -> list[tuple[dict[str, Any], BedrockStream, Any]]:
    """Each Converse answer of a recording: boto3's dict, ``converse()``, and the chat model."""
    interactions = load(name)["interactions"]
    model_id, region = _target(interactions[0]["request"]["uri"])
    client = boto3.client(
        "bedrock-runtime", region_name=region, config=Config(retries={"total_max_attempts": 1})
    )
    model = ChatBedrockStream(model=model_id, region_name=region, max_retries=0)
    raw: list[dict[str, Any]] = []
    ours: list[BedrockStream] = []
    theirs: list[Any] = []
    for sink in ("boto3", "ours", "chat"):
        with replayer().use_cassette(str(RECORDINGS / name)):
            for interaction in interactions:
                if is_stream(interaction):
                    client.converse_stream(modelId=model_id, messages=HELLO)["stream"].close()
                elif sink == "boto3":
                    raw.append(client.converse(modelId=model_id, messages=HELLO))
                elif sink == "ours":
                    ours.append(converse(client, modelId=model_id, messages=HELLO))
                else:
                    theirs.append(model.invoke([HumanMessage("replay")]))
    return list(zip(raw, ours, theirs, strict=True))


@requires_recordings
@pytest.mark.parametrize("name", CONVERSE_FILES)
def test_every_converse_recording_gives_the_same_results_through_from_converse(name: str) -> None:
    for raw, ours, message in _replay_converse(name):
        rebuilt = ours.response().to_converse()
        for key in ("output", "stopReason", "usage", "metrics"):
            assert rebuilt.get(key) == raw.get(key), key
        assert BedrockStream.from_converse(raw).response() == ours.response()
        assert ours.text == message.text
        assert [(c.id, c.name, c.args) for c in ours.tool_calls] == [
            (c["id"], c["name"], c["args"]) for c in message.tool_calls
        ]
        assert ours.stop_reason == message.response_metadata["stopReason"]
        assert ours.cost_breakdown == message.response_metadata.get("cost")
        assert ours.request_id == raw["ResponseMetadata"].get("RequestId")
        assert ours.duration is not None and ours.time_to_first_token == ours.duration
        check_next_request(ours)


def test_from_converse_keeps_server_tools_images_and_unknown_blocks() -> None:
    content = [
        {
            "toolUse": {
                "toolUseId": "s1",
                "name": "code",
                "input": {"x": 1},
                "type": "server_tool_use",
            }
        },
        {"toolResult": {"toolUseId": "s1", "content": [{"text": "2"}], "status": "success"}},
        {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}},
        {"futureBlock": {"anything": [1, 2]}},
        {"toolUse": {"toolUseId": "c1", "name": "get_time", "input": {}}},
    ]
    body = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": "tool_use",
        "usage": {"inputTokens": 5, "outputTokens": 6, "totalTokens": 11},
    }
    stream = BedrockStream.from_converse(body, model_id=NOVA)
    assert stream.response().content == content
    assert stream.tool_calls == [BedrockToolCall("c1", "get_time", {}, 4)]  # not the server tool
    assert stream.time_to_first_token is None and stream.duration is None
    assert stream.cost == pytest.approx(5 * 0.035 / 1e6 + 6 * 0.14 / 1e6)


def test_leaving_a_boto3_response_early_closes_its_connection(server: BedrockWireServer) -> None:
    events = [{"messageStart": {"role": "assistant"}}] + [
        delta(0, text=f"{n} ") for n in range(200)
    ]
    server.enqueue(StreamReply([*events, stop(0), *finish("end_turn")], delay=0.01))
    response = client_for(server).converse_stream(modelId=NOVA, messages=HELLO)
    for item in BedrockStream(response):
        if isinstance(item, TextDelta):
            break
    assert server.wait_for_disconnect(timeout=10)


def test_async_iteration_leaves_the_event_loop_free(server: BedrockWireServer) -> None:
    paced = [{"messageStart": {"role": "assistant"}}] + [delta(0, text=f"{n} ") for n in range(10)]
    server.enqueue(StreamReply([*paced, stop(0), *finish("end_turn")], delay=0.02))
    client = client_for(server)

    async def main() -> tuple[int, int, str]:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        stream = converse_stream(client, modelId=NOVA, messages=HELLO)
        at_first_text = None
        async for item in stream:
            if isinstance(item, TextDelta) and at_first_text is None:
                at_first_text = ticks
        done.set()
        await task
        assert at_first_text is not None
        return at_first_text, ticks, stream.text

    at_first_text, ticks, text = asyncio.run(main())
    assert text == "".join(f"{n} " for n in range(10))
    assert ticks > at_first_text  # the loop ran other work while the stream was read


def test_async_iteration_honours_the_clients_read_timeout(server: BedrockWireServer) -> None:
    stalled = [{"messageStart": {"role": "assistant"}}, delta(0, text="a"), delta(0, text="b")]
    server.enqueue(StreamReply(stalled, delay=60))
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=1),
    )

    async def main() -> None:
        stream = converse_stream(
            client, retry_policy=RetryPolicy(max_retries=0), modelId=NOVA, messages=HELLO
        )
        await asyncio.wait_for(stream.aconsume(), timeout=30)

    with pytest.raises(BedrockError) as caught:
        asyncio.run(main())
    assert isinstance(caught.value, BedrockTimeoutError)


def test_a_response_without_its_raw_body_is_read_through_botocores_events(
    server: BedrockWireServer,
) -> None:
    # botocore's undecoded body is a private attribute; without it, its parsed events serve.
    server.enqueue(StreamReply(INTERLEAVED))
    response = client_for(server).converse_stream(modelId=NOVA, messages=HELLO)
    parsed = {"stream": list(response["stream"]), "ResponseMetadata": response["ResponseMetadata"]}
    stream = BedrockStream(parsed)
    stream.consume()
    expected = BedrockStream(INTERLEAVED)
    expected.consume()
    assert stream.response() == expected.response()
    assert stream.request_id == response["ResponseMetadata"]["RequestId"]


def test_a_prompt_routers_answer_is_priced_at_the_model_it_routed_to() -> None:
    router = "arn:aws:bedrock:us-east-1:123456789012:default-prompt-router/amazon.nova:1"
    usage = {"inputTokens": 1000, "outputTokens": 500, "totalTokens": 1500}
    trace = {"promptRouter": {"invokedModelId": NOVA}}
    events = [
        {"messageStart": {"role": "assistant"}},
        delta(0, text="ok"),
        stop(0),
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": usage, "trace": trace}},
    ]
    stream = BedrockStream(events, model_id=router)
    stream.consume()
    assert stream.cost == pytest.approx(1000 * 0.035 / 1e6 + 500 * 0.14 / 1e6)


def test_a_boto3_response_is_refused_under_async_for(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(INTERLEAVED, delay=0.5))
    stream = BedrockStream(client_for(server).converse_stream(modelId=NOVA, messages=HELLO))

    async def main() -> None:
        async for _ in stream:
            pass

    with pytest.raises(TypeError, match="converse_stream"):
        asyncio.run(main())
    assert server.wait_for_disconnect(timeout=10)  # and its connection was let go


def test_the_0_1_names_of_tool_call_items_still_work_with_a_warning() -> None:
    """``ToolCall`` / ``InvalidToolCall`` collide with LangChain's own names: renamed, and the
    old names resolve (from the package and from ``stream``) with a ``DeprecationWarning``."""
    import langchain_bedrock_stream as package
    from langchain_bedrock_stream import stream as module

    for where in (package, module):
        with pytest.warns(DeprecationWarning, match="BedrockToolCall"):
            assert where.ToolCall is BedrockToolCall
        with pytest.warns(DeprecationWarning, match="BedrockInvalidToolCall"):
            assert where.InvalidToolCall is BedrockInvalidToolCall
    with pytest.raises(AttributeError, match="NoSuchName"):
        _ = package.NoSuchName
