"""ConverseStream: open (with retries), read, fold, and recover, for sync and async callers.

The logic lives in ``_Session``: opening a stream and priming it up to its first content
(retried by the ``RetryPolicy``: nothing has reached the caller yet), folding each burst of
bytes into delta batches, and deciding what a failure after content means (raise with the
partial answer, or, with ``resume``, continue a text answer by a prefilled second request).
The two drivers, ``converse_stream`` and ``aconverse_stream``, differ only in how they wait:
the sync one blocks on the socket; the async one opens in a short-lived thread and then
reads on the event loop, so a thousand streams cost no thread each.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from ._reader import BodyReader
from ._threads import run_in_thread
from .accumulator import (
    CONTENT_DELTAS,
    Accumulator,
    BlockStopped,
    Delta,
    InvalidToolInput,
    StreamResponse,
    ToolUseStarted,
)
from .errors import BedrockConnectionError, BedrockError, StreamIntegrityError, map_errors
from .retry import RetryPolicy
from .wire import FrameDecoder, iter_events

__all__ = ["StreamHandle", "aconverse_stream", "converse", "converse_stream"]

logger = logging.getLogger("langchain_bedrock_stream")


class StreamHandle:
    """The open HTTP response of one ConverseStream call; ``cancel()`` from any thread.

    Cancelling shuts the socket down, which wakes a reader blocked in ``recv`` and makes
    the server see the client leave; it also cuts short a wait between retries.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._raw: Any = None
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
            self._cancelled.set()
            raw, self._raw = self._raw, None
        if raw is not None:
            _close(raw)

    def release(self) -> None:
        """Let go of the response: a body read to its end was already handed back to the
        connection pool (closing it then does nothing); one not read to its end is closed."""
        with self._lock:
            raw, self._raw = self._raw, None
        if raw is not None:
            _close(raw)


def _close(raw: Any) -> None:
    """Shut the socket down (wakes a blocked reader), then close; best effort."""
    shutdown = getattr(raw, "shutdown", None)
    if shutdown is not None:
        with contextlib.suppress(Exception):
            shutdown()
    with contextlib.suppress(Exception):
        raw.close()


_Splicer = Callable[[str, Any], "tuple[str, Any] | None"]


class _Folder:
    """Bytes of one response -> delta batches on an accumulator (per burst or per event).

    A failure part-way through a burst (an exception frame, a corrupt frame) does not cost
    the events before it: their batches are returned and the failure is kept in ``error``
    for the driver to raise right after handing them on.
    """

    def __init__(
        self, stream: Accumulator, per_event: bool, splice: _Splicer | None = None
    ) -> None:
        self.stream = stream
        self.per_event = per_event
        self.splice = splice
        self.decoder = FrameDecoder()
        self.error: BaseException | None = None

    def fold(self, data: bytes) -> list[list[Delta]]:
        """Decode ``data`` and fold its events; the batches they produced."""
        batches: list[list[Delta]] = []
        out: list[Delta] = []
        apply, splice, per_event = self.stream.apply, self.splice, self.per_event
        try:
            for kind, body in iter_events(self.decoder, data):
                if splice is not None:
                    spliced = splice(kind, body)
                    if spliced is None:
                        continue
                    kind, body = spliced
                apply(kind, body, out)
                if per_event and out:
                    batches.append(out)
                    out = []
        except Exception as exc:
            self.error = exc
        if out:
            batches.append(out)
        return batches

    def check(self) -> None:
        """Raise the failure met while folding, if any."""
        if self.error is not None:
            raise self.error

    def finish(self) -> None:
        """At the end of the body: a corrupt or truncated last frame is an error."""
        self.check()
        self.decoder.close()


def _has_content(batch: list[Delta]) -> bool:
    return any(isinstance(delta, CONTENT_DELTAS) for delta in batch)


@dataclass
class _Opened:
    """An open response primed up to its first content: what was folded so far, and the
    folder and body to go on reading from."""

    body: BodyReader
    folder: _Folder
    first: list[list[Delta]]
    ended: bool


class _Progress:
    """What the caller has been given: the highest block index, stopped blocks, open calls."""

    __slots__ = ("last_index", "open_tools", "stopped")

    def __init__(self) -> None:
        self.last_index: int | None = None
        self.stopped: set[int] = set()
        self.open_tools: dict[int, str] = {}

    def see(self, batch: list[Delta]) -> None:
        for delta in batch:
            index = getattr(delta, "index", None)
            if index is None:
                continue
            if self.last_index is None or index > self.last_index:
                self.last_index = index
            kind = type(delta)
            if kind is BlockStopped:
                self.stopped.add(index)
                self.open_tools.pop(index, None)
            elif kind is ToolUseStarted and not delta.server:  # type: ignore[union-attr]
                self.open_tools[index] = delta.tool_use_id  # type: ignore[union-attr]


