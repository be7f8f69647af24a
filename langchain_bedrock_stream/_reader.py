"""Read a streaming HTTP body in bursts: everything already received, as soon as any is.

Bedrock sends each event as its own HTTP chunk, and ``read1`` through urllib3/http.client
returns one chunk per call, through several layers of Python each time. Here the body is read
straight from the connection's buffered socket reader (one ``read1`` = whatever has
arrived, up to 64 KiB, with at most one ``recv``) and the chunked transfer coding is undone
in a few ``bytes`` operations. A burst of events becomes one read and nothing that has
arrived is ever held back. When the body is done the response is closed the way
http.client closes it, so the connection goes back to urllib3's pool for the next call.

Bodies with no socket (a vcrpy cassette replaying a recording) are read through ``read1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
from typing import Any

__all__ = ["BodyReader", "TruncatedBody"]

_READ_SIZE = 65536
_MAX_BURST = 1 << 20
_EOF = EOFError("end of the connection")  # a deferred end, not an error by itself


class TruncatedBody(ConnectionError):
    """The connection ended before the HTTP body did."""


class _Dechunker:
    """Undoes HTTP/1.1 chunked transfer coding, incrementally."""

    __slots__ = ("_left", "_pending", "done")

    _SIZE_LINE = -1  # a chunk-size line is next
    _TRAILER = -2  # after the last (empty) chunk: trailer lines, then an empty line

    def __init__(self) -> None:
        self._pending = b""
        self._left = self._SIZE_LINE  # > 0: chunk data to come; 0: the CRLF ending it
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """The body bytes in ``data`` (framing removed)."""
        buf = self._pending + data if self._pending else data
        out: list[bytes] = []
        pos, size = 0, len(buf)
        while pos < size and not self.done:
            left = self._left
            if left > 0:
                end = min(size, pos + left)
                out.append(buf[pos:end])
                self._left -= end - pos
                pos = end
            elif left == 0:
                if size - pos < 2:
                    break
                pos += 2
                self._left = self._SIZE_LINE
            else:
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    break
                line = buf[pos:line_end]
                pos = line_end + 2
                if left == self._TRAILER:
                    self.done = not line
                    continue
                length = int(line.split(b";", 1)[0], 16)
                self._left = length if length else self._TRAILER
        self._pending = buf[pos:] if pos < size and not self.done else b""
        return out[0] if len(out) == 1 else b"".join(out)


class BodyReader:
    """Reads one response body in bursts; ``read()`` blocks, ``aread()`` awaits."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        response = getattr(raw, "_fp", None)  # http.client.HTTPResponse under urllib3
        buffered = getattr(response, "fp", None)  # io.BufferedReader over the socket
        sock = getattr(getattr(buffered, "raw", None), "_sock", None)
        self._direct = response is not None and buffered is not None and sock is not None
        self._response: Any = response
        self._buffered: Any = buffered
        self._sock: Any = sock
        self._dechunk = _Dechunker() if getattr(response, "chunked", False) else None
        self._left: int | None = getattr(response, "length", None) if self._direct else None
        self._drained = False
        self._deferred: BaseException | None = None
        self.done = False

    def read(self) -> bytes:
        """The next burst of body bytes, waiting for it; ``b""`` once the body is done."""
        while not self.done:
            if not self._direct:
                data = self.raw.read1(_READ_SIZE)
                if not data:
                    self.done = True
                return data
            data = self._burst()
            if data:
                return data
        return b""

    async def aread(self) -> bytes:
        """``read()`` for the event loop: waits for the socket to be readable, then reads
        what arrived (a single ``recv``), so many streams share one thread."""
        if not self._direct:  # in-memory bodies (replayed cassettes) never wait
            return self.read()
        loop = asyncio.get_running_loop()
        pending = getattr(self._sock, "pending", None)  # TLS bytes decrypted, unseen by epoll
        while not self.done:
            ready = (
                self._deferred is not None
                or (pending is not None and pending())
                or (not self._drained and self._buffered_now())
            )
            if not ready:
                await _readable(loop, self._sock)
            data = self._burst()
            if data:
                return data
        return b""

    def _burst(self) -> bytes:
        """One read (it may wait for the first byte), then more while more is already
        there, up to 1 MiB: a long answer that arrived together is one burst, however
        the kernel hands it over. An end or failure met after the first read is kept for
        the next call, so the bytes before it are delivered first."""
        parts = [self._take(self._recv())]
        size = len(parts[0])
        while not self.done and size < _MAX_BURST and self._more_now():
            try:
                data = self._recv()
            except Exception as exc:
                self._deferred = exc
                break
            if not data:
                self._deferred = _EOF
                break
            parts.append(self._take(data))
            size += len(parts[-1])
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _recv(self) -> bytes:
        deferred, self._deferred = self._deferred, None
        if deferred is _EOF:
            return b""
        if deferred is not None:
            raise deferred
        data: bytes = self._buffered.read1(_READ_SIZE)
        return data

    def _more_now(self) -> bool:
        """Whether the socket (or the TLS layer above it) holds bytes right now."""
        pending = getattr(self._sock, "pending", None)
        if pending is not None and pending():
            return True
        try:
            readable, _, _ = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(readable)

    def _buffered_now(self) -> bool:
        """Whether bytes wait in the buffered reader (only possible before the first read:
        each ``read1`` asks for more than the buffer holds, so it empties it)."""
        sock = self._sock
        timeout = sock.gettimeout()
        try:
            sock.setblocking(False)
            return bool(self._buffered.peek(1))
        except (OSError, ValueError):  # nothing there yet (or a TLS record still partial)
            return False
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(timeout)

    def _take(self, data: bytes) -> bytes:
        """Body bytes out of raw socket bytes; marks the end of the body."""
        self._drained = True
        if not data:
            if self._dechunk is None and self._left is None:  # delimited by closing
                self._finish()
                return b""
            raise TruncatedBody("the connection closed before the response body ended")
        if self._dechunk is not None:
            body = self._dechunk.feed(data)
            if self._dechunk.done:
                self._finish()
            return body
        if self._left is not None:
            if len(data) > self._left:
                data = data[: self._left]
            self._left -= len(data)
            if self._left == 0:
                self._finish()
        return data

    def _finish(self) -> None:
        """The body is done: close the response as http.client would, so urllib3 puts the
        connection back in its pool."""
        self.done = True
        with contextlib.suppress(Exception):
            self._response._close_conn()
        release = getattr(self.raw, "release_conn", None)
        if release is not None:
            with contextlib.suppress(Exception):
                release()


async def _readable(loop: asyncio.AbstractEventLoop, sock: Any) -> None:
    """Wait until ``sock`` has something to read (or was closed)."""
    fd = sock.fileno()
    if fd < 0:  # closed under us (cancelled): let the read report it
        return
    waiter: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not waiter.done():
            waiter.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await waiter
    finally:
        loop.remove_reader(fd)
