"""The event-loop transport through the public API: what it sends (botocore's own request:
endpoint path prefix, signature, the caller's headers), how it reads every body framing
HTTP allows, the errors it raises (the same as the blocking path, botocore's classes
included), its deadlines, TLS settings, connection reuse and its bound, on the selector
loop, a loop without ``add_reader`` (as Windows' Proactor) and uvloop."""

from __future__ import annotations

import asyncio
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ProxyConnectionError, SSLError

from langchain_bedrock_stream import (
    BedrockConnectionError,
    BedrockError,
    BedrockInvalidRequestError,
    BedrockRateLimitError,
    BedrockTimeoutError,
    ChatBedrockStream,
    StreamIntegrityError,
)
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    ConnectProxy,
    ErrorReply,
    JsonReply,
    StreamReply,
    encode_events,
    make_certificate,
    server_ssl_context,
)
from tests.support.events import text_events

NOVA = "us.amazon.nova-micro-v1:0"
PIECES = ["Hello", ", ", "world"]
TEXT = "".join(PIECES)
BODY = encode_events(text_events(PIECES))


# --- a server answering with scripted bytes ----------------------------------------------------


class ScriptedHttp(socketserver.ThreadingTCPServer):
    """Answers each request with the next scripted bytes (after reading the request), and
    records request lines, headers and bodies. ``None`` as a script: say nothing, keep the
    connection open until the client leaves."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, answers: list[bytes | None], tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = list(answers)
        self.tls = tls
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.accepted = 0
        self.hang_up = False  # close each connection after its answer, without saying so
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> ScriptedHttp:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.shutdown()
        self.server_close()


class _Handler(socketserver.BaseRequestHandler):
    server: ScriptedHttp

    def handle(self) -> None:
        sock = self.request
        self.server.accepted += 1
        if self.server.tls is not None:
            sock = self.server.tls.wrap_socket(sock, server_side=True)
        stream = sock.makefile("rb")
        while True:
            line = stream.readline()
            if not line:
                return
            headers: dict[str, str] = {}
            while (header := stream.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers.get("content-length", "0")))
            self.server.requests.append((line.decode("latin-1").strip(), headers, body))
            answer = self.server.answers.pop(0) if self.server.answers else None
            if answer is None:
                stream.read()  # silent until the client hangs up
                return
            sock.sendall(answer)
            if self.server.hang_up or b"connection: close" in answer.lower().split(b"\r\n\r\n")[0]:
                sock.close()
                return


def chunked(body: bytes, size: int = 50) -> bytes:
    return b"".join(
        b"%x\r\n%b\r\n" % (len(body[i : i + size]), body[i : i + size])
        for i in range(0, len(body), size)
    )


HEAD_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.amazon.eventstream\r\n"
CHUNKED_OK = HEAD_OK + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(BODY) + b"0\r\n\r\n"


def model_at(url: str, **kwargs: Any) -> ChatBedrockStream:
    kwargs.setdefault("max_retries", 0)
    return ChatBedrockStream(model=NOVA, region_name="us-east-1", endpoint_url=url, **kwargs)


async def astream_text(model: ChatBedrockStream) -> str:
    return "".join([chunk.text async for chunk in model.astream("go")])


def uvloop_factory() -> asyncio.AbstractEventLoop:
    uvloop = pytest.importorskip("uvloop")
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


class ProactorLike(asyncio.SelectorEventLoop):
    """``add_reader`` / ``add_writer`` raise, as on Windows' Proactor loop (asyncio's own
    clean-up after a connect still calls ``remove_writer``, which stays)."""

    def add_reader(self, *_: Any) -> None:  # type: ignore[override]
        raise NotImplementedError("add_reader is not available on this event loop")

    def add_writer(self, *_: Any) -> None:  # type: ignore[override]
        raise NotImplementedError("add_writer is not available on this event loop")


LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "selector": asyncio.SelectorEventLoop,
    "no-add_reader": ProactorLike,
    "uvloop": uvloop_factory,
}


def run_on(loop: str, coro_fn: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        return runner.run(coro_fn())


# --- what is sent ------------------------------------------------------------------------------


def test_async_sends_what_botocore_built() -> None:
    """The same request line, signature scope and caller headers as the blocking path, with
    the endpoint's path prefix kept."""
    with ScriptedHttp([CHUNKED_OK, CHUNKED_OK]) as server:
        model = model_at(server.url + "/bedrock/v1", default_headers={"X-Team": "search"})
        assert "".join(c.text for c in model.stream("go")) == TEXT
        assert asyncio.run(astream_text(model)) == TEXT
    (sync_line, sync_headers, sync_body), (line, headers, body) = server.requests
    assert (
        line
        == sync_line
        == ("POST /bedrock/v1/model/us.amazon.nova-micro-v1%3A0/converse-stream HTTP/1.1")
    )
    assert headers["x-team"] == sync_headers["x-team"] == "search"
    assert headers["host"] == sync_headers["host"] == server.url.split("//")[1]
    assert "/us-east-1/bedrock/aws4_request" in headers["authorization"]
    assert "x-team" in headers["authorization"]  # signed, as botocore signs it
    assert json.loads(body) == json.loads(sync_body)
    assert json.loads(body)["messages"][0]["content"] == [{"text": "go"}]


