"""A loopback HTTP server that speaks the Bedrock runtime wire protocol.

:class:`BedrockWireServer` answers ``POST /model/{modelId}/converse-stream`` and
``POST /model/{modelId}/converse`` the way the real service does (event-stream
frames over chunked HTTP, AWS-style JSON errors), with scripted replies; it also routes
``POST /model/{modelId}/count-tokens`` (CountTokens), answered by a scripted
:class:`JsonReply` such as ``JsonReply({"inputTokens": 42})``.  Point a
real boto3 client at :attr:`BedrockWireServer.endpoint_url` and the whole stack
(botocore's HTTP layer, event-stream decoder and error parser) is exercised
offline.

The server runs an asyncio loop in one background daemon thread, so hundreds of
concurrently paced streams cost a single thread.
"""

from __future__ import annotations

import asyncio
import http
import json
import logging
import re
import ssl
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, Literal
from urllib.parse import unquote

from ._background import ThreadedLoop
from .eventstream import ExceptionFrame, _dumps, _encode_item

__all__ = [
    "BedrockWireServer",
    "DropConnection",
    "ErrorReply",
    "JsonReply",
    "Operation",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "Responder",
    "StreamReply",
]

logger = logging.getLogger(__name__)

Operation = Literal["converse", "converse-stream", "count-tokens"]
"""The Bedrock runtime operations the server routes."""

_ERROR_TYPE_SUFFIX = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_ROUTE = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>converse-stream|converse|count-tokens)$")
_OPERATIONS: dict[str, Operation] = {
    "converse": "converse",
    "converse-stream": "converse-stream",
    "count-tokens": "count-tokens",
}
_MAX_HEAD_BYTES = 64 * 1024
_BLOCK_BYTES = 64 * 1024


