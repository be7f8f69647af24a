"""When the fast body reader cannot be used, the events botocore (or a fake client) yields
are folded instead: a client wrapper returning a generator, a fake returning a list. Every
real recording gives the same answer through that path, sync and async; a ``MagicMock``
client ends in a clear typed error at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any
from unittest.mock import MagicMock

import boto3
import pytest
from langchain_core.messages import AIMessageChunk, HumanMessage

from langchain_bedrock_stream import ChatBedrockStream, StreamIntegrityError, _body
from tests.conftest import replayer
from tests.loopback.test_recordings_replay import (
    OK_FILES,
    check,
    expected_from_converse,
    expected_from_stream,
)
from tests.support.events import text_events
from tests.support.recordings import RECORDINGS, body_bytes, is_stream, load, requires_recordings

NOVA = "us.amazon.nova-micro-v1:0"


class EventsOnly:
    """A client wrapper (as users write them) whose ``converse_stream`` hands back botocore's
    parsed events as a plain generator: no raw body to read."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.meta = None  # not a botocore client: no retry layer to defer to

    def converse_stream(self, **request: Any) -> dict[str, Any]:
        response = self._client.converse_stream(**request)
        return {**response, "stream": (event for event in response["stream"])}

    def converse(self, **request: Any) -> Any:
        return self._client.converse(**request)


def wrapped_model(uri: str) -> ChatBedrockStream:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    region = (parsed.hostname or "").split(".")[1]
    client = boto3.client("bedrock-runtime", region_name=region)
    model_id = unquote(parsed.path.split("/")[2])
    return ChatBedrockStream(model=model_id, client=EventsOnly(client), max_retries=0)


def joined(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return full


@requires_recordings
@pytest.mark.parametrize("name", OK_FILES)
def test_recordings_through_parsed_events_blocking(name: str) -> None:
    interactions = load(name)["interactions"]
    model = wrapped_model(interactions[0]["request"]["uri"])
    with replayer().use_cassette(str(RECORDINGS / name)):
        for interaction in interactions:
            if is_stream(interaction):
                chunks = list(model.stream([HumanMessage("replay")]))
                check(joined(chunks), expected_from_stream(body_bytes(interaction)))
            else:
                message = model.invoke([HumanMessage("replay")])
                check(message, expected_from_converse(body_bytes(interaction)))


@requires_recordings
@pytest.mark.parametrize("name", OK_FILES)
def test_recordings_through_parsed_events_async(name: str) -> None:
    interactions = load(name)["interactions"]
    model = wrapped_model(interactions[0]["request"]["uri"])

    async def replay() -> None:
        for interaction in interactions:
            if is_stream(interaction):
                chunks = [c async for c in model.astream([HumanMessage("replay")])]
                check(joined(chunks), expected_from_stream(body_bytes(interaction)))
            else:
                message = await model.ainvoke([HumanMessage("replay")])
                check(message, expected_from_converse(body_bytes(interaction)))

    with replayer().use_cassette(str(RECORDINGS / name)):
        asyncio.run(replay())


STREAM_FILES = [n for n in OK_FILES if any(is_stream(i) for i in load(n)["interactions"])]


@requires_recordings
@pytest.mark.parametrize("name", STREAM_FILES[:3])
def test_recordings_replayed_by_vcrpy_on_the_event_loop(name: str) -> None:
    """vcrpy replaces botocore's HTTP layer: the event-loop path then lets botocore send
    (in the pool), so the replay still answers."""
    interactions = [i for i in load(name)["interactions"] if is_stream(i)]
    from tests.loopback.test_recordings_replay import model_for

    model = model_for(interactions[0]["request"]["uri"])

    async def replay() -> list[AIMessageChunk]:
        return [c async for c in model.astream([HumanMessage("replay")])]

    with replayer().use_cassette(str(RECORDINGS / name), allow_playback_repeats=True):
        chunks = asyncio.run(replay())
    check(joined(chunks), expected_from_stream(body_bytes(interactions[0])))


# --- fakes and stubs --------------------------------------------------------------------------


class ListClient:
    """A fake client returning events as a list, counting its calls."""

    meta = None

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.calls = 0

    def converse_stream(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"stream": list(self.events), "ResponseMetadata": {"RequestId": "req-1"}}


def test_a_list_of_events_gives_the_whole_answer_with_usage() -> None:
    fake = ListClient(text_events(["a", "b", "c"]))
    model = ChatBedrockStream(model=NOVA, client=fake, max_retries=0, streaming=True)
    message = model.invoke("go")
    assert message.text == "abc"
    assert message.usage_metadata is not None
    assert message.usage_metadata["output_tokens"] == 3
    assert message.response_metadata["request_id"] == "req-1"
    assert fake.calls == 1


def test_the_fallback_logs_one_debug_line(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_body, "_logged", set())
    model = ChatBedrockStream(model=NOVA, client=ListClient(text_events(["x"])), max_retries=0)
    with caplog.at_level(logging.DEBUG, logger="langchain_bedrock_stream"):
        for _ in range(3):
            assert "".join(c.text for c in model.stream("go")) == "x"
    lines = [r for r in caplog.records if "events through botocore" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].levelno == logging.DEBUG


@pytest.fixture
def mock_client() -> Iterator[MagicMock]:
    yield MagicMock()


@pytest.mark.timeout(30)
def test_a_magicmock_client_is_a_clear_typed_error(mock_client: MagicMock) -> None:
    model = ChatBedrockStream(model=NOVA, client=mock_client)  # default retries
    with pytest.raises(StreamIntegrityError, match="not an event stream") as blocking:
        list(model.stream("go"))
    assert blocking.value.is_retryable is False

    async def collect() -> None:
        async for _ in model.astream("go"):
            pass

    with pytest.raises(StreamIntegrityError, match="not an event stream"):
        asyncio.run(collect())
    assert mock_client.converse_stream.call_count == 2  # no retry of a hopeless call
