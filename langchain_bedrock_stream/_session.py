"""One ConverseStream call, whatever waits for its bytes: open, prime, fold, recover.

``Session`` holds everything about a call except how it waits: starting an attempt (retried
by the ``RetryPolicy`` while nothing has reached the caller), priming the stream up to its
first content, handing each burst's delta batches on, deciding whether the body ended as a
complete answer, and what a failure after content means (raise with the partial answer, or,
with ``resume``, continue a text answer by a prefilled second request). The drivers in
``transport`` wait on the socket (blocking) or on the event loop (``_loop_call``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypedDict, Unpack

from ._accumulator import CONTENT_DELTAS, Accumulator, Delta, StreamResponse
from ._body import Burst
from ._error_boundary import map_errors
from ._folding import Folder, Splicer
from ._resume import Splice, continuation, text_only
from ._retry import RetryPolicy
from .errors import BedrockConnectionError, BedrockError, IncompleteStreamError
from .telemetry import CallSpan, traced

__all__ = [
    "CallOptions",
    "Cancelled",
    "Opened",
    "Plan",
    "Session",
    "StreamHandle",
    "StreamOptions",
    "response_request_id",
]

logger = logging.getLogger("langchain_bedrock_stream")


class CallOptions(TypedDict):
    """What every call of the transport is given besides the client and the request."""

    policy: RetryPolicy
    region: str | None


class StreamOptions(CallOptions, total=False):
    """A ConverseStream call's options: ``handle`` to cancel it, ``per_event`` batches,
    ``resume`` a text answer cut short."""

    handle: StreamHandle | None
    per_event: bool
    resume: bool


class StreamHandle:
    """The open body of one ConverseStream call; ``cancel()`` stops it.

    Cancelling drops the connection (a reader blocked in ``recv`` wakes up and the server
    sees the client leave) and cuts short a wait between retries. On the event loop, call
    it from the loop's thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._body: Any = None
        self._cancelled = threading.Event()
        self.request_id: str | None = None

    @property
    def cancelled(self) -> bool:
        """True once ``cancel()`` was called."""
        return self._cancelled.is_set()

    @property
    def cancel_event(self) -> threading.Event:
        """Set by ``cancel()``; waits between retries end early on it."""
        return self._cancelled

    def attach(self, body: Any) -> None:
        """Remember the body to close; closes it at once if already cancelled."""
        with self._lock:
            self._body = body
            cancelled = self.cancelled
        if cancelled:
            body.close()

    def cancel(self) -> None:
        """Stop reading and drop the connection (idempotent, thread-safe)."""
        with self._lock:
            self._cancelled.set()
        self.release()

    def release(self) -> None:
        """Let go of the body: one read to its end is already back in the connection pool
        (nothing is touched); one not read to its end is dropped."""
        with self._lock:
            body, self._body = self._body, None
        if body is not None:
            body.close()


def _has_content(batch: list[Delta]) -> bool:
    return any(isinstance(delta, CONTENT_DELTAS) for delta in batch)


@dataclass
class Opened:
    """An open response primed up to its first content: what was folded so far, and the
    folder and body to go on reading from."""

    body: Any  # a _body.Body (sync), an _http.Response or a ThreadedBody (async)
    folder: Folder
    first: list[list[Delta]] = field(default_factory=list)
    ended: bool = False


@dataclass
class Plan:
    """The request an attempt opens: the call's own, or one continuing an interrupted
    answer, with how its events map onto that answer (``splice``)."""

    request: Mapping[str, Any]
    splice: Splicer | None = None


def _resume_target(stream: Accumulator) -> int:
    """The block index a continuation's first block maps to."""
    last = stream.last_block()
    if last is None:
        return 0
    index, stopped = last
    return index + 1 if stopped else index


class Cancelled(Exception):
    """The caller cancelled before the stream opened."""


def response_request_id(response: Any) -> str | None:
    """The request id of a botocore response (a dict) or of an HTTP ``Response``."""
    headers = getattr(response, "headers", None)
    if isinstance(headers, Mapping) and not isinstance(response, Mapping):
        return headers.get("x-amzn-requestid")
    if isinstance(response, Mapping):
        meta = response.get("ResponseMetadata")
        return meta.get("RequestId") if isinstance(meta, Mapping) else None
    return None


