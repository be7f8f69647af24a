"""What code written for ``ChatBedrockConverse`` relies on, through our public interfaces.

- A client whose ``converse_stream`` returns events already parsed (a list, a generator):
  the answer is read from them, the event stream is closed exactly once, a stream without
  ``messageStop`` is an ``IncompleteStreamError`` (also the builtin ``ConnectionError``, so
  ``with_retry(retry_if_exception_type=(ConnectionError,))`` and fallbacks work), one
  without ``metadata`` is a complete answer, and an exception the client's own events raise
  propagates as itself.
- Bedrock's errors are also the client's modeled classes
  (``except client.exceptions.ValidationException`` catches them), and still pickle.
- ``inferenceConfig`` is always sent (``{}`` when empty).
- Tool history with no tools bound is sent as text, with a ``RuntimeWarning``.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import ContextOverflowError, ModelAPIError
from langchain_core.messages import AIMessage, HumanMessage, ToolCall, ToolMessage
from langchain_core.runnables import RunnableLambda

from langchain_bedrock_stream import (
    BedrockContextOverflowError,
    BedrockRateLimitError,
    ChatBedrockStream,
    IncompleteStreamError,
    StreamIntegrityError,
)
from langchain_bedrock_stream.testing import BedrockWireServer, ErrorReply, StreamReply
from tests.support.events import text_events

MODEL = "anthropic.claude-3-sonnet-20240229-v1:0"
NOVA = "us.amazon.nova-micro-v1:0"
TOO_LONG = "Input is too long for requested model."


# --- a client that returns parsed events ----------------------------------------------------


def answer_events(
    text: str = "Hello there", *, stop: bool = True, metadata: bool = True
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": text}}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
    ]
    if stop:
        events.append({"messageStop": {"stopReason": "end_turn"}})
    if metadata:
        usage = {"inputTokens": 4, "outputTokens": 3, "totalTokens": 7}
        events.append({"metadata": {"usage": usage, "metrics": {"latencyMs": 5}}})
    return events


class Events:
    """An event stream as a fake client returns it: iterable, counting ``close()`` calls,
    optionally raising the caller's own exception after its events."""

    def __init__(self, events: list[dict[str, Any]], raise_after: Exception | None = None):
        self.events = events
        self.raise_after = raise_after
        self.closed = 0

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield from self.events
        if self.raise_after is not None:
            raise self.raise_after

    def close(self) -> None:
        self.closed += 1


class EventsClient:
    """A client whose ``converse_stream`` returns the next of ``streams``."""

    def __init__(self, *streams: Events) -> None:
        self.streams = list(streams)
        self.calls = 0

    def converse_stream(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        return {"stream": self.streams.pop(0)}


def model_with(client: EventsClient, *, streaming: bool = False) -> ChatBedrockStream:
    """``streaming=True`` makes ``invoke`` stream; left unset, ``stream`` streams (an
    explicit ``streaming=False`` would turn ``stream`` into one ``invoke``, LangChain's rule).
    """
    extra: dict[str, Any] = {"streaming": True} if streaming else {}
    return ChatBedrockStream(
        client=client, model=MODEL, region_name="us-west-2", max_retries=0, **extra
    )


@pytest.mark.parametrize("streaming", [False, True])
def test_parsed_events_stream_and_close_once(streaming: bool) -> None:
    events = Events(answer_events("Hello there"))
    model = model_with(EventsClient(events), streaming=streaming)
    if streaming:
        message = model.invoke("hi")
        assert message.text == "Hello there"
        assert message.usage_metadata is not None
        assert message.usage_metadata["total_tokens"] == 7
    else:
        chunks = list(model.stream("hi"))
        assert "".join(chunk.text for chunk in chunks) == "Hello there"
    assert events.closed == 1


def test_parsed_events_without_metadata_are_a_complete_answer() -> None:
    events = Events(answer_events("Done.", metadata=False))
    message = model_with(EventsClient(events), streaming=True).invoke("hi")
    assert message.text == "Done."
    assert message.response_metadata["stopReason"] == "end_turn"
    assert message.usage_metadata is None
    assert events.closed == 1


@pytest.mark.parametrize("metadata", [False, True])
def test_parsed_events_without_message_stop_are_incomplete(metadata: bool) -> None:
    events = Events(answer_events("cut", stop=False, metadata=metadata))
    with pytest.raises(ConnectionError, match="Incomplete Bedrock response stream") as caught:
        model_with(EventsClient(events), streaming=True).invoke("hi")
    error = caught.value
    assert isinstance(error, IncompleteStreamError)
    assert isinstance(error, StreamIntegrityError)
    assert error.code == "IncompleteStream"
    assert error.partial_message is not None and error.partial_message.text == "cut"
    assert events.closed == 1
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored).__bases__ == (IncompleteStreamError, ModelAPIError)
    assert str(restored) == str(error)


def test_parsed_events_incomplete_is_retried_as_a_connection_error() -> None:
    first = Events(answer_events("partial", stop=False))
    second = Events(answer_events("complete answer"))
    client = EventsClient(first, second)
    retrying = model_with(client, streaming=True).with_retry(
        retry_if_exception_type=(ConnectionError,),
        wait_exponential_jitter=False,
        stop_after_attempt=2,
    )
    message = retrying.invoke("hi")
    assert message.text == "complete answer"
    assert client.calls == 2
    assert (first.closed, second.closed) == (1, 1)


def test_parsed_events_incomplete_takes_the_fallback() -> None:
    events = Events(answer_events("partial", stop=False))
    fallback = RunnableLambda(lambda _: AIMessage(content="fallback answer"))
    model = model_with(EventsClient(events), streaming=True)
    assert model.with_fallbacks([fallback]).invoke("hi").content == "fallback answer"
    assert events.closed == 1


