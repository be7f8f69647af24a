"""Names: with ``base_model_id`` answers and LangSmith name the foundation model (an
application inference profile ARN cannot be priced), and LangSmith's invocation params carry
the provider and the Region, also when only the client knows the Region."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply, StreamReply
from tests.loopback.test_observability import Collect
from tests.loopback.test_params import converse_body, stream_events

ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123def456"
BASE = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def _model(server: BedrockWireServer, **kwargs: Any) -> ChatBedrockStream:
    kwargs.setdefault("region_name", "us-east-1")
    return ChatBedrockStream(
        model=ARN, base_model_id=BASE, endpoint_url=server.endpoint_url, **kwargs
    )


def test_invoke_names_the_base_model(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(converse_body()))
    tracer = Collect()
    answer = _model(server).invoke("hi", config={"callbacks": [tracer]})
    assert server.requests[-1].model_id == ARN  # the request still goes to the profile
    assert answer.response_metadata["model_name"] == BASE
    assert answer.response_metadata["model_id"] == ARN
    assert answer.response_metadata["cost"]["total"] > 0  # priced as the base model
    assert tracer.runs[-1].extra["metadata"]["ls_model_name"] == BASE


def test_stream_names_the_base_model(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(stream_events()))
    chunks = list(_model(server).stream("hi"))
    names = {c.response_metadata.get("model_name") for c in chunks} - {None}
    assert names == {BASE}


def test_without_base_model_id_the_id_is_the_name(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(converse_body()))
    model = ChatBedrockStream(
        model="us.amazon.nova-micro-v1:0", region_name="us-east-1", endpoint_url=server.endpoint_url
    )
    answer = model.invoke("hi")
    assert answer.response_metadata["model_name"] == "us.amazon.nova-micro-v1:0"
    assert "model_id" not in answer.response_metadata


def test_ls_params_region_from_a_ready_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    client = boto3.client("bedrock-runtime", region_name="ap-northeast-1")
    model = ChatBedrockStream(model=BASE, client=client)
    assert model._get_ls_params()["ls_invocation_params"] == {  # type: ignore[typeddict-item]
        "provider": "anthropic",
        "region_name": "ap-northeast-1",
    }


def test_ls_params_region_from_the_aws_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    config = tmp_path / "config"
    config.write_text("[profile work]\nregion = eu-north-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    model = ChatBedrockStream(model=BASE, credentials_profile_name="work")
    invocation = model._get_ls_params()["ls_invocation_params"]  # type: ignore[typeddict-item]
    assert invocation == {"provider": "anthropic", "region_name": "eu-north-1"}


def test_ls_params_leave_out_a_temperature_that_is_not_sent() -> None:
    model = ChatBedrockStream(
        model="us.anthropic.claude-opus-4-7", region_name="us-east-1", temperature=0.4
    )
    assert "ls_temperature" not in model._get_ls_params()
    model = ChatBedrockStream(
        model="us.anthropic.claude-sonnet-4-6", region_name="us-east-1", temperature=0.4
    )
    assert model._get_ls_params()["ls_temperature"] == 0.4
