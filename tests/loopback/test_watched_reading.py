"""A stream whose botocore call something watches is read ahead of a slow caller.

On the event loop, such a stream (here: ``opentelemetry-instrumentation-botocore``, which
wraps each ConverseStream's event stream) is read in a thread of its own. That thread goes
on reading while the caller is busy, and what it read meanwhile reaches the caller in one
piece: the watcher sees every event as it arrives, and a loop that falls behind gets
several events per chunk instead of one thread hop (and one LangChain chunk) per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer
from langchain_bedrock_stream.testing._scripted import text_answer
from tests.support.loopback import MODEL, REGION

trace_sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="needs the telemetry extra")
botocore_instrumentation = pytest.importorskip("opentelemetry.instrumentation.botocore")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

TEXT = "Read ahead of the caller, one piece at a time."


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """botocore instrumented for one test; its finished spans."""
    exporter = InMemorySpanExporter()
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = botocore_instrumentation.BotocoreInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield exporter
    finally:
        instrumentor.uninstrument()


def test_a_watched_stream_is_read_while_the_caller_is_busy(
    server: BedrockWireServer, spans: InMemorySpanExporter
) -> None:
    """After the first chunk the caller stops asking; the rest of the answer is read all
    the same (the instrumentation ends its span on the last event), and then reaches the
    caller in fewer chunks than it has events, complete and in order."""
    answer = text_answer(TEXT, usage={"inputTokens": 3, "outputTokens": 9, "totalTokens": 12})
    deltas = len(answer.events()) - 4  # messageStart, contentBlockStop, messageStop, metadata
    server.enqueue(answer.reply_for("converse-stream"))
    model = ChatBedrockStream(
        model=MODEL, region_name=REGION, endpoint_url=server.endpoint_url, max_retries=0
    )

    async def consume() -> tuple[list[Any], bool]:
        loop = asyncio.get_running_loop()
        chunks: list[Any] = []
        read_meanwhile = False
        async for chunk in model.astream("Say something."):
            chunks.append(chunk)
            if len(chunks) == 1:  # busy: not asking for more, for up to 5 s
                deadline = loop.time() + 5
                while not spans.get_finished_spans() and loop.time() < deadline:
                    await asyncio.sleep(0.01)
                read_meanwhile = bool(spans.get_finished_spans())
        return chunks, read_meanwhile

    chunks, read_meanwhile = asyncio.run(consume())

    assert read_meanwhile, "the answer was read only as the caller asked for it"
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert full.text == TEXT
    assert full.usage_metadata["output_tokens"] == 9
    assert deltas > 4
    assert len(chunks) < deltas, [chunk.text for chunk in chunks]
    finished = spans.get_finished_spans()
    assert [span.attributes.get("rpc.method") for span in finished] == ["ConverseStream"]


def test_calls_made_in_threads_start_a_bounded_number_at_a_time() -> None:
    """Hundreds of streams of a client that makes its own calls (watched, or a fake) do not
    start hundreds of threads at once: at most ``STARTING`` calls are under way on one loop,
    the others wait their turn, and every stream completes."""
    import threading
    import time

    from langchain_bedrock_stream._transport import STARTING
    from tests.support.events import text_events

    class SlowClient:
        """Each call takes a moment (signing, connecting, the tracer's work)."""

        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.running = 0
            self.most = 0

        def converse_stream(self, **request: Any) -> dict[str, Any]:
            with self.lock:
                self.running += 1
                self.most = max(self.most, self.running)
            time.sleep(0.1)
            with self.lock:
                self.running -= 1
            return {"stream": iter(text_events(["one", " two"]))}

    client = SlowClient()
    model = ChatBedrockStream(client=client, model=MODEL, region_name=REGION, max_retries=0)
    streams = STARTING + 16

    async def one() -> str:
        return "".join([chunk.text async for chunk in model.astream("Hi")])

    async def all_of_them() -> list[str]:
        return await asyncio.gather(*(one() for _ in range(streams)))

    assert asyncio.run(all_of_them()) == ["one two"] * streams
    assert 1 <= client.most <= STARTING
