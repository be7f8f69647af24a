"""One boundary: what leaves a call is a ``BedrockError`` or a documented pass-through.

``map_errors`` is checked against each kind of foreign failure, then the public API is
driven into failures no scripted Bedrock reply produces (a botocore hook that raises, a
Converse answer of the wrong shape), and the parts of the retry contract that depend on
how an error is read: ``Retry-After`` as an HTTP date, a server-side code answered with a
client-error status, and errors that survive pickling with everything they carry.
"""

from __future__ import annotations

import asyncio
import pickle
import ssl
from collections.abc import Iterator
from typing import Any

import botocore.exceptions as _botocore
import pytest
import urllib3.exceptions as _urllib3
from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    IncompleteReadError,
    NoRegionError,
    ParamValidationError,
    ProfileNotFound,
    ReadTimeoutError,
    ResponseStreamingError,
)
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage
from urllib3.exceptions import ProtocolError

from langchain_bedrock_stream import (
    BedrockAPIError,
    BedrockAuthenticationError,
    BedrockConnectionError,
    BedrockError,
    BedrockInvalidRequestError,
    BedrockRateLimitError,
    BedrockTimeoutError,
    ChatBedrockStream,
    InputConversionError,
    StreamIntegrityError,
)
from langchain_bedrock_stream._accumulator import MalformedEvent
from langchain_bedrock_stream._error_boundary import map_errors
from langchain_bedrock_stream._retry import RetryPolicy
from langchain_bedrock_stream._wire import ExceptionFrameError, FrameError
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    ErrorReply,
    ExceptionFrame,
    JsonReply,
    StreamReply,
)
from tests.support import events
from tests.support.raw_http import RawReply, RawServer, events_reply

pytestmark = pytest.mark.timeout(120)

MODEL = "us.amazon.nova-micro-v1:0"


