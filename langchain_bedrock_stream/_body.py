"""The body of a ConverseStream response from botocore, whatever produced it.

This is the one place that touches botocore's and urllib3's private attributes. The fast
path reads the undecoded body straight from the connection's socket reader
(``EventStream._raw_stream`` -> urllib3 ``_fp`` -> ``http.client`` ``fp`` -> ``raw._sock``):
one ``read1`` waits for the first bytes, then non-blocking reads take whatever else has
already arrived (up to 1 MiB), so a burst of events is one chunk for the caller (fewer
chunks: fewer of langchain-core's re-parses of a growing tool input on ``+``) and nothing
that arrived waits. Each attribute is checked when a response is opened; when
one is missing, or the body is not a live urllib3 one (a vcrpy replay, a ``Stubber``, a
fake client returning a list of events), the events botocore (or the fake) yields are used
instead, with one DEBUG log line per reason. A source gives either raw bytes (for the frame
decoder) or parsed ``(event type, body)`` pairs (straight into the accumulator).
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import ssl
from collections.abc import Iterator, Mapping
from typing import Any

from ._chunked import Framing
from ._error_boundary import QUOTED_BYTES, client_raised, is_event_stream, not_an_event_stream
from .errors import StreamIntegrityError

__all__ = ["Body", "Burst", "EventsBody", "SocketBody", "open_body"]

logger = logging.getLogger("langchain_bedrock_stream")

Burst = bytes | list[tuple[str, Any]]
"""Raw event-stream bytes, or events botocore already parsed."""

_READ_SIZE = 65536
_MAX_BURST = 1 << 20
_logged: set[str] = set()


def _note(reason: str) -> None:
    if reason not in _logged:
        _logged.add(reason)
        logger.debug("reading ConverseStream events through botocore: %s", reason)


class Body:
    """A response body read in bursts; ``read()`` returns ``b""`` / ``[]`` at the end."""

    done: bool = False
    delimited_by_close: bool = False
    """True for a body with neither a length nor chunked coding: its end is the connection
    closing, which a cut connection looks the same as."""

    def read(self) -> Burst:
        raise NotImplementedError

    def close(self) -> None:
        """Let go: a body read to its end already went back to the pool; otherwise the
        connection is dropped (and a reader blocked in another thread wakes up)."""


class SocketBody(Body):
    """The fast path: bytes from the socket reader, chunked coding undone here."""

    def __init__(self, raw: Any, response: http.client.HTTPResponse, sock: socket.socket):
        self._raw = raw
        self._response = response
        self._buffered = response.fp
        self._sock = sock
        self._framing = Framing(chunked=bool(response.chunked), length=response.length)
        self.delimited_by_close = self._framing.delimited_by_close
        self.done = False
        self._deferred: bytes | BaseException | None = None  # an end met inside a burst
        if self._framing.ended:  # an empty body: nothing to wait for
            self._finish()

    def read(self) -> bytes:
        while not self.done:
            if self._framing.error is not None:
                raise self._framing.error
            body = self._take(self._first())
            parts, size = [body], len(body)
            while not self.done and size < _MAX_BURST:
                more = self._now()
                if more is None:
                    break
                parts.append(self._take(more))
                size += len(parts[-1])
            if size:
                return parts[0] if len(parts) == 1 else b"".join(parts)
        return b""

    def _first(self) -> bytes:
        """The next bytes, waiting for them (within the socket's timeout)."""
        deferred, self._deferred = self._deferred, None
        if isinstance(deferred, BaseException):
            raise deferred
        if deferred is not None:
            return deferred
        data: bytes = self._buffered.read1(_READ_SIZE)
        return data

    def _now(self) -> bytes | None:
        """Bytes that have already arrived, without waiting; ``None`` when there are none.

        ``read1`` asked for more than the reader buffers, so its buffer is empty and the
        socket can be read directly. A TLS record only partly arrived stays inside the SSL
        layer (``SSLWantReadError``) for the next blocking read. The end of the body or a
        failure is kept for the next ``read()``, after the bytes before it.
        """
        sock = self._sock
        timeout = sock.gettimeout()
        try:
            sock.setblocking(False)
            data = sock.recv(_READ_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return None
        except OSError as exc:
            self._deferred = exc
            return None
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(timeout)
        if not data:
            self._deferred = b""
            return None
        return data

    def _take(self, data: bytes) -> bytes:
        body = self._framing.take(data)
        if self._framing.ended:
            self._finish()
        return body

    def _finish(self) -> None:
        """Close the ``http.client`` response (it never saw the body) and hand the
        connection back to urllib3's pool (closed first when it cannot serve another
        request). Nothing touches the socket after this: it may already serve another call."""
        self.done = True
        try:
            self._response.close()
            if not self._framing.reusable:  # bytes past the body, or no framing at all
                self._raw.close()
            self._raw.release_conn()
        except Exception as exc:  # a connection not reused is a cost, not a failure
            logger.debug("connection not returned to the pool: %r", exc)

    def close(self) -> None:
        if self.done:
            return
        self.done = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in recv
        try:
            self._raw.close()
        except Exception as exc:
            logger.debug("closing the response failed: %r", exc)


class Read1Body(Body):
    """A urllib3 body with no socket of its own (a vcrpy replay): read via ``read1``."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def read(self) -> bytes:
        if self.done:
            return b""
        data: bytes = self._raw.read1(_READ_SIZE)
        if not data:
            self.done = True
        return data

    def close(self) -> None:
        if not self.done:
            self.done = True
            try:
                self._raw.close()
            except Exception as exc:
                logger.debug("closing the response failed: %r", exc)


class EventsBody(Body):
    """Events already parsed (botocore's ``EventStream``, or a list / generator a fake
    client returned): one event per read, as ``(event type, body)`` pairs.

    Its end is the source's own, never a cut connection, so an answer with ``messageStop``
    and no ``metadata`` is complete (its usage unknown). ``close()`` closes the source
    once, read to its end or not, as ``EventStream`` users expect. With ``foreign`` (a
    source that is not botocore's), an exception the source itself raises is the client's
    own and propagates as itself. ``wake``: the socket under the source, shut down when
    the body is closed before its end.
    """

    def __init__(
        self, events: Any, *, foreign: bool = False, wake: socket.socket | None = None
    ) -> None:
        self._source = events
        self._events: Iterator[Any] = iter(events)
        self._foreign = foreign
        self._wake = wake
        self._closed = False

    def read(self) -> list[tuple[str, Any]]:
        if self.done:
            return []
        try:
            for event in self._events:
                if not isinstance(event, Mapping):
                    raise _not_a_stream(f"an event that is not a mapping: {type(event).__name__}")
                pairs = list(event.items())
                if pairs:
                    return pairs
        except StreamIntegrityError:
            raise
        except Exception as exc:
            if self._foreign:
                client_raised(exc)
            raise
        self.done = True
        return []

    def close(self) -> None:
        ended, self.done = self.done, True
        if self._closed:
            return
        self._closed = True
        if self._wake is not None and not ended:  # wakes a reader blocked in another thread
            with contextlib.suppress(OSError):
                self._wake.shutdown(socket.SHUT_RDWR)
        close = getattr(self._source, "close", None)
        if callable(close):
            try:
                close()
            except Exception as exc:
                logger.debug("closing the event stream failed: %r", exc)


def _not_a_stream(what: str) -> StreamIntegrityError:
    error = StreamIntegrityError(
        f"converse_stream gave {what}, not an event stream", code="NotAnEventStream"
    )
    error.is_retryable = False  # the same client would give the same again
    return error


def events_of(response: Any) -> Any:
    """The ``stream`` of a ``converse_stream`` response, checked to be iterable events."""
    if not isinstance(response, Mapping):
        raise _not_a_stream(f"a {type(response).__name__} instead of a response mapping")
    stream = response.get("stream")
    if stream is None or isinstance(stream, (str, bytes, Mapping)):
        raise _not_a_stream(f"a {type(stream).__name__} as its 'stream'")
    try:
        iter(stream)
    except TypeError:
        raise _not_a_stream(f"a {type(stream).__name__} as its 'stream'") from None
    return stream


def _patched(stream: Any) -> str | None:
    """Which of ``EventStream``'s methods an instance attribute replaces (a tracer that
    reads each event as botocore parses it), if any."""
    from botocore.eventstream import EventStream

    for name in vars(stream):
        if name in vars(EventStream):
            return name
    return None


def _socket_reader(raw: Any) -> tuple[http.client.HTTPResponse, socket.socket] | None:
    """The ``http.client`` response and socket under a live urllib3 response, if any."""
    response_fp = getattr(raw, "_fp", None)
    if isinstance(response_fp, http.client.HTTPResponse):
        sock = getattr(getattr(response_fp.fp, "raw", None), "_sock", None)
        if isinstance(sock, socket.socket):
            return response_fp, sock
    return None


def _socket_under(stream: Any) -> socket.socket | None:
    """The socket an ``EventStream`` (or a proxy of one) reads from, to wake a reader."""
    for _ in range(8):  # proxies of proxies
        inner = getattr(stream, "__wrapped__", None)
        if inner is None:
            break
        stream = inner
    found = _socket_reader(getattr(stream, "_raw_stream", None))
    return found[1] if found else None


def _check_content_type(response: Any, stream: Any) -> None:
    """A 2xx answer that is not an event stream (a JSON error, an HTML page) is an error
    quoting its body, never decoded as frames."""
    meta = response.get("ResponseMetadata")
    headers = meta.get("HTTPHeaders") if isinstance(meta, Mapping) else None
    if not isinstance(headers, Mapping):
        return
    content_type = headers.get("content-type")
    if is_event_stream(content_type):
        return
    raw = getattr(stream, "_raw_stream", None)
    body = b""
    with contextlib.suppress(Exception):  # what could be read is quoted; the error stands
        body = raw.read(QUOTED_BYTES + 1) if raw is not None else b""
    with contextlib.suppress(Exception):
        if raw is not None:
            raw.close()
    raise not_an_event_stream(
        int(meta.get("HTTPStatusCode") or 200),
        content_type,
        body,
        request_id=meta.get("RequestId") or None,
    )


def open_body(response: Any) -> Body:
    """The fastest body available for a ``converse_stream`` response.

    Botocore's own ``EventStream`` is read from its socket. Anything else that was
    returned, a wrapper of it (auto-instrumentation reading each event), an instance
    with a method replaced, a fake client's events, is iterated as it is, so that whoever
    wraps it sees every event.
    """
    stream = events_of(response)
    _check_content_type(response, stream)
    from botocore.eventstream import EventStream

    if type(stream) is not EventStream:
        _note(f"the client returned a {type(stream).__name__}, not botocore's EventStream")
        foreign = not isinstance(stream, EventStream)  # a proxy passes as what it wraps
        return EventsBody(stream, foreign=foreign, wake=_socket_under(stream))
    patched = _patched(stream)
    if patched is not None:
        _note(f"the EventStream's {patched} is replaced on the instance")
        return EventsBody(stream, wake=_socket_under(stream))
    raw = getattr(stream, "_raw_stream", None)
    if raw is None:
        _note("botocore's EventStream has no _raw_stream")
        return EventsBody(stream)
    import urllib3

    if not isinstance(raw, urllib3.HTTPResponse):
        if callable(getattr(raw, "read1", None)):
            return Read1Body(raw)  # a replayed body (vcrpy's own response): the same bytes
        _note(f"the body is a {type(raw).__name__}, not a urllib3 response")
        return EventsBody(stream)
    reader = _socket_reader(raw)
    if reader is not None and hasattr(raw, "release_conn"):
        return SocketBody(raw, *reader)
    if isinstance(getattr(raw, "_fp", None), http.client.HTTPResponse):
        _note("the http.client response has no socket reader (fp.raw._sock)")
    if callable(getattr(raw, "read1", None)):
        return Read1Body(raw)  # a replayed body (vcrpy): bytes without a socket
    _note("the urllib3 response has neither _fp nor read1")
    return EventsBody(stream)
