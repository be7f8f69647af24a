"""Hostile input: malformed frames and events, and corrupted bodies, end in typed errors.

Each malformed shape is named once (wire and accumulator, straight), then the same kinds
of damage go through the public API (``stream``/``astream``/``invoke`` over real boto3 and
a real socket), where only a ``BedrockError`` carrying what had streamed, or the correct
answer, may come out. Property-based tests add volume: random CRC-valid frames, random
event payloads and random byte corruption of real and scripted bodies.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import random
import struct
from binascii import crc32
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_bedrock_stream import BedrockError, ChatBedrockStream, StreamIntegrityError
from langchain_bedrock_stream._accumulator import Accumulator, MalformedEvent
from langchain_bedrock_stream._bridge import chunk_from_deltas, final_chunk, message_from_response
from langchain_bedrock_stream._retry import RetryPolicy
from langchain_bedrock_stream._wire import (
    ExceptionFrameError,
    FrameDecoder,
    FrameError,
    iter_events,
)
from langchain_bedrock_stream.errors import BedrockConnectionError
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    StreamReply,
    encode_event,
    encode_events,
    encode_exception,
)
from tests.support import events
from tests.support.raw_http import RawReply, RawServer, chunked, events_reply
from tests.support.recordings import stream_bodies

pytestmark = pytest.mark.timeout(120)

MODEL = "us.amazon.nova-micro-v1:0"
HELLO = events.text_events(["Hello", " world"], input_tokens=3)
"""messageStart, two text deltas, contentBlockStop, messageStop, metadata."""


# --- helpers ---------------------------------------------------------------------------------


def frame(raw_headers: bytes, payload: bytes) -> bytes:
    """A CRC-valid frame around any header bytes and payload."""
    total = 16 + len(raw_headers) + len(payload)
    prelude = struct.pack(">II", total, len(raw_headers))
    head = prelude + struct.pack(">I", crc32(prelude))
    body = head + raw_headers + payload
    return body + struct.pack(">I", crc32(body))


def header(name: str, kind: int, value: bytes) -> bytes:
    """One raw header: name, type byte, then ``value`` exactly as given."""
    raw = name.encode()
    return bytes([len(raw)]) + raw + bytes([kind]) + value


def string_header(name: str, value: bytes) -> bytes:
    return header(name, 7, struct.pack(">H", len(value)) + value)


def event_headers(event_type: str = "contentBlockDelta") -> bytes:
    return string_header(":message-type", b"event") + string_header(
        ":event-type", event_type.encode()
    )


def decode_all(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    decoder = FrameDecoder()
    out = list(iter_events(decoder, body))
    decoder.close()
    return out


def fold(event_list: list[dict[str, Any]]) -> Accumulator:
    stream = Accumulator()
    for event in event_list:
        stream.feed(event)
    return stream


def model_on(url: str, **kwargs: Any) -> ChatBedrockStream:
    kwargs.setdefault("retry_policy", RetryPolicy(max_retries=0, sleep=lambda _: None))
    return ChatBedrockStream(
        model=MODEL, region_name="us-east-1", endpoint_url=url, timeout=20, **kwargs
    )


class Switchboard:
    """One raw server for many examples: each serves whatever reply is set last."""

    def __init__(self) -> None:
        self.reply = events_reply(b"")

    def __call__(self, head: bytes, headers: dict[str, str]) -> RawReply:
        return self.reply


@pytest.fixture(scope="module")
def switchboard() -> Iterator[tuple[Switchboard, ChatBedrockStream]]:
    """A raw server and one model pointed at it (building a client per example is slow)."""
    board = Switchboard()
    with RawServer(board) as raw:
        yield board, model_on(raw.endpoint_url)


@pytest.fixture(scope="module")
def shared_server() -> Iterator[tuple[BedrockWireServer, ChatBedrockStream]]:
    with BedrockWireServer() as running:
        yield running, model_on(running.endpoint_url)


def summed(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def stream_outcome(model: ChatBedrockStream) -> AIMessageChunk | BedrockError:
    """The summed ``stream()`` chunks, or the ``BedrockError`` it raised (nothing else)."""
    chunks: list[AIMessageChunk] = []
    try:
        for chunk in model.stream("hi"):
            chunks.append(chunk)
    except BedrockError as exc:
        return exc
    return summed(chunks)


def astream_outcome(model: ChatBedrockStream) -> AIMessageChunk | BedrockError:
    async def run() -> AIMessageChunk | BedrockError:
        chunks: list[AIMessageChunk] = []
        try:
            async for chunk in model.astream("hi"):
                chunks.append(chunk)
        except BedrockError as exc:
            return exc
        return summed(chunks)

    return asyncio.run(run())


@pytest.fixture
def server() -> Iterator[BedrockWireServer]:
    with BedrockWireServer() as running:
        yield running


# --- malformed events, straight into the accumulator -------------------------------------------


def delta(value: Any, index: Any = 0) -> dict[str, Any]:
    return {"contentBlockDelta": {"contentBlockIndex": index, "delta": value}}


MALFORMED: list[tuple[str, dict[str, Any], str, Any]] = [
    ("no index", {"contentBlockDelta": {"delta": {"text": "x"}}}, "contentBlockIndex", None),
    ("index as string", delta({"text": "x"}, "0"), "contentBlockIndex", "0"),
    ("negative index", delta({"text": "x"}, -1), "contentBlockIndex", -1),
    ("index as bool", delta({"text": "x"}, True), "contentBlockIndex", True),
    ("index as float", delta({"text": "x"}, 1.0), "contentBlockIndex", 1.0),
    ("text null", delta({"text": None}), "delta.text", None),
    ("text a number", delta({"text": 5}), "delta.text", 5),
    ("payload a list", {"contentBlockDelta": [1, 2]}, "body", [1, 2]),
    ("delta a string", delta("text"), "delta", "text"),
    ("tool input a number", delta({"toolUse": {"input": 7}}), "delta.toolUse.input", 7),
    ("tool use a string", delta({"toolUse": "{}"}), "delta.toolUse", "{}"),
    ("reasoning a list", delta({"reasoningContent": ["x"]}), "delta.reasoningContent", ["x"]),
    (
        "redacted reasoning as text",
        delta({"reasoningContent": {"redactedContent": "abc"}}),
        "delta.reasoningContent.redactedContent",
        "abc",
    ),
    ("tool result not a list", delta({"toolResult": "x"}), "delta.toolResult", "x"),
    ("tool result of strings", delta({"toolResult": ["x"]}), "delta.toolResult", ["x"]),
    (
        "tool result text a number",
        delta({"toolResult": [{"text": 1}]}),
        "delta.toolResult[].text",
        1,
    ),
    ("citation a string", delta({"citation": "x"}), "delta.citation", "x"),
    (
        "start toolUse null",
        {"contentBlockStart": {"contentBlockIndex": 0, "start": {"toolUse": None}}},
        "start.toolUse",
        None,
    ),
    (
        "tool name a number",
        {"contentBlockStart": {"contentBlockIndex": 0, "start": {"toolUse": {"name": 3}}}},
        "start.toolUse.name",
        3,
    ),
    ("start a list", {"contentBlockStart": {"contentBlockIndex": 0, "start": []}}, "start", []),
    ("stop index missing", {"contentBlockStop": {}}, "contentBlockIndex", None),
    ("role a number", {"messageStart": {"role": 1}}, "role", 1),
    ("stop reason a list", {"messageStop": {"stopReason": ["x"]}}, "stopReason", ["x"]),
]


#: Odd values in optional members: the answer is kept, the value as received (usage that
#: cannot be counted goes to ``extras["usage"]``; nothing is counted or priced from it).
ODD_OPTIONAL = [
    ("usage a string", {"usage": "lots"}),
    ("token count a string", {"usage": {"inputTokens": "12"}}),
    ("token count a bool", {"usage": {"outputTokens": True}}),
    ("cache details of strings", {"usage": {"inputTokens": 1, "cacheDetails": ["5m"]}}),
    ("metrics a number", {"metrics": 5}),
    ("trace a list", {"trace": [1]}),
    ("service tier a string", {"serviceTier": "flex"}),
]


@pytest.mark.parametrize("metadata", [c[1] for c in ODD_OPTIONAL], ids=[c[0] for c in ODD_OPTIONAL])
def test_odd_optional_metadata_is_kept_as_received(metadata: dict[str, Any]) -> None:
    stream = fold([{"messageStart": {"role": "assistant"}}, delta({"text": "kept"}, 3)])
    stream.feed(
        {"messageStop": {"stopReason": "end_turn", "additionalModelResponseFields": "test"}}
    )
    stream.feed({"metadata": metadata})
    response = stream.response()
    assert response.content == [{"text": "kept"}]
    assert response.additional_model_response_fields == "test"
    (member, value) = next(iter(metadata.items()))
    if member == "usage":
        assert response.usage is None and response.extras["usage"] == value
    else:
        kept = {"metrics": response.metrics, "trace": response.trace}
        kept["serviceTier"] = response.service_tier
        assert kept[member] == value


@pytest.mark.parametrize(
    ("event", "field", "value"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
def test_malformed_event_names_event_field_and_value(
    event: dict[str, Any], field: str, value: Any
) -> None:
    stream = fold([{"messageStart": {"role": "assistant"}}, delta({"text": "kept"}, 3)])
    with pytest.raises(MalformedEvent) as caught:
        stream.feed(event)
    error = caught.value
    (kind,) = event
    assert error.kind == kind
    assert error.field == field
    assert field in str(error) and kind in str(error)
    assert repr(value)[:40] in str(error)
    # Nothing of the bad event was folded; what came before is intact.
    response = stream.response()
    assert response.content == [{"text": "kept"}]
    assert isinstance(error, ValueError)


def test_malformed_value_is_truncated_in_the_message() -> None:
    with pytest.raises(MalformedEvent) as caught:
        Accumulator().feed(delta({"text": ["x" * 10_000]}))
    assert len(str(caught.value)) < 300
    assert caught.value.value == ["x" * 10_000]


def test_a_member_of_another_kind_in_an_open_block_is_malformed() -> None:
    """Text in a tool use block would otherwise be folded into the call's input."""
    stream = fold(
        [
            {
                "contentBlockStart": {
                    "contentBlockIndex": 0,
                    "start": {"toolUse": {"toolUseId": "t1", "name": "f"}},
                }
            },
            delta({"toolUse": {"input": '{"a": 1'}}),
        ]
    )
    with pytest.raises(MalformedEvent, match="tool_use block 0") as caught:
        stream.feed(delta({"text": "}"}))
    assert caught.value.field == "delta.text"
    assert stream.response().invalid_tool_inputs  # still an unfinished, invalid call


