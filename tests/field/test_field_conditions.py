"""The public API over a network shaped like the real one: HTTPS with a certificate made at
test time (trusted through ``AWS_CA_BUNDLE``), a silent server, proxies (plain and
TLS-in-TLS), slow credentials, cancellation before headers, event loops without
``add_reader``, forked workers, transport failures; the event loop's lateness measured by a
ticker, with generous bounds (seconds). Slow links (TLS records split over TCP segments, a
trickling or stalled link, a slow upload) are in ``test_slow_links.py``."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import ssl
import sys
import textwrap
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config

from langchain_bedrock_stream import (
    BedrockError,
    BedrockTimeoutError,
    ChatBedrockStream,
)
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    ConnectProxy,
    LoopLagTicker,
    RawReply,
    ReaderlessEventLoop,
    StreamReply,
    TcpRelay,
    make_certificate,
    server_ssl_context,
)
from tests.support.events import text_events

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

NOVA = "us.amazon.nova-micro-v1:0"
PIECES = [f"word{i} " for i in range(40)]
TEXT = "".join(PIECES)


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("field-tls"))


@pytest.fixture
def tls(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context for the certificate, which clients trust through AWS_CA_BUNDLE."""
    cert, key = certificate
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return server_ssl_context(cert, key)


@pytest.fixture
def server(tls: ssl.SSLContext) -> Iterator[BedrockWireServer]:
    with BedrockWireServer(ssl_context=tls) as running:
        yield running


def model_at(url: str, **kwargs: Any) -> ChatBedrockStream:
    return ChatBedrockStream(model=NOVA, region_name="us-east-1", endpoint_url=url, **kwargs)


async def astream_text(model: ChatBedrockStream, prompt: str = "go") -> str:
    return "".join([chunk.text async for chunk in model.astream(prompt)])


def run_on(
    loop_factory: Callable[[], asyncio.AbstractEventLoop], coro: Coroutine[Any, Any, Any]
) -> Any:
    """Run ``coro`` to completion on a fresh loop from ``loop_factory``."""
    loop = loop_factory()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


def _stream_sync(model: ChatBedrockStream) -> list[str]:
    return [chunk.text for chunk in model.stream("go")]


async def _stream_async(model: ChatBedrockStream) -> list[str]:
    got: list[str] = []
    async for chunk in model.astream("go"):
        got.append(chunk.text)
    return got


async def _call(model: ChatBedrockStream, api: str) -> Any:
    """One call through ``api``; blocking ones in a worker thread, each bounded."""
    if api == "stream":
        return await asyncio.to_thread(_stream_sync, model)
    if api == "invoke":
        return await asyncio.to_thread(model.invoke, "go")
    if api == "astream":
        return await asyncio.wait_for(_stream_async(model), 20)
    return await asyncio.wait_for(model.ainvoke("go"), 20)


APIS = ["stream", "astream", "invoke", "ainvoke"]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("api", APIS)
async def test_a_server_silent_after_two_events_ends_in_a_timeout_with_the_partial_message(
    server: BedrockWireServer, api: str
) -> None:
    # messageStart and one delta, then silence with the connection open.
    server.enqueue(StreamReply(text_events(["Hello", " world"]), stall_after=2))
    model = model_at(server.endpoint_url, config=Config(read_timeout=2), streaming=True)
    with pytest.raises(BedrockTimeoutError) as caught:
        await _call(model, api)
    partial = caught.value.partial_message
    assert partial is not None
    assert partial.text == "Hello"
    assert len(server.requests) == 1  # content had reached the caller: no retry


@pytest.mark.timeout(30)
@pytest.mark.parametrize("api", APIS)
async def test_a_server_silent_before_the_headers_ends_in_a_timeout(
    server: BedrockWireServer, api: str
) -> None:
    server.enqueue(StreamReply(text_events(["never"]), head_delay=60))
    model = model_at(
        server.endpoint_url, config=Config(read_timeout=2), streaming=True, max_retries=0
    )
    with pytest.raises(BedrockTimeoutError) as caught:
        await _call(model, api)
    assert caught.value.partial_message is None


# --- many streams, slow credentials, cancellation ---------------------------------------------


