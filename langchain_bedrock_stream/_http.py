"""HTTP/1.1 on asyncio streams: send one signed request, read its answer in bursts.

asyncio's TLS runs on memory buffers, so no read, handshake or connect ever blocks the
event loop, on any loop (selector, Proactor, uvloop). Every wait has a deadline
(``connect_timeout`` for connect, proxy tunnel and TLS handshakes; ``read_timeout`` for each
write and read), meaning no progress for that long: a slow upload that keeps moving, or a
read made late by a loop held up by other work, does not end. Ending a response early
aborts its socket at once. Finished connections wait in a keep-alive pool of the running
loop, keyed by scheme, host, port and proxy, at most ``max_pool_connections`` idle per
key; a connection goes back only when its body was read to the end. Failures are raised
as botocore's own exceptions (what botocore raises for the same failure), so
``_error_boundary.translate`` treats both paths alike.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import weakref
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import SplitResult, urlsplit

from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ProxyConnectionError,
    ReadTimeoutError,
)
from botocore.exceptions import SSLError as BotocoreSSLError
from botocore.httpsession import ProxyConfiguration, mask_proxy_url

from ._chunked import Framing, TruncatedBody

__all__ = ["HttpSettings", "Response", "send"]

T = TypeVar("T")

_READ_SIZE = 65536
_HEAD_LIMIT = 1 << 16
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class HttpSettings:
    """What botocore's ``Config`` (and environment) say about connections, ready to use.

    Built off the event loop (loading a CA bundle reads files): see ``_capture``.
    """

    connect_timeout: float | None
    read_timeout: float | None
    tls: ssl.SSLContext
    proxy_tls: ssl.SSLContext
    proxies: ProxyConfiguration = field(repr=False)
    forward_https: bool = False
    max_pool_connections: int = 10
    tcp_keepalive: bool = False

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL for ``url``, if any (botocore's own rule)."""
        proxy: str | None = self.proxies.proxy_url_for(url)
        return proxy


async def _within(seconds: float | None, awaitable: Awaitable[T]) -> T:
    """``await awaitable``, raising ``TimeoutError`` after ``seconds`` (``None``: no limit).

    When the deadline comes due, it takes effect one pass of the loop later: bytes that
    arrived while the loop was held up by other work are handed to their reader in the
    same pass as the due timer, and the reader comes first (late, not failed).
    """
    if seconds is None:
        return await awaitable
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(None) as deadline:
        due = loop.call_later(seconds, deadline.reschedule, 0.0)  # a time passed: next pass
        try:
            return await awaitable
        finally:
            due.cancel()


_PIECE = 1 << 16


async def _write_all(writer: asyncio.StreamWriter, data: bytes, seconds: float | None) -> None:
    """Write ``data``; ``TimeoutError`` when no byte of it left for ``seconds``.

    Written in pieces, each awaited until the transport takes more: the deadline is
    re-armed while the transport's buffer shrinks, so a slow but moving upload of any size
    goes through, and only a stalled one ends. (Through TLS the buffer seen here moves in
    steps of the layer below's flow control, about 48 KiB.)
    """
    transport = writer.transport
    view = memoryview(data)
    for start in range(0, max(len(data), 1), _PIECE):
        writer.write(view[start : start + _PIECE])
        while True:
            left = transport.get_write_buffer_size()
            try:
                await _within(seconds, writer.drain())
                break
            except TimeoutError:
                if transport.get_write_buffer_size() >= left:
                    raise


# --- connections and the keep-alive pool ----------------------------------------------------


_Key = tuple[str, str, int, "str | None"]


