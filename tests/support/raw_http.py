"""A loopback HTTP server that answers each request with bytes given by the test.

The Bedrock-wire server speaks correct HTTP; hostile-input tests need what it never sends:
arbitrary (corrupted, truncated) bodies, bodies delimited by closing the connection, bytes
past a body's end, and error replies that echo the request's headers back. The replies are
the test kit's ``RawReply``, sent as they are: no ``Content-Length`` is added. By default
each connection serves one request and is then closed, so a corrupted length can never
leave the client waiting; with ``keep_alive`` a connection serves request after request.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from types import TracebackType

from langchain_bedrock_stream.testing import RawReply

__all__ = ["RawReply", "RawServer", "chunked", "events_reply"]

EVENT_STREAM = {"Content-Type": "application/vnd.amazon.eventstream"}


def chunked(body: bytes, size: int = 4096) -> bytes:
    """``body`` in HTTP/1.1 chunked coding (``size`` bytes a chunk), terminated."""
    return RawReply.chunked(body, size).body


def events_reply(body: bytes) -> RawReply:
    """An event-stream body as it is (delimited by the connection closing)."""
    return RawReply(200, body, EVENT_STREAM)


Responder = Callable[[bytes, dict[str, str]], RawReply]
"""Builds a reply from the request head (raw) and its headers (lowercase names)."""


class RawServer:
    """Serves ``responder(request)`` on 127.0.0.1: one request per connection, or with
    ``keep_alive`` every request a connection sends. :attr:`connections` counts them."""

    def __init__(self, responder: Responder, *, keep_alive: bool = False) -> None:
        self.responder = responder
        self.keep_alive = keep_alive
        self.connections = 0
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
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            data = b""
            try:
                while not self._stop.is_set():
                    while b"\r\n\r\n" not in data:
                        piece = conn.recv(65536)
                        if not piece:
                            return
                        data += piece
                    head, _, data = data.partition(b"\r\n\r\n")
                    headers = {}
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.decode("latin-1").partition(":")
                        headers[name.strip().lower()] = value.strip()
                    length = int(headers.get("content-length", "0"))
                    while len(data) < length:
                        piece = conn.recv(65536)
                        if not piece:
                            return
                        data += piece
                    data = data[length:]
                    reply = self.responder(head, headers)
                    lines = [f"HTTP/1.1 {reply.status} Reply"]
                    lines += [] if self.keep_alive else ["Connection: close"]
                    lines += [f"{k}: {v}" for k, v in reply.headers.items()]
                    conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + reply.body)
                    if not self.keep_alive:
                        conn.shutdown(socket.SHUT_WR)
                        return
            except OSError:
                return
