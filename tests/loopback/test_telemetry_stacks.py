"""Auto-instrumentation that hooks botocore sees every call, on every path.

Each observability stack below is installed as its users install it (the ``telemetry``
test extra), pointed at an in-memory span exporter, and the same call is made through
``ChatBedrockConverse`` and through ``ChatBedrockStream`` against the loopback server: the
span each stack records must tell the same story (one span per Bedrock call, parented to
the caller's span, ended, with the model, tokens, finish reason, content and error status
that stack records), on ``invoke``, ``stream``, ``ainvoke`` and ``astream`` alike.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer, Reply
from langchain_bedrock_stream.testing._scripted import (
    reasoning_answer,
    text_answer,
    tool_call_answer,
)
from langchain_bedrock_stream.testing._tls import make_certificate, server_ssl_context
from tests.support.converse_clients import converse_clients
from tests.support.loopback import MODEL, REGION

trace_sdk = pytest.importorskip("opentelemetry.sdk.trace", reason="needs the telemetry extra")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode  # noqa: E402

langchain_aws = pytest.importorskip("langchain_aws")

TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather in a city.",
        "input_schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
]


# --- the stacks ------------------------------------------------------------------------------


def _botocore_instrumentor() -> Any:
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor

    return BotocoreInstrumentor()


def _openllmetry_instrumentor() -> Any:
    from opentelemetry.instrumentation.bedrock import BedrockInstrumentor

    return BedrockInstrumentor()


def _openinference_instrumentor() -> Any:
    from openinference.instrumentation.bedrock import BedrockInstrumentor

    return BedrockInstrumentor()


def _summary(span: Any) -> dict[str, Any]:
    """What a stack says of a call, in its own attribute names, less what differs between
    two equal calls (ids, times, ports) and the request as sent (the two classes word the
    same messages differently)."""
    kept: dict[str, Any] = {}
    for key, value in (span.attributes or {}).items():
        if key in {"aws.request_id", "server.port", "gen_ai.response.id"} or "input" in key:
            continue
        if key == "gen_ai.system_instructions":  # the request as sent
            continue
        if key in {"llm.invocation_parameters"} or key.startswith("llm.input_messages"):
            continue
        kept[key] = value
    return {
        "name": span.name,
        "status": span.status.status_code,
        "attributes": kept,
        "events": sorted({event.name for event in span.events}),
    }


@dataclass(frozen=True)
class Stack:
    name: str
    instrumentor: Callable[[], Any]
    model_key: str
    output_key: str
    finish_key: str
    content_key: str | None
    """Attribute holding the answer's content, where the stack records it."""


STACKS = [
    Stack(
        "opentelemetry-botocore",
        _botocore_instrumentor,
        "gen_ai.request.model",
        "gen_ai.usage.output_tokens",
        "gen_ai.response.finish_reasons",
        None,
    ),
    Stack(
        "openllmetry",
        _openllmetry_instrumentor,
        "gen_ai.request.model",
        "gen_ai.usage.output_tokens",
        "gen_ai.response.finish_reasons",
        "gen_ai.output.messages",
    ),
    Stack(
        "openinference",
        _openinference_instrumentor,
        "llm.model_name",
        "llm.token_count.completion",
        "llm.finish_reason",
        "output.value",
    ),
]


@dataclass
class Traced:
    stack: Stack
    exporter: InMemorySpanExporter
    provider: Any

    def spans(self) -> tuple[Any, list[Any]]:
        """The caller's span and the spans of Bedrock calls, all finished."""
        finished = list(self.exporter.get_finished_spans())
        parents = [span for span in finished if span.name == "caller"]
        assert len(parents) == 1, [span.name for span in finished]
        return parents[0], [span for span in finished if span.name != "caller"]


@pytest.fixture(params=STACKS, ids=lambda stack: stack.name, scope="module")
def traced(request: pytest.FixtureRequest) -> Iterator[Traced]:
    stack: Stack = request.param
    try:
        instrumentor = stack.instrumentor()
    except ImportError as exc:  # pragma: no cover - the telemetry extra is installed in CI
        pytest.skip(f"{stack.name} is not installed: {exc}")
    exporter = InMemorySpanExporter()
    provider = trace_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor.instrument(tracer_provider=provider)
    try:
        yield Traced(stack, exporter, provider)
    finally:
        instrumentor.uninstrument()


# --- the calls -------------------------------------------------------------------------------


def _models(server: BedrockWireServer, read_timeout: float) -> dict[str, Any]:
    common = {"model": MODEL, "region_name": REGION, "endpoint_url": server.endpoint_url}
    config = Config(retries={"total_max_attempts": 1}, read_timeout=read_timeout, connect_timeout=5)
    clients = converse_clients(server.endpoint_url, REGION, config)
    return {
        "ChatBedrockConverse": langchain_aws.ChatBedrockConverse(
            **common, config=config, **clients
        ),
        "ChatBedrockStream": ChatBedrockStream(**common, config=config, max_retries=0),
    }