def test_unknown_shapes_are_kept_not_fatal() -> None:
    stream = fold(
        [
            {"messageStart": {"role": "assistant"}},
            delta({"hologram": [1, {"x": None}], "text": "hi"}),
            {"contentBlockStart": {"contentBlockIndex": 1, "start": {"video": "v"}}},
            {"surpriseEvent": ["a", 1]},
            {"messageStop": {"stopReason": "end_turn", "futureField": 1}},
            {"metadata": {"usage": {"inputTokens": 1}, "billing": "x"}},
        ]
    )
    response = stream.response()
    assert {"hologram": [1, {"x": None}]} in response.content
    assert {"video": "v"} in response.content
    assert {"text": "hi"} in response.content
    assert response.extras["unknown_events"] == [{"surpriseEvent": ["a", 1]}]
    assert response.extras["billing"] == "x"
    message = message_from_response(response, model_id=MODEL)
    assert message.text == "hi"


# --- malformed frames, straight into the decoder ----------------------------------------------


BAD_FRAMES: list[tuple[str, bytes, str]] = [
    (
        "unknown header type",
        frame(event_headers() + header("x", 12, b"\0\0"), b"{}"),
        "unknown header value type 12",
    ),
    ("header name past the end", frame(b"\x30abc", b"{}"), "runs past"),
    (
        "header value past the end",
        frame(string_header(":message-type", b"event")[:-3] + b"\xff\xff", b"{}"),
        "runs past",
    ),
    ("int64 header cut short", frame(header("n", 5, b"\0\0\0"), b"{}"), "runs past"),
    (
        "header value not UTF-8",
        frame(string_header(":event-type", b"\xff\xfe"), b"{}"),
        "not UTF-8",
    ),
    ("header name not UTF-8", frame(bytes([2]) + b"\xc3\x28" + b"\x00", b"{}"), "not UTF-8"),
    (
        "unknown message type",
        frame(string_header(":message-type", b"gossip"), b"{}"),
        "unknown :message-type",
    ),
    (
        "event type not a string",
        frame(
            string_header(":message-type", b"event") + header(":event-type", 4, b"\0\0\0\1"), b""
        ),
        "not a string",
    ),
    ("payload not UTF-8", frame(event_headers(), b'{"delta": "\xff"}'), "not UTF-8 JSON"),
    ("payload not JSON", frame(event_headers(), b'{"delta": '), "not UTF-8 JSON"),
    ("payload a JSON list", frame(event_headers(), b"[1, 2]"), "not an object"),
    ("payload a JSON string", frame(event_headers(), b'"text"'), "not an object"),
    (
        "redacted reasoning not base64",
        frame(
            event_headers(),
            b'{"contentBlockIndex": 0, "delta": {"reasoningContent": {"redactedContent": "@@"}}}',
        ),
        "redactedContent is not base64",
    ),
    (
        "image bytes not base64",
        frame(
            event_headers(),
            b'{"contentBlockIndex": 0, "delta": {"image": {"source": {"bytes": "%%%"}}}}',
        ),
        "bytes is not base64",
    ),
]


