"""ConverseStream: open (with retries), read, fold, and recover, for sync and async callers.

The logic lives in ``_Session``: opening a stream and priming it up to its first content
(retried by the ``RetryPolicy``: nothing has reached the caller yet), folding each burst of
bytes into delta batches, and deciding what a failure after content means (raise with the
partial answer, or, with ``resume``, continue a text answer by a prefilled second request).
The two drivers, ``converse_stream`` and ``aconverse_stream``, differ only in how they wait:
the sync one lets botocore send and blocks on the socket (``_body``); the async one lets
botocore build and sign the request in a small pool (``_capture``) and sends it and reads
the answer on the event loop itself (``_http``), so a thousand streams cost no thread each.
See ``docs/transport.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn

from ._body import Burst, open_body
from ._capture import (
    Prepared,
    capture,
    keep_optional_members,
    parse_answer,
    raise_for_answer,
    sends_itself,
)
from ._error_boundary import QUOTED_BYTES, is_event_stream, map_errors, not_an_event_stream
from ._folding import Folder, Splicer
from ._http import Response, send
from ._resume import Splice, continuation, text_only
from ._threaded_body import ThreadedBody
from ._threads import run_blocking, run_in_thread
from .accumulator import (
    CONTENT_DELTAS,
    Accumulator,
    Delta,
    StreamResponse,
)
from .errors import BedrockConnectionError, BedrockError, IncompleteStreamError
from .retry import RetryPolicy, botocore_in_our_place
from .telemetry import CallSpan, traced

__all__ = ["StreamHandle", "aconverse", "aconverse_stream", "converse", "converse_stream"]

logger = logging.getLogger("langchain_bedrock_stream")


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
class _Opened:
    """An open response primed up to its first content: what was folded so far, and the
    folder and body to go on reading from."""

    body: Any  # a _body.Body (sync) or an _AsyncBody
    folder: Folder
    first: list[list[Delta]]
    ended: bool


@dataclass
class _Resume:
    """The request continuing an interrupted answer, and how its events map onto it."""

    request: Mapping[str, Any]
    splice: Splicer


def _resume_target(stream: Accumulator) -> int:
    """The block index a continuation's first block maps to."""
    last = stream.last_block()
    if last is None:
        return 0
    index, stopped = last
    return index + 1 if stopped else index


# --- the session ---------------------------------------------------------------------------


class _Cancelled(Exception):
    """Internal: the caller cancelled before the stream opened."""


