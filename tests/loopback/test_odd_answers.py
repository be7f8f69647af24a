"""Odd answers never cost the answer: any JSON value in an optional member of a Converse or
ConverseStream answer (``additionalModelResponseFields``, ``usage``, ``metrics``, ``trace``,
``performanceConfig``, ``serviceTier``) leaves the answer readable through ``invoke``,
``stream``, ``astream`` and ``BedrockStream``, with the value kept as received."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langchain_bedrock_stream import converse, converse_stream
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply, StreamReply
from tests.loopback.test_params import converse_body, stream_events
from tests.loopback.test_standalone import client_for
from tests.support import loopback

MODEL = "us.amazon.nova-micro-v1:0"
STOP_MEMBERS = ("additionalModelResponseFields",)
METADATA_MEMBERS = ("usage", "metrics", "trace", "performanceConfig", "serviceTier")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
odd_members = st.dictionaries(
    st.sampled_from(STOP_MEMBERS + METADATA_MEMBERS), json_values, min_size=1
).map(lambda members: {k: v for k, v in members.items() if v is not None})
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def wire() -> Iterator[BedrockWireServer]:
    with BedrockWireServer() as running:
        yield running


def _events(members: dict[str, Any]) -> list[dict[str, Any]]:
    events = stream_events("ok")
    events[-2]["messageStop"].update({k: v for k, v in members.items() if k in STOP_MEMBERS})
    metadata = events[-1]["metadata"]
    for key in METADATA_MEMBERS:
        if key in members:
            metadata[key] = members[key]
        elif key == "usage":
            metadata.pop("usage")
    return events


def _body(members: dict[str, Any]) -> dict[str, Any]:
    body = converse_body("ok")
    body.pop("usage")
    body.update(members)
    return body


def _check_kept(meta: dict[str, Any], members: dict[str, Any], exact: bool) -> None:
    """Each odd member is in ``response_metadata`` as received (``exact``), or, on the
    Converse path where botocore reads the object-shaped members it can, present."""
    for key, value in members.items():
        if key == "usage":
            countable = isinstance(value, dict) and {"inputTokens", "outputTokens"} & set(value)
            if not countable and (exact or not isinstance(value, dict)):
                assert meta["extras"]["usage"] == value
            continue
        if key == "metrics" and isinstance(value, dict) and "latencyMs" in value:
            continue  # turned into a list, as ChatBedrockConverse has it
        if exact or not isinstance(value, dict) or key == "additionalModelResponseFields":
            assert meta[key] == value, key
        else:
            assert key in meta


@SETTINGS
@given(members=odd_members)
def test_stream_keeps_the_answer(wire: BedrockWireServer, members: dict[str, Any]) -> None:
    wire.enqueue(StreamReply(_events(members)))
    chunks = list(loopback.model_on(wire, MODEL, max_retries=0).stream("hi"))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged += chunk
    assert merged.text == "ok"
    _check_kept(chunks[-1].response_metadata, members, exact=True)


@SETTINGS
@given(members=odd_members)
def test_astream_keeps_the_answer(wire: BedrockWireServer, members: dict[str, Any]) -> None:
    wire.enqueue(StreamReply(_events(members)))

    async def run() -> list[Any]:
        model = loopback.model_on(wire, MODEL, max_retries=0)
        return [chunk async for chunk in model.astream("hi")]

    chunks = asyncio.run(run())
    assert "".join(c.text for c in chunks) == "ok"
    _check_kept(chunks[-1].response_metadata, members, exact=True)


@SETTINGS
@given(members=odd_members, streaming=st.booleans())
def test_invoke_keeps_the_answer(
    wire: BedrockWireServer, members: dict[str, Any], streaming: bool
) -> None:
    reply = StreamReply(_events(members)) if streaming else JsonReply(_body(members))
    wire.enqueue(reply)
    model = loopback.model_on(wire, MODEL, max_retries=0, streaming=streaming)
    answer = model.invoke("hi")
    assert answer.text == "ok"
    _check_kept(answer.response_metadata, members, exact=streaming)


@SETTINGS
@given(members=odd_members)
def test_ainvoke_keeps_the_answer(wire: BedrockWireServer, members: dict[str, Any]) -> None:
    wire.enqueue(JsonReply(_body(members)))
    model = loopback.model_on(wire, MODEL, max_retries=0)
    answer = asyncio.run(model.ainvoke("hi"))
    assert answer.text == "ok"
    _check_kept(answer.response_metadata, members, exact=False)


@SETTINGS
@given(members=odd_members, streamed=st.booleans())
def test_bedrock_stream_keeps_the_answer(
    wire: BedrockWireServer, members: dict[str, Any], streamed: bool
) -> None:
    client = client_for(wire)
    request = {"modelId": MODEL, "messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    if streamed:
        wire.enqueue(StreamReply(_events(members)))
        answer = converse_stream(client, **request)
        answer.consume()
        assert answer.text == "ok"
    else:
        wire.enqueue(JsonReply(_body(members)))
        answer = converse(client, **request)
        assert answer.text == "ok"
    response = answer.response()
    for key, attribute in (
        ("additionalModelResponseFields", response.additional_model_response_fields),
        ("metrics", response.metrics),
        ("trace", response.trace),
        ("performanceConfig", response.performance_config),
        ("serviceTier", response.service_tier),
    ):
        value = members.get(key)
        if value is not None and (streamed or not isinstance(value, dict) or key[0] == "a"):
            assert attribute == value, key
    assert answer.cost_breakdown is None or answer.cost_breakdown["total"] >= 0


@pytest.mark.parametrize("streaming", [False, True], ids=["converse", "stream"])
def test_the_string_bedrock_sent_as_additional_fields_is_kept(
    server: BedrockWireServer, streaming: bool
) -> None:
    """``"additionalModelResponseFields": "test"`` came back from Bedrock for a real request."""
    members = {"additionalModelResponseFields": "test", "usage": converse_body()["usage"]}
    server.enqueue(StreamReply(_events(members)) if streaming else JsonReply(_body(members)))
    answer = loopback.model_on(server, MODEL, streaming=streaming).invoke("hi")
    assert answer.text == "ok"
    assert answer.response_metadata["additionalModelResponseFields"] == "test"
    assert answer.usage_metadata is not None and answer.usage_metadata["output_tokens"] == 1
