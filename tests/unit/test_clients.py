"""The chat model's clients and Region (``_clients``): built once, again after a fork, the
Region found without building one. No request is sent (building a boto3 client touches no
network)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import boto3
import pytest

from langchain_bedrock_stream import ChatBedrockStream, _clients
from langchain_bedrock_stream import _client as client_module

NOVA = "us.amazon.nova-pro-v1:0"
NOWHERE = "http://127.0.0.1:9"


def test_the_client_is_built_once_and_again_after_a_fork(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = ChatBedrockStream(model=NOVA, region_name="us-west-2")
    first = model._get_client()
    lock = model._client_lock
    assert model._get_client() is first
    monkeypatch.setattr(client_module, "forks", client_module.forks + 1)
    child = model._get_client()
    assert child is not first and model._client_lock is not lock
    assert model._get_client() is child
    assert child.meta.region_name == "us-west-2"


def test_the_event_loop_gets_the_same_client() -> None:
    model = ChatBedrockStream(model=NOVA, region_name="us-west-2")

    async def main() -> tuple[object, object]:
        built = await _clients.aget_client(model)
        return built, await _clients.aget_client(model)

    built, again = asyncio.run(main())
    assert built is again is model._get_client()


def test_a_given_client_is_used_as_it_is() -> None:
    given = boto3.client("bedrock-runtime", region_name="eu-west-1")
    model = ChatBedrockStream(model=NOVA, client=given)
    assert model._get_client() is given and model.client is given
    assert _clients.region(model) == "eu-west-1"


def test_no_region_anywhere_is_refused_before_any_client_is_built() -> None:
    model = ChatBedrockStream(model=NOVA)
    with pytest.raises(ValueError, match="no AWS Region configured"):
        model._get_client()
    assert model._client_cache is None


def test_the_profiles_region_from_the_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    config.write_text("[profile work]\nregion = ap-south-1\n[default]\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    assert _clients.profile_region("work") == "ap-south-1"
    assert _clients.profile_region(None) is None
    model = ChatBedrockStream(model=NOVA, credentials_profile_name="work")
    assert _clients.known_region(model) == "ap-south-1"


def test_the_known_region_is_a_built_clients_when_nothing_else_names_one() -> None:
    model = ChatBedrockStream(model=NOVA, endpoint_url=NOWHERE)
    assert _clients.known_region(model) is None
    built = model._get_client()
    assert _clients.known_region(model) == built.meta.region_name


def test_the_control_client_is_built_once_with_the_models_region() -> None:
    model = ChatBedrockStream(model=NOVA, region_name="us-west-2")
    control = model._control_client()
    assert model._control_client() is control
    assert control.meta.service_model.service_name == "bedrock"
    assert control.meta.region_name == "us-west-2"