class _Session:
    """Everything about one ConverseStream call except how it waits for bytes."""

    def __init__(
        self,
        client: Any,
        request: Mapping[str, Any],
        *,
        policy: RetryPolicy,
        region: str | None,
        handle: StreamHandle,
        per_event: bool,
        resume: bool,
    ) -> None:
        self.client = client
        self.request = request
        self.policy = policy
        self.region = region
        self.handle = handle
        self.per_event = per_event
        self.resume = resume
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

    # -- opening: the steps both drivers share --

    def _begin(self, splice: Splicer | None) -> Folder:
        """A new attempt: a first one (or a retry) folds into a fresh accumulator (nothing
        of a failed attempt reached the caller); a resumed one continues the answer."""
        if self.handle.cancelled:
            raise _Cancelled
        if self.span is not None:
            self.span.attempt()
        if splice is None:
            self.stream = Accumulator()
        return Folder(self.stream.apply, per_event=self.per_event, splice=splice)

    def _opened(self, response: Any) -> None:
        """Note the request id of a response whose headers are in."""
        self.handle.request_id = response_request_id(response)
        logger.debug(
            "ConverseStream model=%s region=%s request_id=%s: stream open",
            self.model_id,
            self.region,
            self.handle.request_id,
        )

    @staticmethod
    def _primed(folder: Folder, data: Burst, first: list[list[Delta]]) -> bool:
        """Fold a burst read while opening; whether content has arrived."""
        batches = folder.fold(data)
        first.extend(batches)
        folder.check()
        return any(_has_content(batch) for batch in batches)

    def _ended(self, body: Any, folder: Folder, first: list[list[Delta]]) -> _Opened:
        """The body ended while opening: a complete answer without content, or an error."""
        opened = _Opened(body, folder, first, ended=True)
        self.finish(opened)
        return opened

    def _failed(self, exc: Exception) -> NoReturn:
        """An attempt failed: drop its connection and raise what the caller should see."""
        if isinstance(exc, _Cancelled):
            raise exc
        self.handle.release()
        if self.handle.cancelled:
            raise _Cancelled from exc
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
            keep=(_Cancelled,),
        )

    # -- opening, blocking --

    def open(
        self, request: Mapping[str, Any] | None = None, splice: Splicer | None = None
    ) -> _Opened:
        """Open the stream and read up to its first content, retrying while nothing has
        reached the caller. Raises ``_Cancelled`` after ``handle.cancel()``."""
        request = self.request if request is None else request

        def attempt() -> _Opened:
            folder = self._begin(splice)
            first: list[list[Delta]] = []
            try:
                with self.boundary():
                    response = self.client.converse_stream(**request)
                    self._opened(response)
                    body = open_body(response)
                    self.handle.attach(body)
                    while data := body.read():
                        if self._primed(folder, data, first):
                            return _Opened(body, folder, first, ended=False)
                    return self._ended(body, folder, first)
            except Exception as exc:
                self._failed(exc)

        return self.policy.call(self.what, attempt, interrupt=self.handle.cancel_event)

    # -- opening, on the event loop --

    async def aopen(
        self, request: Mapping[str, Any] | None = None, splice: Splicer | None = None
    ) -> _Opened:
        """``open`` for the event loop: signing in the bounded pool, the HTTP exchange and
        every read on the loop, each wait bounded by the client's timeouts."""
        request = self.request if request is None else request

        async def attempt() -> _Opened:
            folder = self._begin(splice)
            first: list[list[Delta]] = []
            try:
                with self.boundary():
                    body = await self._aconnect(request)
                    while data := await body.read():
                        if self._primed(folder, data, first):
                            return _Opened(body, folder, first, ended=False)
                    return self._ended(body, folder, first)
            except Exception as exc:
                self._failed(exc)

        return await self.policy.acall(self.what, attempt)

    async def _aconnect(self, request: Mapping[str, Any]) -> Any:
        """Send the request; its body once the status is 200 (else botocore's error)."""
        prepared = await _acall(self.client, "converse_stream", request)
        if not isinstance(prepared, Prepared):  # another client's answer, read in a thread
            self._opened(prepared)
            body: Any = ThreadedBody(open_body(prepared))
            self.handle.attach(body)
            return body
        response = await send_prepared(prepared)
        self.handle.attach(response)
        self._opened(response)
        if response.status != 200:
            await _raise_for_answer(self.client, prepared, response)
        if not is_event_stream(response.headers.get("content-type")):
            await _raise_not_an_event_stream(response)
        return response

    # -- reading --

    def deliver(self, batches: list[list[Delta]]) -> list[tuple[list[Delta], Accumulator]]:
        """Note what the caller is about to receive; the items to hand on."""
        span = self.span
        if span is not None and any(_has_content(batch) for batch in batches):
            span.first_content()
        return [(batch, self.stream) for batch in batches]

    def finish(self, opened: _Opened) -> None:
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

    def recover(self, error: BedrockError) -> _Resume | None:
        """After a failure once content was delivered: the request that resumes the answer
        (open it with ``resumed``), ``None`` when the answer is in fact complete or the call
        was cancelled; otherwise ``error`` is raised carrying the partial answer."""
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
            return _Resume(follow_up, Splice(_resume_target(stream), dropped))
        if stream.has_content:
            error.partial_response = stream.response()
        raise error

    @contextlib.contextmanager
    def resuming(self) -> Iterator[None]:
        """Around opening a resumed stream: a cancel ends the call quietly (the ``with``
        block is left without a value), a failure carries the answer so far."""
        try:
            yield
        except _Cancelled:
            return
        except BedrockError as again:
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


# --- the drivers: the same session, waiting differently --------------------------------------