class Session:
    """Everything about one ConverseStream call except how it waits for bytes."""

    def __init__(
        self, client: Any, request: Mapping[str, Any], **options: Unpack[StreamOptions]
    ) -> None:
        self.client, self.request = client, request
        self.policy = options["policy"]
        self.region = options["region"]
        self.handle = options.get("handle") or StreamHandle()
        self.per_event = options.get("per_event", False)
        self.resume = options.get("resume", False)
        self.model_id = request.get("modelId")
        self.what = f"ConverseStream {self.model_id}"
        self.stream = Accumulator()
        self.resumes = 0
        self.span: CallSpan | None = None

    def traced(self) -> contextlib.AbstractContextManager[CallSpan | None]:
        """Around the whole call: its span, if tracing is on (see ``telemetry``)."""
        return traced("ConverseStream", self.request, self.region, self._outcome)

    def _outcome(self) -> tuple[StreamResponse | None, str | None]:
        return self.stream.response(), self.handle.request_id

    def plan(self) -> Plan:
        """The first attempt's plan: the call's request, a fresh answer."""
        return Plan(self.request)

    # -- opening: the steps both drivers share --

    def begin(self, splice: Splicer | None) -> Opened:
        """A new attempt: a first one (or a retry) folds into a fresh accumulator (nothing
        of a failed attempt reached the caller); a resumed one continues the answer. The
        body is set once the response is in (``opened``)."""
        if self.handle.cancelled:
            raise Cancelled
        if self.span is not None:
            self.span.attempt()
        if splice is None:
            self.stream = Accumulator()
        return Opened(None, Folder(self.stream.apply, per_event=self.per_event, splice=splice))

    def opened(
        self, attempt: Opened, response: Any, body: Callable[[Any], Any] | None = None
    ) -> Any:
        """The response's headers are in: note its request id, then keep its body (the
        response itself, or what ``body`` makes of it) to read; returns the body."""
        self.handle.request_id = response_request_id(response)
        logger.debug(
            "ConverseStream model=%s region=%s request_id=%s: stream open",
            self.model_id,
            self.region,
            self.handle.request_id,
        )
        attempt.body = response if body is None else body(response)
        self.handle.attach(attempt.body)
        return attempt.body

    def primed(self, attempt: Opened, data: Burst) -> bool:
        """Fold a burst read while opening; whether the stream is primed (content arrived,
        or the body ended: then a complete answer without content, or an error)."""
        if not data:
            attempt.ended = True
            self.finish(attempt)
            return True
        batches = attempt.folder.fold(data)
        attempt.first.extend(batches)
        attempt.folder.check()
        return any(_has_content(batch) for batch in batches)

    def failed(self, exc: Exception) -> NoReturn:
        """An attempt failed: drop its connection and raise what the caller should see."""
        if isinstance(exc, Cancelled):
            raise exc
        self.handle.release()
        if self.handle.cancelled:
            raise Cancelled from exc
        if isinstance(exc, BedrockError) and self.stream.has_content:
            # Content read in the same burst as the failure never reached the caller (a
            # retry is safe), but if this error is final, keep it.
            exc.partial_response = self.stream.response()
        raise exc

    def boundary(self) -> contextlib.AbstractContextManager[None]:
        """The error crossing for this call (see ``_error_boundary.map_errors``)."""
        return map_errors(
            model_id=self.model_id,
            region=self.region,
            request_id=lambda: self.handle.request_id,
            keep=(Cancelled,),
        )

    # -- reading --

    def deliver(self, batches: list[list[Delta]]) -> list[tuple[list[Delta], Accumulator]]:
        """Note what the caller is about to receive; the items to hand on."""
        span = self.span
        if span is not None and any(_has_content(batch) for batch in batches):
            span.first_content()
        return [(batch, self.stream) for batch in batches]

    def finish(self, opened: Opened) -> None:
        """The body ended: anything short of a complete answer is an error.

        A body delimited by the connection closing cannot tell its end from a cut, so
        there the answer also needs the ``metadata`` Bedrock sends after ``messageStop``.
        """
        opened.folder.finish()
        if not self.stream.complete:
            raise self._incomplete()
        if self.stream.metadata is None and getattr(opened.body, "delimited_by_close", False):
            raise ConnectionError("the connection closed after messageStop, before metadata")

    # -- failures after content --

    def recover(self, error: BedrockError) -> Plan | None:
        """After a failure once content was delivered: the request that resumes the answer,
        ``None`` when the answer is in fact complete or the call was cancelled; otherwise
        ``error`` is raised carrying the partial answer."""
        handle, stream = self.handle, self.stream
        if handle.cancelled:
            return None
        if isinstance(error, BedrockConnectionError) and stream.complete and stream.metadata:
            # Everything Bedrock sends (messageStop, then metadata) had arrived.
            logger.debug("%s: connection lost after the last event: %s", self.what, error)
            return None
        limit = max(self.policy.max_retries, 1)
        text = text_only(stream.response()) if self.resume else None
        if (
            text is not None
            and error.is_retryable
            and self.request.get("messages")
            and (self.resumes < limit)
        ):
            self.resumes += 1
            follow_up, dropped = continuation(self.request, text)
            logger.warning(
                "%s: stream failed after %d characters of text, resuming (%d of %d): %s",
                self.what,
                len(text),
                self.resumes,
                limit,
                error,
                extra={"bedrock_resume": self.resumes, "bedrock_error_code": error.code},
            )
            stream.extras.setdefault("resumed", []).append(
                {
                    "error": error.code or type(error).__name__,
                    "request_id": handle.request_id,
                    "prefill_chars": len(text),
                }
            )
            handle.release()
            return Plan(follow_up, Splice(_resume_target(stream), dropped))
        if stream.has_content:
            error.partial_response = stream.response()
        raise error

    @contextlib.contextmanager
    def opening(self, plan: Plan) -> Iterator[None]:
        """Around opening ``plan``'s stream (with its retries): a cancel ends the call
        quietly (the ``with`` block is left without a value); when it resumes an answer, a
        failure carries the answer so far."""
        try:
            yield
        except Cancelled:
            return
        except BedrockError as again:
            if plan.splice is not None:
                again.partial_response = self.stream.response()
            raise

    def _incomplete(self) -> IncompleteStreamError:
        return IncompleteStreamError(
            "Incomplete Bedrock response stream: the event stream ended without messageStop"
            + ("" if self.stream.has_content else " and without any content"),
            code="IncompleteStream",
            request_id=self.handle.request_id,
            model_id=self.model_id,
            region=self.region,
        )
