"""Slow links over TLS, as far from Bedrock's data centre as users are: TLS records split over
TCP segments, a trickling link, events trickling in before a stall, an upload slower than the
read timeout, an event loop held up while data arrives. Nothing that arrived is held back,
the event loop is never blocked (a ticker measures its lateness, with generous bounds in
seconds), and a deadline means "no progress for that long", not "slow".

Fixtures and helpers are ``test_field_conditions``'s (the same HTTPS server, certificate
and model); these tests wait on the clock most of their time, so they have a file of their
own, which a process of its own runs beside the others.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest
from botocore.config import Config

from langchain_bedrock_stream import BedrockTimeoutError, ChatBedrockStream
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    LoopLagTicker,
    StreamReply,
    TcpRelay,
)
from tests.field import test_field_conditions as conditions
from tests.support.events import text_events

PIECES, TEXT = conditions.PIECES, conditions.TEXT
astream_text, model_at = conditions.astream_text, conditions.model_at
_images_prompt = conditions._images_prompt
# The same fixtures: an HTTPS loopback server whose certificate clients trust.
certificate, tls, server = conditions.certificate, conditions.tls, conditions.server

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


# --- TLS records in several segments, trickling links, stalls --------------------------------


@pytest.mark.timeout(90)
async def test_tls_records_split_over_segments_never_block_the_loop(
    server: BedrockWireServer,
) -> None:
    # What the server sends arrives in two parts 2.5 s apart: a reader that waits on the
    # loop for the rest of a TLS record blocks the loop for 2.5 s. (The bound leaves room
    # for a loaded machine, which delays timers too.)
    for _ in range(4):
        server.enqueue(StreamReply(text_events(PIECES), batch=15, delay=1.5))
    with TcpRelay(server.port, split=2, split_pause=2.5) as relay:
        model = model_at(relay.endpoint_url(), config=Config(read_timeout=10))
        async with LoopLagTicker() as ticker:
            texts = await asyncio.gather(*(astream_text(model) for _ in range(4)))
    assert texts == [TEXT] * 4
    assert ticker.worst < 2.0, f"event loop blocked for {ticker.worst:.2f} s"


@pytest.mark.timeout(90)
async def test_trickling_link_delivers_every_event(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(text_events(PIECES), delay=0.005))
    with TcpRelay(server.port, trickle=(64, 0.004)) as relay:
        model = model_at(relay.endpoint_url(), config=Config(read_timeout=10))
        async with LoopLagTicker() as ticker:
            chunks = [chunk async for chunk in model.astream("go")]
    assert "".join(c.text for c in chunks) == TEXT
    assert ticker.worst < 1.5, f"event loop blocked for {ticker.worst:.2f} s"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("api", ["stream", "astream"])
async def test_events_trickled_before_a_stall_all_reach_the_caller(
    server: BedrockWireServer, api: str
) -> None:
    # Nothing that arrived is held back: the 10 events the server sent before going
    # silent reach the caller before the read timeout ends the stream.
    server.enqueue(StreamReply(text_events(PIECES), stall_after=10))
    received: list[str] = []

    def collect_sync(model: ChatBedrockStream) -> None:
        for chunk in model.stream("go"):
            received.append(chunk.text)

    async def collect(model: ChatBedrockStream) -> None:
        async for chunk in model.astream("go"):
            received.append(chunk.text)

    with TcpRelay(server.port, trickle=(48, 0.01)) as relay:
        model = model_at(relay.endpoint_url(), config=Config(read_timeout=2), max_retries=0)
        with pytest.raises(BedrockTimeoutError) as caught:
            if api == "stream":
                await asyncio.to_thread(collect_sync, model)
            else:
                await asyncio.wait_for(collect(model), 20)
    assert "".join(received) == "".join(PIECES[:9])  # messageStart + 9 deltas
    assert caught.value.partial_message is not None
    assert caught.value.partial_message.text == "".join(PIECES[:9])


# --- deadlines mean "no progress for that long" ----------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("api", ["stream", "astream"])
async def test_a_slow_but_moving_upload_outlasts_the_read_timeout(
    server: BedrockWireServer, api: str
) -> None:
    # Five 2.9 MB images (19 MB of JSON) over an uplink of about 5 MB/s: the upload takes
    # longer than read_timeout, yet bytes leave all the time. (A loopback socket's kernel
    # buffer takes up to 4 MB at once: it drains well within read_timeout.)
    prompt = _images_prompt(5, 2_900_000)
    server.enqueue(StreamReply(text_events(PIECES), batch=5))
    with TcpRelay(server.port, upload=(65536, 0.0125)) as relay:
        model = model_at(relay.endpoint_url(), config=Config(read_timeout=2), max_retries=0)
        if api == "stream":
            chunks = await asyncio.to_thread(lambda: list(model.stream(prompt)))
        else:
            chunks = [chunk async for chunk in model.astream(prompt)]
    assert "".join(chunk.text for chunk in chunks) == TEXT
    assert len(server.requests) == 1


@pytest.mark.timeout(60)
async def test_a_loop_held_up_while_data_arrives_makes_reads_late_not_failed(
    server: BedrockWireServer,
) -> None:
    # An event every 50 ms; twice the loop is held for 2.5 s by other work (read_timeout 1):
    # the data that arrived meanwhile is there when the loop runs again.
    import time

    pieces = [f"p{i} " for i in range(120)]  # 6 s of answer: reads go on after each hold
    server.enqueue(StreamReply(text_events(pieces), delay=0.05))
    model = model_at(server.endpoint_url, config=Config(read_timeout=1), max_retries=0)
    loop = asyncio.get_running_loop()
    received: list[str] = []
    async for chunk in model.astream("go"):
        received.append(chunk.text)
        if len(received) in (3, 10):
            loop.call_soon(time.sleep, 2.5)
    assert "".join(received) == "".join(pieces)
