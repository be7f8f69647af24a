"""Multi-turn round trips on real recordings: answer the first recorded request with
``ChatBedrockStream`` (streamed when it was streamed), send that answer back with the next
user turn, and check the request that goes over the wire carries the same messages
Bedrock accepted in the recording: tool use and tool results, reasoning with signatures,
redacted reasoning, citations."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, ToolMessage

from langchain_bedrock_stream import ChatBedrockStream
from tests.conftest import replayer
from tests.loopback.test_recordings_replay import model_for
from tests.support.recordings import RECORDINGS, cases, is_stream, load, names, requires_recordings

pytestmark = requires_recordings


def _decode_blobs(block: Any) -> Any:
    """Recorded JSON carries blobs as base64 text; LangChain input carries bytes."""
    if isinstance(block, dict):
        out = {}
        for key, value in block.items():
            if key == "bytes" and isinstance(value, str):
                out[key] = base64.b64decode(value)
            else:
                out[key] = _decode_blobs(value)
        return out
    if isinstance(block, list):
        return [_decode_blobs(v) for v in block]
    return block


def user_turn(message: dict[str, Any]) -> list[BaseMessage]:
    """A recorded user turn as LangChain messages (raw Converse blocks pass through)."""
    results = [b["toolResult"] for b in message["content"] if "toolResult" in b]
    if results:
        return [
            ToolMessage(
                content="".join(part["text"] for part in r["content"]),
                tool_call_id=r["toolUseId"],
                status="error" if r.get("status") == "error" else "success",
            )
            for r in results
        ]
    content = message["content"]
    if len(content) == 1 and set(content[0]) == {"text"}:
        return [HumanMessage(content[0]["text"])]
    return [HumanMessage(content=_decode_blobs(content))]


def configured(model: ChatBedrockStream, body: dict[str, Any]) -> Any:
    inference = body.get("inferenceConfig") or {}
    model = model.model_copy(
        update={
            "max_tokens": inference.get("maxTokens"),
            "temperature": inference.get("temperature"),
            "additional_model_request_fields": body.get("additionalModelRequestFields"),
        }
    )
    if body.get("toolConfig"):
        return model.bind(tool_config=body["toolConfig"])
    return model


def _streamed_text_kept(messages: list[dict[str, Any]]) -> None:
    # The recording client dropped the text block Claude streamed before its tool call;
    # nothing is dropped here, so the text goes back with the call.
    text = "I'll check the current weather in San Francisco, CA for you."
    messages[1]["content"].insert(0, {"text": text})


# Where the recorded follow-up does not echo the recorded answer exactly, and why.
RECORDING_QUIRKS = {
    "test_agent_loop_streaming[v0].yaml": _streamed_text_kept,
}

MULTI_TURN = [
    name
    for name in names()
    if len(load(name)["interactions"]) == 2
    and len(json.loads(load(name)["interactions"][1]["request"]["body"])["messages"]) == 3
]


@pytest.mark.parametrize("name", cases(MULTI_TURN))
def test_second_request_carries_the_recorded_history(name: str) -> None:
    first, second = load(name)["interactions"]
    first_body = json.loads(first["request"]["body"])
    second_body = json.loads(second["request"]["body"])
    model = model_for(first["request"]["uri"])
    sent: list[bytes] = []
    # Copies made by configured() share this client, so the hook sees every request.
    model._get_client().meta.events.register(
        "before-send.bedrock-runtime.*", lambda request, **_: sent.append(request.body)
    )
    runnable = configured(model, first_body)
    history = user_turn(first_body["messages"][0])
    with replayer().use_cassette(str(RECORDINGS / name)):
        if is_stream(first):
            chunks = list(runnable.stream(history))
            answer: Any = chunks[0]
            for chunk in chunks[1:]:
                answer = answer + chunk
            assert isinstance(answer, AIMessageChunk)
        else:
            answer = runnable.invoke(history)
        follow_up = user_turn(second_body["messages"][2])
        configured(model, second_body).invoke([*history, answer, *follow_up])
    assert len(sent) == 2
    assert json.loads(sent[0])["messages"] == first_body["messages"]
    expected = second_body["messages"]
    if name in RECORDING_QUIRKS:
        RECORDING_QUIRKS[name](expected)
    assert json.loads(sent[1])["messages"] == expected
