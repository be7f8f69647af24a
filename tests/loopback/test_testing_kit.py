"""Tests of the offline test kit: frames checked with botocore's own decoder, and the
loopback server driven by a real boto3 client over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import binascii
import http.client
import json
import re
import shutil
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
import urllib3.exceptions
from botocore.config import Config
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EventStreamError,
    ReadTimeoutError,
)

from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    ConnectProxy,
    DropConnection,
    ErrorReply,
    ExceptionFrame,
    JsonReply,
    LoopLagTicker,
    RawReply,
    ReaderlessEventLoop,
    RecordedRequest,
    StreamReply,
    TcpRelay,
    client_ssl_context,
    encode_event,
    encode_events,
    encode_exception,
    encode_frame,
    make_certificate,
    make_simulator_responder,
    server_ssl_context,
    simulated_converse_response,
    simulated_events,
)

NOVA = "us.amazon.nova-micro-v1:0"
ARN = (
    "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
    "us.anthropic.claude-3-5-haiku-20241022-v1:0"
)
USER_HI = [{"role": "user", "content": [{"text": "Hello there"}]}]

TEXT_EVENTS: list[dict[str, Any]] = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Bonjour "}, "contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"text": "à tous — ✓ 日本"}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {
        "metadata": {
            "usage": {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18},
            "metrics": {"latencyMs": 321},
        }
    },
]


def _decode(data: bytes) -> list[Any]:
    buffer = EventStreamBuffer()
    buffer.add_data(data)
    return list(buffer)


_OPEN_CLIENTS: list[Any] = []
_OPEN_STREAMS: list[Any] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Close every stream and client a test opened (a stream left unread holds a socket)."""
    yield
    while _OPEN_STREAMS:
        _OPEN_STREAMS.pop().close()
    while _OPEN_CLIENTS:
        _OPEN_CLIENTS.pop().close()


def _track_stream(parsed: dict[str, Any], **_: Any) -> None:
    if "stream" in parsed:
        _OPEN_STREAMS.append(parsed["stream"])


def _client(server: BedrockWireServer, **config: Any) -> Any:
    """A real boto3 client for ``server``, without retries unless asked for."""
    options: dict[str, Any] = {"retries": {"total_max_attempts": 1}, "read_timeout": 10}
    options.update(config)
    client = boto3.client(
        "bedrock-runtime",
        endpoint_url=server.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**options),
    )
    client.meta.events.register("after-call.bedrock-runtime.ConverseStream", _track_stream)
    _OPEN_CLIENTS.append(client)
    return client


