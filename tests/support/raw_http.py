"""A loopback HTTP server that answers each request with bytes given by the test.

The Bedrock-wire server speaks correct HTTP; hostile-input tests need what it never sends:
arbitrary (corrupted, truncated) bodies, bodies delimited by closing the connection, and
error replies that echo the request's headers back. Each connection serves one request
and is then closed, so a corrupted length can never leave the client waiting.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

__all__ = ["RawReply", "RawServer", "chunked"]


def chunked(body: bytes, size: int = 4096) -> bytes:
    """``body`` in HTTP/1.1 chunked coding (``size`` bytes a chunk), terminated."""
    parts = [
        b"%x\r\n%b\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


@dataclass
class RawReply:
    """One reply: a status, headers and the body bytes, sent as they are."""

    body: bytes
    status: int = 200
    headers: dict[str, str] = field(
        default_factory=lambda: {"Content-Type": "application/vnd.amazon.eventstream"}
    )

    @classmethod
    def chunked(cls, body: bytes, size: int = 4096) -> RawReply:
        """``body`` in chunked coding, with the header that says so."""
        headers = {
            "Content-Type": "application/vnd.amazon.eventstream",
            "Transfer-Encoding": "chunked",
        }
        return cls(chunked(body, size), headers=headers)


Responder = Callable[[bytes, dict[str, str]], RawReply]
"""Builds a reply from the request head (raw) and its headers (lowercase names)."""


class RawServer:
    """Serves ``responder(request)`` on 127.0.0.1, one request per connection."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="raw-http", daemon=True)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    data += piece
                head, _, rest = data.partition(b"\r\n\r\n")
                headers = {}
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                while len(rest) < length:
                    piece = conn.recv(65536)
                    if not piece:
                        return
                    rest += piece
                reply = self.responder(head, headers)
                lines = [f"HTTP/1.1 {reply.status} Reply", "Connection: close"]
                lines += [f"{k}: {v}" for k, v in reply.headers.items()]
                conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body)
                conn.shutdown(socket.SHUT_WR)
            except OSError:
                return
