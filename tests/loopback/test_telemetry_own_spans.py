"""Spans of this package's own (``enable_tracing``): GenAI conventions plus what the
botocore instrumentations lack, for both faces (``ChatBedrockStream`` and
``BedrockStream``), on every path, and nothing at all while off."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

import langchain_bedrock_stream as lbs
from langchain_bedrock_stream import BedrockError, ChatBedrockStream, converse, converse_stream
from langchain_bedrock_stream.testing import BedrockWireServer, StreamReply
from langchain_bedrock_stream.testing._scripted import error_reply, text_answer, tool_call_answer
from tests.support.loopback import MODEL, REGION

trace_sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="needs the telemetry extra")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

PRICED = "us.anthropic.claude-sonnet-4-20250514-v1:0"  # a model with a known price
USAGE = {"inputTokens": 1000, "outputTokens": 20, "totalTokens": 1020}


@pytest.fixture
def spans() -> Iterator[tuple[InMemorySpanExporter, Any]]:
    exporter = InMemorySpanExporter()
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    lbs.enable_tracing(provider)
    try:
        yield exporter, provider
    finally:
        lbs.disable_tracing()


def _model(server: BedrockWireServer, **kwargs: Any) -> ChatBedrockStream:
    kwargs.setdefault("max_retries", 0)
    return ChatBedrockStream(
        model=PRICED, region_name=REGION, endpoint_url=server.endpoint_url, **kwargs
    )


def _run(model: Any, path: str) -> Any:
    if path == "invoke":
        return model.invoke("Hi")
    if path == "ainvoke":
        return asyncio.run(model.ainvoke("Hi"))
    if path == "stream":
        chunks = list(model.stream("Hi"))
    else:

        async def collect() -> list[Any]:
            return [chunk async for chunk in model.astream("Hi")]

        chunks = asyncio.run(collect())
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return full


def _only(exporter: InMemorySpanExporter) -> Any:
    finished = exporter.get_finished_spans()
    assert len(finished) == 1, [span.name for span in finished]
    return finished[0]


@pytest.mark.parametrize("path", ["invoke", "stream", "ainvoke", "astream"])
def test_one_span_per_call_with_the_conventions_and_more(
    spans: tuple[InMemorySpanExporter, Any], server: BedrockWireServer, path: str
) -> None:
    exporter, provider = spans
    answer = text_answer("Hello there.", usage=USAGE)
    server.enqueue(answer.reply_for("converse-stream" if "stream" in path else "converse"))
    with provider.get_tracer("test").start_as_current_span("caller") as caller:
        message = _run(_model(server, temperature=0.25, max_tokens=77), path)
    assert message.text == "Hello there."
    finished = exporter.get_finished_spans()
    ours = [span for span in finished if span.name != "caller"]
    assert len(ours) == 1
    span = ours[0]
    attributes = dict(span.attributes or {})
    assert span.name == f"chat {PRICED}"
    assert span.kind == SpanKind.CLIENT
    assert span.parent is not None and span.parent.span_id == caller.get_span_context().span_id
    assert span.status.status_code == StatusCode.UNSET
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.provider.name"] == "aws.bedrock"
    assert attributes["gen_ai.request.model"] == PRICED
    assert attributes["gen_ai.request.temperature"] == 0.25
    assert attributes["gen_ai.request.max_tokens"] == 77
    assert attributes["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attributes["gen_ai.usage.input_tokens"] == 1000
    assert attributes["gen_ai.usage.output_tokens"] == 20
    assert attributes["aws.request_id"] == message.response_metadata["request_id"]
    assert attributes["bedrock_stream.attempts"] == 1
    assert attributes["bedrock_stream.cost_usd"] == pytest.approx(
        message.response_metadata["cost"]["total"]
    )
    if "stream" in path:
        assert attributes["bedrock_stream.time_to_first_token"] >= 0
        assert attributes["bedrock_stream.output_tokens_per_second"] > 0
    else:  # a Converse answer arrives whole
        assert "bedrock_stream.time_to_first_token" not in attributes
    assert "gen_ai.output.messages" not in attributes  # content only when asked for


def test_content_is_recorded_only_when_asked(server: BedrockWireServer) -> None:
    exporter = InMemorySpanExporter()
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    lbs.enable_tracing(provider, capture_content=True)
    try:
        server.enqueue(
            tool_call_answer("get_weather", {"city": "Oslo"}, text="Let me look.").reply_for(
                "converse-stream"
            )
        )
        list(_model(server).stream("Weather?"))
    finally:
        lbs.disable_tracing()
    messages = json.loads(_only(exporter).attributes["gen_ai.output.messages"])
    assert messages == [
        {
            "role": "assistant",
            "parts": [
                {"type": "text", "content": "Let me look."},
                {
                    "type": "tool_call",
                    "id": "tooluse_get_weather",
                    "name": "get_weather",
                    "arguments": {"city": "Oslo"},
                },
            ],
            "finish_reason": "tool_use",
        }
    ]


def test_a_retried_call_counts_its_attempts(
    spans: tuple[InMemorySpanExporter, Any], server: BedrockWireServer
) -> None:
    exporter, _ = spans
    server.enqueue(error_reply("throttling"), text_answer("ok", usage=USAGE).stream_reply())
    model = _model(server, max_retries=2)
    text = "".join(chunk.text for chunk in model.stream("Hi"))
    assert text == "ok"
    assert _only(exporter).attributes["bedrock_stream.attempts"] == 2


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_a_failure_after_content_is_an_error_span_with_the_partial_answer(
    spans: tuple[InMemorySpanExporter, Any], server: BedrockWireServer, path: str
) -> None:
    exporter, _ = spans
    server.enqueue(text_answer("Partial answer here.").stream_reply(delay=0.05, fail_after=4))
    with pytest.raises(BedrockError) as raised:
        _run(_model(server), path)
    partial = raised.value.partial_message
    assert partial is not None and partial.text
    span = _only(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == type(raised.value).__qualname__
    assert span.attributes["bedrock_stream.partial_message.characters"] == len(partial.text)
    assert span.attributes["bedrock_stream.time_to_first_token"] >= 0
    assert [event.name for event in span.events] == ["exception"]


def test_an_http_error_ends_the_span_as_an_error(
    spans: tuple[InMemorySpanExporter, Any], server: BedrockWireServer
) -> None:
    exporter, _ = spans
    server.enqueue(error_reply("validation"))
    with pytest.raises(BedrockError):
        asyncio.run(_model(server).ainvoke("Hi"))
    span = _only(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "BedrockInvalidRequestError"


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_leaving_a_stream_early_ends_its_span(
    spans: tuple[InMemorySpanExporter, Any], server: BedrockWireServer, path: str
) -> None:
    exporter, _ = spans
    server.enqueue(StreamReply(text_answer("one two three four five").events(), delay=0.05))
    model = _model(server)
    if path == "stream":
        stream = model.stream("Hi")
        next(iter(stream))
        stream.close()
    else:

        async def first_then_cancel() -> None:
            first = asyncio.Event()

            async def consume() -> None:
                async for _ in model.astream("Hi"):
                    first.set()
                    await asyncio.sleep(30)

            task = asyncio.ensure_future(consume())
            await asyncio.wait_for(first.wait(), 30)  # the call is under way, whatever the load
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(first_then_cancel())
    span = _only(exporter)
    assert span.attributes["bedrock_stream.cancelled"] is True
    assert span.status.status_code == StatusCode.UNSET


def test_bedrock_stream_without_langchain_records_the_same_span(
    spans: tuple[InMemorySpanExporter, Any], server: BedrockWireServer
) -> None:
    exporter, _ = spans
    client = boto3.client(
        "bedrock-runtime",
        region_name=REGION,
        endpoint_url=server.endpoint_url,
        config=Config(retries={"total_max_attempts": 1}),
    )
    messages = [{"role": "user", "content": [{"text": "Hi"}]}]
    server.enqueue(text_answer("From the core.", usage=USAGE).stream_reply())
    stream = converse_stream(client, modelId=PRICED, messages=messages)
    assert "".join(getattr(item, "text", "") for item in stream) == "From the core."
    server.enqueue(text_answer("Again.", usage=USAGE).json_reply())
    answer = converse(client, modelId=MODEL, messages=messages)
    assert answer.text == "Again."
    first, second = exporter.get_finished_spans()
    assert first.attributes["rpc.method"] == "ConverseStream"
    assert first.attributes["bedrock_stream.cost_usd"] == pytest.approx(stream.cost)
    assert second.attributes["rpc.method"] == "Converse"
    assert second.attributes["gen_ai.usage.output_tokens"] == 20


def test_off_by_default_and_without_importing_opentelemetry(server: BedrockWireServer) -> None:
    """A fresh interpreter streams an answer through ``BedrockStream`` and loads nothing
    of OpenTelemetry; then, with OpenTelemetry made unimportable, through the chat model
    too (LangChain's own tracing client imports OpenTelemetry when it is installed)."""
    server.enqueue(text_answer("quiet").stream_reply(), text_answer("quiet").stream_reply())
    script = textwrap.dedent(
        f"""
        import os, sys
        os.environ.update(AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b")
        import boto3
        from langchain_bedrock_stream import converse_stream
        client = boto3.client("bedrock-runtime", region_name={REGION!r},
                              endpoint_url={server.endpoint_url!r})
        stream = converse_stream(client, modelId={MODEL!r},
                                 messages=[{{"role": "user", "content": [{{"text": "Hi"}}]}}])
        assert "".join(getattr(item, "text", "") for item in stream) == "quiet"
        print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
        sys.modules["opentelemetry"] = None  # any import of it now fails
        from langchain_bedrock_stream import ChatBedrockStream
        model = ChatBedrockStream(model={MODEL!r}, region_name={REGION!r},
                                  endpoint_url={server.endpoint_url!r})
        assert "".join(c.text for c in model.stream("Hi")) == "quiet"
        print("chat model ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["[]", "chat model ok"]


def test_enable_tracing_names_the_extra_when_opentelemetry_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ImportError, match=r"langchain-bedrock-stream\[otel\]"):
        lbs.enable_tracing()
    assert not lbs.telemetry.tracing_enabled()
