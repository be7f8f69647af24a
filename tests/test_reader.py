"""Burst reading of a chunked body over a real socket: everything already received comes
in one read, nothing already received waits for the next event, the connection goes back
to the pool, and the chunked coding is undone however the bytes are split."""

from __future__ import annotations

import asyncio
import threading

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from langchain_bedrock_stream._reader import BodyReader, TruncatedBody, _Dechunker
from langchain_bedrock_stream.testing import BedrockWireServer, StreamReply
from langchain_bedrock_stream.wire import FrameDecoder

from . import events


def text_events(n: int) -> list[dict]:
    return events.text_events([f"t{i}" for i in range(n)], input_tokens=None)


def make_client(server: BedrockWireServer):
    return boto3.client(
        "bedrock-runtime", endpoint_url=server.endpoint_url, region_name="us-east-1"
    )


def open_raw(client):
    response = client.converse_stream(
        modelId="m", messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    return response["stream"]._raw_stream


def frames_per_read(raw) -> list[int]:
    decoder, body, counts = FrameDecoder(), BodyReader(raw), []
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
        raw = open_raw(make_client(server))
        decoder, body, frames = FrameDecoder(), BodyReader(raw), []
        while not frames:
            data = body.read()
            assert data, "the body ended"
            frames = decoder.feed(data)
        raw.close()
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
        body = BodyReader(open_raw(make_client(server)))
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
            raw = await asyncio.to_thread(open_raw, client)
            before = threading.active_count()
            decoder, body, frames = FrameDecoder(), BodyReader(raw), 0
            while data := await body.aread():
                frames += len(decoder.feed(data))
            decoder.close()
            assert frames == len(events)
            assert threading.active_count() <= before


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
    dechunker = _Dechunker()
    body = b"".join(dechunker.feed(piece) for piece in pieces)
    assert body == b"".join(parts)
    assert dechunker.done