@pytest.mark.parametrize(
    ("body", "message"), [c[1:] for c in BAD_FRAMES], ids=[c[0] for c in BAD_FRAMES]
)
def test_malformed_frame_is_a_frame_error(body: bytes, message: str) -> None:
    good = encode_event({"messageStart": {"role": "assistant"}})
    decoder = FrameDecoder()
    seen: list[str] = []
    with pytest.raises(FrameError, match=message):
        for kind, _ in iter_events(decoder, good + body):
            seen.append(kind)
        decoder.close()  # an error behind intact frames is held back until then
    assert seen == ["messageStart"]  # the intact frame before it was delivered


def test_exception_frame_with_a_list_payload_still_raises_its_type() -> None:
    headers = string_header(":message-type", b"exception") + string_header(
        ":exception-type", b"throttlingException"
    )
    with pytest.raises(ExceptionFrameError) as caught:
        decode_all(frame(headers, b'["slow", "down"]'))
    assert caught.value.exception_type == "throttlingException"
    assert "slow" in caught.value.message


def test_valid_but_unusual_headers_decode() -> None:
    """Every header type botocore knows is accepted where it is not one we read."""
    extra = (
        header("t", 0, b"")
        + header("f", 1, b"")
        + header("b", 2, b"\x01")
        + header("s", 3, b"\x00\x02")
        + header("i", 4, b"\x00\x00\x00\x03")
        + header("l", 5, b"\x00" * 7 + b"\x04")
        + header("by", 6, b"\x00\x02hi")
        + header("ts", 8, b"\x00" * 8)
        + header("u", 9, b"\x01" * 16)
    )
    body = frame(event_headers("messageStart") + extra, b'{"role": "assistant"}')
    assert decode_all(body) == [("messageStart", {"role": "assistant"})]


