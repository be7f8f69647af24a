"""One client connection of the Bedrock-wire server: HTTP/1.1 requests parsed, routed and
answered with the scripted replies, with flow control and the pacing a reply asks for."""

from __future__ import annotations

import asyncio
import http
import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from . import _replies as replies
from ._eventstream import _dumps

if TYPE_CHECKING:
    from ._server import BedrockWireServer

__all__ = ["Connection"]

logger = logging.getLogger("langchain_bedrock_stream.testing._server")

_ERROR_TYPE_SUFFIX = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_ROUTE = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>converse-stream|converse|count-tokens)$")
_OPERATIONS: dict[str, replies.Operation] = {
    "converse": "converse",
    "converse-stream": "converse-stream",
    "count-tokens": "count-tokens",
}
_MAX_HEAD_BYTES = 64 * 1024


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


class Connection(asyncio.Protocol):
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

    def _split_off(self, delimiter: bytes) -> bytes | None:
        """What the buffer holds before ``delimiter`` (taken, with it), if it holds one."""
        end = self._buffer.find(delimiter)
        if end < 0:
            return None
        taken = bytes(self._buffer[:end])
        del self._buffer[: end + len(delimiter)]
        return taken

    async def _read_head(self) -> bytes | None:
        while (head := self._split_off(b"\r\n\r\n")) is None:
            if len(self._buffer) > _MAX_HEAD_BYTES:
                raise _BadRequestError("request head too large")
            if self._gone:
                if self._buffer.strip():
                    raise _BadRequestError("connection closed mid-request")
                return None
            await self._wait()
        return head

    async def _read_exact(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if self._gone:
                raise _BadRequestError("connection closed mid-body")
            await self._wait()
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def _read_line(self) -> bytes:
        while (line := self._split_off(b"\r\n")) is None:
            if self._gone:
                raise _BadRequestError("connection closed mid-body")
            await self._wait()
        return line

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
            not_found = replies.ErrorReply(
                404,
                "UnknownOperationException",
                f"no Bedrock runtime route for {request.method} {path}",
            )
            return await self._send_error(not_found, keep_alive)
        operation: replies.Operation = _OPERATIONS[match["op"]]
        try:
            parsed: Any = json.loads(request.body) if request.body else None
        except ValueError:
            parsed = None
        recorded = replies.RecordedRequest(
            operation=operation,
            model_id=unquote(match["model"]),
            path=path,
            headers=request.headers,
            body=parsed,
            raw_body=request.body,
            method=request.method,
        )
        reply = replies.fit(self._server._take_reply(recorded), operation)
        if isinstance(reply, replies.DropConnection):
            self._close()
            return False
        if isinstance(reply, replies.ErrorReply):
            return await self._send_error(reply, keep_alive)
        if isinstance(reply, replies.JsonReply):
            return await self._send_json(reply, keep_alive)
        if isinstance(reply, replies.RawReply):
            length = None if reply.coded else len(reply.body)
            head = _response_head(reply.status, list(reply.headers.items()), length, keep_alive)
            return await self._write(head + reply.body) and keep_alive
        if isinstance(reply, replies.StreamReply):
            return await self._send_stream(reply, keep_alive)
        return await self._send_error(
            replies.ErrorReply(500, "InternalServerException", f"not a reply: {reply!r}"),
            keep_alive,
        )

    async def _send_error(self, reply: replies.ErrorReply, keep_alive: bool) -> bool:
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

    async def _send_json(self, reply: replies.JsonReply, keep_alive: bool) -> bool:
        body = _dumps(reply.body)
        headers = _merge_headers(
            [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))],
            reply.headers,
        )
        ok = await self._write(_response_head(reply.status, headers, len(body), keep_alive) + body)
        return ok and keep_alive

    async def _send_stream(self, reply: replies.StreamReply, keep_alive: bool) -> bool:
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
