"""HTTP/1.1 body framing, shared by the blocking and the event-loop readers.

Where a response body ends (its chunked coding, ``Content-Length`` bytes, or the connection
closing), whether its connection can serve another request afterwards, and the body-level
failures. Bedrock sends each event as its own HTTP chunk; undoing the coding on whatever
bytes arrived (a few ``bytes`` operations per burst) lets one read carry many events.
"""

from __future__ import annotations

from ._wire import FrameError, held_back

__all__ = ["BadChunk", "Dechunker", "Framing", "TruncatedBody"]


class TruncatedBody(ConnectionError):
    """The connection ended before the HTTP body did."""


class BadChunk(FrameError):
    """The chunked coding itself is corrupt (a chunk-size line that is not hex)."""


class Dechunker:
    """Undoes HTTP/1.1 chunked transfer coding, incrementally."""

    __slots__ = ("_left", "_pending", "done", "error", "leftover")

    _SIZE_LINE = -1  # a chunk-size line is next
    _TRAILER = -2  # after the last (empty) chunk: trailer lines, then an empty line
    _MAX_LINE = 4096

    def __init__(self) -> None:
        self._pending = b""
        self._left = self._SIZE_LINE  # > 0: chunk data to come; 0: the CRLF ending it
        self.done = False
        self.leftover = b""  # bytes after the end of the body (a misbehaving server)
        self.error: BadChunk | None = None  # met after body bytes that were returned first

    def feed(self, data: bytes) -> bytes:
        """The body bytes in ``data`` (framing removed). Corrupt coding raises ``BadChunk``,
        after the body bytes before it were returned (then ``error`` is set and the next
        call raises it)."""
        if self.error is not None:
            raise self.error
        buf = self._pending + data if self._pending else data
        out, self.error = held_back(self._feed, buf, BadChunk)
        if self.error is not None:
            self._pending = b""
        return out[0] if len(out) == 1 else b"".join(out)

    def _feed(self, buf: bytes, out: list[bytes]) -> None:
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
                if buf[pos : pos + 2] != b"\r\n":
                    raise BadChunk("a chunk does not end with CRLF")
                pos += 2
                self._left = self._SIZE_LINE
            else:
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    if size - pos > self._MAX_LINE:
                        raise BadChunk("a chunk-size line longer than 4 KiB")
                    break
                line = buf[pos:line_end]
                pos = line_end + 2
                if left == self._TRAILER:
                    self.done = not line
                    continue
                self._left = _chunk_size(line) or self._TRAILER
        if self.done:
            self.leftover = buf[pos:]
            self._pending = b""
        else:
            self._pending = buf[pos:] if pos < size else b""


def _chunk_size(line: bytes) -> int:
    text = line.split(b";", 1)[0].strip()
    try:
        if not text:
            raise ValueError("empty")
        size = int(text, 16)
    except ValueError:
        raise BadChunk(f"not a chunk-size line: {line[:40]!r}") from None
    if size < 0:
        raise BadChunk(f"not a chunk-size line: {line[:40]!r}")
    return size


class Framing:
    """Where one response body ends, fed the bytes read from its connection.

    ``take(data)`` returns the body bytes in ``data`` (framing removed, nothing past the
    end); ``b""`` as ``data`` means the connection closed. ``ended`` once the body is
    complete; ``reusable`` stays true only for a body that ended exactly where its framing
    said (bytes after it, or a body delimited by closing, leave the connection unfit for
    another request).
    """

    __slots__ = ("dechunk", "ended", "left", "reusable")

    def __init__(self, *, chunked: bool, length: int | None) -> None:
        self.dechunk = Dechunker() if chunked else None
        self.left = None if chunked else length
        self.reusable = chunked or length is not None
        self.ended = self.left == 0

    @property
    def delimited_by_close(self) -> bool:
        """Neither chunked nor of known length: the end is the connection closing, which a
        cut connection looks the same as."""
        return self.dechunk is None and self.left is None

    @property
    def error(self) -> BadChunk | None:
        """Corrupt chunked coding met after the body bytes before it were returned."""
        return self.dechunk.error if self.dechunk is not None else None

    def take(self, data: bytes) -> bytes:
        """The body bytes in ``data``; raises ``TruncatedBody`` when the connection closed
        before a framed body ended, ``BadChunk`` on corrupt coding."""
        if not data:
            if self.delimited_by_close:
                self.ended = True
                return b""
            self.reusable = False
            raise TruncatedBody("the connection closed before the response body ended")
        if self.dechunk is not None:
            body = self.dechunk.feed(data)
            if self.dechunk.done:
                self.ended = True
                if self.dechunk.leftover:
                    self.reusable = False
            return body
        if self.left is not None:
            if len(data) > self.left:
                data = data[: self.left]
                self.reusable = False
            self.left -= len(data)
            if self.left == 0:
                self.ended = True
        return data