# --- through the public API -----------------------------------------------------------------------


def with_inserted(event_list: list[Any], position: int, item: Any) -> list[Any]:
    return [*event_list[:position], item, *event_list[position:]]


@pytest.mark.parametrize("consume", ["stream", "astream", "invoke"])
def test_malformed_event_after_text_is_an_integrity_error_with_the_partial(
    server: BedrockWireServer, consume: str
) -> None:
    bad = delta({"text": None})
    server.enqueue(StreamReply(with_inserted(HELLO, 2, bad)))
    model = model_on(server.endpoint_url, streaming=True)
    if consume == "invoke":
        with pytest.raises(StreamIntegrityError) as caught:
            model.invoke("hi")
        error: BaseException = caught.value
    else:
        outcome = stream_outcome(model) if consume == "stream" else astream_outcome(model)
        assert isinstance(outcome, StreamIntegrityError)
        error = outcome
    assert isinstance(error, StreamIntegrityError)
    assert isinstance(error.__cause__, MalformedEvent)
    assert "delta.text" in str(error)
    assert error.partial_message is not None
    assert error.partial_message.text == "Hello"


def test_corrupt_header_mid_stream_is_an_integrity_error(server: BedrockWireServer) -> None:
    body = encode_events(HELLO[:2]) + frame(event_headers() + header("x", 77, b""), b"{}")
    with RawServer(lambda head, headers: RawReply.chunked(body)) as raw:
        outcome = stream_outcome(model_on(raw.endpoint_url))
    assert isinstance(outcome, StreamIntegrityError)
    assert isinstance(outcome.__cause__, FrameError)
    assert outcome.partial_message is not None and outcome.partial_message.text == "Hello"


def test_garbled_chunked_coding_is_an_integrity_error_with_the_partial() -> None:
    good = chunked(encode_events(HELLO[:2]), size=1 << 20)[:-5]  # without the last chunk
    body = good + b"zz\r\n" + encode_events(HELLO[2:]) + b"\r\n0\r\n\r\n"
    with RawServer(lambda head, headers: RawReply(body=body, headers=_chunked_headers())) as raw:
        outcome = stream_outcome(model_on(raw.endpoint_url))
    assert isinstance(outcome, StreamIntegrityError), outcome
    assert "int()" in str(outcome) or "chunk" in str(outcome)
    # The body arrives in one burst, so whether "Hello" was delivered before the bad chunk
    # line depends on the chunk decoder; if anything was, it is kept.
    if outcome.partial_message is not None:
        assert outcome.partial_message.text == "Hello"


def _chunked_headers() -> dict[str, str]:
    return {
        "Content-Type": "application/vnd.amazon.eventstream",
        "Transfer-Encoding": "chunked",
    }


# --- bodies delimited by closing the connection ---------------------------------------------