class _Connection:
    """One open connection (plain, TLS, or TLS through a proxy tunnel)."""

    __slots__ = ("key", "reader", "writer")

    def __init__(self, key: _Key, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.key = key
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        return not (self.reader.at_eof() or self.writer.transport.is_closing())

    def abort(self) -> None:
        """Drop the connection now (no TLS close, no waiting)."""
        self.writer.transport.abort()


class _Idle:
    """The idle connections of one event loop, dropped when the loop shuts down.

    ``asyncio.run`` and ``asyncio.Runner`` close every async generator of a loop before
    closing it; the watcher is one, so its ``finally`` drops the connections while the loop
    still runs (a loop that is simply garbage-collected takes them along).
    """

    def __init__(self) -> None:
        self.by_key: dict[_Key, list[_Connection]] = {}
        self._watcher = self._watch()

    async def start(self) -> None:
        await self._watcher.__anext__()

    async def _watch(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            self.drop_all()

    def drop_all(self) -> None:
        for idle in self.by_key.values():
            for connection in idle:
                connection.abort()
        self.by_key.clear()

    def take(self, key: _Key) -> _Connection | None:
        idle = self.by_key.get(key)
        while idle:
            connection = idle.pop()
            if connection.usable():
                return connection
            connection.abort()
        return None

    def give_back(self, connection: _Connection, limit: int) -> None:
        idle = self.by_key.setdefault(connection.key, [])
        if len(idle) < max(limit, 1) and connection.usable():
            idle.append(connection)
        else:
            connection.abort()


_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Idle] = weakref.WeakKeyDictionary()


def _forget_pools_after_fork() -> None:
    """A forked child must not send on the parent's kept-alive connections (the socket and
    its TLS state are the parent's too, even on a loop object the child inherited): the
    child starts with no idle connection. The inherited ones are kept, untouched, for the
    child's lifetime: closing one (or letting it be collected) would send a TLS close on
    the parent's session or unregister its socket from an epoll set the parent shares."""
    global _pools
    _inherited.extend(_pools.values())
    _pools = weakref.WeakKeyDictionary()


_inherited: list[_Idle] = []


os.register_at_fork(after_in_child=_forget_pools_after_fork)


async def _idle() -> _Idle:
    """The running loop's idle connections."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = _Idle()
        await pool.start()
    return pool


def _address(parts: SplitResult) -> tuple[str, int]:
    host = parts.hostname
    if not host:
        raise ValueError(f"no host in URL {parts.geturl()!r}")
    return host, parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)


async def _connect(url: str, key: _Key, settings: HttpSettings) -> _Connection:
    """A new connection to ``key``'s host (through its proxy), within ``connect_timeout``."""
    scheme, host, port, proxy = key
    try:
        return await _within(settings.connect_timeout, _open(scheme, host, port, proxy, settings))
    except TimeoutError as exc:
        raise ConnectTimeoutError(endpoint_url=url, error=exc) from exc
    except ssl.SSLError as exc:
        raise BotocoreSSLError(endpoint_url=url, error=exc) from exc
    except _ProxyRefused as exc:
        raise ProxyConnectionError(proxy_url=mask_proxy_url(proxy or ""), error=exc) from exc
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        if proxy is not None:
            raise ProxyConnectionError(proxy_url=mask_proxy_url(proxy), error=exc) from exc
        raise EndpointConnectionError(endpoint_url=url, error=exc) from exc


class _ProxyRefused(ConnectionError):
    """The proxy answered CONNECT with something other than 2xx."""


async def _open(
    scheme: str, host: str, port: int, proxy: str | None, settings: HttpSettings
) -> _Connection:
    key: _Key = (scheme, host, port, proxy)
    https = scheme == "https"
    if proxy is None:
        reader, writer = await _streams(host, port, settings.tls if https else None)
    else:
        parts = urlsplit(proxy)
        to_proxy_tls = parts.scheme == "https"
        tls = settings.proxy_tls if to_proxy_tls else None
        reader, writer = await _streams(*_address(parts), tls)
        if https and not (to_proxy_tls and settings.forward_https):
            try:
                await _tunnel(reader, writer, host, port, settings.proxies.proxy_headers_for(proxy))
                await writer.start_tls(settings.tls, server_hostname=host)
            except BaseException:
                writer.transport.abort()
                raise
    if settings.tcp_keepalive:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    return _Connection(key, reader, writer)


async def _streams(
    host: str, port: int, tls: ssl.SSLContext | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to ``host:port``, with TLS (checked against ``host``) if given."""
    return await asyncio.open_connection(
        host, port, ssl=tls, server_hostname=host if tls is not None else None, limit=_HEAD_LIMIT
    )


async def _tunnel(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    port: int,
    proxy_headers: Mapping[str, str],
) -> None:
    """Ask the proxy for a tunnel to ``host:port`` (HTTP CONNECT)."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
    lines += [f"{name}: {value}" for name, value in proxy_headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    head = _parse_head(await reader.readuntil(b"\r\n\r\n"))
    if not 200 <= head.status < 300:
        raise _ProxyRefused(f"the proxy answered CONNECT with {head.status} {head.reason}")


# --- request and response -------------------------------------------------------------------


@dataclass(frozen=True)
class _Head:
    """A response's status line and headers (lower-case names; repeats joined by ", ")."""

    status: int
    reason: str
    headers: dict[str, str]
    keep_alive: bool


def _parse_head(head: bytes) -> _Head:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ConnectionError(f"not an HTTP response: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    keep_alive = parts[0] == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    return _Head(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, keep_alive)


def _request_head(
    method: str,
    target: str,
    host: str,
    headers: Sequence[tuple[str, str | bytes]],
    body: bytes,
    extra: Mapping[str, str],
) -> bytes:
    out = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1")]
    names = set()
    for name, value in headers:
        names.add(name.lower())
        raw = value if isinstance(value, bytes) else str(value).encode("latin-1")
        out.append(name.encode("latin-1") + b": " + raw + b"\r\n")
    if "host" not in names:
        out.insert(1, f"Host: {host}\r\n".encode("latin-1"))
    if "content-length" not in names and "transfer-encoding" not in names:
        out.append(f"Content-Length: {len(body)}\r\n".encode("latin-1"))
    if "accept-encoding" not in names:
        out.append(b"Accept-Encoding: identity\r\n")
    for name, value in extra.items():
        out.append(f"{name}: {value}\r\n".encode("latin-1"))
    out.append(b"\r\n")
    return b"".join(out)


class _Stale(Exception):
    """A kept-alive connection closed before answering: safe to send again."""


class Response:
    """One answer: status and headers, then the body in bursts via ``read()``.

    The body ends at the end of its chunked coding, after ``Content-Length`` bytes, or when
    the server closes (a close-delimited body). A body read to its end hands the connection
    back to the pool; ``abort()`` drops it (safe at any time, also after the end).
    """

    def __init__(
        self,
        connection: _Connection,
        head: _Head,
        pool: _Idle,
        *,
        url: str,
        settings: HttpSettings,
        method: str,
    ) -> None:
        status, headers = head.status, head.headers
        self.status = status
        self.headers = headers
        self.url = url
        self._connection: _Connection | None = connection
        self._settings = settings
        self._pool = pool
        self._keep = head.keep_alive
        self._waiting_since: float | None = None  # loop time a read began waiting
        self._reads = 0  # reads begun: tells a read still waiting from the next one
        self._watchdog: asyncio.Handle | None = None
        self.done = False
        length = headers.get("content-length", "").strip()
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            self._framing = Framing(chunked=False, length=0)
        else:
            self._framing = Framing(
                chunked="chunked" in headers.get("transfer-encoding", "").lower(),
                length=int(length) if length.isdigit() else None,
            )
        self.delimited_by_close = self._framing.delimited_by_close
        if self._framing.ended:
            self._finish()

    async def read(self) -> bytes:
        """The next burst of body bytes (all that has arrived, once any has); ``b""`` at
        the end. Raises ``ReadTimeoutError`` after ``read_timeout`` without a byte."""
        while not self.done:
            connection = self._connection
            assert connection is not None
            if self._framing.error is not None:
                self.abort()
                raise self._framing.error
            try:
                data = await self._read_within(connection.reader)
            except TimeoutError as exc:
                self.abort()
                raise ReadTimeoutError(endpoint_url=self.url, error=exc) from exc
            except (OSError, EOFError) as exc:
                self.abort()
                raise ConnectionClosedError(endpoint_url=self.url) from exc
            body = self._take(data)
            if body:
                return body
        return b""

    async def _read_within(self, reader: asyncio.StreamReader) -> bytes:
        """``reader.read()`` bounded by ``read_timeout``.

        One watchdog timer per response, not one per read: a read notes when it began
        waiting, and the watchdog, when due, ends a read that has waited the whole
        ``read_timeout`` or sets itself for the current read's deadline. (A timer armed and
        cancelled around every read cost more than decoding the events it brought.)
        """
        timeout = self._settings.read_timeout
        if timeout is None:
            return await reader.read(_READ_SIZE)
        loop = asyncio.get_running_loop()
        self._waiting_since = now = loop.time()
        self._reads += 1
        if self._watchdog is None:
            self._watchdog = loop.call_at(now + timeout, self._watch, reader, timeout)
        try:
            return await reader.read(_READ_SIZE)  # the watchdog's TimeoutError ends it
        finally:
            self._waiting_since = None

    def _watch(self, reader: asyncio.StreamReader, timeout: float) -> None:
        self._watchdog = None
        since = self._waiting_since
        if since is None or self.done:
            return  # not waiting: the next read sets the watchdog again
        loop = asyncio.get_running_loop()
        if loop.time() >= since + timeout:
            # Bytes that arrived while the loop was held up by other work reach the reader
            # in this same pass, after this timer: look again once they have.
            self._watchdog = loop.call_soon(self._expire, reader, timeout, self._reads)
        else:
            self._watchdog = loop.call_at(since + timeout, self._watch, reader, timeout)

    def _expire(self, reader: asyncio.StreamReader, timeout: float, read: int) -> None:
        self._watchdog = None
        since = self._waiting_since
        if since is None or self.done:
            return
        if read == self._reads:  # the same read, still without a byte
            reader.set_exception(TimeoutError(f"no data for {timeout} s"))
        else:  # that read got its data; this one began since
            loop = asyncio.get_running_loop()
            self._watchdog = loop.call_at(since + timeout, self._watch, reader, timeout)

    def _stop_watching(self) -> None:
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None:
            watchdog.cancel()

    async def read_all(self) -> bytes:
        """The whole (rest of the) body."""
        parts = []
        while data := await self.read():
            parts.append(data)
        return b"".join(parts)

    def _take(self, data: bytes) -> bytes:
        framing = self._framing
        try:
            body = framing.take(data)
        except TruncatedBody:
            self.abort()
            raise
        if framing.ended:
            self._finish()
        return body

    def _finish(self) -> None:
        self.done = True
        self._stop_watching()
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if self._keep and self._framing.reusable:
            self._pool.give_back(connection, self._settings.max_pool_connections)
        else:
            connection.abort()

    def abort(self) -> None:
        """Drop the connection unless the body already ended (then it is in the pool)."""
        connection, self._connection = self._connection, None
        self.done = True
        self._stop_watching()
        if connection is not None:
            connection.abort()

    close = abort


async def send(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str | bytes]],
    body: bytes,
    settings: HttpSettings,
) -> Response:
    """Send one request; the response once its status line and headers are in.

    A kept-alive connection that turns out closed before answering is replaced by a new
    one (once): the server never saw the request.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host, port = _address(parts)
    proxy = settings.proxy_for(url)
    key: _Key = (scheme, host, port, proxy)
    forward = proxy is not None and (scheme == "http" or settings.forward_https)
    target = url if forward else (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    authority = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS.get(scheme):
        authority += f":{port}"
    extra = settings.proxies.proxy_headers_for(proxy) if forward and proxy else {}
    head = _request_head(method, target, authority, headers, body, extra)
    pool = await _idle()
    while True:
        connection = pool.take(key)
        reused = connection is not None
        if connection is None:
            connection = await _connect(url, key, settings)
        try:
            answer = await _exchange(connection, head, body, url, settings, reused)
        except _Stale:
            connection.abort()
            continue
        except BaseException:
            connection.abort()
            raise
        return Response(connection, answer, pool, url=url, settings=settings, method=method)


async def _exchange(
    connection: _Connection,
    head: bytes,
    body: bytes,
    url: str,
    settings: HttpSettings,
    reused: bool,
) -> _Head:
    """Write the request, read the response head (skipping ``1xx`` interim answers)."""
    reader, writer = connection.reader, connection.writer
    try:
        await _write_all(writer, head + body if len(body) < _PIECE else head, settings.read_timeout)
        if len(body) >= _PIECE:
            await _write_all(writer, body, settings.read_timeout)
        while True:
            answer = _parse_head(
                await _within(settings.read_timeout, reader.readuntil(b"\r\n\r\n"))
            )
            if answer.status >= 200 or answer.status == 101:
                return answer
    except TimeoutError as exc:
        raise ReadTimeoutError(endpoint_url=url, error=exc) from exc
    except asyncio.IncompleteReadError as exc:
        if reused and not exc.partial:
            raise _Stale from exc
        raise ConnectionClosedError(endpoint_url=url) from exc
    except asyncio.LimitOverrunError as exc:
        raise ConnectionClosedError(endpoint_url=url) from exc
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError) as exc:
        # A reset or a TLS EOF on a kept-alive connection: the server closed it as the
        # request went out (its certificate was checked when it was opened).
        if reused:
            raise _Stale from exc
        raise ConnectionClosedError(endpoint_url=url) from exc
    except OSError as exc:
        raise ConnectionClosedError(endpoint_url=url) from exc