def _partial_response(stream: Accumulator, progress: _Progress) -> StreamResponse:
    """The answer so far; client tool calls whose block never ended are invalid calls."""
    response = stream.response()
    open_ids = set(progress.open_tools.values())
    if not open_ids:
        return response
    for position, item in enumerate(response.content):
        use = item.get("toolUse")
        if use is None or use.get("toolUseId") not in open_ids:
            continue
        if position in response.invalid_tool_inputs:
            continue
        args = use.get("input")
        response.invalid_tool_inputs[position] = InvalidToolInput(
            use.get("toolUseId"),
            use.get("name"),
            args if isinstance(args, str) else json.dumps(args),
            "the stream failed before this tool call was complete",
        )
    return response


# --- resuming an interrupted text answer ---------------------------------------------------


def _text_only(response: StreamResponse) -> str | None:
    """The answer's text when it has nothing but plain text blocks, else ``None``."""
    parts = []
    for item in response.content:
        if set(item) != {"text"}:
            return None
        parts.append(item["text"])
    return "".join(parts)


def _continuation(request: Mapping[str, Any], text: str) -> tuple[dict[str, Any], str]:
    """The request continuing ``text``, and the trailing whitespace its prefill left out.

    The partial text becomes a final assistant message (appended to the caller's own
    prefill when the request already ends with one). Trailing whitespace is left out of
    the prefill because models reject or mishandle it; the continuation is expected to
    start with it.
    """
    messages = [dict(m) for m in request.get("messages") or []]
    content: list[dict[str, Any]] = []
    prefix = ""
    if messages and messages[-1].get("role") == "assistant":
        content = list(messages.pop().get("content") or [])
        if content and set(content[-1]) == {"text"}:
            prefix = content.pop()["text"]
    combined = prefix + text
    prefill = combined.rstrip()
    if prefill:
        content.append({"text": prefill})
    if content:
        messages.append({"role": "assistant", "content": content})
    return {**request, "messages": messages}, combined[len(prefill) :]


class _Splice:
    """Maps a continuation's events onto the interrupted answer's accumulator.

    Block indices continue the interrupted text block (or follow it when it had ended);
    ``messageStart`` is dropped (the answer already started); the whitespace the prefill
    left out is dropped from the start of the continuation when the model repeats it.
    """

    _BLOCK_EVENTS = frozenset({"contentBlockStart", "contentBlockDelta", "contentBlockStop"})

    def __init__(self, first_index: int, dropped: str) -> None:
        self.next_index = first_index
        self.indices: dict[int, int] = {}
        self.pending = dropped

    def __call__(self, kind: str, body: Any) -> tuple[str, Any] | None:
        if kind == "messageStart":
            return None
        if kind not in self._BLOCK_EVENTS:
            return kind, body
        index = body.get("contentBlockIndex")
        mapped = self.indices.get(index)
        if mapped is None:
            mapped = self.indices[index] = self.next_index
            self.next_index += 1
        body = {**body, "contentBlockIndex": mapped}
        delta = body.get("delta")
        if self.pending and kind == "contentBlockDelta" and isinstance(delta, dict):
            text = delta.get("text")
            if isinstance(text, str):
                text = self._strip(text)
                if not text:
                    return None
                body["delta"] = {**delta, "text": text}
        return kind, body

    def _strip(self, text: str) -> str:
        pending = self.pending
        same = 0
        while same < len(text) and same < len(pending) and text[same] == pending[same]:
            same += 1
        if same == len(text) and same < len(pending):
            self.pending = pending[same:]
        else:
            self.pending = ""
        return text[same:]