@pytest.mark.parametrize("consume", [stream_outcome, astream_outcome])
def test_close_delimited_body_cut_after_message_stop_is_not_a_success(consume: Any) -> None:
    without_metadata = encode_events(HELLO[:-1])
    with RawServer(lambda head, headers: events_reply(without_metadata)) as raw:
        outcome = consume(model_on(raw.endpoint_url))
    assert isinstance(outcome, BedrockConnectionError), outcome
    assert outcome.partial_message is not None
    assert outcome.partial_message.text == "Hello world"
    assert outcome.partial_message.response_metadata["stopReason"] == "end_turn"


@pytest.mark.parametrize("consume", [stream_outcome, astream_outcome])
def test_close_delimited_complete_body_is_a_success(consume: Any) -> None:
    body = encode_events(HELLO)
    with RawServer(lambda head, headers: events_reply(body)) as raw:
        outcome = consume(model_on(raw.endpoint_url))
    assert isinstance(outcome, AIMessageChunk), outcome
    assert outcome.text == "Hello world"
    assert outcome.usage_metadata is not None and outcome.usage_metadata["input_tokens"] == 3


def _seen(**_: Any) -> None:
    """A caller's handler of the answer: its client sends its own calls, read in a thread."""


def test_close_delimited_body_cut_after_message_stop_read_in_a_thread_is_not_a_success() -> None:
    """The same cut, on the event loop, for a client whose answers a handler watches (its
    body is read in a thread of its own): still not a success."""
    without_metadata = encode_events(HELLO[:-1])
    with RawServer(lambda head, headers: events_reply(without_metadata)) as raw:
        model = model_on(raw.endpoint_url)
        model.client.meta.events.register("after-call.bedrock-runtime.ConverseStream", _seen)
        outcome = astream_outcome(model)
    assert isinstance(outcome, BedrockConnectionError), outcome
    assert outcome.partial_message is not None
    assert outcome.partial_message.text == "Hello world"


def test_chunked_body_without_metadata_is_still_a_success(server: BedrockWireServer) -> None:
    """Only close-delimited bodies need the metadata; chunked ones have a real end."""
    server.enqueue(StreamReply(HELLO[:-1]))
    outcome = stream_outcome(model_on(server.endpoint_url))
    assert isinstance(outcome, AIMessageChunk)
    assert outcome.text == "Hello world"


# --- tool input that arrives before its block starts ----------------------------------------


def _early_tool_input() -> list[dict[str, Any]]:
    return [
        {"messageStart": {"role": "assistant"}},
        delta({"toolUse": {"input": '{"city": '}}),
        {
            "contentBlockStart": {
                "contentBlockIndex": 0,
                "start": {"toolUse": {"toolUseId": "t1", "name": "weather"}},
            }
        },
        delta({"toolUse": {"input": '"Paris"}'}}),
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "tool_use"}},
        {"metadata": {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}}},
    ]


@pytest.mark.parametrize("batch", [1, 100])
def test_tool_input_before_its_block_start_is_not_lost(
    server: BedrockWireServer, batch: int
) -> None:
    server.enqueue(StreamReply(_early_tool_input(), batch=batch))
    server.enqueue(StreamReply(_early_tool_input(), batch=batch))
    model = model_on(server.endpoint_url)
    streamed = stream_outcome(model)
    invoked = model.invoke("hi", stream=True)
    assert isinstance(streamed, AIMessageChunk)
    expected = [{"name": "weather", "args": {"city": "Paris"}, "id": "t1", "type": "tool_call"}]
    assert streamed.tool_calls == expected
    assert invoked.tool_calls == expected


def test_early_input_in_one_burst_keeps_name_id_and_input() -> None:
    stream = Accumulator()
    out: list[Any] = []
    for event in _early_tool_input()[:4]:
        out.extend(stream.feed(event))
    made = chunk_from_deltas(out)
    assert made is not None
    (call,) = made[0].tool_call_chunks
    assert (call["name"], call["id"], call["args"]) == ("weather", "t1", '{"city": "Paris"}')


# --- property-based: random frames, events and corruption -----------------------------------


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
KINDS = [
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
    "",
    "strange",
]
MEMBERS = ["text", "toolUse", "reasoningContent", "citation", "toolResult", "image", "other"]


def _near_valid(member: str) -> st.SearchStrategy[Any]:
    """Values that are often right for ``member`` and often subtly wrong."""
    good = {
        "text": st.text(max_size=5),
        "toolUse": st.fixed_dictionaries({"input": st.text(max_size=5)}),
        "reasoningContent": st.fixed_dictionaries(
            {}, optional={"text": st.text(max_size=3), "signature": st.text(max_size=3)}
        ),
        "citation": st.fixed_dictionaries({"title": st.text(max_size=3)}),
        "toolResult": st.lists(st.fixed_dictionaries({"text": st.text(max_size=3)}), max_size=2),
        "image": st.fixed_dictionaries(
            {"source": st.fixed_dictionaries({"bytes": st.just("aGk=")})}
        ),
        "other": json_values,
    }[member]
    return good | json_values