def converse_stream(
    client: Any,
    request: Mapping[str, Any],
    *,
    policy: RetryPolicy,
    region: str | None,
    handle: StreamHandle | None = None,
    per_event: bool = False,
    resume: bool = False,
) -> Iterator[tuple[list[Delta], Accumulator]]:
    """Yield ``(deltas, accumulator)`` batches of one answer, blocking on the socket.

    Retries (per ``policy``) while nothing has reached the caller: HTTP errors, exception
    frames, timeouts, dropped connections, and streams that end before any content. After
    content, failures raise a ``BedrockError`` with ``partial_response`` set, never retried;
    with ``resume`` a transient failure of a text-only answer is instead continued (at most
    ``max(policy.max_retries, 1)`` times) and the continuation's deltas follow on the same
    accumulator. A stream that ends without ``messageStop`` raises ``IncompleteStreamError``.
    After ``handle.cancel()`` the iterator just ends.
    """
    session = _Session(
        client,
        request,
        policy=policy,
        region=region,
        handle=handle or StreamHandle(),
        per_event=per_event,
        resume=resume,
    )
    with session.traced() as session.span:
        try:
            try:
                opened: _Opened | None = session.open()
            except _Cancelled:
                return
            while opened is not None:
                try:
                    with session.boundary():
                        yield from session.deliver(opened.first)
                        if not opened.ended:
                            while data := opened.body.read():
                                yield from session.deliver(opened.folder.fold(data))
                                opened.folder.check()
                            session.finish(opened)
                    return
                except BedrockError as exc:
                    plan = session.recover(exc)
                    opened = None
                    if plan is not None:
                        with session.resuming():
                            opened = session.open(plan.request, plan.splice)
        finally:
            session.handle.release()


async def aconverse_stream(
    client: Any,
    request: Mapping[str, Any],
    *,
    policy: RetryPolicy,
    region: str | None,
    handle: StreamHandle | None = None,
    per_event: bool = False,
    resume: bool = False,
) -> AsyncIterator[tuple[list[Delta], Accumulator]]:
    """``converse_stream`` for the event loop: the same batches, errors and retries.

    The request is built and signed in a small bounded thread pool; the connection, the
    HTTP exchange and every read run on the loop (asyncio streams), each wait bounded by
    the client's ``connect_timeout`` / ``read_timeout``. Cancelling the consuming task (or
    leaving the loop early) drops the connection at once. Where botocore's retries were to
    run, ours run in their place (botocore never sees an answer sent on the loop).
    """
    session = _Session(
        client,
        request,
        policy=_loop_policy(policy, client, "converse_stream"),
        region=region,
        handle=handle or StreamHandle(),
        per_event=per_event,
        resume=resume,
    )
    settled = False
    with session.traced() as session.span:
        try:
            try:
                opened: _Opened | None = await session.aopen()
            except _Cancelled:
                return
            while opened is not None:
                try:
                    with session.boundary():
                        for item in session.deliver(opened.first):
                            yield item
                        if not opened.ended:
                            while data := await opened.body.read():
                                for item in session.deliver(opened.folder.fold(data)):
                                    yield item
                                opened.folder.check()
                            session.finish(opened)
                    settled = True
                    return
                except BedrockError as exc:
                    plan = session.recover(exc)
                    opened = None
                    if plan is not None:
                        with session.resuming():
                            opened = await session.aopen(plan.request, plan.splice)
            settled = True
        finally:
            if settled:
                session.handle.release()
            else:  # cancelled or abandoned: drop the connection now
                session.handle.cancel()


_API = {"converse_stream": "ConverseStream", "converse": "Converse"}


def _loop_policy(policy: RetryPolicy, client: Any, operation: str) -> RetryPolicy:
    """Where botocore was to retry but will not see the answers (sent on the loop)."""
    if sends_itself(client, _API[operation]):
        return botocore_in_our_place(policy, client)
    return policy


async def _acall(client: Any, operation: str, request: Mapping[str, Any]) -> Prepared | Any:
    """The prepared request (signed in the bounded pool); or that client's own answer,
    called in a thread of its own (with the caller's context) since it may wait on the
    network: for a client that sends through another HTTP layer or none (vcrpy, a fake),
    or whose calls something watches (tracing that wraps botocore's call or the client's
    methods, handlers of the answer), which then sees the real answer."""
    if sends_itself(client, _API[operation]):
        return await run_blocking(partial(capture, client, operation, request))
    async with _starting():
        return await run_in_thread(partial(getattr(client, operation), **request))


STARTING = 32
"""Calls made in threads of their own (watched or fake clients) that may be starting at once
on one event loop; more wait their turn. Hundreds of threads signing, sending and opening
spans together would hold the loop's thread off the GIL for a second and more."""

_starts: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _starting() -> asyncio.Semaphore:
    """This loop's limit on calls starting in threads of their own."""
    loop = asyncio.get_running_loop()
    limit = _starts.get(loop)
    if limit is None:
        limit = _starts[loop] = asyncio.Semaphore(STARTING)
    return limit


async def send_prepared(prepared: Prepared) -> Response:
    """Send a captured request over the async HTTP client."""
    return await send(
        prepared.method, prepared.url, prepared.headers, prepared.body, prepared.settings
    )


