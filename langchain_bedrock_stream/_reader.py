"""Read a streaming HTTP body in bursts: everything already received, as soon as any is.

Bedrock sends each event as its own HTTP chunk, and ``read1`` on a chunked response returns
one chunk per call. Reading chunk by chunk would make every event a separate LangChain
chunk even when hundreds are already waiting in the socket buffer. Here, after one read,
more is read only while it can be had without waiting, so a burst becomes one batch and
nothing is ever held back: an event that has arrived is handed on at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["read_bursts"]

_READ_SIZE = 65536
_MAX_BURST = 1 << 20


def read_bursts(raw: Any) -> Iterator[bytes]:
    """Yield the body of ``raw`` (a urllib3 or http.client response) in bursts."""
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # pragma: no cover - every supported urllib3 has read1
        yield from raw.stream(_READ_SIZE)
        return
    ready = _ready_probe(raw)
    while True:
        data = read1(_READ_SIZE)
        if not data:
            return
        if ready is not None and ready():
            parts = [data]
            size = len(data)
            while size < _MAX_BURST and ready():
                more = read1(_READ_SIZE)
                if not more:
                    yield b"".join(parts)
                    return
                parts.append(more)
                size += len(more)
            data = b"".join(parts)
        yield data


def _ready_probe(raw: Any) -> Callable[[], bool] | None:
    """A check that the next ``read1`` returns without waiting, or None if unknowable.

    It looks at the bytes buffered under http.client (peeked without blocking): at a chunk
    boundary the next read needs the whole chunk-size line, not just the previous chunk's
    trailing CRLF, or it would wait for the server's next event.
    """
    response = getattr(raw, "_fp", None)  # http.client.HTTPResponse under urllib3
    buffered = getattr(response, "fp", None)  # io.BufferedReader over the socket
    sock = getattr(getattr(buffered, "raw", None), "_sock", None)
    if response is None or buffered is None or sock is None or not hasattr(buffered, "peek"):
        return None

    def ready() -> bool:
        try:
            timeout = sock.gettimeout()
            sock.setblocking(False)
            try:
                data = buffered.peek(1)
            finally:
                sock.settimeout(timeout)
        except (OSError, ValueError):  # nothing to read now, or the socket is closed
            return False
        if not data:
            return False
        if not getattr(response, "chunked", False):
            return True
        left = getattr(response, "chunk_left", None)
        if left:
            return True
        # At a boundary: skip the CRLF ending the previous chunk, then need a full size line.
        return data.find(b"\r\n", 2 if left == 0 else 0) != -1

    return ready