@dataclass(frozen=True)
class StreamReply:
    """A scripted ConverseStream answer: event frames sent over chunked HTTP.

    ``events`` are botocore-shaped events (one-key mappings) or
    :class:`~langchain_bedrock_stream.testing.eventstream.ExceptionFrame` markers.
    ``batch`` frames go in each HTTP chunk; ``first_delay`` seconds pass before the
    first chunk and ``delay`` seconds between chunks.  Pacing follows an absolute
    schedule (chunk ``k`` is due ``first_delay + k * delay`` after the headers), so
    the stream keeps its rate even with coarse timers or hundreds of concurrent
    streams: chunks that fall due together are written together.  ``drop_after=n`` closes the
    connection after ``n`` frames without the terminating chunk (a connection lost
    mid-stream); ``corrupt_crc_at=n`` flips a bit in the message CRC of frame ``n``
    (0-based).  ``headers`` are added to (or override) the HTTP response headers.

    Field conditions: ``head_delay`` seconds pass before the response headers are sent
    (a slow service, or time to cancel before headers); ``stall_after=n`` sends ``n``
    frames, then goes silent with the connection open until the client gives up (a
    stalled stream, for read timeouts).

    Frames are encoded once per reply object and reused each time it is served; call
    :meth:`prepare` to pay that cost up front rather than on first use.
    """

    events: Sequence[Mapping[str, Any] | ExceptionFrame]
    delay: float = 0.0
    first_delay: float = 0.0
    drop_after: int | None = None
    corrupt_crc_at: int | None = None
    batch: int = 1
    headers: Mapping[str, str] = field(default_factory=dict)
    head_delay: float = 0.0
    stall_after: int | None = None

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise ValueError("batch must be at least 1")
        if self.delay < 0 or self.first_delay < 0 or self.head_delay < 0:
            raise ValueError("delays must not be negative")
        for name in ("drop_after", "stall_after"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.drop_after is not None and self.stall_after is not None:
            raise ValueError("drop_after and stall_after exclude each other")

    def prepare(self) -> StreamReply:
        """Encode the frames now (otherwise done when first served); returns ``self``."""
        self._plan()
        return self

    def _plan(self) -> _StreamPlan:
        cached = self.__dict__.get("_cached_plan")
        if cached is None:
            cached = _StreamPlan.build(self)
            object.__setattr__(self, "_cached_plan", cached)
        return cached


@dataclass(frozen=True)
class JsonReply:
    """A scripted JSON answer, normally the body of a Converse response.

    ``bytes`` values inside ``body`` are sent as base64 text, like AWS blob members.
    """

    body: Mapping[str, Any]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawReply:
    """A scripted response sent byte for byte: ``status``, ``headers`` and ``body`` with its
    ``Content-Length``, on a connection kept alive.

    For answers the service should not give but a network might, such as an empty ``200``
    where a stream was expected.
    """

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ErrorReply:
    """A scripted AWS-style error response, raised by boto3 as ``ClientError``.

    ``error_type`` (e.g. ``"ThrottlingException"``) is sent in the ``x-amzn-ErrorType``
    header, where botocore reads the error code from; ``retry_after`` adds a
    ``Retry-After`` header.  Note that botocore retries throttling and 5xx errors by
    default, and each retry consumes the next scripted reply.
    """

    status: int
    error_type: str
    message: str
    retry_after: float | None = None


@dataclass(frozen=True)
class DropConnection:
    """A scripted failure: close the connection without sending any response.

    botocore treats this as a retryable connection error, so each retry consumes the
    next scripted reply.
    """


Reply = StreamReply | JsonReply | RawReply | ErrorReply | DropConnection
"""Anything the server can be scripted to answer."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received, for assertions in tests.

    ``headers`` has lowercase names; ``body`` is the parsed JSON request (``None`` if it
    was not JSON) and ``raw_body`` the bytes as received.
    """

    operation: Operation
    model_id: str
    path: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes = b""
    method: str = "POST"


Responder = Callable[[RecordedRequest], Reply]
"""Builds a reply for a request once the scripted list is exhausted."""


def _http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


def _fit(reply: Reply, operation: Operation) -> Reply:
    """``reply``, or an error saying why it cannot answer ``operation``.

    A stream scripted for a Converse call (or a JSON answer for a ConverseStream call)
    would otherwise reach botocore as bytes of the wrong kind, and fail there with an
    unrelated ``UnicodeDecodeError`` or a garbled event.
    """
    streamed = operation == "converse-stream"
    if isinstance(reply, StreamReply) and not streamed:
        wanted = "a JsonReply (the Converse body)"
    elif isinstance(reply, JsonReply) and streamed and reply.status < 300:
        wanted = "a StreamReply (ConverseStream events)"
    else:
        return reply
    return ErrorReply(
        400,
        "ValidationException",
        f"BedrockWireServer: the scripted reply is a {type(reply).__name__}, which cannot "
        f"answer a {operation} call; script {wanted} for it",
    )


@dataclass(frozen=True)
class _StreamPlan:
    """The pre-encoded bytes of a :class:`StreamReply`."""

    chunks: tuple[bytes, ...]
    """HTTP chunks (framing included), each holding ``batch`` frames."""
    truncated: bool
    """True when the connection must be dropped instead of ending the body."""
    stalled: bool = False
    """True when the server goes silent after the chunks instead of ending the body."""

    @classmethod
    def build(cls, reply: StreamReply) -> _StreamPlan:
        items = list(reply.events)
        truncated = reply.drop_after is not None
        if reply.drop_after is not None:
            items = items[: reply.drop_after]
        stalled = reply.stall_after is not None
        if reply.stall_after is not None:
            items = items[: reply.stall_after]
        frames = [_encode_item(item) for item in items]
        at = reply.corrupt_crc_at
        if at is not None and 0 <= at < len(frames):
            frame = bytearray(frames[at])
            frame[-1] ^= 0x01
            frames[at] = bytes(frame)
        chunks = [
            _http_chunk(b"".join(frames[start : start + reply.batch]))
            for start in range(0, len(frames), reply.batch)
        ]
        if not reply.delay:
            # Unpaced: coalesce chunks into larger writes; the bytes are unchanged.
            chunks = _coalesce(chunks)
        return cls(tuple(chunks), truncated, stalled)


def _coalesce(chunks: list[bytes]) -> list[bytes]:
    blocks: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= _BLOCK_BYTES:
            blocks.append(b"".join(pending))
            pending, size = [], 0
    if pending:
        blocks.append(b"".join(pending))
    return blocks


class _BadRequestError(Exception):
    """The client sent something that is not a usable HTTP/1.1 request."""


@dataclass
class _Request:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Connection(asyncio.Protocol):
    """One client connection: parses requests and writes replies, with flow control."""

    def __init__(self, server: BedrockWireServer, loop: asyncio.AbstractEventLoop) -> None:
        self._server = server
        self._loop = loop
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._eof = False
        self._lost = False
        self.task: asyncio.Task[None] | None = None

    # -- asyncio.Protocol callbacks ---------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server._connection_opened(self)
        self.task = self._loop.create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return self._server._ssl is None  # keep a half-closed TCP connection; TLS cannot

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._server._connection_closed(self)
        self._wake()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake()

    # -- helpers ------------------------------------------------------------------

    @property
    def _gone(self) -> bool:
        return self._eof or self._lost

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            _resolve(waiter)

    async def _wait(self, timeout: float | None = None) -> None:
        """Wait for any connection event (data, EOF, loss, resume) or ``timeout``."""
        waiter = self._loop.create_future()
        self._waiter = waiter
        handle = None if timeout is None else self._loop.call_later(timeout, _resolve, waiter)
        try:
            await waiter
        finally:
            if handle is not None:
                handle.cancel()
            if self._waiter is waiter:
                self._waiter = None

    async def _pause(self, delay: float) -> bool:
        """Sleep ``delay`` seconds; return early with False if the client goes away."""
        if delay <= 0:
            return not self._gone
        deadline = self._loop.time() + delay
        while not self._gone:
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                return True
            await self._wait(remaining)
        return False

    def _writable(self) -> bool:
        transport = self._transport
        return transport is not None and not self._gone and not transport.is_closing()

    async def _write(self, data: bytes) -> bool:
        """Write ``data`` honouring flow control; False if the client is gone."""
        transport = self._transport
        if transport is None or not self._writable():
            return False
        transport.write(data)
        while self._paused and not self._gone:
            await self._wait()
        return not self._gone

    def abort(self) -> None:
        """Drop the connection at once, discarding unsent data."""
        if self._transport is not None:
            self._transport.abort()

    def _close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    # -- request parsing ------------------------------------------------------------

    async def _read_head(self) -> bytes | None:
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self._buffer[:end])
                del self._buffer[: end + 4]
                return head
            if len(self._buffer) > _MAX_HEAD_BYTES:
                raise _BadRequestError("request head too large")
            if self._gone:
                if self._buffer.strip():
                    raise _BadRequestError("connection closed mid-request")
                return None
            await self._wait()

    async def _read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if self._gone:
                raise _BadRequestError("connection closed mid-body")
            await self._wait()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def _read_line(self) -> bytes:
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 2]
                return line
            if self._gone:
                raise _BadRequestError("connection closed mid-body")
            await self._wait()

    async def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size_line = (await self._read_line()).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError as exc:
                raise _BadRequestError("bad chunk size") from exc
            if size == 0:
                while await self._read_line():  # trailers, up to the blank line
                    pass
                return b"".join(parts)
            parts.append(await self._read_exact(size))
            await self._read_exact(2)

    async def _read_request(self) -> _Request | None:
        head = await self._read_head()
        if head is None:
            return None
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError as exc:
            raise _BadRequestError("bad request line") from exc
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise _BadRequestError("bad header line")
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        if headers.get("expect", "").lower() == "100-continue":
            await self._write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self._read_chunked()
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError as exc:
                raise _BadRequestError("bad Content-Length") from exc
            body = await self._read_exact(length) if length > 0 else b""
        return _Request(method, target, version, headers, body)

    # -- serving ------------------------------------------------------------------

    async def _serve(self) -> None:
        try:
            while True:
                request = await self._read_request()
                if request is None:
                    break
                if not await self._dispatch(request):
                    break
        except _BadRequestError as exc:
            body = _dumps({"message": f"bad request: {exc}"})
            head = _response_head(400, [("Content-Type", "application/json")], len(body), False)
            await self._write(head + body)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep the server alive whatever one connection does
            logger.exception("error while serving a Bedrock wire request")
        finally:
            self._close()

    async def _dispatch(self, request: _Request) -> bool:
        """Answer one request; return whether the connection stays open."""
        keep_alive = request.version != "HTTP/1.0" and (
            request.headers.get("connection", "").lower() != "close"
        )
        path = request.target.split("?", 1)[0]
        match = _ROUTE.match(path)
        if request.method != "POST" or match is None:
            not_found = ErrorReply(
                404,
                "UnknownOperationException",
                f"no Bedrock runtime route for {request.method} {path}",
            )
            return await self._send_error(not_found, keep_alive)
        operation: Operation = _OPERATIONS[match["op"]]
        try:
            parsed: Any = json.loads(request.body) if request.body else None
        except ValueError:
            parsed = None
        recorded = RecordedRequest(
            operation=operation,
            model_id=unquote(match["model"]),
            path=path,
            headers=request.headers,
            body=parsed,
            raw_body=request.body,
            method=request.method,
        )
        reply = _fit(self._server._take_reply(recorded), operation)
        if isinstance(reply, DropConnection):
            self._close()
            return False
        if isinstance(reply, ErrorReply):
            return await self._send_error(reply, keep_alive)
        if isinstance(reply, JsonReply):
            return await self._send_json(reply, keep_alive)
        if isinstance(reply, RawReply):
            head = _response_head(
                reply.status, list(reply.headers.items()), len(reply.body), keep_alive
            )
            return await self._write(head + reply.body) and keep_alive
        if isinstance(reply, StreamReply):
            return await self._send_stream(reply, keep_alive)
        return await self._send_error(
            ErrorReply(500, "InternalServerException", f"not a reply: {reply!r}"), keep_alive
        )

    async def _send_error(self, reply: ErrorReply, keep_alive: bool) -> bool:
        body = _dumps({"message": reply.message})
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", f"{reply.error_type}:{_ERROR_TYPE_SUFFIX}"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ]
        if reply.retry_after is not None:
            headers.append(("Retry-After", _format_seconds(reply.retry_after)))
        ok = await self._write(_response_head(reply.status, headers, len(body), keep_alive) + body)
        return ok and keep_alive

    async def _send_json(self, reply: JsonReply, keep_alive: bool) -> bool:
        body = _dumps(reply.body)
        headers = _merge_headers(
            [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))],
            reply.headers,
        )
        ok = await self._write(_response_head(reply.status, headers, len(body), keep_alive) + body)
        return ok and keep_alive

    async def _send_stream(self, reply: StreamReply, keep_alive: bool) -> bool:
        plan = reply._plan()
        headers = _merge_headers(
            [
                ("Content-Type", "application/vnd.amazon.eventstream"),
                ("Transfer-Encoding", "chunked"),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ],
            reply.headers,
        )
        keep_alive = keep_alive and not plan.truncated
        server = self._server
        server._stream_started()
        completed = recorded = False

        def record(ok: bool) -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                server._stream_finished(ok)

        try:
            if reply.head_delay and not await self._pause(reply.head_delay):
                return False
            if not await self._write(_response_head(200, headers, None, keep_alive)):
                return False
            # Chunk k is due at start + k * delay: an absolute schedule, so coarse timers
            # or a busy loop delay chunks without stretching the stream, and chunks that
            # are already due when the server catches up go out in one write.
            loop = self._loop
            start = loop.time() + reply.first_delay
            if reply.first_delay and not await self._pause(reply.first_delay):
                return False
            chunks, delay, count = plan.chunks, reply.delay, len(plan.chunks)
            tail = b"" if plan.truncated or plan.stalled else b"0\r\n\r\n"
            index = 0
            while index < count:
                if delay and index:
                    wait = start + index * delay - loop.time()
                    if wait > 0 and not await self._pause(wait):
                        return False
                end = index + 1
                if delay:
                    now = loop.time()
                    while end < count and start + end * delay <= now:
                        end += 1
                data = chunks[index] if end == index + 1 else b"".join(chunks[index:end])
                if end == count and not plan.stalled:
                    if not self._writable():
                        return False
                    # Counted before the last bytes go: a client that read them sees it.
                    completed = True
                    record(True)
                    await self._write(data + tail)
                elif not await self._write(data):
                    return False
                index = end
            if plan.stalled:
                completed = False  # the stream never ends: leaving is a disconnect
                while not self._gone:  # silent, connection open, until the client leaves
                    await self._wait()
                return False
            completed = True
            if plan.truncated:
                self._close()
                return False
            if count == 0:
                record(True)
                await self._write(tail)
            return keep_alive and not self._gone
        finally:
            if not completed:
                self.abort()
            record(completed)