def settles(check: Callable[[], bool], timeout: float = 10) -> bool:
    """True once ``check()`` holds. The server counts a stream after writing its last bytes,
    which the client can have read (and returned) a moment before."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _delta_events(count: int) -> list[dict[str, Any]]:
    return [
        {"contentBlockDelta": {"delta": {"text": f"w{i} "}, "contentBlockIndex": 0}}
        for i in range(count)
    ]


# -- event-stream encoding, checked with botocore's decoder ------------------------------


def test_encode_frame_decodes_with_botocore() -> None:
    payload = bytes(range(256))
    frame = encode_frame({"a": "1", ":event-type": "x", "ünï": "välue"}, payload)
    (message,) = _decode(frame)
    assert message.headers == {"a": "1", ":event-type": "x", "ünï": "välue"}
    assert message.payload == payload
    total, headers_len = struct.unpack(">II", frame[:8])
    assert total == len(frame)
    assert headers_len == len(frame) - 12 - len(payload) - 4
    assert struct.unpack(">I", frame[8:12])[0] == binascii.crc32(frame[:8])
    assert struct.unpack(">I", frame[-4:])[0] == binascii.crc32(frame[:-4])


def test_encode_frame_empty_payload_and_headers() -> None:
    frame = encode_frame({}, b"")
    assert len(frame) == 16
    (message,) = _decode(frame)
    assert message.headers == {}
    assert message.payload == b""


def test_encode_frame_rejects_oversized_header() -> None:
    with pytest.raises(ValueError):
        encode_frame({"x" * 256: "v"}, b"")
    with pytest.raises(ValueError):
        encode_frame({"x": "v" * 70000}, b"")


def test_encode_event_headers_payload_and_padding() -> None:
    event = {"contentBlockDelta": {"delta": {"text": "héllo ✓ 日本"}, "contentBlockIndex": 3}}
    (message,) = _decode(encode_event(event))
    assert message.headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    body = json.loads(message.payload.decode("utf-8"))
    assert body.pop("p").isalnum()
    assert body == {"delta": {"text": "héllo ✓ 日本"}, "contentBlockIndex": 3}
    # Non-ASCII text travels as UTF-8, not as \u escapes.
    assert "日本".encode() in message.payload

    (plain,) = _decode(encode_event(event, padding=False))
    assert json.loads(plain.payload) == {"delta": {"text": "héllo ✓ 日本"}, "contentBlockIndex": 3}


def test_encode_event_writes_bytes_as_base64() -> None:
    blob = b"\x00\xffsecret\x10"
    event = {
        "contentBlockDelta": {
            "delta": {"reasoningContent": {"redactedContent": blob}},
            "contentBlockIndex": 0,
        }
    }
    (message,) = _decode(encode_event(event, padding=False))
    body = json.loads(message.payload)
    encoded = body["delta"]["reasoningContent"]["redactedContent"]
    assert base64.b64decode(encoded) == blob


def test_encode_event_requires_one_key() -> None:
    with pytest.raises(ValueError):
        encode_event({"messageStart": {}, "messageStop": {}})


def test_encode_exception_and_encode_events() -> None:
    body = encode_events(
        [
            {"messageStart": {"role": "assistant"}},
            ExceptionFrame("throttlingException", "Too many tokens, slow down ✋"),
        ]
    )
    first, second = _decode(body)
    assert first.headers[":event-type"] == "messageStart"
    assert second.headers == {
        ":exception-type": "throttlingException",
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    assert json.loads(second.payload) == {"message": "Too many tokens, slow down ✋"}
    assert encode_exception("a", "b") == encode_events([ExceptionFrame("a", "b")])


# -- the server with a real boto3 client ---------------------------------------------


def test_stream_round_trip(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(TEXT_EVENTS))
    response = _client(server).converse_stream(modelId=NOVA, messages=USER_HI)
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/vnd.amazon.eventstream"
    assert re.fullmatch(r"[0-9a-f-]{36}", response["ResponseMetadata"]["RequestId"])
    assert list(response["stream"]) == TEXT_EVENTS


def test_stream_batches_and_delays(server: BedrockWireServer) -> None:
    events = _delta_events(10)
    server.enqueue(StreamReply(events, batch=3, first_delay=0.3, delay=0.02))
    client = _client(server)
    started = time.monotonic()
    response = client.converse_stream(modelId=NOVA, messages=USER_HI)
    assert list(response["stream"]) == events
    # 0.3 s before the first chunk, then 3 pauses between the 4 chunks of 3 frames.
    assert time.monotonic() - started >= 0.3 + 3 * 0.02


def test_empty_stream(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply([]), StreamReply([], delay=0.01))
    client = _client(server)
    assert list(client.converse_stream(modelId=NOVA, messages=USER_HI)["stream"]) == []
    assert list(client.converse_stream(modelId=NOVA, messages=USER_HI)["stream"]) == []
    assert settles(lambda: server.streams_completed == 2)


def test_fine_pacing_is_honoured(server: BedrockWireServer) -> None:
    # 300 chunks 2 ms apart: never sooner than 0.6 s (how much later depends on the load).
    events = _delta_events(301)
    server.enqueue(StreamReply(events, delay=0.002))
    started = time.monotonic()
    received = list(_client(server).converse_stream(modelId=NOVA, messages=USER_HI)["stream"])
    elapsed = time.monotonic() - started
    assert received == events
    assert elapsed >= 0.6


def test_stream_custom_headers(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(TEXT_EVENTS[:1], headers={"x-amzn-bedrock-trace": "yes"}))
    response = _client(server).converse_stream(modelId=NOVA, messages=USER_HI)
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-trace"] == "yes"
    assert list(response["stream"]) == TEXT_EVENTS[:1]


def test_redacted_reasoning_reaches_botocore_as_bytes(server: BedrockWireServer) -> None:
    blob = b"\x01\x02opaque\xfe"
    events = [
        {
            "contentBlockDelta": {
                "delta": {"reasoningContent": {"redactedContent": blob}},
                "contentBlockIndex": 0,
            }
        },
        {
            "contentBlockDelta": {
                "delta": {"reasoningContent": {"signature": "sig=="}},
                "contentBlockIndex": 0,
            }
        },
    ]
    server.enqueue(StreamReply(events))
    response = _client(server).converse_stream(modelId=NOVA, messages=USER_HI)
    assert list(response["stream"]) == events


def test_converse_json(server: BedrockWireServer) -> None:
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Salut ✓"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7},
        "metrics": {"latencyMs": 42},
    }
    server.enqueue(JsonReply(body, headers={"x-extra": "1"}))
    response = _client(server).converse(modelId=NOVA, messages=USER_HI)
    assert response["output"] == body["output"]
    assert response["stopReason"] == "end_turn"
    assert response["usage"] == {"inputTokens": 3, "outputTokens": 4, "totalTokens": 7}
    assert response["metrics"] == {"latencyMs": 42}
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-extra"] == "1"


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, "ThrottlingException"),
        (400, "ValidationException"),
        (403, "AccessDeniedException"),
        (404, "ResourceNotFoundException"),
        (424, "ModelErrorException"),
        (503, "ServiceUnavailableException"),
    ],
)
@pytest.mark.parametrize("operation", ["converse", "converse_stream"])
def test_error_replies_raise_client_error(
    server: BedrockWireServer, status: int, code: str, operation: str
) -> None:
    server.enqueue(ErrorReply(status, code, f"boom {code}", retry_after=1.5))
    with pytest.raises(ClientError) as caught:
        getattr(_client(server), operation)(modelId=NOVA, messages=USER_HI)
    error = caught.value.response
    assert error["Error"]["Code"] == code
    assert error["Error"]["Message"] == f"boom {code}"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    assert error["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "1.5"
    assert error["ResponseMetadata"]["RequestId"]


def test_error_retry_after_is_omitted_by_default(server: BedrockWireServer) -> None:
    server.enqueue(ErrorReply(400, "ValidationException", "bad"))
    with pytest.raises(ClientError) as caught:
        _client(server).converse(modelId=NOVA, messages=USER_HI)
    assert "retry-after" not in caught.value.response["ResponseMetadata"]["HTTPHeaders"]


def test_botocore_retries_consume_scripted_replies(server: BedrockWireServer) -> None:
    server.enqueue(
        ErrorReply(429, "ThrottlingException", "slow down"),
        ErrorReply(503, "ServiceUnavailableException", "busy"),
        StreamReply(TEXT_EVENTS),
    )
    client = _client(server, retries={"total_max_attempts": 3, "mode": "standard"})
    response = client.converse_stream(modelId=NOVA, messages=USER_HI)
    assert list(response["stream"]) == TEXT_EVENTS
    assert len(server.requests) == 3
    assert server.pending_replies == 0


def test_no_scripted_reply_left(server: BedrockWireServer) -> None:
    with pytest.raises(ClientError) as caught:
        _client(server).converse(modelId=NOVA, messages=USER_HI)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "no scripted reply left" in caught.value.response["Error"]["Message"]


def test_exception_frame_mid_stream(server: BedrockWireServer) -> None:
    events = _delta_events(3)
    server.enqueue(StreamReply([*events, ExceptionFrame("throttlingException", "too fast")]))
    response = _client(server).converse_stream(modelId=NOVA, messages=USER_HI)
    received = []
    with pytest.raises(EventStreamError) as caught:
        for event in response["stream"]:
            received.append(event)
    assert received == events
    assert caught.value.response["Error"]["Code"] == "throttlingException"
    assert caught.value.response["Error"]["Message"] == "too fast"


@pytest.mark.parametrize("delay", [0.0, 0.01])
def test_drop_after_cuts_the_stream(server: BedrockWireServer, delay: float) -> None:
    events = _delta_events(10)
    server.enqueue(StreamReply(events, drop_after=4, delay=delay), StreamReply(TEXT_EVENTS))
    client = _client(server)
    response = client.converse_stream(modelId=NOVA, messages=USER_HI)
    received = []
    with pytest.raises(Exception) as caught:  # urllib3 ProtocolError: body ended early
        for event in response["stream"]:
            received.append(event)
    assert "ended prematurely" in str(caught.value) or isinstance(caught.value, ClientError)
    assert received == events[:4]
    # The client recovers on a fresh connection.
    assert list(client.converse_stream(modelId=NOVA, messages=USER_HI)["stream"]) == TEXT_EVENTS
    assert server.disconnects == 0


def test_corrupt_crc_raises_checksum_error(server: BedrockWireServer) -> None:
    events = _delta_events(5)
    server.enqueue(StreamReply(events, corrupt_crc_at=2))
    response = _client(server).converse_stream(modelId=NOVA, messages=USER_HI)
    received = []
    with pytest.raises(ChecksumMismatch):
        for event in response["stream"]:
            received.append(event)
    assert received == events[:2]


def test_drop_connection(server: BedrockWireServer) -> None:
    server.enqueue(DropConnection(), JsonReply({"stopReason": "end_turn"}))
    client = _client(server)
    with pytest.raises(ConnectionClosedError):
        client.converse(modelId=NOVA, messages=USER_HI)
    assert client.converse(modelId=NOVA, messages=USER_HI)["stopReason"] == "end_turn"


def test_requests_are_recorded(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(TEXT_EVENTS), JsonReply({"stopReason": "end_turn"}))
    client = _client(server)
    list(
        client.converse_stream(
            modelId=NOVA,
            messages=USER_HI,
            system=[{"text": "Be brief."}],
            inferenceConfig={"maxTokens": 64},
        )["stream"]
    )
    client.converse(modelId=ARN, messages=USER_HI)
    first, second = server.requests
    assert isinstance(first, RecordedRequest)
    assert (first.operation, first.model_id) == ("converse-stream", NOVA)
    assert first.path == "/model/us.amazon.nova-micro-v1%3A0/converse-stream"
    assert first.body == {
        "messages": USER_HI,
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 64},
    }
    assert first.headers["content-type"] == "application/json"
    assert first.headers["authorization"].startswith("AWS4-HMAC-SHA256")
    assert json.loads(first.raw_body) == first.body
    assert (second.operation, second.model_id) == ("converse", ARN)
    assert second.path == (
        "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2F"
        "us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse"
    )


def test_unknown_route_and_keep_alive(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply({"n": 1}), JsonReply({"n": 2}))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", "/nope")
        missing = connection.getresponse()
        assert missing.status == 404
        assert missing.getheader("x-amzn-ErrorType", "").startswith("UnknownOperationException:")
        missing.read()
        sockets = []
        for expected in (1, 2):
            connection.request("POST", "/model/m/converse", body=b'{"messages": []}')
            response = connection.getresponse()
            assert response.getheader("Connection") == "keep-alive"
            assert json.loads(response.read()) == {"n": expected}
            sockets.append(connection.sock)
        assert sockets[0] is sockets[1] is not None
    finally:
        connection.close()
    assert [r.body for r in server.requests] == [{"messages": []}, {"messages": []}]


def test_chunked_request_body_and_garbage_do_not_break_server(
    server: BedrockWireServer,
) -> None:
    # A client that sends garbage, and one that resets mid-request.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"NOT HTTP\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 400")
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.sendall(b"POST /model/m/converse HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    raw.close()
    server.enqueue(JsonReply({"ok": True}))
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(
            b"POST /model/m/converse HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b'Connection: close\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
        )
        reply = b""
        while chunk := raw.recv(4096):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection: close" in reply
    assert reply.endswith(b'{"ok":true}')
    assert server.requests[-1].body == {"a": 1}


def test_client_closing_early_is_counted(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(_delta_events(500), delay=0.01))
    response = _client(server).converse_stream(modelId=NOVA, messages=USER_HI)
    stream = response["stream"]
    iterator = iter(stream)
    next(iterator)
    next(iterator)
    assert server.stream_count_active == 1
    assert server.disconnects == 0
    stream.close()
    assert server.wait_for_disconnect(timeout=5)
    assert server.disconnects == 1
    deadline = time.monotonic() + 5
    while server.stream_count_active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.stream_count_active == 0
    assert server.streams_completed == 0


def test_disconnect_noticed_during_long_pause(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(_delta_events(3), first_delay=30))
    response = _client(server).converse_stream(modelId=NOVA, messages=USER_HI)
    assert server.wait_for_requests(1, timeout=5)
    response["stream"].close()
    assert server.wait_for_disconnect(timeout=5)  # long before the 30 s pause ends


def test_completed_stream_is_not_a_disconnect(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(TEXT_EVENTS, delay=0.001))
    assert list(_client(server).converse_stream(modelId=NOVA, messages=USER_HI)["stream"])
    assert settles(lambda: server.streams_completed == 1)
    assert server.disconnects == 0


def test_fifty_concurrent_paced_streams(server: BedrockWireServer) -> None:
    count, per_stream, delay = 50, 20, 0.02
    events = _delta_events(per_stream)
    reply = StreamReply(events, delay=delay).prepare()
    server.enqueue(*([reply] * count))
    client = _client(server, max_pool_connections=count, read_timeout=60)
    # Every stream waits, after its first event, until all have had theirs: streams
    # served one after another would never get there (the barrier times out).
    all_open = threading.Barrier(count, timeout=60)

    def run(_: int) -> list[Any]:
        stream = iter(client.converse_stream(modelId=NOVA, messages=USER_HI)["stream"])
        first = next(stream)
        all_open.wait()
        return [first, *stream]

    with ThreadPoolExecutor(max_workers=count) as pool:
        results = list(pool.map(run, range(count)))
    assert all(result == events for result in results)
    assert settles(lambda: server.streams_completed == count)
    assert server.disconnects == 0


def test_large_unpaced_stream(server: BedrockWireServer) -> None:
    events = _delta_events(8000)
    server.enqueue(StreamReply(events))
    received = list(_client(server).converse_stream(modelId=NOVA, messages=USER_HI)["stream"])
    assert len(received) == 8000
    assert received[-1] == events[-1]


def test_stop_joins_thread_and_closes_port() -> None:
    server = BedrockWireServer([StreamReply(_delta_events(100), delay=0.05)]).start()
    port = server.port
    response = _client(server).converse_stream(modelId=NOVA, messages=USER_HI)
    next(iter(response["stream"]))
    threads_before = {t.name for t in threading.enumerate()}
    assert "bedrock-wire-server" in threads_before
    server.stop()
    assert "bedrock-wire-server" not in {t.name for t in threading.enumerate()}
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    server.stop()  # idempotent


def test_server_responder_errors_become_500() -> None:
    def broken(request: RecordedRequest) -> Any:
        raise RuntimeError("responder bug")

    with BedrockWireServer(responder=broken) as server, pytest.raises(ClientError) as caught:
        _client(server).converse(modelId=NOVA, messages=USER_HI)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "responder bug" in caught.value.response["Error"]["Message"]


# -- the simulator ---------------------------------------------------------------------

WEATHER_TOOLS = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "Current weather for a city.",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {
                            "city": {"type": "string", "description": "City name"},
                            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                            "days": {"type": "integer", "minimum": 1, "maximum": 7},
                            "detailed": {"type": "boolean"},
                            "tags": {"type": "array", "items": {"type": "string"}},
                        },
                        "required": ["city", "unit"],
                    }
                },
            }
        },
        {
            "toolSpec": {
                "name": "other_tool",
                "inputSchema": {"json": {"type": "object", "properties": {}}},
            }
        },
    ]
}


def _check_matches_weather_schema(value: Any) -> None:
    assert isinstance(value, dict)
    assert set(value) <= {"city", "unit", "days", "detailed", "tags"}
    assert {"city", "unit"} <= set(value)
    assert isinstance(value["city"], str) and value["city"]
    assert value["unit"] in ("celsius", "fahrenheit")
    if "days" in value:
        assert isinstance(value["days"], int) and 1 <= value["days"] <= 7
    if "detailed" in value:
        assert isinstance(value["detailed"], bool)
    if "tags" in value:
        assert all(isinstance(tag, str) for tag in value["tags"])


def _joined_tool_input(events: list[dict[str, Any]]) -> str:
    return "".join(
        e["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for e in events
        if "toolUse" in e.get("contentBlockDelta", {}).get("delta", {})
    )


def _joined_text(events: list[dict[str, Any]]) -> str:
    return "".join(
        e["contentBlockDelta"]["delta"].get("text", "") for e in events if "contentBlockDelta" in e
    )


def test_simulator_tool_call_round_trip() -> None:
    messages = [{"role": "user", "content": [{"text": "What's the weather like in Paris today?"}]}]
    with BedrockWireServer(responder=make_simulator_responder()) as server:
        client = _client(server)
        response = client.converse_stream(modelId=NOVA, messages=messages, toolConfig=WEATHER_TOOLS)
        events = list(response["stream"])
        direct = client.converse(modelId=NOVA, messages=messages, toolConfig=WEATHER_TOOLS)

    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    assert events[-2] == {"messageStop": {"stopReason": "tool_use"}}
    starts = [e["contentBlockStart"] for e in events if "contentBlockStart" in e]
    assert len(starts) == 1
    tool_start = starts[0]["start"]["toolUse"]
    assert tool_start["name"] == "get_weather"
    assert re.fullmatch(r"tooluse_[A-Za-z0-9_-]{22}", tool_start["toolUseId"])
    fragments = [e for e in events if "toolUse" in e.get("contentBlockDelta", {}).get("delta", {})]
    assert len(fragments) >= 3
    assert all(
        f["contentBlockDelta"]["contentBlockIndex"] == starts[0]["contentBlockIndex"]
        for f in fragments
    )
    tool_input = json.loads(_joined_tool_input(events))
    _check_matches_weather_schema(tool_input)
    assert tool_input["city"] == "Paris"
    text = _joined_text(events)
    assert text == "Let me check that."
    text_deltas = [e for e in events if "text" in e.get("contentBlockDelta", {}).get("delta", {})]
    assert len(text_deltas) >= 3
    assert all(len(e["contentBlockDelta"]["delta"]["text"]) <= 8 for e in text_deltas)
    # Every opened block is closed, in order.
    stops = [e["contentBlockStop"]["contentBlockIndex"] for e in events if "contentBlockStop" in e]
    assert stops == sorted(set(stops)) and len(stops) == 2

    usage = events[-1]["metadata"]["usage"]
    assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert usage["inputTokens"] >= len("What's the weather like in Paris today?") // 4
    assert isinstance(events[-1]["metadata"]["metrics"]["latencyMs"], int)

    # The non-streaming answer is the same answer.
    assert direct["stopReason"] == "tool_use"
    content = direct["output"]["message"]["content"]
    assert content[0] == {"text": "Let me check that."}
    assert content[1]["toolUse"]["input"] == tool_input
    assert content[1]["toolUse"]["name"] == "get_weather"


def test_simulator_uses_tool_result() -> None:
    messages = [
        {"role": "user", "content": [{"text": "Weather in Oslo?"}]},
        {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {}}}
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "tooluse_1",
                        "content": [{"text": "Sunny and 21 degrees"}],
                    }
                }
            ],
        },
    ]
    events = simulated_events({"messages": messages, "toolConfig": WEATHER_TOOLS})
    assert "Sunny and 21 degrees" in _joined_text(events)
    assert not any("contentBlockStart" in e for e in events)
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    body = simulated_converse_response({"messages": messages, "toolConfig": WEATHER_TOOLS})
    assert "Sunny and 21 degrees" in body["output"]["message"]["content"][0]["text"]


def test_simulator_plain_answer_echoes_question() -> None:
    request = {"messages": [{"role": "user", "content": [{"text": "How tall is Mont Blanc?"}]}]}
    events = simulated_events(request)
    text = _joined_text(events)
    assert "How tall is Mont Blanc?" in text
    assert events[-2] == {"messageStop": {"stopReason": "end_turn"}}
    usage = events[-1]["metadata"]["usage"]
    assert usage["outputTokens"] == pytest.approx(len(text) / 4, abs=1)
    assert usage["inputTokens"] == pytest.approx(len("How tall is Mont Blanc?") / 4, abs=1)
    response = simulated_converse_response(request)
    assert response["output"]["message"]["content"] == [{"text": text}]
    assert response["usage"] == usage


def test_simulator_forced_tool_and_refs() -> None:
    tools = {
        "tools": [
            {"toolSpec": {"name": "first", "inputSchema": {"json": {"type": "object"}}}},
            {
                "toolSpec": {
                    "name": "lookup",
                    "inputSchema": {
                        "json": {
                            "type": "object",
                            "properties": {
                                "place": {"$ref": "#/$defs/Place"},
                                "note": {"anyOf": [{"type": "null"}, {"type": "string"}]},
                                "score": {"type": "number", "minimum": 5},
                            },
                            "$defs": {
                                "Place": {
                                    "type": "object",
                                    "properties": {"name": {"type": "string"}},
                                }
                            },
                        }
                    },
                }
            },
        ],
        "toolChoice": {"tool": {"name": "lookup"}},
    }
    request = {
        "messages": [{"role": "user", "content": [{"text": "Tell me about New York please"}]}],
        "toolConfig": tools,
    }
    body = simulated_converse_response(request)
    call = body["output"]["message"]["content"][1]["toolUse"]
    assert call["name"] == "lookup"
    assert call["input"]["place"] == {"name": "New York"}
    assert isinstance(call["input"]["note"], str)
    assert call["input"]["score"] >= 5


def test_simulator_responder_picks_reply_kind() -> None:
    body = {"messages": USER_HI}
    stream = RecordedRequest("converse-stream", NOVA, "/p", {}, body)
    plain = RecordedRequest("converse", NOVA, "/p", {}, body)
    stream_reply = make_simulator_responder()(stream)
    assert isinstance(stream_reply, StreamReply)
    assert stream_reply.events == simulated_events(body)
    assert isinstance(make_simulator_responder()(plain), JsonReply)
    paced = make_simulator_responder(delay=0.25)(stream)
    assert isinstance(paced, StreamReply) and paced.delay == 0.25


# -- field conditions: TLS, relay, proxy, stalled and raw replies, loop instruments ---------


def _raw_request(path: str = f"/model/{NOVA}/converse", body: bytes = b"{}") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _read_all(sock: socket.socket, idle: float = 1.0) -> bytes:
    """Everything ``sock`` receives until it closes or stays silent ``idle`` seconds."""
    sock.settimeout(idle)
    parts = []
    try:
        while data := sock.recv(65536):
            parts.append(data)
    except TimeoutError:
        pass
    return b"".join(parts)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl")
    return make_certificate(tmp_path_factory.mktemp("kit-tls"))


def test_certificate_serves_https_for_ip_and_localhost(certificate: tuple[Any, Any]) -> None:
    cert, key = certificate
    with BedrockWireServer(
        [JsonReply({"a": 1}), JsonReply({"b": 2})], ssl_context=server_ssl_context(cert, key)
    ) as server:
        assert server.endpoint_url == f"https://127.0.0.1:{server.port}"
        for host in ("127.0.0.1", "localhost"):
            conn = http.client.HTTPSConnection(
                host, server.port, context=client_ssl_context(cert), timeout=10
            )
            conn.request("POST", f"/model/{NOVA}/converse", body=b"{}")
            assert conn.getresponse().status == 200
            conn.close()
        untrusting = ssl.create_default_context()
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=untrusting)
        with pytest.raises(ssl.SSLCertVerificationError):
            conn.request("POST", f"/model/{NOVA}/converse", body=b"{}")
        conn.close()


@pytest.mark.parametrize(
    "shape",
    [{"split": 3, "split_pause": 0.05}, {"trickle": (7, 0.0005)}, {}],
    ids=["split", "trickle", "plain"],
)
def test_relay_forwards_every_byte(server: BedrockWireServer, shape: dict[str, Any]) -> None:
    events = _delta_events(30)
    server.enqueue(StreamReply(events, batch=4))
    with TcpRelay(server.port, **shape) as relay:
        client = boto3.client(
            "bedrock-runtime",
            endpoint_url=relay.endpoint_url("http"),
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"total_max_attempts": 1}, read_timeout=10),
        )
        _OPEN_CLIENTS.append(client)
        response = client.converse_stream(modelId=NOVA, messages=USER_HI)
        assert list(response["stream"]) == events
        assert relay.connections == 1
        assert relay.forwarded > 0


def test_relay_stall_forwards_exactly_k_bytes_and_keeps_the_connection(
    server: BedrockWireServer,
) -> None:
    server.enqueue(StreamReply(_delta_events(50)))
    with TcpRelay(server.port, stall_after=100) as relay:
        with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as sock:
            sock.sendall(_raw_request(f"/model/{NOVA}/converse-stream"))
            received = _read_all(sock)
            assert len(received) == 100
            assert received.startswith(b"HTTP/1.1 200 OK\r\n")
            sock.sendall(b"")  # still open: no reset
        assert relay.forwarded == 100


def test_relay_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        TcpRelay(1, split=0)
    with pytest.raises(ValueError):
        TcpRelay(1, trickle=(0, 0.1))
    with pytest.raises(ValueError):
        TcpRelay(1, stall_after=-1)


def _connect(proxy: ConnectProxy, head: str) -> bytes:
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
        sock.sendall(head.encode())
        return _read_all(sock, idle=2.0)


def test_proxy_tunnels_only_with_credentials_and_only_to_loopback(
    server: BedrockWireServer,
) -> None:
    server.enqueue(JsonReply({"ok": True}))
    token = base64.b64encode(b"user:pw").decode()
    target = f"127.0.0.1:{server.port}"
    with ConnectProxy(auth=("user", "pw")) as proxy:
        assert proxy.url == f"http://127.0.0.1:{proxy.port}"
        assert proxy.url_with_auth("user", "pw") == f"http://user:pw@127.0.0.1:{proxy.port}"
        no_auth = _connect(proxy, f"CONNECT {target} HTTP/1.1\r\n\r\n")
        assert no_auth.startswith(b"HTTP/1.1 407 ")
        assert b"Proxy-Authenticate: Basic" in no_auth
        wrong = base64.b64encode(b"user:nope").decode()
        assert _connect(
            proxy, f"CONNECT {target} HTTP/1.1\r\nProxy-Authorization: Basic {wrong}\r\n\r\n"
        ).startswith(b"HTTP/1.1 407 ")
        auth = f"Proxy-Authorization: Basic {token}\r\n"
        assert _connect(proxy, f"CONNECT example.com:443 HTTP/1.1\r\n{auth}\r\n").startswith(
            b"HTTP/1.1 403 "
        )
        assert _connect(proxy, f"GET http://{target}/ HTTP/1.1\r\n{auth}\r\n").startswith(
            b"HTTP/1.1 405 "
        )
        assert proxy.tunnels == 0
        assert proxy.refused == 4
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as sock:
            sock.sendall(f"CONNECT {target} HTTP/1.1\r\n{auth}\r\n".encode())
            sock.sendall(_raw_request())
            answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK")
        assert answer.endswith(b'{"ok":true}')
        assert proxy.targets == [target]
    assert server.requests[0].operation == "converse"


def test_stall_after_sends_n_events_then_keeps_silent(server: BedrockWireServer) -> None:
    events = _delta_events(5)
    server.enqueue(StreamReply(events, stall_after=2))
    client = _client(server, read_timeout=1)
    stream = client.converse_stream(modelId=NOVA, messages=USER_HI)["stream"]
    received = []
    with pytest.raises((ReadTimeoutError, urllib3.exceptions.ReadTimeoutError)):
        for event in stream:
            received.append(event)
    assert received == events[:2]
    client.close()
    assert server.wait_for_disconnect(10)  # the client gave up; the server never ended it
    assert server.streams_completed == 0


def test_head_delay_holds_back_the_headers(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(_delta_events(1), head_delay=30))
    client = _client(server, read_timeout=1)
    with pytest.raises(ReadTimeoutError):
        client.converse_stream(modelId=NOVA, messages=USER_HI)
    assert len(server.requests) == 1


def test_stream_reply_rejects_conflicting_settings() -> None:
    with pytest.raises(ValueError):
        StreamReply([], drop_after=1, stall_after=1)
    with pytest.raises(ValueError):
        StreamReply([], stall_after=-1)
    with pytest.raises(ValueError):
        StreamReply([], head_delay=-1)


def test_raw_reply_and_connection_counts(server: BedrockWireServer) -> None:
    server.enqueue(RawReply(200, b"", {"X-Test": "1"}), RawReply(503, b"busy"))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", f"/model/{NOVA}/converse-stream", body=b"{}")
    first = conn.getresponse()
    assert (first.status, first.read(), first.getheader("X-Test")) == (200, b"", "1")
    assert first.getheader("Content-Length") == "0"
    conn.request("POST", f"/model/{NOVA}/converse", body=b"{}")
    second = conn.getresponse()
    assert (second.status, second.read()) == (503, b"busy")
    assert server.connections_accepted == 1
    assert server.open_connections == 1
    conn.close()
    assert server.wait_for_connections(0, 10)
    assert server.open_connections == 0


def test_a_chunked_raw_reply_is_sent_as_coded(server: BedrockWireServer) -> None:
    """A RawReply that says how its body is framed gets no Content-Length beside it."""
    events = [{"messageStart": {"role": "assistant"}}, {"messageStop": {"stopReason": "end_turn"}}]
    server.enqueue(RawReply.chunked(encode_events(events), size=7))
    response = _client(server).converse_stream(modelId=NOVA, messages=USER_HI)
    assert [next(iter(event)) for event in response["stream"]] == ["messageStart", "messageStop"]
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["transfer-encoding"] == "chunked" and "content-length" not in headers


async def test_loop_lag_ticker_sees_a_blocked_loop() -> None:
    async with LoopLagTicker() as ticker:
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # blocks the loop: the next tick is at least this late
        await asyncio.sleep(0.05)
    assert ticker.worst >= 0.25
    assert ticker.ticks >= 2
    ticks = ticker.ticks
    await asyncio.sleep(0.05)
    assert ticker.ticks == ticks  # stopped on exit


def test_readerless_loop_has_no_add_reader_but_streams_work(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply({"ok": True}))

    async def fetch() -> bytes:
        loop = asyncio.get_running_loop()
        with pytest.raises(NotImplementedError):
            loop.add_reader(0, lambda: None)
        with pytest.raises(NotImplementedError):
            loop.add_writer(0, lambda: None)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(_raw_request())
        head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        return head

    loop = ReaderlessEventLoop()
    try:
        assert loop.run_until_complete(fetch()).startswith(b"HTTP/1.1 200 OK")
    finally:
        loop.close()
