"""ConverseStream and Converse calls for sync and async callers: the drivers.

Everything about a streamed call except how it waits lives in ``_session.Session``: starting
an attempt and priming it up to its first content (retried by the ``RetryPolicy``: nothing
has reached the caller yet), handing each burst's delta batches on, and deciding what a
failure after content means (raise with the partial answer, or, with ``resume``, continue a
text answer by a prefilled second request). The drivers here differ only in how they wait:
``converse_stream`` lets botocore send and blocks on the socket (``_body``);
``aconverse_stream`` lets botocore build and sign the request in a small pool and sends it
and reads the answer on the event loop itself (``_loop_call``, ``_http``), so a thousand
streams cost no thread each. See ``docs/transport.md``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Unpack

from ._accumulator import Accumulator, Delta, StreamResponse
from ._body import open_body
from ._capture import keep_optional_members
from ._error_boundary import map_errors
from ._loop_call import STARTING as STARTING  # where tests and tuning look for it
from ._loop_call import LoopCall
from ._session import (
    CallOptions,
    Opened,
    Plan,
    Session,
    StreamHandle,
    StreamOptions,
)
from .errors import BedrockError
from .telemetry import CallSpan, traced

__all__ = ["StreamHandle", "aconverse", "aconverse_stream", "converse", "converse_stream"]

logger = logging.getLogger("langchain_bedrock_stream")


def _open(session: Session, plan: Plan) -> Opened | None:
    """Blocking: botocore sends ``plan``'s request and the socket is read up to the first
    content, retried while nothing has reached the caller; ``None`` after a cancel."""

    def attempt() -> Opened:
        opened = session.begin(plan.splice)
        try:
            with session.boundary():
                response = session.client.converse_stream(**plan.request)
                body = session.opened(opened, response, open_body)
                while not session.primed(opened, body.read()):
                    pass
                return opened
        except Exception as exc:
            session.failed(exc)

    with session.opening(plan):
        interrupt = session.handle.cancel_event
        return session.policy.call(session.what, attempt, interrupt=interrupt)
    return None


def converse_stream(
    client: Any, request: Mapping[str, Any], **options: Unpack[StreamOptions]
) -> Iterator[tuple[list[Delta], Accumulator]]:
    """Yield ``(deltas, accumulator)`` batches of one answer, blocking on the socket.

    ``options``: ``policy`` and ``region``; ``handle``, ``per_event`` and ``resume``
    (``_session.StreamOptions``). Retries (per ``policy``) while nothing has reached the
    caller: HTTP errors, exception frames, timeouts, dropped connections, and streams that
    end before any content. After content, failures raise a ``BedrockError`` with
    ``partial_response`` set, never retried; with ``resume`` a transient failure of a
    text-only answer is instead continued (at most ``max(policy.max_retries, 1)`` times)
    and the continuation's deltas follow on the same accumulator. A stream that ends
    without ``messageStop`` raises ``IncompleteStreamError``. After ``handle.cancel()`` the
    iterator just ends.
    """
    session = Session(client, request, **options)
    with session.traced() as session.span:
        try:
            plan: Plan | None = session.plan()
            while plan is not None and (opened := _open(session, plan)) is not None:
                try:
                    with session.boundary():
                        yield from session.deliver(opened.first)
                        if not opened.ended:
                            while data := opened.body.read():
                                yield from session.deliver(opened.folder.fold(data))
                                opened.folder.check()
                            session.finish(opened)
                    break
                except BedrockError as exc:
                    plan = session.recover(exc)
        finally:
            session.handle.release()


async def aconverse_stream(
    client: Any, request: Mapping[str, Any], **options: Unpack[StreamOptions]
) -> AsyncIterator[tuple[list[Delta], Accumulator]]:
    """``converse_stream`` for the event loop: the same batches, errors and retries.

    The request is built and signed in a small bounded thread pool; the connection, the
    HTTP exchange and every read run on the loop (asyncio streams), each wait bounded by
    the client's ``connect_timeout`` / ``read_timeout``. Cancelling the consuming task (or
    leaving the loop early) drops the connection at once. Where botocore's retries were to
    run, ours run in their place (botocore never sees an answer sent on the loop).
    """
    route = LoopCall(client, "converse_stream")
    session = Session(client, request, **options)
    session.policy = route.policy(session.policy)
    settled = False
    with session.traced() as session.span:
        try:
            plan: Plan | None = session.plan()
            while plan is not None and (opened := await route.open(session, plan)) is not None:
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
                    break
                except BedrockError as exc:
                    plan = session.recover(exc)
            settled = True
        finally:
            if settled:
                session.handle.release()
            else:  # cancelled or abandoned: drop the connection now
                session.handle.cancel()


# --- Converse (not streamed) ------------------------------------------------------------------


class _ConverseCall:
    """One Converse call: its span (when tracing is on), its attempts and, once read, its
    answer."""

    def __init__(self, request: Mapping[str, Any], region: str | None) -> None:
        self.request, self.region = request, region
        self.model_id = request.get("modelId")
        self.what = f"Converse {self.model_id}"
        self.answer: tuple[StreamResponse, str | None] | None = None
        self.span: CallSpan | None = None

    def traced(self) -> contextlib.AbstractContextManager[CallSpan | None]:
        """Around the whole call: its span, if tracing is on (see ``telemetry``)."""
        return traced("Converse", self.request, self.region, self._outcome)

    @contextlib.contextmanager
    def attempt(self) -> Iterator[None]:
        """Around one request: counted on the span, its failures translated."""
        if self.span is not None:
            self.span.attempt()
        with map_errors(model_id=self.model_id, region=self.region):
            yield

    def answered(self, raw: Mapping[str, Any]) -> tuple[StreamResponse, str | None]:
        """The answer read from botocore's parse of it, and its request id."""
        request_id = (raw.get("ResponseMetadata") or {}).get("RequestId")
        logger.debug(
            "Converse model=%s region=%s request_id=%s: answered",
            self.model_id,
            self.region,
            request_id,
        )
        self.answer = StreamResponse.from_converse(raw), request_id
        return self.answer

    def _outcome(self) -> tuple[StreamResponse | None, str | None]:
        return self.answer if self.answer is not None else (None, None)


def converse(
    client: Any, request: Mapping[str, Any], **options: Unpack[CallOptions]
) -> tuple[StreamResponse, str | None]:
    """One Converse call (with retries per ``options["policy"]``) -> the answer and the
    request id."""
    keep_optional_members(client)
    call = _ConverseCall(request, options["region"])
    with call.traced() as call.span:

        def attempt() -> dict[str, Any]:
            with call.attempt():
                return dict(client.converse(**request))

        return call.answered(options["policy"].call(call.what, attempt))


async def aconverse(
    client: Any, request: Mapping[str, Any], **options: Unpack[CallOptions]
) -> tuple[StreamResponse, str | None]:
    """``converse`` for the event loop: signed in the bounded pool, sent on the loop."""
    route = LoopCall(client, "converse")
    call = _ConverseCall(request, options["region"])
    with call.traced() as call.span:

        async def attempt() -> dict[str, Any]:
            with call.attempt():
                return await route.answer(request)

        return call.answered(await route.policy(options["policy"]).acall(call.what, attempt))