class Waits:
    """A ``sleep`` hook that records the waits asked for, and never sleeps."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def model_on(url: str, waits: Waits | None = None, retries: int = 2, **kwargs: Any) -> Any:
    policy = RetryPolicy(
        max_retries=retries, initial_delay=0.001, max_delay=0.002, sleep=waits or Waits()
    )
    return ChatBedrockStream(
        model=MODEL, region_name="us-east-1", endpoint_url=url, retry_policy=policy, **kwargs
    )


@pytest.fixture
def server() -> Iterator[BedrockWireServer]:
    with BedrockWireServer() as running:
        yield running


# --- the crossing itself -------------------------------------------------------------------------


def _client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": "m"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
        },
        "ConverseStream",
    )


MAPPED: list[tuple[str, BaseException, type[BedrockError]]] = [
    ("KeyError", KeyError("contentBlockIndex"), StreamIntegrityError),
    ("TypeError", TypeError("unsupported operand"), StreamIntegrityError),
    ("AttributeError", AttributeError("'str' has no attribute 'get'"), StreamIntegrityError),
    ("plain ValueError", ValueError("invalid literal for int()"), StreamIntegrityError),
    (
        "UnicodeDecodeError",
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
        StreamIntegrityError,
    ),
    ("FrameError", FrameError("prelude CRC mismatch"), StreamIntegrityError),
    ("MalformedEvent", MalformedEvent("metadata", "usage", "x", "an object"), StreamIntegrityError),
    ("read timeout", ReadTimeoutError(endpoint_url="http://x"), BedrockTimeoutError),
    ("urllib3 protocol", ProtocolError("Connection broken"), BedrockConnectionError),
    ("streaming error", ResponseStreamingError(error="reset"), BedrockConnectionError),
    (
        "incomplete read",
        IncompleteReadError(actual_bytes=1, expected_bytes=2),
        BedrockConnectionError,
    ),
    (
        "credentials",
        CredentialRetrievalError(provider="sso", error_msg="expired"),
        BedrockAuthenticationError,
    ),
    (
        "throttled frame",
        ExceptionFrameError("throttlingException", "slow", {}),
        BedrockRateLimitError,
    ),
    ("429", _client_error("ThrottlingException", 429), BedrockRateLimitError),
    ("model error 400", _client_error("ModelErrorException", 400), BedrockInvalidRequestError),
    ("model error 424", _client_error("ModelErrorException", 424), BedrockAPIError),
    ("connection reset", ConnectionResetError(104, "reset"), BedrockConnectionError),
    # Everything else the two transports raise: botocore's (the blocking path, and the
    # event-loop client raises the same classes), asyncio's, ssl's and the OS's.
    (
        "endpoint",
        _botocore.EndpointConnectionError(endpoint_url="http://x"),
        BedrockConnectionError,
    ),
    (
        "connect timeout",
        _botocore.ConnectTimeoutError(endpoint_url="http://x"),
        BedrockTimeoutError,
    ),
    ("proxy", _botocore.ProxyConnectionError(proxy_url="http://p"), BedrockConnectionError),
    ("tls", _botocore.SSLError(endpoint_url="http://x", error="EOF"), BedrockConnectionError),
    ("closed", _botocore.ConnectionClosedError(endpoint_url="http://x"), BedrockConnectionError),
    ("asyncio timeout", TimeoutError("no data for 1 s"), BedrockTimeoutError),
    ("asyncio incomplete", asyncio.IncompleteReadError(b"ab", 10), BedrockConnectionError),
    (
        "ssl eof",
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
        BedrockConnectionError,
    ),
    ("ssl", ssl.SSLError(1, "record layer failure"), BedrockConnectionError),
    ("broken pipe", BrokenPipeError(32, "Broken pipe"), BedrockConnectionError),
    ("unreachable", OSError(101, "Network is unreachable"), BedrockConnectionError),
    (
        "urllib3 new connection",
        _urllib3.NewConnectionError(None, "refused"),
        BedrockConnectionError,
    ),
    (
        "urllib3 read timeout",
        _urllib3.ReadTimeoutError(None, "/", "timed out"),
        BedrockTimeoutError,
    ),
]


@pytest.mark.parametrize(("error", "expected"), [c[1:] for c in MAPPED], ids=[c[0] for c in MAPPED])
def test_foreign_failures_leave_as_bedrock_errors_chained_to_the_original(
    error: BaseException, expected: type[BedrockError]
) -> None:
    boundary = map_errors(model_id=MODEL, region="us-east-1", request_id=lambda: "rid-1")
    with pytest.raises(BedrockError) as caught, boundary:
        raise error
    mapped = caught.value
    # Service errors are also ClientErrors, transport failures also botocore's class for them.
    assert type(mapped) is expected or (
        isinstance(mapped, expected)
        and (type(mapped).__name__.startswith("_Service") or isinstance(mapped, type(error)))
    ), type(mapped)
    assert mapped.model_id == MODEL and mapped.region == "us-east-1"
    assert mapped.request_id is not None
    chain = [mapped.__cause__, getattr(mapped.__cause__, "__cause__", None)]
    assert any(link is error for link in chain)


PASSED: list[tuple[str, BaseException]] = [
    ("bad input", InputConversionError("message 0: unsupported block")),
    ("bad parameter", ParamValidationError(report="temperature must be a float")),
    ("no region", NoRegionError()),
    ("no profile", ProfileNotFound(profile="nope")),
    ("interrupt", KeyboardInterrupt()),
]


@pytest.mark.parametrize("error", [c[1] for c in PASSED], ids=[c[0] for c in PASSED])
def test_documented_pass_throughs_leave_as_themselves(error: BaseException) -> None:
    with pytest.raises(type(error)) as caught, map_errors(model_id=MODEL, region="us-east-1"):
        raise error
    assert caught.value is error


def test_a_bedrock_error_crosses_unchanged() -> None:
    original = BedrockRateLimitError("slow down", code="ThrottlingException")
    with pytest.raises(BedrockRateLimitError) as caught, map_errors(model_id=MODEL, region=None):
        raise original
    assert caught.value is original


# --- the public API, driven into failures no scripted reply produces ------------------------------


def _raise_in_hook(error: BaseException, event: str) -> Any:
    def install(model: ChatBedrockStream) -> None:
        def hook(**_: Any) -> None:
            raise error

        model._get_client().meta.events.register(event, hook)

    return install


@pytest.mark.parametrize("phase", ["before-sign", "after-call"])
@pytest.mark.parametrize("consume", ["stream", "astream", "invoke"])
def test_an_unforeseen_exception_inside_boto3_leaves_as_a_bedrock_error(
    server: BedrockWireServer, consume: str, phase: str
) -> None:
    # after-call: botocore has read the answer; before-sign: it is building the request
    # (on the event loop's path, in the signing pool), nothing has been sent.
    operation = "Converse" if consume == "invoke" else "ConverseStream"
    answer = {"output": {"message": {"role": "assistant", "content": [{"text": "hi"}]}}}
    server.enqueue(
        JsonReply(answer) if consume == "invoke" else StreamReply(events.text_events(["hi"]))
    )
    model = model_on(server.endpoint_url, retries=0)
    _raise_in_hook(KeyError("surprise"), f"{phase}.bedrock-runtime.{operation}")(model)
    with pytest.raises(BedrockError) as caught:
        if consume == "stream":
            list(model.stream("hi"))
        elif consume == "astream":

            async def drain() -> None:
                async for _ in model.astream("hi"):
                    pass

            asyncio.run(drain())
        else:
            model.invoke("hi")
    assert isinstance(caught.value, StreamIntegrityError)
    assert isinstance(caught.value.__cause__, KeyError)
    assert "KeyError during the call" in str(caught.value)
    assert "reading" not in str(caught.value)  # nothing may have been read


def test_a_converse_answer_of_the_wrong_shape_is_a_bedrock_error(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply({"output": {"message": {"role": "assistant", "content": [5, "x"]}}}))
    with pytest.raises(BedrockError) as caught:
        model_on(server.endpoint_url, retries=0).invoke("hi")
    assert isinstance(caught.value, StreamIntegrityError)


def test_botocore_parameter_errors_pass_through(server: BedrockWireServer) -> None:
    model = model_on(server.endpoint_url, performance_config={"latency": 7})  # a string
    with pytest.raises(ParamValidationError):
        list(model.stream("hi"))
    assert server.requests == []


def test_a_bad_per_call_value_is_named_before_any_request(server: BedrockWireServer) -> None:
    model = model_on(server.endpoint_url)
    with pytest.raises(ValueError, match="temperature"):
        list(model.stream("hi", temperature="hot"))  # type: ignore[arg-type]
    assert server.requests == []


def test_bad_input_passes_through_before_any_request(server: BedrockWireServer) -> None:
    model = model_on(server.endpoint_url)
    with pytest.raises(InputConversionError):
        list(model.stream([HumanMessage(content=[{"type": "hologram", "data": 1}])]))
    assert server.requests == []


class Exploding(BaseCallbackHandler):
    """A user's callback that fails: its error is the user's, never re-typed as ours."""

    raise_error = True

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        raise LookupError("the user's own bug")


def test_a_callbacks_own_error_is_not_retyped(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(events.text_events(["a", "b"])))
    model = model_on(server.endpoint_url, streaming=True)
    with pytest.raises(LookupError, match="the user's own bug"):
        model.invoke("hi", config={"callbacks": [Exploding()]})


# --- Retry-After, retryability, pickling ------------------------------------------------------


def _throttle_then_answer(retry_after: str, date: str) -> Any:
    from langchain_bedrock_stream.testing import encode_events

    replies = [
        RawReply(
            body=b'{"message": "slow down"}',
            status=429,
            headers={
                "Content-Type": "application/json",
                "x-amzn-ErrorType": "ThrottlingException",
                "Retry-After": retry_after,
                "Date": date,
                "Content-Length": "24",
            },
        ),
        events_reply(encode_events(events.text_events(["ok"]))),
    ]

    def respond(head: bytes, headers: dict[str, str]) -> RawReply:
        return replies.pop(0)

    return respond


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        ("Sun, 29 Nov 2026 12:00:07 GMT", 7.0),
        ("Sunday, 29-Nov-26 12:00:03 GMT", 3.0),
        ("4", 4.0),
    ],
)
def test_retry_after_as_an_http_date_is_honoured(retry_after: str, expected: float) -> None:
    waits = Waits()
    responder = _throttle_then_answer(retry_after, "Sun, 29 Nov 2026 12:00:00 GMT")
    with RawServer(responder) as raw:
        chunks = list(model_on(raw.endpoint_url, waits).stream("hi"))
    assert "".join(c.text for c in chunks) == "ok"
    assert waits.seconds == [expected]


def test_retry_after_in_the_past_or_garbled_falls_back_to_backoff() -> None:
    for value in ("Sun, 29 Nov 2026 11:59:00 GMT", "soon"):
        waits = Waits()
        with RawServer(_throttle_then_answer(value, "Sun, 29 Nov 2026 12:00:00 GMT")) as raw:
            list(model_on(raw.endpoint_url, waits).stream("hi"))
        assert len(waits.seconds) == 1 and waits.seconds[0] <= 0.002, value


def test_model_error_with_http_400_is_not_retried(server: BedrockWireServer) -> None:
    server.enqueue(ErrorReply(400, "ModelErrorException", "the model rejected the input"))
    waits = Waits()
    with pytest.raises(BedrockInvalidRequestError) as caught:
        list(model_on(server.endpoint_url, waits).stream("hi"))
    assert len(server.requests) == 1 and waits.seconds == []
    assert caught.value.code == "ModelErrorException" and not caught.value.is_retryable


def test_model_error_with_http_424_is_still_retried(server: BedrockWireServer) -> None:
    server.enqueue(
        ErrorReply(424, "ModelErrorException", "the model failed"),
        StreamReply(events.text_events(["ok"])),
    )
    chunks = list(model_on(server.endpoint_url).stream("hi"))
    assert "".join(c.text for c in chunks) == "ok"
    assert len(server.requests) == 2


def test_a_pickled_error_keeps_the_partial_answer_attempts_and_the_rest(
    server: BedrockWireServer,
) -> None:
    server.enqueue(
        StreamReply(
            [
                *events.text_events(["Hello", " there"])[:3],
                ExceptionFrame("modelStreamErrorException", "the model failed"),
            ]
        )
    )
    with pytest.raises(BedrockError) as caught:
        list(model_on(server.endpoint_url, retries=0).stream("hi"))
    error = caught.value
    assert error.partial_message is not None and error.attempts == 1
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert isinstance(copy, ClientError)
    assert copy.partial_message is not None
    assert copy.partial_message.text == "Hello there"
    assert copy.partial_response is not None
    assert copy.partial_response.content == [{"text": "Hello there"}]
    assert copy.attempts == 1
    for name in ("code", "status_code", "request_id", "model_id", "region", "retry_after"):
        assert getattr(copy, name) == getattr(error, name), name
    assert copy.response == error.response
    assert copy.operation_name == error.operation_name
    assert str(copy) == str(error)


def _tls_failure(reason: BaseException) -> BaseException:
    """What botocore raises for a TLS failure: its ``SSLError`` around urllib3's."""
    import urllib3.exceptions
    from botocore.exceptions import SSLError as BotocoreSSLError

    wrapped = urllib3.exceptions.SSLError(reason)
    wrapped.__cause__ = reason
    return BotocoreSSLError(
        endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com", error=wrapped
    )


def test_a_tls_eof_or_reset_is_retried_and_a_rejected_certificate_is_final() -> None:
    # botocore retries every SSLError; a certificate that failed verification fails the
    # same way on every attempt, so only that one is final here.
    import ssl

    from langchain_bedrock_stream import BedrockConnectionError
    from langchain_bedrock_stream._error_boundary import translate as map_error

    eof = ssl.SSLEOFError(8, "EOF occurred in violation of protocol (_ssl.c:2427)")
    reset = ssl.SSLError(1, "[SSL: DECRYPTION_FAILED_OR_BAD_RECORD_MAC] bad record mac")
    rejected = ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
    )
    for reason, retried in ((eof, True), (reset, True), (rejected, False)):
        mapped = map_error(_tls_failure(reason), model_id="m", region="us-east-1")
        assert isinstance(mapped, BedrockConnectionError)
        assert mapped.is_retryable is retried, reason
