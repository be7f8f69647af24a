"""How a call leaves the event loop.

A genuine botocore client that nothing else watches has its request built and signed by
botocore in the small signing pool (``_capture``) and sent and read on the loop itself
(``_http``). Any other client (a watched one, a fake, a replayed one) is called as it is, in
a thread of its own, and a streamed answer read in one more thread (``_threaded_body``).
See ``docs/transport.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn

from ._body import open_body
from ._capture import Prepared, capture, parse_answer, raise_for_answer, sends_itself
from ._error_boundary import QUOTED_BYTES, is_event_stream, not_an_event_stream
from ._http import Response, send
from ._retry import RetryPolicy, botocore_in_our_place
from ._session import Opened, Plan, Session
from ._threaded_body import ThreadedBody
from ._threads import run_blocking, run_in_thread

__all__ = ["STARTING", "LoopCall", "send_prepared"]

_API = {"converse_stream": "ConverseStream", "converse": "Converse"}

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


@dataclass(frozen=True)
class LoopCall:
    """One call's way off the event loop, asked again at each attempt: captured from
    botocore and sent on the loop when the client :func:`~._capture.sends_itself`, else the
    client's own call in a thread. (Not once per call: vcrpy, replaying, puts botocore's
    HTTP classes back for a moment whenever it makes a connection, so a check made then
    misjudges; the next attempt's check sees the replay again.)"""

    client: Any
    operation: str  # the client's method: converse_stream, converse

    def _own(self) -> bool:
        return sends_itself(self.client, _API[self.operation])

    def policy(self, policy: RetryPolicy) -> RetryPolicy:
        """Where botocore was to retry but will not see the answers (sent on the loop),
        ours retry in its place."""
        return botocore_in_our_place(policy, self.client) if self._own() else policy

    async def _call(self, request: Mapping[str, Any]) -> Prepared | Any:
        """The prepared request (signed in the bounded pool); or that client's own answer,
        called in a thread of its own (with the caller's context) since it may wait on the
        network: for a client that sends through another HTTP layer or none (vcrpy, a
        fake), or whose calls something watches (tracing that wraps botocore's call or the
        client's methods, handlers of the answer), which then sees the real answer."""
        if self._own():
            return await run_blocking(partial(capture, self.client, self.operation, request))
        async with _starting():
            return await run_in_thread(partial(getattr(self.client, self.operation), **request))

    async def open(self, session: Session, plan: Plan) -> Opened | None:
        """Open ``plan``'s stream up to its first content, each attempt signed in the pool
        and read on the loop (each wait bounded by the client's timeouts); ``None`` once
        the caller cancelled."""

        async def attempt() -> Opened:
            opened = session.begin(plan.splice)
            try:
                with session.boundary():
                    body = await self._body(session, opened, plan.request)
                    while not session.primed(opened, await body.read()):
                        pass
                    return opened
            except Exception as exc:
                session.failed(exc)

        with session.opening(plan):
            return await session.policy.acall(session.what, attempt)
        return None

    async def _body(self, session: Session, opened: Opened, request: Mapping[str, Any]) -> Any:
        """Send the request; its body once the status is 200 (else botocore's error)."""
        prepared = await self._call(request)
        if not isinstance(prepared, Prepared):  # another client's answer, read in a thread
            return session.opened(opened, prepared, _in_a_thread)
        response: Response = session.opened(opened, await send_prepared(prepared))
        if response.status != 200:
            await _raise_for_answer(self.client, prepared, response)
        if not is_event_stream(response.headers.get("content-type")):
            await _raise_not_an_event_stream(response)
        return response

    async def answer(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """A Converse answer, as botocore parses it."""
        prepared = await self._call(request)
        if not isinstance(prepared, Prepared):
            return dict(prepared)
        response = await send_prepared(prepared)
        body = await _drained(response)
        operation, status, headers = prepared.operation, response.status, response.headers
        if status >= 300:
            raise_for_answer(self.client, operation, status, headers, body)
        return parse_answer(self.client, operation, status, headers, body)


def _in_a_thread(response: Any) -> ThreadedBody:
    return ThreadedBody(open_body(response))


async def send_prepared(prepared: Prepared) -> Response:
    """Send a captured request over the async HTTP client."""
    return await send(
        prepared.method, prepared.url, prepared.headers, prepared.body, prepared.settings
    )


async def _drained(response: Response) -> bytes:
    """The whole body of a response that is then done with."""
    try:
        return await response.read_all()
    finally:
        response.close()


async def _raise_for_answer(client: Any, prepared: Prepared, response: Response) -> NoReturn:
    """Read an HTTP error answer and raise botocore's exception for it."""
    body = await _drained(response)
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
