"""Burst reading of a chunked body over a real socket: everything already received comes
in one read, and nothing already received waits for the next event."""

from __future__ import annotations

import boto3

from langchain_bedrock_stream._reader import read_bursts
from langchain_bedrock_stream._wire import FrameDecoder
from langchain_bedrock_stream.testing import BedrockWireServer, StreamReply


def text_events(n: int) -> list[dict]:
    return [
        {"messageStart": {"role": "assistant"}},
        *(
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": f"t{i}"}}}
            for i in range(n)
        ),
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
    ]


def open_raw(server: BedrockWireServer):
    client = boto3.client(
        "bedrock-runtime", endpoint_url=server.endpoint_url, region_name="us-east-1"
    )
    response = client.converse_stream(
        modelId="m", messages=[{"role": "user", "content": [{"text": "hi"}]}]
    )
    return response["stream"]._raw_stream


def frames_per_read(server: BedrockWireServer) -> list[int]:
    decoder = FrameDecoder()
    return [len(decoder.feed(data)) for data in read_bursts(open_raw(server))]


def test_a_burst_of_one_chunk_per_event_is_read_together() -> None:
    events = text_events(2000)
    with BedrockWireServer([StreamReply(events, batch=1)]) as server:
        counts = frames_per_read(server)
    assert sum(counts) == len(events)
    assert len(counts) < len(events) / 10


def test_a_paced_event_is_not_held_back_for_the_next() -> None:
    events = text_events(3)
    # The server waits 1 s between events: had the reader waited for more after the
    # first event, its first read would hold two events.
    with BedrockWireServer([StreamReply(events, delay=1.0, batch=1)]) as server:
        counts = frames_per_read(server)
    assert counts == [1, 1, 1, 1, 1, 1]
