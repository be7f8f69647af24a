"""Burst reading of a chunked body over a real socket (botocore's connection when blocking,
asyncio streams on the event loop): everything already received comes in one read, nothing
already received waits for the next event, the connection goes back to the pool, and the
chunked coding is undone however the bytes are split, corrupt coding being an error."""

from __future__ import annotations

import asyncio
import http.client
import socket
import threading

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from langchain_bedrock_stream._body import SocketBody, open_body
from langchain_bedrock_stream._capture import Prepared, capture
from langchain_bedrock_stream._chunked import BadChunk, Dechunker, TruncatedBody
from langchain_bedrock_stream._http import send
from langchain_bedrock_stream._wire import FrameDecoder
from langchain_bedrock_stream.testing import BedrockWireServer, StreamReply, encode_events
from tests.support import events
from tests.support.raw_http import RawReply, RawServer


def text_events(n: int) -> list[dict]:
    return events.text_events([f"t{i}" for i in range(n)], input_tokens=None)


def make_client(server: BedrockWireServer):
    return boto3.client(
        "bedrock-runtime", endpoint_url=server.endpoint_url, region_name="us-east-1"
    )


REQUEST = {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "hi"}]}]}


def open_raw(client) -> SocketBody:
    body = open_body(client.converse_stream(**REQUEST))
    assert isinstance(body, SocketBody)  # the fast path, not the parsed-events fallback
    return body


def frames_per_read(body: SocketBody) -> list[int]:
    decoder, counts = FrameDecoder(), []
    while data := body.read():
        counts.append(len(decoder.feed(data)))
    decoder.close()
    return counts


def test_a_burst_of_one_chunk_per_event_is_read_together() -> None:
    events = text_events(2000)
    with BedrockWireServer([StreamReply(events, batch=1)]) as server:
        counts = frames_per_read(open_raw(make_client(server)))
    assert sum(counts) == len(events)
    assert len(counts) < len(events) / 10


def test_a_paced_event_is_not_held_back_for_the_next() -> None:
    events = text_events(3)
    # The second event comes 30 s after the first: a reader that waited for more would
    # return late, with two events.
    with BedrockWireServer([StreamReply(events, delay=30, batch=1)]) as server:
        body = open_raw(make_client(server))
        decoder, frames = FrameDecoder(), []
        while not frames:
            data = body.read()
            assert data, "the body ended"
            frames = decoder.feed(data)
        body.close()
    assert len(frames) == 1


def test_connection_goes_back_to_the_pool_after_the_body() -> None:
    with BedrockWireServer(responder=lambda request: StreamReply(text_events(5))) as server:
        client = make_client(server)
        for _ in range(4):
            assert sum(frames_per_read(open_raw(client))) == 8
        pool = client._endpoint.http_session._manager.connection_from_url(server.endpoint_url)
    assert pool.num_requests == 4
    assert pool.num_connections == 1


def test_a_body_cut_short_is_an_error() -> None:
    with BedrockWireServer([StreamReply(text_events(10), drop_after=4)]) as server:
        body = open_raw(make_client(server))
        with pytest.raises(TruncatedBody):
            while body.read():
                pass


async def test_async_reads_the_same_bytes_on_the_loop_without_threads() -> None:
    events = text_events(300)
    with BedrockWireServer(
        [
            StreamReply(events, batch=1),
            StreamReply(events, delay=0.005, batch=7),
            StreamReply(events, first_delay=0.3),
        ]
    ) as server:
        client = make_client(server)
        for _ in range(3):
            prepared = await asyncio.to_thread(capture, client, "converse_stream", REQUEST)
            assert isinstance(prepared, Prepared)
            before = threading.active_count()
            response = await send(
                prepared.method, prepared.url, prepared.headers, prepared.body, prepared.settings
            )
            assert response.status == 200
            decoder, frames = FrameDecoder(), 0
            while data := await response.read():
                frames += len(decoder.feed(data))
            decoder.close()
            assert frames == len(events)
            assert threading.active_count() <= before
        # one connection served all three: each body was read to its end, then reused
        assert server.connections_accepted == 1


def chunked(parts: list[bytes], extension: bool, trailer: bool) -> bytes:
    out = b""
    for part in parts:
        size = f"{len(part):x}".encode() + (b";name=value" if extension else b"")
        out += size + b"\r\n" + part + b"\r\n"
    return out + b"0\r\n" + (b"X-Trailer: 1\r\n" if trailer else b"") + b"\r\n"


