"""Faults on a real socket: throttling, server errors, dropped and corrupt streams, timeouts,
cancellation, retries and their limits, resuming an interrupted answer, and bad input.

Every test drives ``ChatBedrockStream`` through real boto3 against the loopback
Bedrock-wire server. Backoff waits go through a recording ``sleep`` hook, so nothing sleeps
for real and no test asserts on wall-clock time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage

from langchain_bedrock_stream import (
    BedrockAPIError,
    BedrockConnectionError,
    BedrockError,
    BedrockRateLimitError,
    ChatBedrockStream,
    InputConversionError,
    StreamIntegrityError,
)
from langchain_bedrock_stream import chat_model as chat_model_module
from langchain_bedrock_stream._retry import RetryPolicy, resolve_policy
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    DropConnection,
    ErrorReply,
    ExceptionFrame,
    JsonReply,
    StreamReply,
    simulated_converse_response,
)
from tests.support import loopback

MODEL = "us.amazon.nova-micro-v1:0"
REGION = "us-west-2"


# --- helpers ---------------------------------------------------------------------------------


def start() -> dict[str, Any]:
    return {"messageStart": {"role": "assistant"}}


def text(piece: str, index: int = 0) -> dict[str, Any]:
    return {"contentBlockDelta": {"contentBlockIndex": index, "delta": {"text": piece}}}


def stop_block(index: int = 0) -> dict[str, Any]:
    return {"contentBlockStop": {"contentBlockIndex": index}}


def message_stop(reason: str = "end_turn") -> dict[str, Any]:
    return {"messageStop": {"stopReason": reason}}


def metadata(output: int = 2) -> dict[str, Any]:
    return {
        "metadata": {
            "usage": {"inputTokens": 5, "outputTokens": output, "totalTokens": 5 + output},
            "metrics": {"latencyMs": 7},
        }
    }


def text_events(pieces: list[str]) -> list[dict[str, Any]]:
    return [
        start(),
        *(text(p) for p in pieces),
        stop_block(),
        message_stop(),
        metadata(len(pieces)),
    ]


class Waits:
    """A ``sleep`` hook that records the waits the policy asked for, and never sleeps."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


@pytest.fixture
def waits() -> Waits:
    return Waits()


def model_on(
    server: BedrockWireServer, waits: Waits | None = None, *, retries: int = 3, **kwargs: Any
) -> ChatBedrockStream:
    policy = RetryPolicy(
        max_retries=retries,
        initial_delay=0.001,
        max_delay=0.002,
        sleep=waits if waits is not None else Waits(),
    )
    kwargs.setdefault("retry_policy", policy)
    return loopback.model_on(server, MODEL, region_name=REGION, **kwargs)


def collect(model: ChatBedrockStream, prompt: Any = "hi", **kwargs: Any) -> list[AIMessageChunk]:
    return list(model.stream(prompt, **kwargs))


def stream_until_error(
    model: ChatBedrockStream, prompt: Any = "hi"
) -> tuple[list[str], BedrockError]:
    seen: list[str] = []
    with pytest.raises(BedrockError) as caught:
        for chunk in model.stream(prompt):
            seen.append(chunk.text)
    return seen, caught.value


GAP = 1.0
"""Seconds between content and a failure after it: longer than any stall of a loaded
machine, so the content reaches the caller first. (A failure read in the same burst as the
first content is retried instead: the caller had seen nothing.)"""


def failing_after(events: list[Any], content: int, **kwargs: Any) -> StreamReply:
    """``events[:content]`` sent at once, the rest ``GAP`` seconds later."""
    return StreamReply(events, batch=content, delay=GAP, **kwargs)


def retry_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "bedrock_attempt", None) is not None]


def reader_threads() -> list[str]:
    """Threads the model starts (the loopback server's own thread is not one of them)."""
    return [
        t.name
        for t in threading.enumerate()
        if t.name.startswith(("bedrock-stream-reader", "bedrock-call"))
    ]


# --- retried before the first content: then served -------------------------------------------


