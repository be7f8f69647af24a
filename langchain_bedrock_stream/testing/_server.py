"""A loopback HTTP server that speaks the Bedrock runtime wire protocol.

:class:`BedrockWireServer` answers ``POST /model/{modelId}/converse-stream`` and
``POST /model/{modelId}/converse`` the way the real service does (event-stream
frames over chunked HTTP, AWS-style JSON errors), with scripted replies; it also routes
``POST /model/{modelId}/count-tokens`` (CountTokens), answered by a scripted
:class:`JsonReply` such as ``JsonReply({"inputTokens": 42})``.  Point a
real boto3 client at :attr:`BedrockWireServer.endpoint_url` and the whole stack
(botocore's HTTP layer, event-stream decoder and error parser) is exercised
offline.

The server runs an asyncio loop in one background daemon thread, so hundreds of
concurrently paced streams cost a single thread.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections import deque
from collections.abc import Iterable

from ._background import Observed, ThreadedLoop
from ._connection import Connection
from ._replies import *  # noqa: F403 - the replies were defined here, and still import from here
from ._replies import ErrorReply, RecordedRequest, Reply, Responder
from ._replies import __all__ as _reply_names

__all__ = ["BedrockWireServer", *_reply_names]

logger = logging.getLogger(__name__)


class BedrockWireServer(ThreadedLoop):
    """A scripted Bedrock runtime endpoint on 127.0.0.1 for offline tests and benchmarks.

    Replies are served in order from ``replies`` (and :meth:`enqueue`); when none is
    left, ``responder`` builds one from the request, and without a responder the
    server answers a 500 ``InternalServerException`` saying no scripted reply is left.
    The responder runs on the server's event loop, so it should be quick.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with BedrockWireServer([StreamReply(events)]) as server:
            client = boto3.client("bedrock-runtime", endpoint_url=server.endpoint_url,
                                  region_name="us-east-1", aws_access_key_id="test",
                                  aws_secret_access_key="test")

    ``ssl_context`` (a server-side ``ssl.SSLContext``) serves HTTPS instead, for code that
    needs TLS (Bedrock API keys are only sent over HTTPS); point boto3 at the certificate
    with ``AWS_CA_BUNDLE``.
    """

    thread_name = "bedrock-wire-server"
    _noun = "server"

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        responder: Responder | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__()
        self._replies: deque[Reply] = deque(replies)
        self._responder = responder
        self._host = host
        self._requested_port = port
        self._ssl = ssl_context
        self._changed = threading.Condition(self.lock)
        self._requests: list[RecordedRequest] = []
        self._disconnects = 0
        self._accepted = 0
        self._active_streams = 0
        self._completed_streams = 0
        self._connections: set[Connection] = set()
        self._aio_server: asyncio.AbstractServer | None = None

    # -- lifecycle (start, stop, with: ThreadedLoop) ------------------------------------

    async def _listen(self) -> int:
        loop = asyncio.get_running_loop()
        self._aio_server = await loop.create_server(
            lambda: Connection(self, loop),
            self._host,
            self._requested_port,
            backlog=2048,
            ssl=self._ssl,
        )
        return int(self._aio_server.sockets[0].getsockname()[1])

    async def _shutdown(self) -> None:
        if self._aio_server is not None:
            self._aio_server.close()
        connections = list(self._connections)
        for connection in connections:
            connection.abort()
        tasks = [c.task for c in connections if c.task is not None and not c.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._aio_server is not None:
            await self._aio_server.wait_closed()

    # -- configuration ---------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        """The URL to pass as ``endpoint_url`` to ``boto3.client("bedrock-runtime")``."""
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://{self._host}:{self.port}"

    def enqueue(self, *replies: Reply) -> None:
        """Append replies to the scripted list (thread-safe)."""
        with self.lock:
            self._replies.extend(replies)

    pending_replies = Observed[int](lambda server: len(server._replies))
    """How many scripted replies have not been served yet."""

    # -- observations --------------------------------------------------------------

    requests = Observed[list[RecordedRequest]](lambda server: list(server._requests))
    """A snapshot of every request received so far, in arrival order."""
    disconnects = Observed[int](lambda server: server._disconnects)
    """Streams whose client went away before the last frame was written."""
    stream_count_active = Observed[int](lambda server: server._active_streams)
    """Streams currently being written."""
    streams_completed = Observed[int](lambda server: server._completed_streams)
    """Streams whose frames were all written (including deliberate ``drop_after``)."""
    connections_accepted = Observed[int](lambda server: server._accepted)
    """TCP connections accepted so far (a client reusing its connection adds none)."""
    open_connections = Observed[int](lambda server: len(server._connections))
    """Client connections open now (from the server's side)."""

    def wait_for_connections(self, open_at_most: int, timeout: float) -> bool:
        """Block until at most ``open_at_most`` connections are open; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._connections) <= open_at_most, timeout)

    def wait_for_disconnect(self, timeout: float, count: int = 1) -> bool:
        """Block until at least ``count`` disconnects were seen; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._disconnects >= count, timeout)

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` requests were received; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._requests) >= count, timeout)

    # -- called from the event loop -----------------------------------------------------

    def _take_reply(self, request: RecordedRequest) -> Reply:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()
            if self._replies:
                return self._replies.popleft()
        if self._responder is not None:
            try:
                return self._responder(request)
            except Exception as exc:
                logger.exception("Bedrock wire server responder failed")
                return ErrorReply(500, "InternalServerException", f"responder raised {exc!r}")
        return ErrorReply(
            500,
            "InternalServerException",
            f"no scripted reply left for {request.operation} on model {request.model_id!r}",
        )

    def _connection_opened(self, connection: Connection) -> None:
        with self._changed:
            self._connections.add(connection)
            self._accepted += 1
            self._changed.notify_all()

    def _connection_closed(self, connection: Connection) -> None:
        with self._changed:
            self._connections.discard(connection)
            self._changed.notify_all()

    def _stream_started(self) -> None:
        with self._changed:
            self._active_streams += 1
            self._changed.notify_all()

    def _stream_finished(self, completed: bool) -> None:
        with self._changed:
            self._active_streams -= 1
            if completed:
                self._completed_streams += 1
            elif not self._stopping:
                self._disconnects += 1
            self._changed.notify_all()