def test_async_keeps_the_callers_own_botocore_handlers() -> None:
    def stamp(request: Any, **_: Any) -> None:
        request.headers["X-Stamped"] = "yes"

    with ScriptedHttp([CHUNKED_OK]) as server:
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=server.url,
            config=Config(retries={"total_max_attempts": 1}),
        )
        client.meta.events.register("before-sign.bedrock-runtime.*", stamp)
        model = ChatBedrockStream(model=NOVA, client=client)
        assert asyncio.run(astream_text(model)) == TEXT
    assert server.requests[0][1]["x-stamped"] == "yes"


# --- every body framing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        CHUNKED_OK,
        HEAD_OK + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY,
        HEAD_OK + b"Connection: close\r\n\r\n" + BODY,  # delimited by closing
        b"HTTP/1.1 100 Continue\r\n\r\n" + CHUNKED_OK,
        HEAD_OK + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(BODY, 1) + b"0\r\nX-T: 1\r\n\r\n",
    ],
    ids=["chunked", "content-length", "close-delimited", "100-continue", "one-byte-chunks"],
)
def test_every_body_framing_gives_the_whole_answer(answer: bytes) -> None:
    with ScriptedHttp([answer]) as server:
        assert asyncio.run(astream_text(model_at(server.url))) == TEXT


def test_corrupt_chunked_coding_is_an_integrity_error_with_the_partial_answer() -> None:
    first = encode_events(text_events(PIECES)[:2])
    answer = HEAD_OK + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(first) + b"zz\r\n"
    with ScriptedHttp([answer]) as server, pytest.raises(StreamIntegrityError) as caught:
        asyncio.run(astream_text(model_at(server.url)))
    assert caught.value.partial_message is not None
    assert caught.value.partial_message.text == "Hello"


def test_a_body_cut_short_is_a_connection_error_with_the_partial_answer() -> None:
    first = encode_events(text_events(PIECES)[:3])
    answer = HEAD_OK + b"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(first)
    with ScriptedHttp([answer]) as server, pytest.raises(BedrockConnectionError) as caught:
        asyncio.run(astream_text(model_at(server.url)))
    assert caught.value.partial_message is not None
    assert caught.value.partial_message.text == "Hello, "


# --- errors: the same as the blocking path ------------------------------------------------------


def _mapped_class(error: BaseException) -> type:
    """The public class of the tree an error was mapped to (its own class extends it with
    the client's modeled class and LangChain's)."""
    from langchain_bedrock_stream import errors

    return next(c for c in type(error).__mro__ if getattr(errors, c.__name__, None) is c)


ERRORS = [
    (ErrorReply(429, "ThrottlingException", "slow down", retry_after=7), BedrockRateLimitError),
    (ErrorReply(400, "ValidationException", "bad input"), BedrockInvalidRequestError),
]


@pytest.mark.parametrize(("reply", "expected"), ERRORS, ids=["429", "400"])
@pytest.mark.parametrize("loop", list(LOOPS))
def test_http_errors_match_the_blocking_path(
    reply: ErrorReply, expected: type[BedrockError], loop: str
) -> None:
    async def both() -> tuple[BaseException, BaseException]:
        errors = []
        model = model_at(server.endpoint_url)
        for call in (astream_text(model), model.ainvoke("go")):
            with pytest.raises(BedrockError) as caught:
                await call
            errors.append(caught.value)
        return errors[0], errors[1]

    with BedrockWireServer([reply, reply, reply]) as server:
        with pytest.raises(BedrockError) as blocking:
            list(model_at(server.endpoint_url).stream("go"))
        streamed, invoked = run_on(loop, both)
    for error in (streamed, invoked):
        # Each client has its own modeled classes, so each error its own class: the same
        # mapped class and the same botocore class name on both paths.
        assert type(error).__name__ == type(blocking.value).__name__
        assert isinstance(error, _mapped_class(blocking.value))
        assert isinstance(error, expected)
        assert error.code == blocking.value.code == reply.error_type
        assert error.status_code == reply.status
        assert error.retry_after == reply.retry_after
        assert reply.message in str(error)
        cause = error.__cause__
        assert isinstance(cause, ClientError)
        assert type(cause).__name__ == reply.error_type  # botocore's modeled class