@pytest.mark.timeout(120)
async def test_many_concurrent_astreams_over_tls(server: BedrockWireServer) -> None:
    streams = 200
    pieces = [f"s{i} " for i in range(20)]
    reply = StreamReply(text_events(pieces), delay=0.02, batch=1).prepare()
    for _ in range(streams):
        server.enqueue(reply)
    model = model_at(server.endpoint_url, config=Config(read_timeout=30))
    async with LoopLagTicker() as ticker:
        texts = await asyncio.gather(*(astream_text(model) for _ in range(streams)))
    assert texts == ["".join(pieces)] * streams
    # Only gross blocking: the benchmark measures the loop's lateness on a quiet machine.
    assert ticker.worst < 3.0, f"event loop blocked for {ticker.worst:.2f} s"


@pytest.fixture
def slow_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A profile whose ``credential_process`` takes 3 s to print its credentials."""
    script = tmp_path / "slow_credentials.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, time
            time.sleep(3)
            print(json.dumps({"Version": 1, "AccessKeyId": "AKIDSLOWPROCESS",
                              "SecretAccessKey": "slow-secret-not-real"}))
            """
        )
    )
    config = tmp_path / "aws-config"
    config.write_text(
        f"[profile slow]\ncredential_process = {sys.executable} {script}\nregion = us-east-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    return "slow"


@pytest.mark.timeout(60)
async def test_slow_credential_process_does_not_block_the_loop(
    server: BedrockWireServer, slow_profile: str
) -> None:
    server.enqueue(StreamReply(text_events(["signed"])))
    model = model_at(server.endpoint_url, credentials_profile_name=slow_profile)
    async with LoopLagTicker() as ticker:
        assert await astream_text(model) == "signed"
    assert ticker.worst < 1.5, f"event loop blocked for {ticker.worst:.2f} s"
    assert "AKIDSLOWPROCESS" in server.requests[0].headers["authorization"]


@pytest.mark.timeout(60)
async def test_cancelling_before_headers_releases_every_socket(
    server: BedrockWireServer,
) -> None:
    streams = 50
    for _ in range(streams):
        server.enqueue(StreamReply(text_events(["late"]), head_delay=30))
    model = model_at(server.endpoint_url)  # default read timeout: 60 s
    tasks = [asyncio.ensure_future(astream_text(model)) for _ in range(streams)]
    assert await asyncio.to_thread(server.wait_for_requests, streams, 30)
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert await asyncio.to_thread(server.wait_for_connections, 0, 10), (
        f"{server.open_connections} connections still open"
    )


# --- proxies ------------------------------------------------------------------------------


def _proxied(server: BedrockWireServer, proxy: ConnectProxy, cert: Path) -> ChatBedrockStream:
    return model_at(
        server.endpoint_url,
        config=Config(
            read_timeout=10,
            proxies={"https": proxy.url},
            proxies_config={"proxy_ca_bundle": str(cert)},
        ),
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize("proxy_tls", [False, True], ids=["http-proxy", "https-proxy"])
@pytest.mark.parametrize("api", ["stream", "astream"])
async def test_https_through_a_proxy(
    server: BedrockWireServer,
    tls: ssl.SSLContext,
    certificate: tuple[Path, Path],
    proxy_tls: bool,
    api: str,
) -> None:
    server.enqueue(StreamReply(text_events(PIECES), delay=0.001, batch=4))
    with ConnectProxy(ssl_context=tls if proxy_tls else None) as proxy:
        model = _proxied(server, proxy, certificate[0])
        if api == "stream":
            text = "".join(await asyncio.to_thread(_stream_sync, model))
        else:
            text = await asyncio.wait_for(astream_text(model), 30)
        assert text == TEXT
        assert proxy.targets == [f"127.0.0.1:{server.port}"]


@pytest.mark.timeout(60)
async def test_proxy_with_basic_auth(
    server: BedrockWireServer, certificate: tuple[Path, Path]
) -> None:
    server.enqueue(StreamReply(text_events(["through"])))
    with ConnectProxy(auth=("user", "s3cret")) as proxy:
        model = model_at(
            server.endpoint_url,
            config=Config(proxies={"https": proxy.url_with_auth("user", "s3cret")}),
        )
        assert await asyncio.wait_for(astream_text(model), 30) == "through"
        assert proxy.tunnels == 1
        assert proxy.refused == 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("bypass", [False, True], ids=["proxied", "no-proxy"])
async def test_proxy_from_the_environment(
    server: BedrockWireServer, monkeypatch: pytest.MonkeyPatch, bypass: bool
) -> None:
    server.enqueue(StreamReply(text_events(["env"])), StreamReply(text_events(["env"])))
    with ConnectProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        if bypass:
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        model = model_at(server.endpoint_url)
        assert await asyncio.wait_for(astream_text(model), 30) == "env"
        assert "".join(await asyncio.to_thread(_stream_sync, model)) == "env"
        if bypass:
            assert proxy.tunnels == 0
        else:
            assert proxy.tunnels >= 1
            assert set(proxy.targets) == {f"127.0.0.1:{server.port}"}


# --- event loops --------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_astream_on_a_loop_without_add_reader(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(text_events(PIECES), delay=0.001, batch=4))
    model = model_at(server.endpoint_url, config=Config(read_timeout=10))
    assert run_on(ReaderlessEventLoop, asyncio.wait_for(astream_text(model), 30)) == TEXT


@pytest.mark.timeout(60)
@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop not installed")
def test_astream_on_uvloop(server: BedrockWireServer) -> None:
    import uvloop

    server.enqueue(StreamReply(text_events(PIECES), delay=0.001, batch=4))
    model = model_at(server.endpoint_url, config=Config(read_timeout=10))
    assert run_on(uvloop.new_event_loop, asyncio.wait_for(astream_text(model), 30)) == TEXT


# --- the connection itself ----------------------------------------------------------------


EMPTY_STREAM = RawReply(200, b"", {"Content-Type": "application/vnd.amazon.eventstream"})


@pytest.mark.timeout(30)
@pytest.mark.parametrize("api", ["stream", "astream"])
async def test_empty_200_on_a_kept_alive_connection_is_a_prompt_typed_error(
    server: BedrockWireServer, api: str
) -> None:
    # The read timeout is left at its default (60 s): waiting for it fails the test.
    server.enqueue(StreamReply(text_events(["first"])), EMPTY_STREAM)
    model = model_at(server.endpoint_url, max_retries=0)
    with pytest.raises(BedrockError) as caught:
        if api == "stream":
            assert "".join(await asyncio.to_thread(_stream_sync, model)) == "first"
            await asyncio.to_thread(_stream_sync, model)
        else:
            assert await astream_text(model) == "first"
            await asyncio.wait_for(astream_text(model), 20)
    assert not isinstance(caught.value, BedrockTimeoutError)
    assert server.connections_accepted == 1


@pytest.mark.timeout(60)
async def test_calls_reuse_one_kept_alive_connection(server: BedrockWireServer) -> None:
    for _ in range(6):
        server.enqueue(StreamReply(text_events(["again"])))
    model = model_at(server.endpoint_url)
    for _ in range(3):
        assert await astream_text(model) == "again"
    assert server.connections_accepted == 1
    for _ in range(3):
        assert "".join(await asyncio.to_thread(_stream_sync, model)) == "again"
    assert len(server.requests) == 6
    assert server.connections_accepted <= 2  # the sync path may keep its own pool


@pytest.mark.timeout(60)
async def test_invoke_and_ainvoke_over_tls(server: BedrockWireServer) -> None:
    server.enqueue(
        StreamReply(text_events(PIECES), batch=5),
        StreamReply(text_events(PIECES), batch=5),
    )
    model = model_at(server.endpoint_url, streaming=True)
    assert (await model.ainvoke("go")).text == TEXT
    assert (await asyncio.to_thread(model.invoke, "go")).text == TEXT
    assert [r.operation for r in server.requests] == ["converse-stream"] * 2


# --- forked workers (multiprocessing, gunicorn --preload, Celery prefork) --------------------


def _child_calls(model: ChatBedrockStream, order: tuple[str, ...], results: Any) -> None:
    """In a forked child: one call per entry of ``order``; what each returned, or its error."""
    try:
        for api in order:
            if api == "stream":
                results.put(("ok", "".join(chunk.text for chunk in model.stream("go"))))
            else:
                results.put(("ok", asyncio.run(astream_text(model))))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put(("error", repr(exc)))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("order", [("stream", "astream"), ("astream", "stream")])
def test_a_forked_child_streams_after_the_parent_did(
    server: BedrockWireServer, order: tuple[str, ...]
) -> None:
    # The parent uses both paths (which starts the signing pool's workers and fills the
    # keep-alive pools), then forks: the child inherits that state, not the threads.
    import multiprocessing
    import warnings

    for _ in range(4):
        server.enqueue(StreamReply(text_events(PIECES), batch=5))
    model = model_at(server.endpoint_url, config=Config(read_timeout=10, connect_timeout=5))
    for api in order:
        if api == "stream":
            assert "".join(_stream_sync(model)) == TEXT
        else:
            assert asyncio.run(astream_text(model)) == TEXT
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    with warnings.catch_warnings():  # forking a process with threads: the point of the test
        warnings.simplefilter("ignore", DeprecationWarning)
        child = context.Process(target=_child_calls, args=(model, order[::-1], results))
        child.start()
    got: list[tuple[str, str]] = []
    try:
        while len(got) < len(order):
            got.append(results.get(timeout=30))
    except Exception:  # queue.Empty: the child said nothing more within 30 s
        pass
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
    assert got == [("ok", TEXT)] * len(order), f"the child got {got} (then hung?)"
    assert child.exitcode == 0
    # One connection per path in each process: the child sent nothing on the parent's
    # kept-alive connection (its socket and TLS state are the parent's too).
    assert server.connections_accepted == 4


def _child_on_loop(model: ChatBedrockStream, loop: asyncio.AbstractEventLoop, results: Any) -> None:
    try:
        results.put(("ok", loop.run_until_complete(astream_text(model))))
    except BaseException as exc:
        results.put(("error", repr(exc)))


@pytest.mark.timeout(120)
def test_a_forked_child_on_the_parents_loop_opens_its_own_connection(
    server: BedrockWireServer,
) -> None:
    # A parent that keeps one loop for its async calls (run_until_complete) forks; the
    # child goes on with that loop object. The parent's kept-alive connection (socket and
    # TLS state shared with the parent) must not carry the child's request.
    import multiprocessing
    import warnings

    for _ in range(2):
        server.enqueue(StreamReply(text_events(PIECES), batch=5))
    model = model_at(server.endpoint_url, config=Config(read_timeout=10, connect_timeout=5))
    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(astream_text(model)) == TEXT
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            child = context.Process(target=_child_on_loop, args=(model, loop, results))
            child.start()
        try:
            got = results.get(timeout=30)
        finally:
            child.join(10)
            if child.is_alive():
                child.kill()
                child.join()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    assert got == ("ok", TEXT)
    assert server.connections_accepted == 2


def _images_prompt(count: int, size: int) -> Any:
    """A user message with ``count`` PNG images of ``size`` bytes each (random pixels)."""
    import base64
    import os
    import struct

    from langchain_core.messages import HumanMessage

    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 64, 64)
    blocks: list[Any] = [{"type": "text", "text": "describe"}]
    for _ in range(count):
        data = header + os.urandom(size - len(header))
        blocks.append(
            {"type": "image", "base64": base64.b64encode(data).decode(), "mime_type": "image/png"}
        )
    return [HumanMessage(content=blocks)]


# --- a kept-alive connection closed while the next request is being written -----------------


class _ClosingRelay(TcpRelay):
    """A relay that closes its first connection (a FIN both ways, no TLS close) once the
    client has sent more than ``cut_after`` bytes on it: the server going away from a
    kept-alive connection while the next request is on its way. Later connections pass."""

    def __init__(self, target_port: int, cut_after: int) -> None:
        super().__init__(target_port)
        self.cut_after = cut_after

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self.lock:
            self._connections += 1
            first = self._connections == 1
        if not first:
            await super().handle(reader, writer)
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        sent = 0

        async def upward() -> None:
            nonlocal sent
            while data := await reader.read(65536):
                sent += len(data)
                if sent > self.cut_after:
                    return
                up_writer.write(data)
                await up_writer.drain()

        async def downward() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()

        down = asyncio.ensure_future(downward())
        try:
            await upward()
        finally:
            down.cancel()
            await asyncio.gather(down, return_exceptions=True)
            writer.close()
            up_writer.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("api", ["stream", "astream"])
async def test_a_kept_alive_connection_closed_while_the_next_request_is_written_is_retried(
    server: BedrockWireServer, api: str
) -> None:
    prompt = _images_prompt(1, 1_500_000)
    server.enqueue(StreamReply(text_events(["first"])), StreamReply(text_events(PIECES)))
    with _ClosingRelay(server.port, cut_after=200_000) as relay:
        model = model_at(relay.endpoint_url(), config=Config(read_timeout=10), max_retries=1)
        if api == "stream":
            first = await asyncio.to_thread(_stream_sync, model)
            second = await asyncio.to_thread(lambda: [c.text for c in model.stream(prompt)])
        else:
            first = await _stream_async(model)
            second = [chunk.text async for chunk in model.astream(prompt)]
    assert server.connections_accepted == 2
    assert "".join(first) == "first"
    assert "".join(second) == TEXT


# --- transport failures are also botocore's exceptions for them -------------------------------


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A port whose listen queue is full: a new connection is never answered."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    waiting = []
    for _ in range(8):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        waiting.append(client)
    try:
        yield port
    finally:
        for client in waiting:
            client.close()
        listener.close()


FAILURES = ["refused", "read timeout", "proxy refused", "untrusted", "dropped", "connect timeout"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("api", ["stream", "astream"])
@pytest.mark.parametrize("failure", FAILURES)
async def test_transport_failures_are_also_the_botocore_exception_for_them(
    server: BedrockWireServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    full_backlog: int,
    api: str,
    failure: str,
) -> None:
    # What ChatBedrockConverse lets through for the same failure: drop-in code that catches
    # it (to fail over to another region, say) keeps working.
    import pickle

    from botocore.exceptions import (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ProxyConnectionError,
        ReadTimeoutError,
        SSLError,
    )

    from langchain_bedrock_stream.testing import DropConnection

    url, config = server.endpoint_url, Config(read_timeout=10, connect_timeout=10)
    expected: type[Exception]
    if failure == "refused":
        url, expected = f"https://127.0.0.1:{_closed_port()}", EndpointConnectionError
    elif failure == "read timeout":
        server.enqueue(StreamReply(text_events(["late"]), head_delay=30))
        config, expected = Config(read_timeout=1), ReadTimeoutError
    elif failure == "proxy refused":
        config = Config(proxies={"https": f"http://127.0.0.1:{_closed_port()}"})
        expected = ProxyConnectionError
    elif failure == "untrusted":
        other, _ = make_certificate(tmp_path, "other")
        monkeypatch.setenv("AWS_CA_BUNDLE", str(other))
        expected = SSLError
    elif failure == "dropped":
        server.enqueue(DropConnection())
        expected = ConnectionClosedError
    else:
        url, config = f"https://127.0.0.1:{full_backlog}", Config(connect_timeout=1)
        expected = ConnectTimeoutError
    model = model_at(url, config=config, max_retries=0)
    with pytest.raises(BedrockError) as caught:
        await _call(model, api)
    assert isinstance(caught.value, expected), type(caught.value).__mro__
    restored = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(restored, expected) and isinstance(restored, BedrockError)
    assert str(restored) == str(caught.value)


# --- a 2xx answer that is not an event stream ----------------------------------------------


NOT_STREAMS = {
    "json": (
        "application/json",
        b'{"message": "The security token included in the request is expired",'
        b' "debug": "aws_secret_access_key=abcdEFGH1234ijkl5678"}',
        "The security token included in the request is expired",
    ),
    "html": (
        "text/html; charset=utf-8",
        b"<html><head><title>502 Bad Gateway</title></head><body>" + b"x" * 4000 + b"</body>",
        "<title>502 Bad Gateway</title>",
    ),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("api", ["stream", "astream"])
@pytest.mark.parametrize("kind", sorted(NOT_STREAMS))
async def test_a_2xx_answer_that_is_not_an_event_stream_is_quoted_in_the_error(
    server: BedrockWireServer, api: str, kind: str
) -> None:
    content_type, body, quoted = NOT_STREAMS[kind]
    server.enqueue(RawReply(200, body, {"Content-Type": content_type}))
    model = model_at(server.endpoint_url, max_retries=0)
    with pytest.raises(BedrockError) as caught:
        await _call(model, api)
    message = str(caught.value)
    assert "implausible frame" not in message
    assert content_type in message and quoted in message
    assert "abcdEFGH1234ijkl5678" not in message
    assert caught.value.status_code == 200
