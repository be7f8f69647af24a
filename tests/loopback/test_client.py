"""Building boto3 clients: botocore's data files are parsed once per process, while
credentials stay each model's own."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.loaders import JSONFileLoader

from langchain_bedrock_stream._client import ClientSettings, build_client
from langchain_bedrock_stream.testing import BedrockWireServer, StreamReply
from tests.support.events import text_events
from tests.support.loopback import model_on


def settings(key_id: str = "AKIDONE") -> ClientSettings:
    return ClientSettings(
        region_name="eu-west-1", aws_access_key_id=key_id, aws_secret_access_key="secret"
    )


def test_a_second_client_parses_no_data_files(monkeypatch: pytest.MonkeyPatch) -> None:
    build_client(settings())
    parsed: list[str] = []
    original = JSONFileLoader.load_file

    def counting(self: JSONFileLoader, file_path: str) -> Any:
        parsed.append(file_path)
        return original(self, file_path)

    monkeypatch.setattr(JSONFileLoader, "load_file", counting)
    client = build_client(settings("AKIDTWO"))
    assert parsed == []
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.service_model.service_name == "bedrock-runtime"


def test_the_shared_loader_does_not_grow_with_each_client() -> None:
    first = build_client(settings())
    paths = list(first._loader.search_paths)
    for _ in range(3):
        build_client(settings())
    assert first._loader.search_paths == paths
    assert len(set(paths)) == len(paths)


def test_each_model_signs_with_its_own_keys(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(text_events(["one"])), StreamReply(text_events(["two"])))
    for key_id in ("AKIDFIRSTMODEL", "AKIDSECONDMODEL"):
        model = model_on(server, aws_access_key_id=key_id, aws_secret_access_key="s")
        assert "".join(chunk.text for chunk in model.stream("hi"))
    first, second = (r.headers["authorization"] for r in server.requests)
    assert "Credential=AKIDFIRSTMODEL/" in first
    assert "Credential=AKIDSECONDMODEL/" in second