def _format_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _merge_headers(base: list[tuple[str, str]], extra: Mapping[str, str]) -> list[tuple[str, str]]:
    overridden = {name.lower() for name in extra}
    merged = [(name, value) for name, value in base if name.lower() not in overridden]
    merged.extend(extra.items())
    return merged


def _response_head(
    status: int, headers: list[tuple[str, str]], length: int | None, keep_alive: bool
) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [f"HTTP/1.1 {status} {phrase}", f"Date: {formatdate(usegmt=True)}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines.append(f"Connection: {'keep-alive' if keep_alive else 'close'}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class BedrockWireServer(ThreadedLoop):
    """A scripted Bedrock runtime endpoint on 127.0.0.1 for offline tests and benchmarks.

    Replies are served in order from ``replies`` (and :meth:`enqueue`); when none is
    left, ``responder`` builds one from the request, and without a responder the
    server answers a 500 ``InternalServerException`` saying no scripted reply is left.
    The responder runs on the server's event loop, so it should be quick.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with BedrockWireServer([StreamReply(events)]) as server:
            client = boto3.client("bedrock-runtime", endpoint_url=server.endpoint_url,
                                  region_name="us-east-1", aws_access_key_id="test",
                                  aws_secret_access_key="test")

    ``ssl_context`` (a server-side ``ssl.SSLContext``) serves HTTPS instead, for code that
    needs TLS (Bedrock API keys are only sent over HTTPS); point boto3 at the certificate
    with ``AWS_CA_BUNDLE``.
    """

    thread_name = "bedrock-wire-server"
    _noun = "server"

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        responder: Responder | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__()
        self._replies: deque[Reply] = deque(replies)
        self._responder = responder
        self._host = host
        self._requested_port = port
        self._ssl = ssl_context
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._disconnects = 0
        self._accepted = 0
        self._active_streams = 0
        self._completed_streams = 0
        self._connections: set[_Connection] = set()
        self._aio_server: asyncio.AbstractServer | None = None

    # -- lifecycle (start, stop, with: ThreadedLoop) ------------------------------------

    async def _listen(self) -> int:
        loop = asyncio.get_running_loop()
        self._aio_server = await loop.create_server(
            lambda: _Connection(self, loop),
            self._host,
            self._requested_port,
            backlog=2048,
            ssl=self._ssl,
        )
        return int(self._aio_server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._aio_server is not None:
            self._aio_server.close()
        connections = list(self._connections)
        for connection in connections:
            connection.abort()
        tasks = [c.task for c in connections if c.task is not None and not c.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._aio_server is not None:
            await self._aio_server.wait_closed()

    # -- configuration ---------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """The URL to pass as ``endpoint_url`` to ``boto3.client("bedrock-runtime")``."""
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://{self._host}:{self.port}"

    def enqueue(self, *replies: Reply) -> None:
        """Append replies to the scripted list (thread-safe)."""
        with self._lock:
            self._replies.extend(replies)

    @property
    def pending_replies(self) -> int:
        """How many scripted replies have not been served yet."""
        with self._lock:
            return len(self._replies)

    # -- observations --------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def disconnects(self) -> int:
        """Streams whose client went away before the last frame was written."""
        with self._lock:
            return self._disconnects

    @property
    def stream_count_active(self) -> int:
        """Streams currently being written."""
        with self._lock:
            return self._active_streams

    @property
    def streams_completed(self) -> int:
        """Streams whose frames were all written (including deliberate ``drop_after``)."""
        with self._lock:
            return self._completed_streams

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (a client reusing its connection adds none)."""
        with self._lock:
            return self._accepted

    @property
    def open_connections(self) -> int:
        """Client connections open now (from the server's side)."""
        with self._lock:
            return len(self._connections)

    def wait_for_connections(self, open_at_most: int, timeout: float) -> bool:
        """Block until at most ``open_at_most`` connections are open; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._connections) <= open_at_most, timeout)

    def wait_for_disconnect(self, timeout: float, count: int = 1) -> bool:
        """Block until at least ``count`` disconnects were seen; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._disconnects >= count, timeout)

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` requests were received; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._requests) >= count, timeout)

    # -- called from the event loop -----------------------------------------------------

    def _take_reply(self, request: RecordedRequest) -> Reply:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()
            if self._replies:
                return self._replies.popleft()
        if self._responder is not None:
            try:
                return self._responder(request)
            except Exception as exc:
                logger.exception("Bedrock wire server responder failed")
                return ErrorReply(500, "InternalServerException", f"responder raised {exc!r}")
        return ErrorReply(
            500,
            "InternalServerException",
            f"no scripted reply left for {request.operation} on model {request.model_id!r}",
        )

    def _connection_opened(self, connection: _Connection) -> None:
        with self._changed:
            self._connections.add(connection)
            self._accepted += 1
            self._changed.notify_all()

    def _connection_closed(self, connection: _Connection) -> None:
        with self._changed:
            self._connections.discard(connection)
            self._changed.notify_all()

    def _stream_started(self) -> None:
        with self._changed:
            self._active_streams += 1
            self._changed.notify_all()

    def _stream_finished(self, completed: bool) -> None:
        with self._changed:
            self._active_streams -= 1
            if completed:
                self._completed_streams += 1
            elif not self._stopping:
                self._disconnects += 1
            self._changed.notify_all()
