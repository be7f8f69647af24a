"""A TCP service on 127.0.0.1 served by an asyncio loop in one background daemon thread.

The relay and the proxy of the test kit run here, away from the event loop a test
measures, so that their own work never shows up as the client's loop lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, overload

_T = TypeVar("_T")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (the kit never connects anywhere else)."""
    return host.strip("[]").lower() in _LOOPBACK


class Observed(Generic[_T]):
    """A read-only attribute of a service, read under its ``lock``: the counters and
    snapshots a test reads while the service's thread updates them (documented by the
    attribute docstring that follows it)."""

    def __init__(self, read: Callable[[Any], _T]) -> None:
        self._read = read

    @overload
    def __get__(self, service: None, owner: type) -> Observed[_T]: ...

    @overload
    def __get__(self, service: ThreadedLoop, owner: type) -> _T: ...

    def __get__(self, service: ThreadedLoop | None, owner: type) -> Observed[_T] | _T:
        if service is None:
            return self
        with service.lock:
            return self._read(service)


class ThreadedLoop:
    """A listener served by an asyncio loop in one background daemon thread.

    Subclasses bind in :meth:`_listen` (returning the port) and close what they serve in
    :meth:`_shutdown`; starting, stopping and ``with`` are shared.
    """

    thread_name = "bedrock-test-service"
    _noun = "service"

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopping = False
        self.lock = threading.Lock()
        """Held while the service's own thread changes what :class:`Observed` reads."""

    # -- subclass hooks ----------------------------------------------------------------

    async def _listen(self) -> int:
        """Bind on the loop; the port listened on."""
        raise NotImplementedError

    async def _shutdown(self) -> None:
        """Close the listener and what it serves."""
        raise NotImplementedError

    # -- lifecycle -----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port listened on (known once started)."""
        if self._port is None:
            raise RuntimeError(f"the {self._noun} is not started")
        return self._port

    def start(self) -> Self:
        """Bind and start serving in a background thread; returns ``self``."""
        if self._thread is not None:
            return self
        self._ready.clear()
        self._error = None
        self._stopping = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listener and every connection, then stop and join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        self._stopping = True
        if loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self._port = loop.run_until_complete(self._listen())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


class BackgroundService(ThreadedLoop):
    """Listen on 127.0.0.1, hand each connection to :meth:`handle` in its own task.

    Subclasses implement :meth:`handle`. Connections still open when :meth:`stop` runs,
    or older than ``max_lifetime`` seconds, are closed: a service left running by a
    failed test stops by itself.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_lifetime: float = 120.0,
    ) -> None:
        super().__init__()
        self._ssl = ssl_context
        self._max_lifetime = max_lifetime
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one accepted connection."""
        raise NotImplementedError

    async def _listen(self) -> int:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", 0, ssl=self._ssl, backlog=2048
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await asyncio.wait_for(self.handle(reader, writer), self._max_lifetime)
        except (TimeoutError, ConnectionError, ssl.SSLError, OSError):
            pass
        except asyncio.CancelledError:  # stopping: end quietly (asyncio logs a cancelled
            pass  # connection task as an error)
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes from ``reader`` to ``writer`` until EOF, then half-close ``writer``."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        else:  # TLS has no half-close
            writer.close()
    except (ConnectionError, OSError):
        writer.close()


async def join_both(*jobs: Awaitable[None]) -> None:
    """Run the two directions of a connection; when one fails, stop the other."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
