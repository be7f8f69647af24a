"""boto3 client construction, the retry policy, and the two calls: Converse and ConverseStream.

One direction of data: a request dict goes out through boto3 (signing, endpoint, HTTP);
what comes back is read as raw event-stream bytes, decoded by ``_wire`` and folded by the
accumulator. Retries (tenacity) cover only what happens before the first content reaches
the caller; after that an error is raised with the partial answer attached, never retried,
so no token is ever repeated.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity import stop_after_delay as _stop_after_delay

from ._wire import ExceptionFrameError, FrameDecoder, FrameError, iter_events
from .errors import BedrockError, StreamIntegrityError, map_error
from .stream import BedrockStream, Delta, StreamResponse

__all__ = ["ClientSettings", "RetryPolicy", "StreamHandle", "build_client", "converse",
           "converse_stream"]

logger = logging.getLogger("langchain_bedrock_stream")

_READ_SIZE = 65536
_CONTENT_DELTAS = frozenset(
    {
        "TextDelta",
        "ReasoningDelta",
        "CitationDelta",
        "ToolUseStarted",
        "ToolInputDelta",
        "ToolResultStarted",
        "ToolResultDelta",
        "ImageStarted",
        "ImageDelta",
        "UnknownDelta",
    }
)


@dataclass(frozen=True)
class ClientSettings:
    """What a boto3 ``bedrock-runtime`` client is built from (no secrets in ``repr``)."""

    region_name: str | None = None
    profile_name: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None
    config: Config | None = None
    timeout: float | None = None
    max_pool_connections: int = 256


def build_client(settings: ClientSettings) -> Any:
    """A ``bedrock-runtime`` client; botocore's own retries off (ours run instead).

    Only touches the network when a request is made.
    """
    session = boto3.Session(
        profile_name=settings.profile_name,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        aws_session_token=settings.aws_session_token,
    )
    ours: dict[str, Any] = {
        "max_pool_connections": settings.max_pool_connections,
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "user_agent_extra": "langchain-bedrock-stream",
    }
    if settings.timeout is not None:
        ours["read_timeout"] = settings.timeout
        ours["connect_timeout"] = min(settings.timeout, 60)
    config = Config(**ours)
    if settings.config is not None:
        config = config.merge(settings.config)
    region = settings.region_name or session.region_name or "us-east-1"
    return session.client(
        "bedrock-runtime", region_name=region, endpoint_url=settings.endpoint_url, config=config
    )


# --- retries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and total time.

    ``max_retries`` counts retries after the first attempt. A ``Retry-After`` hint from
    Bedrock is honoured as a lower bound for the next wait.
    """

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 20.0
    max_elapsed: float = 60.0

    def wait(self, state: RetryCallState) -> float:
        """Seconds to sleep before the next attempt."""
        ceiling = min(self.max_delay, self.initial_delay * (2 ** (state.attempt_number - 1)))
        delay = random.uniform(0, ceiling)
        error = state.outcome.exception() if state.outcome else None
        hint = getattr(error, "retry_after", None)
        if isinstance(hint, (int, float)) and hint > delay:
            delay = min(float(hint), self.max_delay)
        return delay

    def retrying(self, what: str) -> Retrying:
        """A tenacity ``Retrying`` for one call; logs each retry with reason and attempt."""

        def log(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            logger.warning(
                "retrying %s after attempt %d/%d failed: %s",
                what,
                state.attempt_number,
                self.max_retries + 1,
                error,
            )

        return Retrying(
            retry=retry_if_exception(lambda e: bool(getattr(e, "is_retryable", False))),
            stop=stop_after_attempt(self.max_retries + 1) | _stop_after_delay(self.max_elapsed),
            wait=self.wait,
            before_sleep=log,
            reraise=True,
        )


# --- Converse ------------------------------------------------------------------------------


def converse(
    client: Any,
    request: Mapping[str, Any],
    *,
    policy: RetryPolicy,
    region: str | None,
) -> tuple[StreamResponse, str | None]:
    """One Converse call (with retries) -> the answer and the request id."""
    model_id = request.get("modelId")

    def call() -> dict[str, Any]:
        try:
            return dict(client.converse(**request))
        except Exception as exc:
            mapped = map_error(exc, model_id=model_id, region=region)
            if mapped is exc:
                raise
            raise mapped from exc

    raw = policy.retrying(f"Converse {model_id}")(call)
    request_id = (raw.get("ResponseMetadata") or {}).get("RequestId")
    return StreamResponse.from_converse(raw), request_id


# --- ConverseStream ------------------------------------------------------------------------


class StreamHandle:
    """The open HTTP response of one ConverseStream call; ``cancel()`` from any thread.

    Cancelling shuts the socket down, which wakes a reader blocked in ``recv`` and makes
    the server see the client leave.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._raw: Any = None
        self.cancelled = False
        self.request_id: str | None = None

    def attach(self, raw: Any) -> None:
        """Remember the response to close; closes it at once if already cancelled."""
        with self._lock:
            self._raw = raw
            cancelled = self.cancelled
        if cancelled:
            _close(raw)

    def cancel(self) -> None:
        """Stop reading and close the connection (idempotent, thread-safe)."""
        with self._lock:
            self.cancelled = True
            raw, self._raw = self._raw, None
        if raw is not None:
            _close(raw)

    def release(self) -> None:
        """Close the response after a normal end."""
        with self._lock:
            raw, self._raw = self._raw, None
        if raw is not None:
            _close(raw)


def _close(raw: Any) -> None:
    shutdown = getattr(raw, "shutdown", None)
    try:
        if shutdown is not None:
            shutdown()
    except Exception:  # noqa: S110 - best effort; close() below is what matters
        pass
    try:
        raw.close()
    except Exception:  # noqa: S110
        pass


def _read_raw(raw: Any) -> Iterator[bytes]:
    """Whatever bytes have arrived, as soon as they arrive (one ``recv`` per read)."""
    read1 = getattr(raw, "read1", None)
    if read1 is not None:
        while True:
            data = read1(_READ_SIZE)
            if not data:
                return
            yield data
    else:  # pragma: no cover - every supported urllib3 has read1
        yield from raw.stream(_READ_SIZE)


@dataclass
class _Attempt:
    """State of one ConverseStream attempt until its first content batch."""

    stream: BedrockStream
    batches: Iterator[list[Delta]]
    first: list[list[Delta]]
    ended: bool


def _has_content(batch: list[Delta]) -> bool:
    return any(type(d).__name__ in _CONTENT_DELTAS for d in batch)


def _batches(raw: Any, stream: BedrockStream, per_event: bool) -> Iterator[list[Delta]]:
    """Raw body -> lists of deltas: one list per read, or per event when ``per_event``."""
    decoder = FrameDecoder()
    for data in _read_raw(raw):
        out: list[Delta] = []
        for kind, body in iter_events(decoder, data):
            stream.apply(kind, body, out)
            if per_event and out:
                yield out
                out = []
        if out:
            yield out
    if decoder.pending_bytes:
        raise FrameError(f"stream ended inside a frame ({decoder.pending_bytes} bytes left over)")


def converse_stream(
    client: Any,
    request: Mapping[str, Any],
    *,
    policy: RetryPolicy,
    region: str | None,
    handle: StreamHandle | None = None,
    per_event: bool = False,
    on_open: Callable[[], None] | None = None,
) -> Iterator[tuple[list[Delta], BedrockStream]]:
    """Yield ``(deltas, accumulator)`` batches of one answer.

    Retries while nothing has reached the caller; afterwards failures raise a
    ``BedrockError`` whose ``partial_message`` the caller fills from the accumulator.
    A stream that ends without ``messageStop`` raises ``StreamIntegrityError``.
    """
    handle = handle or StreamHandle()
    model_id = request.get("modelId")

    def fail(exc: BaseException, stream: BedrockStream | None) -> BaseException:
        if isinstance(exc, ExceptionFrameError):
            from botocore.exceptions import EventStreamError

            exc = EventStreamError(
                {"Error": {"Code": exc.exception_type, "Message": exc.message},
                 "ResponseMetadata": {"RequestId": handle.request_id or ""}},
                "ConverseStream",
            )
        elif isinstance(exc, FrameError):
            return StreamIntegrityError(
                f"corrupt event stream: {exc}", code="StreamIntegrity",
                request_id=handle.request_id, model_id=model_id, region=region,
            )
        mapped = map_error(exc, model_id=model_id, region=region)
        if isinstance(mapped, BedrockError) and mapped.request_id is None:
            mapped.request_id = handle.request_id
        return mapped

    def attempt() -> _Attempt:
        if handle.cancelled:
            raise _Cancelled
        stream = BedrockStream()
        try:
            response = client.converse_stream(**request)
            handle.request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
            raw = response["stream"]._raw_stream  # the undecoded body; see _wire
            handle.attach(raw)
            if on_open is not None:
                on_open()
            batches = _batches(raw, stream, per_event)
            first: list[list[Delta]] = []
            for batch in batches:
                first.append(batch)
                if _has_content(batch):
                    return _Attempt(stream, batches, first, ended=False)
            return _Attempt(stream, batches, first, ended=True)
        except _Cancelled:
            raise
        except Exception as exc:
            handle.release()
            if handle.cancelled:
                raise _Cancelled from exc
            mapped = fail(exc, stream)
            if mapped is exc:
                raise
            raise mapped from exc

    try:
        state = policy.retrying(f"ConverseStream {model_id}")(attempt)
    except _Cancelled:
        return
    stream = state.stream
    try:
        for batch in state.first:
            yield batch, stream
        if not state.ended:
            for batch in state.batches:
                yield batch, stream
        if not stream.complete:
            raise StreamIntegrityError(
                "the event stream ended without messageStop"
                + ("" if stream.has_content else " and without any event"),
                code="IncompleteStream",
                request_id=handle.request_id,
                model_id=model_id,
                region=region,
            )
    except BedrockError:
        raise
    except Exception as exc:
        if handle.cancelled:
            return
        mapped = fail(exc, stream)
        if mapped is exc:
            raise
        raise mapped from exc
    finally:
        handle.release()


class _Cancelled(Exception):
    """Internal: the caller cancelled before the stream opened."""


def backoff_sleep(seconds: float) -> None:
    """Indirection so tests can observe waits without timing anything."""
    time.sleep(seconds)