def test_retryable_errors_are_retried_on_the_loop() -> None:
    throttled = ErrorReply(503, "ServiceUnavailableException", "busy")
    with BedrockWireServer([throttled, throttled, StreamReply(text_events(PIECES))]) as server:
        model = model_at(server.endpoint_url, max_retries=3)
        assert asyncio.run(astream_text(model)) == TEXT
    assert len(server.requests) == 3


def test_ainvoke_without_streaming_parses_the_converse_answer() -> None:
    answer = {
        "output": {"message": {"role": "assistant", "content": [{"text": TEXT}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5},
        "metrics": {"latencyMs": 10},
    }
    with BedrockWireServer([JsonReply(answer)]) as server:
        message = asyncio.run(model_at(server.endpoint_url).ainvoke("go"))
    assert server.requests[0].operation == "converse"
    assert message.text == TEXT
    assert message.usage_metadata is not None
    assert message.usage_metadata["total_tokens"] == 5
    assert message.response_metadata["stopReason"] == "end_turn"


# --- deadlines ---------------------------------------------------------------------------------


@pytest.mark.timeout(60)
@pytest.mark.parametrize("loop", list(LOOPS))
def test_no_response_head_ends_in_a_timeout(loop: str) -> None:
    async def calls() -> list[BaseException]:
        model = model_at(server.url, config=Config(read_timeout=1))
        errors = []
        for call in (astream_text(model), model.ainvoke("go")):
            with pytest.raises(BedrockTimeoutError) as caught:
                await asyncio.wait_for(call, 30)
            errors.append(caught.value)
        return errors

    with ScriptedHttp([None, None]) as server:
        errors = run_on(loop, calls)
    assert [e.partial_message for e in errors] == [None, None]


@pytest.mark.timeout(60)
def test_a_tls_handshake_that_never_ends_is_a_connect_timeout() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:  # accepts, never answers
        url = f"https://127.0.0.1:{listener.getsockname()[1]}"
        model = model_at(url, config=Config(connect_timeout=1, read_timeout=30))

        async def call() -> None:
            await asyncio.wait_for(astream_text(model), 20)

        with pytest.raises(BedrockTimeoutError):
            asyncio.run(call())


def test_the_models_timeout_bounds_each_read() -> None:
    with ScriptedHttp([None]) as server:
        model = model_at(server.url, timeout=1)
        with pytest.raises(BedrockTimeoutError):
            asyncio.run(asyncio.wait_for(astream_text(model), 20))


# --- TLS settings ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("transport-tls"))


@pytest.fixture
def no_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


def tls_client(url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("config", Config(retries={"total_max_attempts": 1}))
    return boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url=url, **kwargs)


@pytest.mark.usefixtures("no_ca_bundle")
def test_an_untrusted_certificate_fails_as_when_blocking_and_verify_false_accepts_it(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    with ScriptedHttp([CHUNKED_OK], tls=server_ssl_context(cert, key)) as server:
        untrusted = ChatBedrockStream(model=NOVA, client=tls_client(server.url))
        with pytest.raises(BedrockConnectionError) as blocking:
            list(untrusted.stream("go"))
        with pytest.raises(BedrockConnectionError) as awaited:
            asyncio.run(astream_text(untrusted))
        for failure in (blocking.value, awaited.value):
            assert isinstance(failure.__cause__, SSLError)
            assert "CERTIFICATE_VERIFY_FAILED" in str(failure)
            assert not failure.is_retryable
        unverified = ChatBedrockStream(model=NOVA, client=tls_client(server.url, verify=False))
        assert asyncio.run(astream_text(unverified)) == TEXT


@pytest.mark.usefixtures("no_ca_bundle")
def test_a_client_certificate_is_presented(certificate: tuple[Path, Path], tmp_path: Path) -> None:
    cert, key = certificate
    client_cert, client_key = make_certificate(tmp_path, "client")
    context = server_ssl_context(cert, key)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(client_cert)
    with ScriptedHttp([CHUNKED_OK], tls=context) as server:
        with_cert = tls_client(
            server.url,
            verify=str(cert),
            config=Config(
                client_cert=(str(client_cert), str(client_key)),
                retries={"total_max_attempts": 1},
            ),
        )
        assert asyncio.run(astream_text(ChatBedrockStream(model=NOVA, client=with_cert))) == TEXT
        without = ChatBedrockStream(model=NOVA, client=tls_client(server.url, verify=str(cert)))
        with pytest.raises(BedrockConnectionError):  # refused in or after the handshake
            asyncio.run(astream_text(without))


# --- connection reuse and its bound --------------------------------------------------------------


def test_idle_connections_are_bounded_by_max_pool_connections() -> None:
    streams = 6
    with BedrockWireServer(
        responder=lambda _: StreamReply(text_events(PIECES), delay=0.05)
    ) as server:
        model = model_at(server.endpoint_url, config=Config(max_pool_connections=2))

        async def burst() -> list[str]:
            texts = await asyncio.gather(*(astream_text(model) for _ in range(streams)))
            # wait (seconds, not ms) for the server to see the surplus connections close
            for _ in range(100):
                if server.open_connections <= 2:
                    break
                await asyncio.sleep(0.05)
            again = await astream_text(model)  # served by a kept-alive connection
            return [*texts, again]

        assert asyncio.run(burst()) == [TEXT] * (streams + 1)
        assert server.open_connections <= 2
        assert server.connections_accepted == streams


def test_a_client_whose_botocore_retries_is_retried_the_same_on_the_loop() -> None:
    """botocore never sees an answer sent on the loop, so its retries (3 attempts in its
    standard mode) are made by ours instead: the same number of requests either way."""
    busy = ErrorReply(503, "ServiceUnavailableException", "busy")
    script = [busy, busy, StreamReply(text_events(PIECES))]
    with BedrockWireServer(script + script) as server:
        client = boto3.client(
            "bedrock-runtime",
            region_name="us-east-1",
            endpoint_url=server.endpoint_url,
            config=Config(retries={"mode": "standard"}),
        )
        model = ChatBedrockStream(model=NOVA, client=client)
        assert "".join(c.text for c in model.stream("go")) == TEXT
        assert len(server.requests) == 3
        assert asyncio.run(astream_text(model)) == TEXT
        assert len(server.requests) == 6


def test_kept_alive_connections_close_when_the_loop_shuts_down() -> None:
    with BedrockWireServer(responder=lambda _: StreamReply(text_events(PIECES))) as server:
        model = model_at(server.endpoint_url)
        for _ in range(3):  # a script calling asyncio.run per question
            assert asyncio.run(astream_text(model)) == TEXT
        assert server.wait_for_connections(0, 10), f"{server.open_connections} left open"
        assert server.connections_accepted == 3


def test_a_kept_alive_connection_the_server_closed_is_not_reused() -> None:
    answer = HEAD_OK + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY

    async def twice() -> list[str]:
        model = model_at(server.url)
        first = await astream_text(model)
        await asyncio.sleep(0.5)  # the server's close reaches the idle connection
        return [first, await astream_text(model)]

    with ScriptedHttp([answer, answer]) as server:
        server.hang_up = True
        assert asyncio.run(twice()) == [TEXT, TEXT]
    assert server.accepted == 2


@pytest.mark.timeout(90)
@pytest.mark.parametrize("loop", list(LOOPS))
def test_tls_inside_an_https_proxy_tunnel_on_every_loop(
    loop: str, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    context = server_ssl_context(cert, key)
    with (
        BedrockWireServer([StreamReply(text_events(PIECES))], ssl_context=context) as server,
        ConnectProxy(ssl_context=server_ssl_context(cert, key), auth=("ann", "s3cret")) as proxy,
    ):
        proxy_url = proxy.url_with_auth("ann", "s3cret")
        model = model_at(
            server.endpoint_url,
            config=Config(
                read_timeout=10,
                proxies={"https": proxy_url},
                proxies_config={"proxy_ca_bundle": str(cert)},
            ),
        )

        async def call() -> str:
            return await asyncio.wait_for(astream_text(model), 60)

        assert run_on(loop, call) == TEXT
        assert proxy.tunnels == 1
    assert server.requests[0].headers["authorization"].startswith("AWS4-HMAC-SHA256")


@pytest.mark.timeout(90)
def test_a_proxy_refusing_the_tunnel_fails_as_when_blocking(
    certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    with (
        BedrockWireServer(ssl_context=server_ssl_context(cert, key)) as server,
        ConnectProxy(auth=("ann", "right")) as proxy,
    ):
        model = model_at(
            server.endpoint_url,
            config=Config(
                connect_timeout=5, proxies={"https": proxy.url_with_auth("ann", "wrong")}
            ),
        )
        with pytest.raises(BedrockConnectionError) as blocking:
            list(model.stream("go"))
        with pytest.raises(BedrockConnectionError) as awaited:
            asyncio.run(asyncio.wait_for(astream_text(model), 60))
        assert isinstance(blocking.value.__cause__, ProxyConnectionError)
        assert isinstance(awaited.value.__cause__, ProxyConnectionError)
        assert server.requests == []
    assert str(awaited.value) == str(blocking.value)  # botocore's own, the password masked
    assert "wrong" not in str(awaited.value)