def _resume_target(progress: _Progress) -> int:
    """The block index a continuation's first block maps to."""
    last = progress.last_index
    if last is None:
        return 0
    return last + 1 if last in progress.stopped else last


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
        self.progress = _Progress()
        self.resumes = 0

    # -- opening --

    def open(self) -> _Opened:
        """Open the stream and read up to its first content, retrying while nothing has
        reached the caller. Blocking; raises ``_Cancelled`` after ``handle.cancel()``."""
        return self._open(self.request, None)

    def _open(self, request: Mapping[str, Any], splice: _Splicer | None) -> _Opened:
        handle = self.handle

        def attempt() -> _Opened:
            if handle.cancelled:
                raise _Cancelled
            # A first attempt folds into the session's accumulator; a retry starts afresh
            # (nothing of a failed attempt reached the caller). A resume continues it.
            if splice is None:
                self.stream = Accumulator()
            folder = _Folder(self.stream, self.per_event, splice)
            first: list[list[Delta]] = []
            try:
                with self.boundary():
                    return self._prime(request, folder, first)
            except _Cancelled:
                raise
            except Exception as exc:  # a BedrockError, or a documented pass-through
                handle.release()
                if handle.cancelled:
                    raise _Cancelled from exc
                if isinstance(exc, BedrockError) and self.stream.has_content:
                    # Content read in the same burst as the failure never reached the
                    # caller (a retry is safe), but if this error is final, keep it.
                    seen = _Progress()
                    for batch in first:
                        seen.see(batch)
                    exc.partial_response = _partial_response(self.stream, seen)
                raise

        return self.policy.call(self.what, attempt, interrupt=handle.cancel_event)

    def _prime(
        self, request: Mapping[str, Any], folder: _Folder, first: list[list[Delta]]
    ) -> _Opened:
        """Send ``request`` and read up to the first content (or the end of the body)."""
        handle = self.handle
        response = self.client.converse_stream(**request)
        handle.request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
        logger.debug(
            "ConverseStream model=%s region=%s request_id=%s: stream open",
            self.model_id,
            self.region,
            handle.request_id,
        )
        raw = response["stream"]._raw_stream  # the undecoded body; see wire
        handle.attach(raw)
        body = BodyReader(raw)
        while data := body.read():
            batches = folder.fold(data)
            first.extend(batches)
            folder.check()
            if any(_has_content(batch) for batch in batches):
                return _Opened(body, folder, first, ended=False)
        opened = _Opened(body, folder, first, ended=True)
        self.finish(opened)
        return opened

    def boundary(self) -> contextlib.AbstractContextManager[None]:
        """The error crossing for this call (see ``errors.map_errors``)."""
        return map_errors(
            model_id=self.model_id,
            region=self.region,
            request_id=lambda: self.handle.request_id,
            keep=(_Cancelled,),
        )

    # -- reading --

    def deliver(self, batches: list[list[Delta]]) -> list[tuple[list[Delta], Accumulator]]:
        """Note what the caller is about to receive; the items to hand on."""
        for batch in batches:
            self.progress.see(batch)
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

    def recover(self, error: BedrockError) -> _Opened | None:
        """After a failure once content was delivered: the resumed stream to go on with,
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
        text = _text_only(stream.response()) if self.resume else None
        if (
            text is not None
            and error.is_retryable
            and self.request.get("messages")
            and (self.resumes < limit)
        ):
            self.resumes += 1
            continuation, dropped = _continuation(self.request, text)
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
            try:
                return self._open(continuation, _Splice(_resume_target(self.progress), dropped))
            except _Cancelled:
                return None
            except BedrockError as again:
                again.partial_response = _partial_response(stream, self.progress)
                raise
        if stream.has_content:
            error.partial_response = _partial_response(stream, self.progress)
        raise error

    def _incomplete(self) -> StreamIntegrityError:
        return StreamIntegrityError(
            "the event stream ended without messageStop"
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
    accumulator. A stream that ends without ``messageStop`` raises ``StreamIntegrityError``.
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
                opened = session.recover(exc)
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

    Opening (request, response headers, first content, retries) runs in one short-lived
    thread; the rest of the body is read on the loop when the socket is readable.
    Cancelling the consuming task closes the connection.
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
    settled = False
    try:
        try:
            opened: _Opened | None = await run_in_thread(session.open)
        except _Cancelled:
            return
        while opened is not None:
            try:
                with session.boundary():
                    for item in session.deliver(opened.first):
                        yield item
                    if not opened.ended:
                        while data := await opened.body.aread():
                            for item in session.deliver(opened.folder.fold(data)):
                                yield item
                            opened.folder.check()
                        session.finish(opened)
                settled = True
                return
            except BedrockError as exc:
                opened = await run_in_thread(partial(session.recover, exc))
        settled = True
    finally:
        if settled:
            session.handle.release()
        else:  # cancelled or abandoned: also stops an open or a retry wait in its thread
            session.handle.cancel()


# --- Converse (not streamed) ------------------------------------------------------------------


def converse(
    client: Any,
    request: Mapping[str, Any],
    *,
    policy: RetryPolicy,
    region: str | None,
) -> tuple[StreamResponse, str | None]:
    """One Converse call (with retries) -> the answer and the request id."""
    model_id = request.get("modelId")

    def call() -> tuple[StreamResponse, str | None]:
        with map_errors(model_id=model_id, region=region):
            raw = dict(client.converse(**request))
            request_id = (raw.get("ResponseMetadata") or {}).get("RequestId")
            logger.debug(
                "Converse model=%s region=%s request_id=%s: answered", model_id, region, request_id
            )
            return StreamResponse.from_converse(raw), request_id

    return policy.call(f"Converse {model_id}", call)
