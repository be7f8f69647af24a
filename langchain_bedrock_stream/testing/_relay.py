"""A TCP relay that gives a loopback connection the shape of a wide-area link.

On 127.0.0.1 a TLS record always arrives whole and bytes never trickle or stall; on the
Internet they do. :class:`TcpRelay` sits between a client and a server (plain or TLS: it
forwards bytes without looking at them) and shapes what the server sends back:

* ``split=n, split_pause=s``: every piece of data read from the server is forwarded in
  ``n`` parts, ``s`` seconds apart, so a TLS record arrives in several TCP segments;
* ``trickle=(b, t)``: at most ``b`` bytes every ``t`` seconds;
* ``stall_after=k``: after ``k`` bytes of a connection, nothing more is forwarded (the
  connection stays open: a stalled link, for read timeouts).

What the client sends is forwarded as it comes, or with ``upload=(b, t)`` at most ``b``
bytes every ``t`` seconds (a slow uplink: the client's writes wait, and keep moving).
Point the client at :attr:`TcpRelay.endpoint_url`::

    with BedrockWireServer(ssl_context=ctx) as server, TcpRelay(server.port, split=2) as relay:
        model = ChatBedrockStream(..., endpoint_url=relay.endpoint_url("https"))
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass

from ._background import BackgroundService, Observed, join_both, pipe

__all__ = ["TcpRelay"]

_READ = 65536


@dataclass(frozen=True)
class _Shape:
    """How a relay shapes a link (see the module's docstring), checked once."""

    split: int = 1
    split_pause: float = 0.0
    trickle: tuple[int, float] | None = None
    stall_after: int | None = None
    upload: tuple[int, float] | None = None

    def __post_init__(self) -> None:
        if self.split < 1:
            raise ValueError("split must be at least 1")
        if self.split_pause < 0:
            raise ValueError("split_pause must not be negative")
        if self.trickle is not None and (self.trickle[0] < 1 or self.trickle[1] < 0):
            raise ValueError("trickle needs at least 1 byte per step and a pause >= 0")
        if self.stall_after is not None and self.stall_after < 0:
            raise ValueError("stall_after must not be negative")
        if self.upload is not None and (self.upload[0] < 1 or self.upload[1] < 0):
            raise ValueError("upload needs at least 1 byte per step and a pause >= 0")


class TcpRelay(BackgroundService):
    """Forward connections on a local port to ``127.0.0.1:target_port``, shaping the replies.

    Every connection is closed after ``max_lifetime`` seconds at the latest, and all of
    them when the relay stops. :attr:`connections` counts the connections relayed and
    :attr:`forwarded` the bytes sent back to clients.
    """

    thread_name = "bedrock-test-relay"

    def __init__(
        self,
        target_port: int,
        *,
        split: int = 1,
        split_pause: float = 0.0,
        trickle: tuple[int, float] | None = None,
        stall_after: int | None = None,
        upload: tuple[int, float] | None = None,
        max_lifetime: float = 120.0,
    ) -> None:
        super().__init__(max_lifetime=max_lifetime)
        self.target_port = target_port
        self.shape = _Shape(split, split_pause, trickle, stall_after, upload)
        self._connections = 0
        self._forwarded = 0

    def endpoint_url(self, scheme: str = "https") -> str:
        """The URL a client uses instead of the target's (``scheme`` is the target's)."""
        return f"{scheme}://127.0.0.1:{self.port}"

    connections = Observed[int](lambda relay: relay._connections)
    """Connections relayed so far."""
    forwarded = Observed[int](lambda relay: relay._forwarded)
    """Bytes sent back to clients so far, over all connections."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client connection: forward what it sends, shape what comes back."""
        with self.lock:
            self._connections += 1
        _no_delay(writer)
        if self.shape.upload is not None:
            # A slow link holds little in flight; loopback's kernel buffers would take
            # megabytes at once, so a client's writes would end long before its bytes left.
            _small_receive_buffer(writer, self.shape.upload[0])
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        try:
            upstream = self._up(reader, up_writer) if self.shape.upload else pipe(reader, up_writer)
            await join_both(upstream, self._shape(up_reader, writer))
        finally:
            up_writer.close()

    async def _shape(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Server to client: forward with the configured splitting, trickling and stall."""
        sent = 0
        while data := await reader.read(_READ):
            if self.shape.stall_after is not None:
                data = data[: max(0, self.shape.stall_after - sent)]
            for index, part in enumerate(self._parts(data)):
                if index and self.shape.split > 1 and self.shape.trickle is None:
                    await asyncio.sleep(self.shape.split_pause)
                with self.lock:  # counted first: a client that has the bytes sees them counted
                    self._forwarded += len(part)
                sent += len(part)
                writer.write(part)
                await writer.drain()
                if self.shape.trickle is not None:
                    await asyncio.sleep(self.shape.trickle[1])
            if self.shape.stall_after is not None and sent >= self.shape.stall_after:
                break
        else:
            if writer.can_write_eof():
                writer.write_eof()
            return
        # Stalled: keep the connection open and silent, draining the server until it ends.
        while await reader.read(_READ):
            pass

    async def _up(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Client to server at the ``upload`` pace."""
        assert self.shape.upload is not None
        step, pause = self.shape.upload
        try:
            while data := await reader.read(step):
                writer.write(data)
                await writer.drain()
                await asyncio.sleep(pause)
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            writer.close()

    def _parts(self, data: bytes) -> list[bytes]:
        if self.shape.trickle is not None:
            step = self.shape.trickle[0]
            return [data[i : i + step] for i in range(0, len(data), step)]
        if self.shape.split > 1 and len(data) > 1:
            size = -(-len(data) // self.shape.split)
            return [data[i : i + size] for i in range(0, len(data), size)]
        return [data] if data else []


def _no_delay(writer: asyncio.StreamWriter) -> None:
    """Send each write as its own TCP segment (no Nagle coalescing)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _small_receive_buffer(writer: asyncio.StreamWriter, size: int) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, max(size, 4096))
