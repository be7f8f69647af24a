"""The same streaming over TLS, as against real Bedrock: burst reads through the SSL layer
(bytes it already decrypted are not visible to epoll), paced events, many async streams,
and Bedrock API keys, which botocore only sends over HTTPS."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    StreamReply,
    make_certificate,
    server_ssl_context,
)
from tests.support.events import text_events
from tests.support.loopback import model_on

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def tls(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    cert, key = certificate
    monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
    return server_ssl_context(cert, key)


@pytest.fixture
def server(tls: ssl.SSLContext) -> Iterator[BedrockWireServer]:
    with BedrockWireServer(ssl_context=tls) as running:
        assert running.endpoint_url.startswith("https://")
        yield running


def test_long_burst_over_tls(server: BedrockWireServer) -> None:
    pieces = [f"w{i} " for i in range(3000)]
    server.enqueue(StreamReply(text_events(pieces), batch=1))
    chunks = list(model_on(server).stream("go"))
    assert "".join(c.text for c in chunks) == "".join(pieces)
    assert len(chunks) < 300


def test_paced_events_over_tls_are_not_held_back(server: BedrockWireServer) -> None:
    # messageStart and "a" now, "b" and "c" 30 s later: the first chunk must not wait.
    server.enqueue(StreamReply(text_events(["a", "b", "c"]), batch=2, delay=30))
    stream = model_on(server).stream("go")
    assert next(stream).text == "a"
    stream.close()
    assert server.wait_for_disconnect(timeout=5)


async def test_many_async_streams_over_tls(server: BedrockWireServer) -> None:
    pieces = [f"p{i}" for i in range(40)]
    for _ in range(32):
        server.enqueue(StreamReply(text_events(pieces), delay=0.002, batch=3))
    model = model_on(server)

    async def one() -> str:
        return "".join([c.text async for c in model.astream("go")])

    assert await asyncio.gather(*(one() for _ in range(32))) == ["".join(pieces)] * 32


def test_api_key_is_sent_as_a_bearer_token(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(text_events(["ok"])))
    model = model_on(server, api_key="bedrock-api-key-for-tests")
    assert "".join(c.text for c in model.stream("x")) == "ok"
    assert server.requests[0].headers["authorization"] == "Bearer bedrock-api-key-for-tests"
    assert "bedrock-api-key-for-tests" not in repr(model)