@given(
    parts=st.lists(st.binary(min_size=1, max_size=40), max_size=8),
    cuts=st.lists(st.integers(0, 400), max_size=6),
    extension=st.booleans(),
    trailer=st.booleans(),
)
def test_dechunking_survives_any_split(
    parts: list[bytes], cuts: list[int], extension: bool, trailer: bool
) -> None:
    wire = chunked(parts, extension, trailer)
    bounds = sorted({min(c, len(wire)) for c in cuts})
    pieces = [wire[a:b] for a, b in zip([0, *bounds], [*bounds, len(wire)], strict=True)]
    dechunker = Dechunker()
    body = b"".join(dechunker.feed(piece) for piece in pieces)
    assert body == b"".join(parts)
    assert dechunker.done


@pytest.mark.parametrize(
    "wire",
    [b"zz\r\nabc\r\n", b"\r\nabc\r\n", b"3\r\nabcXY0\r\n\r\n", b"-3\r\nabc\r\n"],
)
def test_corrupt_chunked_coding_is_a_typed_error(wire: bytes) -> None:
    dechunker = Dechunker()
    with pytest.raises(BadChunk):  # at once, or right after the body bytes before it
        dechunker.feed(wire)
        dechunker.feed(b"")


def test_finished_streams_leave_their_kept_alive_connection_working() -> None:
    """After a stream ends its connection is back in urllib3's pool (serving the next
    call); letting go of the finished stream must not shut that connection down."""
    from langchain_bedrock_stream import ChatBedrockStream

    with BedrockWireServer(responder=lambda request: StreamReply(text_events(5))) as server:
        model = ChatBedrockStream(
            model="us.amazon.nova-micro-v1:0",
            region_name="us-east-1",
            endpoint_url=server.endpoint_url,
            max_retries=0,
        )
        for _ in range(4):
            assert "".join(c.text for c in model.stream("go")) == "t0t1t2t3t4"
        assert server.connections_accepted == 1
        assert server.disconnects == 0


class _Pool:
    """Stands in for urllib3's response: what the body calls when it is done."""

    released = False

    def release_conn(self) -> None:
        self.released = True

    def close(self) -> None:
        pass


def test_everything_already_arrived_is_one_read_however_large() -> None:
    # 150 KB of chunked body, all of it in the socket's queue before the first read: one
    # read() must return it whole (a plain read1 stops at 64 KiB), and the body then ends.
    payload = encode_events(events.text_events(["x" * 1000] * 150, input_tokens=None))
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in split(payload, 4096)) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    server, client = socket.socketpair()
    with server, client:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        writer = threading.Thread(target=server.sendall, args=(head + chunked,))
        writer.start()
        writer.join(30)
        assert not writer.is_alive(), "the socket pair did not take 150 KB"
        response = http.client.HTTPResponse(client)
        response.begin()
        pool = _Pool()
        body = SocketBody(pool, response, client)
        first = body.read()
        assert first == payload
        assert body.read() == b""
        assert pool.released


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_a_connection_with_bytes_past_the_body_is_not_reused(path: str) -> None:
    """A server that sends bytes after a body's end has left the connection out of step:
    the next call must not read them as its own answer (on either path)."""
    from botocore.config import Config

    from langchain_bedrock_stream import ChatBedrockStream

    body = encode_events(events.text_events(["Hello", " again"]))
    stale = RawReply.chunked(body)  # the first answer has bytes past its end
    replies = [RawReply(body=stale.body + b"HTTP/1.1 500 Stale\r\n\r\n", headers=stale.headers)]
    with RawServer(lambda *_: (replies or [stale]).pop(), keep_alive=True) as server:
        model = ChatBedrockStream(
            model="us.amazon.nova-micro-v1:0",
            region_name="us-east-1",
            endpoint_url=server.endpoint_url,
            max_retries=0,
            config=Config(retries={"total_max_attempts": 1}),
        )

        async def collect() -> str:
            return "".join([chunk.text async for chunk in model.astream("Hi")])

        async def twice() -> list[str]:  # one loop: its keep-alive pool serves both
            return [await collect(), await collect()]

        if path == "stream":
            texts = ["".join(chunk.text for chunk in model.stream("Hi")) for _ in range(2)]
        else:
            texts = asyncio.run(twice())
        assert texts == ["Hello again", "Hello again"]
        assert server.connections == 2
