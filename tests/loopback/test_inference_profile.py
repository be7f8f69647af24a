"""``resolve_inference_profile=True``: the foundation model behind an application inference
profile is asked of Bedrock once (GetInferenceProfile, cached per ARN, off the event loop on
async paths) and then used for model facts, names and cost."""

from __future__ import annotations

import asyncio
import pickle
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from langchain_bedrock_stream import BedrockError, ChatBedrockStream
from langchain_bedrock_stream import _model_setup as model_setup
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply, StreamReply
from tests.loopback.test_params import converse_body, sent, stream_events

ACCOUNT = "123456789012"
BASE = "anthropic.claude-opus-4-7"


def _arn(name: str) -> str:
    return f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/{name}"


def _answer(arn: str) -> dict[str, Any]:
    return {
        "inferenceProfileName": "team-opus",
        "inferenceProfileArn": arn,
        "inferenceProfileId": arn.rsplit("/", 1)[1],
        "status": "ACTIVE",
        "type": "APPLICATION",
        "models": [
            {"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{BASE}"}
            for region in ("us-east-1", "us-west-2")
        ],
    }


@pytest.fixture(autouse=True)
def fresh_lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(model_setup, "_profile_bases", {})
    yield


@pytest.fixture
def control() -> Iterator[tuple[Any, Stubber, list[str]]]:
    """A ``bedrock`` client whose calls are stubbed (no network) and whose calling threads
    are recorded."""
    client = boto3.client("bedrock", region_name="us-east-1")
    threads: list[str] = []
    client.meta.events.register(
        "before-parameter-build.bedrock.GetInferenceProfile",
        lambda **_: threads.append(threading.current_thread().name),
    )
    with Stubber(client) as stubber:
        yield client, stubber, threads
        stubber.assert_no_pending_responses()


def _model(server: BedrockWireServer, arn: str, bedrock: Any, **kw: Any) -> ChatBedrockStream:
    return ChatBedrockStream(
        model=arn,
        region_name="us-east-1",
        endpoint_url=server.endpoint_url,
        resolve_inference_profile=True,
        bedrock_client=bedrock,
        **kw,
    )


def test_looked_up_once_and_used(server: BedrockWireServer, control: Any) -> None:
    bedrock, stubber, threads = control
    arn = _arn("once")
    stubber.add_response("get_inference_profile", _answer(arn), {"inferenceProfileIdentifier": arn})
    model = _model(server, arn, bedrock, temperature=0.5)
    assert model.profile == {}  # nothing known before the first call, no call made yet
    assert threads == []
    server.enqueue(JsonReply(converse_body()), StreamReply(stream_events()))
    with pytest.warns(UserWarning, match="temperature"):
        answer = model.invoke("hi")
    body = sent(server)
    assert server.requests[-1].model_id == arn  # requests still go to the profile
    assert "temperature" not in body["inferenceConfig"]  # Opus 4.7 rejects it
    assert answer.response_metadata["model_name"] == BASE
    assert model.base_model_id == BASE and model.profile["temperature"] is False
    with pytest.warns(UserWarning, match="temperature"):
        list(model.stream("again"))  # no second lookup (the stub has none queued)
    # another model on the same ARN uses the process-wide answer
    other = _model(server, arn, bedrock)
    server.enqueue(JsonReply(converse_body()))
    assert other.invoke("hi").response_metadata["model_name"] == BASE
    assert len(threads) == 1


def test_async_lookup_runs_off_the_event_loop(server: BedrockWireServer, control: Any) -> None:
    bedrock, stubber, threads = control
    arn = _arn("async")
    stubber.add_response("get_inference_profile", _answer(arn), {"inferenceProfileIdentifier": arn})
    model = _model(server, arn, bedrock)
    server.enqueue(JsonReply(converse_body()))

    async def run() -> tuple[Any, str]:
        answer = await model.ainvoke("hi")
        return answer, threading.current_thread().name

    answer, loop_thread = asyncio.run(run())
    assert answer.response_metadata["model_name"] == BASE
    assert threads and threads[0] != loop_thread


def test_off_by_default_and_not_with_base_model_id(server: BedrockWireServer, control: Any) -> None:
    bedrock, _stubber, threads = control
    arn = _arn("off")
    server.enqueue(JsonReply(converse_body()), JsonReply(converse_body()))
    plain = ChatBedrockStream(
        model=arn, region_name="us-east-1", endpoint_url=server.endpoint_url, bedrock_client=bedrock
    )
    assert plain.invoke("hi").response_metadata["model_name"] == arn
    named = _model(server, arn, bedrock, base_model_id="amazon.nova-pro-v1:0")
    assert named.invoke("hi").response_metadata["model_name"] == "amazon.nova-pro-v1:0"
    assert threads == []


def test_a_failed_lookup_is_a_typed_error_and_not_cached(
    server: BedrockWireServer, control: Any
) -> None:
    bedrock, stubber, _threads = control
    arn = _arn("denied")
    stubber.add_client_error("get_inference_profile", "AccessDeniedException", "no", 403)
    stubber.add_response("get_inference_profile", _answer(arn), {"inferenceProfileIdentifier": arn})
    model = _model(server, arn, bedrock)
    with pytest.raises(BedrockError):
        model.invoke("hi")
    assert server.requests == []
    server.enqueue(JsonReply(converse_body()))
    assert model.invoke("hi").response_metadata["model_name"] == BASE


def test_a_model_with_its_own_control_client_still_pickles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = ChatBedrockStream(
        model=_arn("pickle"), region_name="us-east-1", resolve_inference_profile=True
    )
    model._control_client()  # built from the model's settings, no network
    copy = pickle.loads(pickle.dumps(model))
    assert copy.bedrock_client is None and copy.resolve_inference_profile