@st.composite
def hostile_events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    index = draw(st.sampled_from([0, 1, 5]) | json_values)
    if kind == "contentBlockDelta":
        member = draw(st.sampled_from(MEMBERS))
        value: Any = {member: draw(_near_valid(member))}
        body: Any = {"contentBlockIndex": index, "delta": draw(st.just(value) | json_values)}
    elif kind == "contentBlockStart":
        start = draw(
            st.sampled_from(
                [
                    {"toolUse": {"toolUseId": "t", "name": "f"}},
                    {"toolUse": {"toolUseId": "s", "name": "g", "type": "server_tool_use"}},
                    {"toolResult": {"toolUseId": "s", "status": "success"}},
                    {"image": {"format": "png"}},
                ]
            )
            | json_values
        )
        body = {"contentBlockIndex": index, "start": start}
    elif kind == "metadata":
        body = {
            "usage": draw(
                st.fixed_dictionaries(
                    {
                        "inputTokens": st.integers(0, 9) | json_values,
                        "outputTokens": st.integers(0, 9),
                    }
                )
                | json_values
            ),
            "metrics": draw(st.fixed_dictionaries({"latencyMs": st.integers(0, 9)}) | json_values),
        }
    else:
        body = draw(
            st.dictionaries(
                st.sampled_from(["contentBlockIndex", "stopReason", "role"]), json_values
            )
        )
    return {kind: draw(st.just(body) | json_values)}


def _bridge_everything(stream: Accumulator, batches: list[list[Any]]) -> AIMessage:
    """What the chat model does with accepted events: chunks, the last chunk, the message."""
    chunks = [made[0] for batch in batches if (made := chunk_from_deltas(batch)) is not None]
    response = stream.response()
    chunks.append(final_chunk(response, model_id=MODEL))
    summed(chunks)
    return message_from_response(response, model_id=MODEL)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_events(), min_size=1, max_size=8))
def test_random_events_are_folded_or_refused_with_malformed_event(
    event_list: list[dict[str, Any]],
) -> None:
    stream = Accumulator()
    batches: list[list[Any]] = []
    for event in event_list:
        try:
            batches.append(stream.feed(event))
        except MalformedEvent:
            break
    _bridge_everything(stream, batches)  # never raises on what was accepted


@st.composite
def random_frames(draw: st.DrawFn) -> bytes:
    headers = b""
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from([":message-type", ":event-type", ":exception-type", "x"]))
        kind = draw(st.integers(0, 12))
        value = draw(
            st.sampled_from([b"event", b"exception", b"contentBlockDelta", b"metadata"])
            | st.binary(max_size=10)
        )
        if kind in (6, 7) and draw(st.booleans()):
            value = struct.pack(">H", len(value)) + value
        headers += header(name, kind, value)
    if draw(st.booleans()):
        event = draw(hostile_events())
        payload = json.dumps(next(iter(event.values()))).encode()
    else:
        payload = draw(st.binary(max_size=40))
    return frame(headers, payload)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(random_frames(), min_size=1, max_size=5), st.integers(1, 64))
def test_random_crc_valid_frames_give_only_typed_errors(frames: list[bytes], step: int) -> None:
    body = b"".join(frames)
    decoder = FrameDecoder()
    stream = Accumulator()
    batches: list[list[Any]] = []
    try:
        for start in range(0, len(body), step):
            for kind, event_body in iter_events(decoder, body[start : start + step]):
                out: list[Any] = []
                stream.apply(kind, event_body, out)
                batches.append(out)
        decoder.close()
    except (FrameError, MalformedEvent, ExceptionFrameError):
        pass
    _bridge_everything(stream, batches)


@settings(max_examples=80, deadline=None)
@given(
    bad=hostile_events(),
    position=st.integers(1, len(HELLO) - 1),
    use_async=st.booleans(),
)
def test_random_malformed_event_through_the_public_api(
    shared_server: tuple[BedrockWireServer, ChatBedrockStream],
    bad: dict[str, Any],
    position: int,
    use_async: bool,
) -> None:
    server, model = shared_server
    script = with_inserted(HELLO, position, bad)
    server.enqueue(StreamReply(script))
    outcome = astream_outcome(model) if use_async else stream_outcome(model)
    if isinstance(outcome, BedrockError):
        assert isinstance(outcome, StreamIntegrityError), outcome
        if position > 1:  # "Hello" had been received
            assert outcome.partial_message is not None
            assert outcome.partial_message.text.startswith("Hello")
        return
    # Accepted: the answer is the scripted one (plus whatever the extra event added).
    server.enqueue(StreamReply(script))
    invoked = model.invoke("hi", stream=True)
    assert outcome.text == invoked.text
    assert "Hello" in outcome.text and " world" in outcome.text
    assert outcome.tool_calls == invoked.tool_calls


