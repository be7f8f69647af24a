"""An HTTP ``CONNECT`` proxy on 127.0.0.1, plain or itself behind TLS.

HTTPS through a proxy is a tunnel: the client asks ``CONNECT host:port``, the proxy
answers ``200`` and from then on copies bytes both ways while client and server speak TLS
end to end. With ``ssl_context`` the client first speaks TLS to the proxy too, so the
server's TLS runs inside the proxy's (what ``HTTPS_PROXY=https://...`` means)::

    with ConnectProxy(ssl_context=server_ssl_context(cert, key)) as proxy:
        config = Config(proxies={"https": proxy.url},
                        proxies_config={"proxy_ca_bundle": str(cert)})

Only tunnels to loopback addresses are opened (``403`` otherwise); other methods get
``405``. With ``auth=(user, password)`` a tunnel needs the matching basic
``Proxy-Authorization`` (``407`` otherwise).
"""

from __future__ import annotations

import asyncio
import base64
import ssl

from ._background import BackgroundService, Observed, is_loopback, join_both, pipe

__all__ = ["ConnectProxy"]

_MAX_HEAD = 16 * 1024


class ConnectProxy(BackgroundService):
    """A ``CONNECT`` proxy counting the tunnels it opened (:attr:`tunnels`, :attr:`targets`)."""

    thread_name = "bedrock-test-proxy"

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        auth: tuple[str, str] | None = None,
        max_lifetime: float = 120.0,
    ) -> None:
        super().__init__(ssl_context=ssl_context, max_lifetime=max_lifetime)
        self._expected = None
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self._expected = f"Basic {token}"
        self._targets: list[str] = []
        self._refused = 0

    @property
    def url(self) -> str:
        """The proxy's URL, as ``HTTPS_PROXY`` or ``Config(proxies=...)`` takes it."""
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def url_with_auth(self, user: str, password: str) -> str:
        """:attr:`url` with credentials in it, the way proxy settings carry them."""
        scheme, rest = self.url.split("://", 1)
        return f"{scheme}://{user}:{password}@{rest}"

    tunnels = Observed[int](lambda proxy: len(proxy._targets))
    """Tunnels opened so far."""
    targets = Observed[list[str]](lambda proxy: list(proxy._targets))
    """The ``host:port`` of every tunnel opened, in order."""
    refused = Observed[int](lambda proxy: proxy._refused)
    """Requests answered with an error (bad method, target or credentials)."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client connection: read its CONNECT, check it, then tunnel both ways."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return
        if len(head) > _MAX_HEAD:
            return await self._refuse(writer, 431, "Request Header Fields Too Large")
        lines = head.decode("latin-1").split("\r\n")
        method, _, rest = lines[0].partition(" ")
        target = rest.partition(" ")[0]
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        if method.upper() != "CONNECT":
            return await self._refuse(writer, 405, "Method Not Allowed")
        if self._expected is not None and headers.get("proxy-authorization") != self._expected:
            return await self._refuse(
                writer,
                407,
                "Proxy Authentication Required",
                'Proxy-Authenticate: Basic realm="test"\r\n',
            )
        host, _, port = target.rpartition(":")
        if not is_loopback(host) or not port.isdigit():
            return await self._refuse(writer, 403, "Forbidden")
        up_reader, up_writer = await asyncio.open_connection(host.strip("[]"), int(port))
        with self.lock:
            self._targets.append(target)
        try:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await join_both(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            up_writer.close()

    async def _refuse(
        self, writer: asyncio.StreamWriter, status: int, reason: str, extra: str = ""
    ) -> None:
        with self.lock:
            self._refused += 1
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\n{extra}Content-Length: 0\r\n"
            "Connection: close\r\n\r\n".encode("latin-1")
        )
        await writer.drain()