class Outcomes(BaseCallbackHandler):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.seen.append("end")

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.seen.append(type(error).__name__)


def test_parsed_events_incomplete_reports_an_error_not_an_end() -> None:
    handler = Outcomes()
    events = Events(answer_events("cut", stop=False, metadata=False))
    with pytest.raises(IncompleteStreamError):
        model_with(EventsClient(events), streaming=True).invoke(
            "hi", config={"callbacks": [handler]}
        )
    assert handler.seen == ["IncompleteStreamError"]


class ClientBroke(Exception):
    """An exception of the caller's own fake client."""


@pytest.mark.parametrize("streaming", [False, True])
def test_parsed_events_own_exception_propagates_as_itself(streaming: bool) -> None:
    events = Events(answer_events("Hi", stop=False, metadata=False), ClientBroke("boom"))
    model = model_with(EventsClient(events), streaming=streaming)
    with pytest.raises(ClientBroke, match="boom"):
        if streaming:
            model.invoke("hi")
        else:
            list(model.stream("hi"))
    assert events.closed == 1


def test_parsed_events_own_exception_propagates_as_itself_on_the_loop() -> None:
    events = Events(answer_events("Hi", stop=False, metadata=False), ClientBroke("boom"))
    model = model_with(EventsClient(events))

    async def run() -> None:
        [chunk async for chunk in model.astream("hi")]

    with pytest.raises(ClientBroke, match="boom"):
        asyncio.run(run())
    assert events.closed == 1


def test_parsed_events_async_incomplete_and_closed() -> None:
    complete, cut = Events(answer_events("async answer")), Events(answer_events("x", stop=False))
    model = model_with(EventsClient(complete, cut))

    async def run() -> str:
        text = "".join([chunk.text async for chunk in model.astream("hi")])
        with pytest.raises(IncompleteStreamError):
            [chunk async for chunk in model.astream("hi")]
        return text

    assert asyncio.run(run()) == "async answer"
    assert (complete.closed, cut.closed) == (1, 1)


# --- Bedrock's errors as the client's modeled classes ----------------------------------------


def client_at(url: str, **config: Any) -> Any:
    return boto3.client(
        "bedrock-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**config),
    )


def test_errors_are_the_clients_modeled_classes() -> None:
    replies = [
        ErrorReply(400, "ValidationException", TOO_LONG),
        ErrorReply(400, "ValidationException", TOO_LONG),
        ErrorReply(429, "ThrottlingException", "slow down"),
    ]
    with BedrockWireServer(replies) as server:
        client = client_at(server.endpoint_url, retries={"total_max_attempts": 1})
        model = ChatBedrockStream(client=client, model=NOVA, region_name="us-east-1", max_retries=0)
        try:
            model.invoke("hello")
        except client.exceptions.ValidationException as caught:
            invoked: Exception = caught
        with pytest.raises(client.exceptions.ValidationException) as streamed:
            list(model.stream("hello"))
        with pytest.raises(client.exceptions.ThrottlingException) as throttled:
            list(model.stream("hello"))
    for error in (invoked, streamed.value):
        assert isinstance(error, BedrockContextOverflowError)
        assert isinstance(error, ContextOverflowError)
        assert TOO_LONG in str(error)
    assert isinstance(throttled.value, BedrockRateLimitError)
    assert throttled.value.retry_after is None


def test_modeled_errors_pickle_as_our_class() -> None:
    with BedrockWireServer([ErrorReply(400, "ValidationException", TOO_LONG)]) as server:
        client = client_at(server.endpoint_url)
        model = ChatBedrockStream(client=client, model=NOVA, region_name="us-east-1", max_retries=0)
        with pytest.raises(client.exceptions.ValidationException) as caught:
            model.invoke("hello")
    restored = pickle.loads(pickle.dumps(caught.value))
    # Our class with its LangChain face; not the client's modeled class, which lives only
    # in its session.
    assert type(restored).__bases__ == (BedrockContextOverflowError, ContextOverflowError)
    assert isinstance(restored, ClientError)
    assert str(restored) == str(caught.value)
    assert restored.response == caught.value.response
    assert restored.operation_name == caught.value.operation_name == "Converse"


# --- the request ---------------------------------------------------------------------------


def test_empty_inference_config_is_sent_as_an_empty_object() -> None:
    with BedrockWireServer([StreamReply(text_events(["Hi"]))]) as server:
        model = ChatBedrockStream(
            model=NOVA, region_name="us-east-1", endpoint_url=server.endpoint_url
        )
        assert "".join(chunk.text for chunk in model.stream("hello")) == "Hi"
        body = server.requests[-1].body
    assert body["inferenceConfig"] == {}


def test_tool_history_without_tools_is_sent_as_text_with_a_warning() -> None:
    history = [
        HumanMessage("what is 2+2?"),
        AIMessage("", tool_calls=[ToolCall(name="calc", args={"x": 1}, id="t1")]),
        ToolMessage("4", tool_call_id="t1"),
    ]
    with BedrockWireServer([StreamReply(text_events(["It is 4."]))]) as server:
        model = ChatBedrockStream(
            model=NOVA, region_name="us-east-1", endpoint_url=server.endpoint_url
        )
        with pytest.warns(RuntimeWarning, match="Tool messages were passed without toolConfig"):
            assert "".join(chunk.text for chunk in model.stream(history)) == "It is 4."
        body = server.requests[-1].body
    assert "toolConfig" not in body
    assistant = body["messages"][1]
    assert assistant["role"] == "assistant"
    assert any("Called calc" in block.get("text", "") for block in assistant["content"])
    sent = [block for turn in body["messages"] for block in turn["content"]]
    assert not any("toolUse" in block or "toolResult" in block for block in sent)