def _scripted_bodies() -> list[tuple[str, bytes]]:
    tool = [
        {"messageStart": {"role": "assistant"}},
        delta({"text": "Let me check."}),
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {
            "contentBlockStart": {
                "contentBlockIndex": 1,
                "start": {"toolUse": {"toolUseId": "t1", "name": "weather"}},
            }
        },
        delta({"toolUse": {"input": '{"city": "Paris"}'}}, 1),
        {"contentBlockStop": {"contentBlockIndex": 1}},
        {"messageStop": {"stopReason": "tool_use"}},
        {"metadata": {"usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2}}},
    ]
    bodies = [("hello", encode_events(HELLO)), ("tool", encode_events(tool))]
    bodies.append(
        (
            "exception",
            encode_events(HELLO[:2]) + encode_exception("modelStreamErrorException", "boom"),
        )
    )
    recorded = stream_bodies()
    bodies.extend(recorded[:: max(1, len(recorded) // 6)])
    return bodies


BODIES = _scripted_bodies()


def _oracle(
    board: Switchboard, model: ChatBedrockStream, body: bytes
) -> tuple[str, list[Any]] | None:
    """The intact body's text and tool calls, as invoke reads it (``None``: it fails)."""
    board.reply = RawReply.chunked(body)
    try:
        message = model.invoke("hi", stream=True)
    except BedrockError:
        return None
    return message.text, message.tool_calls


ORACLES: dict[str, tuple[str, list[Any]] | None] = {}


@settings(max_examples=150, deadline=None)
@given(
    which=st.integers(0, len(BODIES) - 1),
    damage=st.sampled_from(["flip", "truncate", "flip-framing"]),
    where=st.floats(0, 1, exclude_max=True),
    bit=st.integers(0, 7),
    close_delimited=st.booleans(),
    use_async=st.booleans(),
)
def test_corrupted_bodies_give_typed_errors_or_the_intact_answer(
    switchboard: tuple[Switchboard, ChatBedrockStream],
    which: int,
    damage: str,
    where: float,
    bit: int,
    close_delimited: bool,
    use_async: bool,
) -> None:
    board, model = switchboard
    name, body = BODIES[which]
    if name not in ORACLES:
        ORACLES[name] = _oracle(board, model, body)
    wire = body if close_delimited else chunked(body, size=1024)
    position = int(where * len(wire))
    if damage == "truncate":
        damaged = wire[:position]
    else:
        if damage == "flip-framing" and not close_delimited:
            position = random.Random(position).choice([0, 1, 2, len(wire) - 3])
        flipped = bytearray(wire)
        flipped[position] ^= 1 << bit
        damaged = bytes(flipped)
    headers = {"Content-Type": "application/vnd.amazon.eventstream"}
    if not close_delimited:
        headers["Transfer-Encoding"] = "chunked"
    board.reply = RawReply(body=damaged, headers=headers)
    outcome = astream_outcome(model) if use_async else stream_outcome(model)
    if isinstance(outcome, BedrockError):
        return  # typed, which is all a damaged body can promise
    oracle = ORACLES[name]
    assert oracle is not None, f"{name}: a body that fails intact succeeded damaged"
    assert (outcome.text, outcome.tool_calls) == oracle


def test_redacted_reasoning_blob_round_trips_through_the_decoder() -> None:
    blob = bytes(range(256))
    body = encode_event(
        delta({"reasoningContent": {"redactedContent": base64.b64encode(blob).decode()}})
    )
    ((_, event),) = decode_all(body)
    assert event["delta"]["reasoningContent"]["redactedContent"] == blob


# --- a tool input cut by max_tokens is never a runnable call --------------------------------


def _cut_tool_call(fragments: list[str], reason: str = "max_tokens") -> list[dict[str, Any]]:
    return [
        {"messageStart": {"role": "assistant"}},
        {
            "contentBlockStart": {
                "contentBlockIndex": 0,
                "start": {"toolUse": {"toolUseId": "t1", "name": "weather"}},
            }
        },
        *(delta({"toolUse": {"input": piece}}) for piece in fragments),
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": reason}},
        {"metadata": {"usage": {"inputTokens": 1, "outputTokens": 9, "totalTokens": 10}}},
    ]


def _assert_not_runnable(message: AIMessage) -> None:
    assert message.tool_calls == []
    (invalid,) = message.invalid_tool_calls
    assert invalid["name"] == "weather"
    assert invalid["id"] == "t1"
    assert str(invalid["args"]).startswith('{"city": "Par')


@pytest.mark.parametrize("consume", [stream_outcome, astream_outcome])
def test_summed_chunks_of_a_cut_tool_input_are_not_a_runnable_call(
    server: BedrockWireServer, consume: Any
) -> None:
    server.enqueue(StreamReply(_cut_tool_call(['{"city"', ': "Par'])))
    outcome = consume(model_on(server.endpoint_url))
    assert isinstance(outcome, AIMessageChunk)
    _assert_not_runnable(outcome)
    assert outcome.response_metadata["stopReason"] == "max_tokens"


def test_invoke_of_a_cut_tool_input_agrees(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(_cut_tool_call(['{"city"', ': "Par'])))
    _assert_not_runnable(model_on(server.endpoint_url).invoke("hi", stream=True))


def test_langgraph_messages_mode_never_sees_a_runnable_cut_call(server: BedrockWireServer) -> None:
    from langgraph.graph import END, START, MessagesState, StateGraph

    server.enqueue(StreamReply(_cut_tool_call(['{"city"', ': "Par'])))
    model = model_on(server.endpoint_url)

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_edge(START, "model")
    graph.add_edge("model", END)
    streamed = [
        message
        for message, _ in graph.compile().stream(
            {"messages": [("user", "hi")]}, stream_mode="messages"
        )
    ]
    chunks = [m for m in streamed if isinstance(m, AIMessageChunk)]
    assert chunks, streamed
    _assert_not_runnable(summed(chunks))


def test_a_complete_tool_input_is_untouched(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(_cut_tool_call(['{"city"', ': "Paris"}'], reason="tool_use")))
    outcome = stream_outcome(model_on(server.endpoint_url))
    assert isinstance(outcome, AIMessageChunk)
    assert outcome.invalid_tool_calls == []
    assert outcome.tool_calls == [
        {"name": "weather", "args": {"city": "Paris"}, "id": "t1", "type": "tool_call"}
    ]


tool_inputs = st.dictionaries(
    st.text(alphabet='ab"\\{}[]:, \n', max_size=4),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.text(alphabet='xy"\\}]{[ \n\t/u0', max_size=6),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(alphabet='k"\\', max_size=3), children, max_size=2)
        ),
        max_leaves=6,
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=150, deadline=None)
@given(tool_inputs, st.data())
def test_no_truncation_of_a_tool_input_sums_to_a_runnable_call(
    args: dict[str, Any], data: st.DataObject
) -> None:
    raw = json.dumps(args, ensure_ascii=data.draw(st.booleans()))
    cut = data.draw(st.integers(1, len(raw) - 1))
    prefix = raw[:cut]
    pieces = data.draw(st.lists(st.integers(1, max(1, cut - 1)), max_size=3, unique=True))
    bounds = [0, *sorted(p for p in pieces if p < cut), cut]
    stream = Accumulator()
    chunks: list[AIMessageChunk] = []
    for event in _cut_tool_call([prefix[a:b] for a, b in itertools.pairwise(bounds)]):
        made = chunk_from_deltas(stream.feed(event))
        if made is not None:
            chunks.append(made[0])
    response = stream.response()
    chunks.append(final_chunk(response, model_id=MODEL))
    total = summed(chunks)
    assert total.tool_calls == [], (prefix, total.tool_calls)
    assert [c["id"] for c in total.invalid_tool_calls] == ["t1"]
    assert message_from_response(response, model_id=MODEL).tool_calls == []


def test_early_input_of_a_server_tool_is_not_a_client_call() -> None:
    stream = Accumulator()
    out: list[Any] = []
    for event in [
        delta({"toolUse": {"input": '{"code": "1+1"}'}}),
        {
            "contentBlockStart": {
                "contentBlockIndex": 0,
                "start": {
                    "toolUse": {"toolUseId": "s1", "name": "nova_code", "type": "server_tool_use"}
                },
            }
        },
    ]:
        out.extend(stream.feed(event))
    made = chunk_from_deltas(out)
    assert made is not None
    chunk = made[0]
    assert chunk.tool_call_chunks == []
    assert chunk.content == [
        {
            "type": "server_tool_use",
            "id": "s1",
            "name": "nova_code",
            "index": 0,
            "input": '{"code": "1+1"}',
        }
    ]