def _call(model: Any, path: str, *, tools: bool, cancel: bool = False) -> Any:
    """One call on ``path``; the message, or the exception raised."""
    if tools:
        model = model.bind_tools(TOOLS)
    prompt = "Weather in Paris?"

    async def consume() -> Any:
        if path == "ainvoke":
            return await model.ainvoke(prompt)
        full = None
        async for chunk in model.astream(prompt):
            full = chunk if full is None else full + chunk
            if cancel:
                raise asyncio.CancelledError
        return full

    try:
        if path == "invoke":
            return model.invoke(prompt)
        if path == "stream":
            full = None
            stream = model.stream(prompt)
            for chunk in stream:
                full = chunk if full is None else full + chunk
                if cancel:
                    stream.close()
                    break
            return full
        return asyncio.run(consume())
    except (Exception, asyncio.CancelledError) as exc:
        return exc


def _spans_of(
    traced: Traced,
    server: BedrockWireServer,
    reply: Callable[[str], Reply],
    path: str,
    read_timeout: float = 10,
    **kw: Any,
) -> dict[str, tuple[Any, list[Any]]]:
    """For each class: the outcome and the Bedrock-call spans of the same call."""
    seen: dict[str, tuple[Any, list[Any]]] = {}
    tracer = traced.provider.get_tracer("test")
    for name, model in _models(server, read_timeout).items():
        traced.exporter.clear()
        server.enqueue(reply("converse-stream" if "stream" in path else "converse"))
        with tracer.start_as_current_span("caller"):
            outcome = _call(model, path, **kw)
        parent, calls = traced.spans()
        for span in calls:
            assert span.parent is not None, f"{name}: {span.name} has no parent"
            assert span.parent.span_id == parent.context.span_id, (name, span.name)
        seen[name] = (outcome, calls)
    return seen


def _same_story(ours: list[Any], theirs: list[Any]) -> None:
    """The two classes' spans say the same, attribute for attribute."""
    mine, others = [_summary(s) for s in ours], [_summary(s) for s in theirs]
    assert len(mine) == len(others), (mine, others)
    for one, other in zip(mine, others, strict=True):
        differ = {
            key: (one["attributes"].get(key), other["attributes"].get(key))
            for key in one["attributes"].keys() | other["attributes"].keys()
            if one["attributes"].get(key) != other["attributes"].get(key)
        }
        assert not differ, differ
        assert one == other


PATHS = ["invoke", "stream", "ainvoke", "astream"]

ANSWERS = {
    "text": (
        text_answer(
            "Hello from the loopback.",
            usage={"inputTokens": 11, "outputTokens": 7, "totalTokens": 11 + 7},
        ),
        False,
    ),
    "tool": (
        tool_call_answer(
            "get_weather",
            {"city": "Paris"},
            usage={"inputTokens": 21, "outputTokens": 9, "totalTokens": 21 + 9},
        ),
        True,
    ),
    "reasoning": (
        reasoning_answer(
            "Think first.",
            "Sunny.",
            usage={"inputTokens": 15, "outputTokens": 12, "totalTokens": 15 + 12},
        ),
        False,
    ),
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_a_call_is_one_finished_span_with_what_the_stack_records(
    traced: Traced, server: BedrockWireServer, path: str, case: str
) -> None:
    answer, tools = ANSWERS[case]
    seen = _spans_of(traced, server, answer.reply_for, path, tools=tools)
    ours_outcome, ours = seen["ChatBedrockStream"]
    theirs_outcome, theirs = seen["ChatBedrockConverse"]
    assert not isinstance(ours_outcome, BaseException), ours_outcome
    assert not isinstance(theirs_outcome, BaseException), theirs_outcome
    assert len(ours) == 1, [span.name for span in ours]
    span = ours[0]
    stack = traced.stack
    attributes = span.attributes or {}
    # What every stack records for a successful call, checked against the answer sent.
    assert span.status.status_code != StatusCode.ERROR
    assert "nova-micro" in str(attributes.get(stack.model_key))
    assert attributes.get(stack.output_key) == answer.bedrock_usage()["outputTokens"], dict(
        attributes
    )
    assert attributes.get(stack.finish_key), dict(attributes)
    if stack.content_key is not None:
        recorded = str(attributes.get(stack.content_key))
        expected = "Paris" if case == "tool" else answer.content[-1]["text"]
        assert expected in recorded, recorded
    # And the same story as the class users move from.
    _same_story(ours, theirs)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
@pytest.mark.parametrize("path", ["stream", "astream"])
def test_over_https_the_stacks_see_the_same_call(
    traced: Traced,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    """Where users are: TLS to Bedrock. The watched path sends through botocore's own HTTPS
    stack, and every stack records the call as for ``ChatBedrockConverse``."""
    cert, key = make_certificate(tmp_path)
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    answer = text_answer("Over TLS.", usage={"inputTokens": 4, "outputTokens": 3, "totalTokens": 7})
    with BedrockWireServer(ssl_context=server_ssl_context(cert, key)) as tls_server:
        assert tls_server.endpoint_url.startswith("https://")
        seen = _spans_of(traced, tls_server, answer.reply_for, path, tools=False)
    ours_outcome, ours = seen["ChatBedrockStream"]
    _, theirs = seen["ChatBedrockConverse"]
    assert not isinstance(ours_outcome, BaseException), ours_outcome
    assert ours_outcome.text == "Over TLS."
    assert len(ours) == 1
    assert (ours[0].attributes or {}).get(traced.stack.output_key) == 3
    _same_story(ours, theirs)