async def _raise_for_answer(client: Any, prepared: Prepared, response: Response) -> NoReturn:
    """Read an HTTP error answer and raise botocore's exception for it."""
    try:
        body = await response.read_all()
    finally:
        response.close()
    raise_for_answer(client, prepared.operation, response.status, response.headers, body)
    raise AssertionError("unreachable")


async def _raise_not_an_event_stream(response: Response) -> NoReturn:
    """A 200 answer to a streamed call with another kind of body: quote its start."""
    parts: list[bytes] = []
    try:
        with contextlib.suppress(Exception):  # what could be read is quoted; the error stands
            while sum(map(len, parts)) <= QUOTED_BYTES and (data := await response.read()):
                parts.append(data)
    finally:
        response.close()
    raise not_an_event_stream(
        response.status,
        response.headers.get("content-type"),
        b"".join(parts),
        request_id=response.headers.get("x-amzn-requestid"),
    )


def response_request_id(response: Any) -> str | None:
    """The request id of a botocore response (a dict) or of an HTTP ``Response``."""
    headers = getattr(response, "headers", None)
    if isinstance(headers, Mapping) and not isinstance(response, Mapping):
        return headers.get("x-amzn-requestid")
    if isinstance(response, Mapping):
        meta = response.get("ResponseMetadata")
        return meta.get("RequestId") if isinstance(meta, Mapping) else None
    return None


# --- Converse (not streamed) ------------------------------------------------------------------


def _answered(
    raw: Mapping[str, Any], model_id: Any, region: str | None
) -> tuple[StreamResponse, str | None]:
    request_id = (raw.get("ResponseMetadata") or {}).get("RequestId")
    logger.debug(
        "Converse model=%s region=%s request_id=%s: answered", model_id, region, request_id
    )
    return StreamResponse.from_converse(raw), request_id


class _ConverseCall:
    """One Converse call: its span (when tracing is on) and, once read, its answer."""

    def __init__(self, request: Mapping[str, Any], region: str | None) -> None:
        self.model_id = request.get("modelId")
        self.region = region
        self.answer: tuple[StreamResponse, str | None] | None = None
        self._traced = traced("Converse", request, region, self._outcome)
        self.span: CallSpan | None = None

    def __enter__(self) -> _ConverseCall:
        self.span = self._traced.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> bool | None:
        return self._traced.__exit__(*exc_info)

    def attempt(self) -> None:
        """A request is about to be sent."""
        if self.span is not None:
            self.span.attempt()

    def answered(self, raw: Mapping[str, Any]) -> tuple[StreamResponse, str | None]:
        """The answer read from botocore's parse of it."""
        self.answer = _answered(raw, self.model_id, self.region)
        return self.answer

    def _outcome(self) -> tuple[StreamResponse | None, str | None]:
        return self.answer if self.answer is not None else (None, None)


def converse(
    client: Any,
    request: Mapping[str, Any],
    *,
    policy: RetryPolicy,
    region: str | None,
) -> tuple[StreamResponse, str | None]:
    """One Converse call (with retries) -> the answer and the request id."""
    model_id = request.get("modelId")
    keep_optional_members(client)
    with _ConverseCall(request, region) as call:

        def attempt() -> dict[str, Any]:
            call.attempt()
            with map_errors(model_id=model_id, region=region):
                return dict(client.converse(**request))

        return call.answered(policy.call(f"Converse {model_id}", attempt))


async def aconverse(
    client: Any,
    request: Mapping[str, Any],
    *,
    policy: RetryPolicy,
    region: str | None,
) -> tuple[StreamResponse, str | None]:
    """``converse`` for the event loop: signed in the bounded pool, sent on the loop."""
    model_id = request.get("modelId")
    policy = _loop_policy(policy, client, "converse")
    with _ConverseCall(request, region) as call:

        async def attempt() -> dict[str, Any]:
            call.attempt()
            with map_errors(model_id=model_id, region=region):
                prepared = await _acall(client, "converse", request)
                if not isinstance(prepared, Prepared):
                    return dict(prepared)
                response = await send_prepared(prepared)
                try:
                    body = await response.read_all()
                finally:
                    response.close()
                operation, status, headers = prepared.operation, response.status, response.headers
                if status >= 300:
                    raise_for_answer(client, operation, status, headers, body)
                return parse_answer(client, operation, status, headers, body)

        return call.answered(await policy.acall(f"Converse {model_id}", attempt))