def test_http_429_then_served(
    server: BedrockWireServer, waits: Waits, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_bedrock_stream")
    server.enqueue(
        ErrorReply(429, "ThrottlingException", "Too many requests"),
        StreamReply(text_events(["Hel", "lo"])),
    )
    chunks = collect(model_on(server, waits))
    assert "".join(c.text for c in chunks) == "Hello"
    assert len(server.requests) == 2
    assert len(waits.seconds) == 1
    (record,) = retry_records(caplog)
    assert record.bedrock_attempt == 1  # type: ignore[attr-defined]
    assert record.bedrock_error_code == "ThrottlingException"  # type: ignore[attr-defined]
    assert "attempt 1 of 4" in record.getMessage()
    assert "Too many requests" in record.getMessage()


@pytest.mark.parametrize("after_message_start", [False, True])
def test_throttling_exception_frame_at_stream_start_then_served(
    server: BedrockWireServer,
    waits: Waits,
    caplog: pytest.LogCaptureFixture,
    after_message_start: bool,
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_bedrock_stream")
    head = [start()] if after_message_start else []
    server.enqueue(
        StreamReply([*head, ExceptionFrame("throttlingException", "slow down")]),
        StreamReply(text_events(["fine"])),
    )
    chunks = collect(model_on(server, waits))
    assert "".join(c.text for c in chunks) == "fine"
    assert len(server.requests) == 2
    (record,) = retry_records(caplog)
    assert record.bedrock_error_code == "throttlingException"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "failure",
    [
        ErrorReply(500, "InternalServerException", "oops"),
        ErrorReply(503, "ServiceUnavailableException", "busy"),
        ErrorReply(429, "ModelNotReadyException", "warming up"),
        ErrorReply(424, "ModelErrorException", "model failed"),
        StreamReply([start(), ExceptionFrame("internalServerException", "oops")]),
        StreamReply([ExceptionFrame("serviceUnavailableException", "busy")]),
        StreamReply([ExceptionFrame("modelStreamErrorException", "glitch")]),
        DropConnection(),
        StreamReply([start()], drop_after=1),  # connection lost before any content
        StreamReply([start()]),  # 200, then the body ends after messageStart: truncated
        StreamReply([]),  # 200 with no events at all
        StreamReply(text_events(["x"]), corrupt_crc_at=0),  # corrupt before any content
    ],
    ids=lambda f: (
        type(f).__name__
        + (
            f"-{f.error_type}"
            if isinstance(f, ErrorReply)
            else f"-{len(f.events)}ev"
            if isinstance(f, StreamReply)
            else ""
        )
    ),
)
def test_server_fault_before_content_then_served(
    server: BedrockWireServer, waits: Waits, failure: Any
) -> None:
    server.enqueue(failure, StreamReply(text_events(["served"])))
    chunks = collect(model_on(server, waits))
    assert "".join(c.text for c in chunks) == "served"
    assert chunks[-1].chunk_position == "last"
    assert len(server.requests) == 2


def test_read_timeout_before_content_then_served(server: BedrockWireServer, waits: Waits) -> None:
    server.enqueue(
        StreamReply(text_events(["late"]), first_delay=30), StreamReply(text_events(["on time"]))
    )
    chunks = collect(model_on(server, waits, timeout=0.3))
    assert "".join(c.text for c in chunks) == "on time"
    assert len(server.requests) == 2


def test_invoke_converse_is_retried_too(server: BedrockWireServer, waits: Waits) -> None:
    request = {"messages": [{"role": "user", "content": [{"text": "hello"}]}]}
    server.enqueue(
        ErrorReply(429, "ThrottlingException", "slow"),
        ErrorReply(503, "ServiceUnavailableException", "busy"),
        JsonReply(simulated_converse_response(request)),
    )
    message = model_on(server, waits).invoke("hello")
    assert "hello" in message.text
    assert [r.operation for r in server.requests] == ["converse"] * 3
    assert len(waits.seconds) == 2


# --- after content: an error with the partial answer, never a retry ---------------------------


def test_mid_stream_model_error_carries_partial_and_is_not_retried(
    server: BedrockWireServer, waits: Waits
) -> None:
    events = [
        start(),
        text("Par"),
        text("tial"),
        ExceptionFrame("modelStreamErrorException", "the model stumbled"),
    ]
    server.enqueue(failing_after(events, 3), StreamReply(text_events(["never"])))
    seen, error = stream_until_error(model_on(server, waits))
    assert isinstance(error, BedrockAPIError)
    assert isinstance(error, ModelAPIError)
    assert isinstance(error, ClientError)  # code catching botocore's errors keeps working
    assert error.code == "modelStreamErrorException"
    assert error.model_id == MODEL and error.region == REGION
    assert error.request_id
    for part in (MODEL, REGION, error.request_id, "the model stumbled"):
        assert part in str(error)
    assert isinstance(error.__cause__, EventStreamError)  # what botocore raises for the frame
    assert error.__cause__.response["Error"]["Code"] == "modelStreamErrorException"
    assert "".join(seen) == "Partial"
    assert isinstance(error.partial_message, AIMessage)
    assert error.partial_message.content == "Partial"
    assert error.partial_message.response_metadata["request_id"] == error.request_id
    assert len(server.requests) == 1
    assert waits.seconds == []
    assert server.pending_replies == 1


def test_dropped_connection_mid_stream(server: BedrockWireServer, waits: Waits) -> None:
    events = text_events(["one ", "two ", "three"])
    server.enqueue(StreamReply(events, delay=0.005, drop_after=3))
    seen, error = stream_until_error(model_on(server, waits))
    assert isinstance(error, BedrockConnectionError)
    assert isinstance(error, ModelConnectionError)
    assert error.__cause__ is not None
    assert "".join(seen) == "one two "
    assert error.partial_message is not None
    assert error.partial_message.text == "one two "
    assert len(server.requests) == 1


def test_truncated_stream_without_message_stop_is_an_error(
    server: BedrockWireServer, waits: Waits
) -> None:
    server.enqueue(StreamReply([start(), text("cut "), text("short"), stop_block()]))
    seen, error = stream_until_error(model_on(server, waits))
    assert isinstance(error, StreamIntegrityError)
    assert error.code == "IncompleteStream"
    assert "messageStop" in str(error)
    assert "".join(seen) == "cut short"
    assert error.partial_message is not None and error.partial_message.text == "cut short"
    assert len(server.requests) == 1


def test_truncated_stream_is_an_error_for_invoke_too(
    server: BedrockWireServer, waits: Waits
) -> None:
    server.enqueue(StreamReply([start(), text("cut")]))
    with pytest.raises(StreamIntegrityError) as caught:
        model_on(server, waits, streaming=True).invoke("hi")
    assert caught.value.partial_message is not None
    assert caught.value.partial_message.text == "cut"


def test_bad_crc_mid_stream_is_an_error(server: BedrockWireServer, waits: Waits) -> None:
    events = text_events(["good ", "bad", "never"])
    server.enqueue(failing_after(events, 2, corrupt_crc_at=2))
    seen, error = stream_until_error(model_on(server, waits))
    assert isinstance(error, StreamIntegrityError)
    assert "CRC" in str(error)
    assert "".join(seen) == "good "
    assert error.partial_message is not None and error.partial_message.text == "good "
    assert len(server.requests) == 1


def test_200_with_no_events_is_an_error_once_retries_are_spent(
    server: BedrockWireServer, waits: Waits
) -> None:
    server.enqueue(*[StreamReply([]) for _ in range(3)])
    with pytest.raises(StreamIntegrityError) as caught:
        collect(model_on(server, waits, retries=2))
    assert "without messageStop and without any content" in str(caught.value)
    assert caught.value.partial_message is None
    assert caught.value.attempts == 3
    assert len(server.requests) == 3


def test_connection_lost_after_the_last_event_loses_nothing(
    server: BedrockWireServer, waits: Waits
) -> None:
    events = text_events(["all ", "here"])
    server.enqueue(StreamReply(events, drop_after=len(events)))
    chunks = collect(model_on(server, waits))
    assert "".join(c.text for c in chunks) == "all here"
    assert chunks[-1].usage_metadata is not None


def test_partial_message_keeps_reasoning_finished_tool_calls_and_usage(
    server: BedrockWireServer, waits: Waits
) -> None:
    events = [
        start(),
        {
            "contentBlockDelta": {
                "contentBlockIndex": 0,
                "delta": {"reasoningContent": {"text": "think"}},
            }
        },
        stop_block(0),
        text("Checking.", 1),
        stop_block(1),
        {
            "contentBlockStart": {
                "contentBlockIndex": 2,
                "start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}},
            }
        },
        {
            "contentBlockDelta": {
                "contentBlockIndex": 2,
                "delta": {"toolUse": {"input": '{"city": "Paris"}'}},
            }
        },
        stop_block(2),
        {
            "contentBlockStart": {
                "contentBlockIndex": 3,
                "start": {"toolUse": {"toolUseId": "t2", "name": "get_time"}},
            }
        },
        # complete JSON, but the block never ends: not a call to run
        {
            "contentBlockDelta": {
                "contentBlockIndex": 3,
                "delta": {"toolUse": {"input": '{"zone": "CET"}'}},
            }
        },
        metadata(9),
        ExceptionFrame("modelStreamErrorException", "cut"),
    ]
    server.enqueue(failing_after(events, len(events) - 1))
    _, error = stream_until_error(model_on(server, waits))
    partial = error.partial_message
    assert partial is not None
    assert [c["id"] for c in partial.tool_calls] == ["t1"]
    assert partial.tool_calls[0]["args"] == {"city": "Paris"}
    assert [c["id"] for c in partial.invalid_tool_calls] == ["t2"]
    assert "complete" in (partial.invalid_tool_calls[0]["error"] or "")
    assert partial.text == "Checking."
    assert any(b["type"] == "reasoning" for b in partial.content_blocks)
    assert partial.usage_metadata is not None and partial.usage_metadata["output_tokens"] == 9
    assert error.partial_response is not None


def test_mid_stream_timeout_carries_partial(server: BedrockWireServer, waits: Waits) -> None:
    # messageStart and the first text arrive together; the rest comes far too late.
    server.enqueue(StreamReply(text_events(["early", "late"]), batch=2, delay=30))
    seen, error = stream_until_error(model_on(server, waits, timeout=0.3))
    assert isinstance(error, ModelTimeoutError)
    assert "".join(seen) == "early"
    assert error.partial_message is not None and error.partial_message.text == "early"
    assert len(server.requests) == 1


# --- no duplicated, no lost output ------------------------------------------------------------


@pytest.mark.parametrize("chunking", ["burst", "event"])
@pytest.mark.parametrize("cut", ["drop", "exception", "crc"])
def test_no_duplicate_or_lost_tokens_around_a_failure(
    server: BedrockWireServer, waits: Waits, chunking: str, cut: str
) -> None:
    pieces = [f"w{i} " for i in range(40)]
    events: list[Any] = [start(), *(text(p) for p in pieces)]
    sent = 25  # text events the server gets out intact before the failure
    if cut == "drop":
        reply = StreamReply(events, drop_after=1 + sent, batch=4)
    elif cut == "exception":
        failed = [*events[: 1 + sent], ExceptionFrame("internalServerException", "x")]
        reply = failing_after(failed, 20)  # frames 20-25 arrive with the failure
    else:
        reply = failing_after(events[:40], 20, corrupt_crc_at=1 + sent)
    # A retried failure first: nothing from it may show up either.
    server.enqueue(StreamReply([start(), ExceptionFrame("throttlingException", "first")]), reply)
    seen, error = stream_until_error(model_on(server, waits, stream_chunking=chunking))
    expected = "".join(pieces[:sent])
    assert error.partial_message is not None
    assert error.partial_message.text == "".join(seen)  # the caller saw all there is
    # Intact frames read together with a corrupt one are decoded and delivered too.
    assert "".join(seen) == expected
    assert len(server.requests) == 2


# --- retries: limits, logging, Retry-After, the total-time budget ----------------------------


def test_retries_exhausted_raise_typed_error_with_attempts_logged(
    server: BedrockWireServer, waits: Waits, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_bedrock_stream")
    server.enqueue(*[ErrorReply(503, "ServiceUnavailableException", "busy")] * 5)
    with pytest.raises(BedrockAPIError) as caught:
        collect(model_on(server, waits, retries=3))
    error = caught.value
    assert isinstance(error, ModelAPIError)
    assert error.is_retryable
    assert error.attempts == 4
    assert error.status_code == 503
    assert error.code == "ServiceUnavailableException"
    assert "gave up after 4 attempts" in str(error)
    assert isinstance(error.__cause__, ClientError)
    assert len(server.requests) == 4
    assert len(waits.seconds) == 3
    assert [r.bedrock_attempt for r in retry_records(caplog)] == [1, 2, 3]  # type: ignore[attr-defined]
    final = [r for r in caplog.records if getattr(r, "bedrock_attempts", None) == 4]
    assert len(final) == 1 and "busy" in final[0].getMessage()


def test_max_retries_zero_means_one_request(server: BedrockWireServer, waits: Waits) -> None:
    server.enqueue(*[ErrorReply(429, "ThrottlingException", "slow")] * 3)
    with pytest.raises(BedrockRateLimitError):
        collect(model_on(server, waits, retry_policy=RetryPolicy(sleep=waits), max_retries=0))
    assert len(server.requests) == 1
    assert waits.seconds == []


def test_max_retries_counts_every_request_botocore_does_not_add_any(
    server: BedrockWireServer, waits: Waits
) -> None:
    server.enqueue(*[ErrorReply(429, "ThrottlingException", "slow")] * 10)
    with pytest.raises(ModelRateLimitError):
        collect(model_on(server, waits, retries=2))
    assert len(server.requests) == 3
    # Each was botocore's first and only attempt (botocore < 1.44 leaves out "; max=1").
    assert {r.headers["amz-sdk-request"].split(";")[0] for r in server.requests} == {"attempt=1"}


def test_retry_after_is_honoured(server: BedrockWireServer, waits: Waits) -> None:
    server.enqueue(
        ErrorReply(429, "ThrottlingException", "slow", retry_after=2.5),
        StreamReply(text_events(["ok"])),
    )
    collect(model_on(server, waits))
    assert waits.seconds == [2.5]


def test_retry_after_beyond_the_time_budget_stops_retrying(
    server: BedrockWireServer, waits: Waits
) -> None:
    server.enqueue(
        ErrorReply(429, "ThrottlingException", "slow", retry_after=120),
        StreamReply(text_events(["too late"])),
    )
    policy = RetryPolicy(max_elapsed=10, sleep=waits)
    with pytest.raises(BedrockRateLimitError) as caught:
        collect(model_on(server, retry_policy=policy))
    assert caught.value.retry_after == 120
    assert waits.seconds == []
    assert len(server.requests) == 1


def test_backoff_is_exponential_capped_and_jittered_below_the_cap() -> None:
    exact = RetryPolicy(initial_delay=1, max_delay=8, jitter=False)
    assert [exact.compute_wait(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    jittered = RetryPolicy(initial_delay=1, max_delay=8)
    for n in range(1, 7):
        assert 0 <= jittered.compute_wait(n) <= exact.compute_wait(n)
    hinted = BedrockRateLimitError("slow", retry_after=30)
    assert exact.compute_wait(1, hinted) == 30
    assert exact.compute_wait(5, BedrockRateLimitError("slow", retry_after=0.1)) == 8


def test_non_retryable_errors_are_not_retried(server: BedrockWireServer, waits: Waits) -> None:
    server.enqueue(
        ErrorReply(400, "ValidationException", "bad field"), StreamReply(text_events(["never"]))
    )
    with pytest.raises(ModelInvalidRequestError):
        collect(model_on(server, waits))
    assert len(server.requests) == 1


# --- one retry layer: ours, or botocore's when the caller configured it -----------------------


@pytest.fixture
def no_botocore_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore sleeps for real between its own retries; make those sleeps zero."""
    from botocore.retries import standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)


def test_user_config_retries_make_ours_step_aside(
    server: BedrockWireServer, waits: Waits, no_botocore_backoff: None
) -> None:
    config = Config(retries={"total_max_attempts": 2, "mode": "standard"})
    model = ChatBedrockStream(
        model=MODEL, region_name=REGION, endpoint_url=server.endpoint_url, config=config
    )
    assert model._policy().max_retries == 0
    server.enqueue(
        ErrorReply(429, "ThrottlingException", "slow"),
        StreamReply(text_events(["botocore retried"])),
    )
    assert "".join(c.text for c in model.stream("hi")) == "botocore retried"
    assert len(server.requests) == 2  # botocore's retry

    server.enqueue(*[ErrorReply(429, "ThrottlingException", "slow")] * 10)
    with pytest.raises(BedrockRateLimitError):
        collect(model)
    assert len(server.requests) == 4  # 2 more: botocore's 2 attempts, none multiplied by ours


def test_user_config_retries_with_explicit_max_retries_is_refused(
    server: BedrockWireServer,
) -> None:
    model = ChatBedrockStream(
        model=MODEL,
        region_name=REGION,
        endpoint_url=server.endpoint_url,
        config=Config(retries={"max_attempts": 5}),
        max_retries=2,
    )
    with pytest.raises(ValueError, match="two retry layers"):
        collect(model)
    assert server.requests == []


def test_resolve_policy_rules() -> None:
    assert resolve_policy(None).max_retries == 3
    assert resolve_policy(None, max_retries=5).max_retries == 5
    assert resolve_policy(RetryPolicy(max_retries=1), max_retries=4).max_retries == 4
    off = Config(retries={"total_max_attempts": 1})
    assert resolve_policy(None, max_retries=2, config=off).max_retries == 2
    assert resolve_policy(None, config=Config(read_timeout=5)).max_retries == 3
    on = Config(retries={"mode": "adaptive"})
    assert resolve_policy(None, config=on).max_retries == 0
    assert resolve_policy(None, max_retries=0, config=on).max_retries == 0
    with pytest.raises(ValueError):
        resolve_policy(RetryPolicy(max_retries=2), config=on)
    default_client = boto3.client("bedrock-runtime", region_name="us-east-1")
    assert resolve_policy(None, client=default_client).max_retries == 0
    quiet_client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", config=Config(retries={"max_attempts": 0})
    )
    assert resolve_policy(None, client=quiet_client).max_retries == 3


def test_a_supplied_client_keeps_its_own_retries(
    server: BedrockWireServer, no_botocore_backoff: None
) -> None:
    own = Config(retries={"mode": "standard", "total_max_attempts": 4})
    client = boto3.client(
        "bedrock-runtime", region_name=REGION, endpoint_url=server.endpoint_url, config=own
    )
    model = ChatBedrockStream(model=MODEL, client=client)
    server.enqueue(*[ErrorReply(503, "ServiceUnavailableException", "busy")] * 10)
    with pytest.raises(BedrockAPIError):
        collect(model)
    assert len(server.requests) == 4  # the client's own 4 attempts, none of ours on top


# --- cancellation ----------------------------------------------------------------------------


def test_breaking_out_of_stream_closes_the_connection(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(text_events([f"t{i} " for i in range(500)]), delay=0.01))
    for chunk in model_on(server).stream("long"):
        assert chunk.text.startswith("t0 ")
        break
    assert server.wait_for_disconnect(timeout=5)
    assert reader_threads() == []


def test_closing_the_generator_closes_the_connection(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(text_events([f"t{i} " for i in range(500)]), delay=0.01))
    stream = model_on(server).stream("long")
    next(stream)
    stream.close()
    assert server.wait_for_disconnect(timeout=5)


async def _wait_for_no_readers() -> list[str]:
    for _ in range(250):
        left = reader_threads()
        if not left:
            break
        await asyncio.sleep(0.02)
    return left


async def test_cancelled_astream_closes_the_connection_and_ends_its_thread(
    server: BedrockWireServer,
) -> None:
    server.enqueue(StreamReply(text_events([f"t{i} " for i in range(500)]), delay=0.01))
    got: list[str] = []

    async def consume() -> None:
        async for chunk in model_on(server).astream("long"):
            got.append(chunk.text)

    task = asyncio.create_task(consume())
    while len(got) < 3:
        await asyncio.sleep(0.005)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(server.wait_for_disconnect, 5)
    assert await _wait_for_no_readers() == []
    assert len(got) < 100


async def test_cancelling_during_a_retry_wait_ends_the_thread(server: BedrockWireServer) -> None:
    server.enqueue(ErrorReply(429, "ThrottlingException", "slow", retry_after=300))
    model = model_on(server, retry_policy=RetryPolicy(max_elapsed=1000))  # a real, long wait

    async def consume() -> None:
        async for _ in model.astream("hi"):
            pass

    task = asyncio.create_task(consume())
    assert await asyncio.to_thread(server.wait_for_requests, 1, 5)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _wait_for_no_readers() == []
    assert len(server.requests) == 1


def test_many_calls_share_one_client(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Any] = []
    original = chat_model_module.build_client

    def counting(settings: Any) -> Any:
        client = original(settings)
        built.append(client)
        return client

    monkeypatch.setattr(chat_model_module, "build_client", counting)

    def respond(request: Any) -> Any:
        prompt = request.body["messages"][0]["content"][0]["text"]
        if request.operation == "converse-stream":
            return StreamReply(text_events([prompt]))
        return JsonReply(simulated_converse_response(request.body))

    with BedrockWireServer(responder=respond) as server:
        model = model_on(server)

        def one(i: int) -> str:
            if i % 2:
                return str(model.invoke(f"q{i}").text)
            return "".join(c.text for c in model.stream(f"q{i}"))

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(one, range(48)))

        async def more() -> list[str]:
            async def run(i: int) -> str:
                return "".join([c.text async for c in model.astream(f"a{i}")])

            return await asyncio.gather(*(run(i) for i in range(16)))

        assert asyncio.run(more()) == [f"a{i}" for i in range(16)]
        assert len(server.requests) == 48 + 16
    assert [r for i, r in enumerate(results) if i % 2 == 0] == [f"q{i}" for i in range(0, 48, 2)]
    assert all(f"q{i}" in r for i, r in enumerate(results) if i % 2)
    assert len(built) == 1
    assert model._get_client() is built[0]
    assert built[0].meta.config.max_pool_connections >= 64


# --- unknown kinds are tolerated ------------------------------------------------------------


def test_unknown_events_blocks_and_delta_members_never_crash(server: BedrockWireServer) -> None:
    events = [
        start(),
        {"futureEvent": {"detail": 1}},
        {"contentBlockStart": {"contentBlockIndex": 0, "start": {"hologram": {"id": "h"}}}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"hologram": {"frame": 1}}}},
        stop_block(0),
        text("still ", 1),
        {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"text": "fine", "sparkle": True}}},
        stop_block(1),
        message_stop(),
        {
            "metadata": {
                "usage": {"inputTokens": 1, "outputTokens": 2, "totalTokens": 3},
                "futureMetric": 5,
            }
        },
    ]
    server.enqueue(StreamReply(events))
    chunks = collect(model_on(server))
    assert "".join(c.text for c in chunks) == "still fine"
    last = chunks[-1]
    assert last.chunk_position == "last"
    extras = last.response_metadata["extras"]
    assert extras["unknown_events"] == [{"futureEvent": {"detail": 1}}]
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    assert any(b.get("type") == "non_standard" for b in whole.content if isinstance(b, dict))


# --- bad input: rejected with zero requests sent ---------------------------------------------


def _weather(city: str) -> str:
    """Weather for a city."""
    return city


BAD_INPUTS: dict[str, tuple[Any, dict[str, Any], type[Exception], str]] = {
    "empty message list": ([], {}, ValueError, "empty"),
    "unknown content block": (
        [HumanMessage(content=[{"type": "hologram", "data": "x"}])],
        {},
        InputConversionError,
        "hologram",
    ),
    "tool result without a tool call": (
        [HumanMessage("hi"), ToolMessage("sunny", tool_call_id="call_missing")],
        {},
        InputConversionError,
        "call_missing",
    ),
    "tool result for another call": (
        [
            HumanMessage("hi"),
            AIMessage("", tool_calls=[{"name": "_weather", "args": {"city": "P"}, "id": "a1"}]),
            ToolMessage("sunny", tool_call_id="b2"),
        ],
        {},
        InputConversionError,
        "b2",
    ),
    "malformed tool schema": (
        "hi",
        {"tools": [{"name": "broken", "description": "d", "parameters": "not a schema"}]},
        ValueError,
        "broken",
    ),
    "unsupported parameter": ("hi", {"frobnicate": 1}, TypeError, "frobnicate"),
}


@pytest.mark.parametrize("how", ["stream", "invoke", "astream"])
@pytest.mark.parametrize("case", list(BAD_INPUTS))
async def test_bad_input_is_rejected_before_any_request(
    server: BedrockWireServer, case: str, how: str
) -> None:
    prompt, kwargs, error, named = BAD_INPUTS[case]
    model = model_on(server)
    with pytest.raises(error, match=named):
        if how == "stream":
            list(model.stream(prompt, **kwargs))
        elif how == "invoke":
            model.invoke(prompt, **kwargs)
        else:
            async for _ in model.astream(prompt, **kwargs):
                pass
    assert server.requests == []


def test_matching_tool_results_still_pass(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(text_events(["done"])))
    history = [
        HumanMessage("weather?"),
        AIMessage("", tool_calls=[{"name": "_weather", "args": {"city": "P"}, "id": "a1"}]),
        ToolMessage("sunny", tool_call_id="a1"),
    ]
    chunks = collect(model_on(server).bind_tools([_weather]), history)  # type: ignore[arg-type]
    assert "".join(c.text for c in chunks) == "done"


# --- typed errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            ErrorReply(400, "ValidationException", "messages: field required"),
            ModelInvalidRequestError,
        ),
        (
            ErrorReply(400, "ValidationException", "Input is too long for requested model."),
            ContextOverflowError,
        ),
        (
            ErrorReply(403, "AccessDeniedException", "no access to this model"),
            ModelPermissionDeniedError,
        ),
        (
            ErrorReply(403, "UnrecognizedClientException", "The security token is invalid."),
            ModelAuthenticationError,
        ),
        (ErrorReply(404, "ResourceNotFoundException", "model not found"), ModelNotFoundError),
        (ErrorReply(429, "ThrottlingException", "slow"), ModelRateLimitError),
        (ErrorReply(500, "InternalServerException", "oops"), ModelAPIError),
        (ErrorReply(408, "ModelTimeoutException", "too slow"), ModelTimeoutError),
    ],
    ids=lambda v: v.error_type + str(v.status) if isinstance(v, ErrorReply) else v.__name__,
)
@pytest.mark.parametrize("streaming", [True, False])
def test_http_errors_map_to_langchain_types_with_context(
    server: BedrockWireServer, reply: ErrorReply, expected: type[Exception], streaming: bool
) -> None:
    server.enqueue(reply)
    model = model_on(server, retries=0)
    with pytest.raises(expected) as caught:
        if streaming:
            collect(model)
        else:
            model.invoke("hi")
    error = caught.value
    assert isinstance(error, BedrockError) and isinstance(error, ClientError)
    assert error.code == reply.error_type
    assert error.status_code == reply.status
    assert error.request_id and error.model_id == MODEL and error.region == REGION
    message = str(error)
    for part in (
        reply.error_type,
        str(reply.status),
        error.request_id,
        MODEL,
        REGION,
        reply.message,
    ):
        assert part in message
    assert isinstance(error.__cause__, ClientError)
    assert error.response["Error"]["Code"] == reply.error_type


# --- resume_on_stream_error --------------------------------------------------------------------


def continuation(pieces: list[str]) -> StreamReply:
    return StreamReply(text_events(pieces))


def test_resume_is_off_by_default(server: BedrockWireServer, waits: Waits) -> None:
    server.enqueue(StreamReply([start(), text("half")], drop_after=2), continuation(["rest"]))
    with pytest.raises(BedrockConnectionError):
        collect(model_on(server, waits))
    assert len(server.requests) == 1


@pytest.mark.parametrize("cut", ["drop", "truncated", "exception"])
def test_resume_stitches_the_continuation_without_repeating(
    server: BedrockWireServer, waits: Waits, cut: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_bedrock_stream")
    head = [start(), text("The quick "), text("brown ")]
    if cut == "drop":
        first = StreamReply([*head, text("never sent")], drop_after=3, delay=0.002)
    elif cut == "truncated":
        first = StreamReply(head, delay=0.002)
    else:
        first = failing_after([*head, ExceptionFrame("modelStreamErrorException", "hiccup")], 3)
    # The model continues after the prefill "The quick brown" and repeats the space.
    server.enqueue(first, continuation([" fox ", "jumps."]))
    model = model_on(server, waits, resume_on_stream_error=True)
    chunks = collect(model, "Say the sentence.")
    assert "".join(c.text for c in chunks) == "The quick brown fox jumps."
    assert len(server.requests) == 2
    assert server.requests[1].body["messages"] == [
        {"role": "user", "content": [{"text": "Say the sentence."}]},
        {"role": "assistant", "content": [{"text": "The quick brown"}]},
    ]
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole = whole + chunk
    assert whole.text == "The quick brown fox jumps."
    assert whole.content_blocks[0]["type"] == "text"
    assert len([b for b in whole.content_blocks if b["type"] == "text"]) == 1
    last = chunks[-1]
    assert last.response_metadata["stopReason"] == "end_turn"
    (resumed,) = last.response_metadata["extras"]["resumed"]
    assert resumed["prefill_chars"] == len("The quick brown ")
    assert last.usage_metadata is not None
    assert any(getattr(r, "bedrock_resume", None) == 1 for r in caplog.records)


def test_resume_through_invoke_and_astream(server: BedrockWireServer, waits: Waits) -> None:
    server.enqueue(StreamReply([start(), text("Hello")], drop_after=2), continuation([", world"]))
    model = model_on(server, waits, resume_on_stream_error=True, streaming=True)
    assert model.invoke("greet").content == "Hello, world"

    server.enqueue(StreamReply([start(), text("Hello")], drop_after=2), continuation([" again"]))

    async def run() -> str:
        return "".join([c.text async for c in model.astream("greet")])

    assert asyncio.run(run()) == "Hello again"


def test_resume_appends_to_the_callers_own_prefill(server: BedrockWireServer, waits: Waits) -> None:
    server.enqueue(StreamReply([start(), text(" 4")], drop_after=2), continuation(["2."]))
    model = model_on(server, waits, resume_on_stream_error=True)
    chunks = collect(model, [HumanMessage("6 x 7?"), AIMessage("Answer:")])
    assert "".join(c.text for c in chunks) == " 42."
    assert server.requests[1].body["messages"][-1] == {
        "role": "assistant",
        "content": [{"text": "Answer: 4"}],
    }


def test_resume_is_not_attempted_after_a_tool_call(server: BedrockWireServer, waits: Waits) -> None:
    events = [
        start(),
        text("Let me check."),
        stop_block(0),
        {
            "contentBlockStart": {
                "contentBlockIndex": 1,
                "start": {"toolUse": {"toolUseId": "t1", "name": "_weather"}},
            }
        },
        {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"ci'}}}},
    ]
    server.enqueue(StreamReply(events, drop_after=len(events)), continuation(["never"]))
    model = model_on(server, waits, resume_on_stream_error=True).bind_tools([_weather])
    with pytest.raises(BedrockConnectionError) as caught:
        list(model.stream("weather?"))
    assert len(server.requests) == 1
    partial = caught.value.partial_message
    assert partial is not None and partial.text == "Let me check."
    assert partial.tool_calls == [] and partial.invalid_tool_calls[0]["id"] == "t1"


def test_resume_is_not_attempted_for_a_non_transient_error(
    server: BedrockWireServer, waits: Waits
) -> None:
    server.enqueue(
        StreamReply([start(), text("x"), ExceptionFrame("validationException", "no")]),
        continuation(["never"]),
    )
    with pytest.raises(ModelInvalidRequestError) as caught:
        collect(model_on(server, waits, resume_on_stream_error=True))
    assert caught.value.partial_message is not None
    assert len(server.requests) == 1


def test_a_failed_resume_raises_with_everything_received(
    server: BedrockWireServer, waits: Waits
) -> None:
    server.enqueue(
        StreamReply([start(), text("one ")], drop_after=2),
        StreamReply([start(), text("two "), text("three")], drop_after=2),
        StreamReply([ExceptionFrame("validationException", "prefill not supported")]),
    )
    model = model_on(server, waits, retries=2, resume_on_stream_error=True)
    seen, error = stream_until_error(model)
    assert isinstance(error, ModelInvalidRequestError)
    assert "".join(seen) == "one two "
    assert error.partial_message is not None and error.partial_message.text == "one two "
    assert [m["content"] for m in server.requests[2].body["messages"][1:]] == [
        [{"text": "one two"}]
    ]


def test_resumes_are_bounded(server: BedrockWireServer, waits: Waits) -> None:
    server.enqueue(
        StreamReply([start(), text("a")], drop_after=2),
        StreamReply([start(), text("b")], drop_after=2),
        StreamReply([start(), text("c")], drop_after=2),
    )
    model = model_on(server, waits, retries=1, resume_on_stream_error=True)
    seen, error = stream_until_error(model)
    assert isinstance(error, BedrockConnectionError)
    assert "".join(seen) == "ab"
    assert error.partial_message is not None and error.partial_message.text == "ab"
    assert len(server.requests) == 2
