"""Every real Bedrock recording replayed through ``ChatBedrockStream`` (boto3 over vcrpy):
``stream()`` for converse-stream interactions, ``invoke()`` for converse ones. What the
model returns must agree with what the recorded body says, read here independently with
botocore's decoder: text, reasoning and signatures, tool calls, citations, usage, stop reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from botocore.eventstream import EventStreamBuffer
from langchain_core.exceptions import ModelError
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from langchain_bedrock_stream import BedrockError, ChatBedrockStream
from tests.conftest import replayer
from tests.support.recordings import (
    RECORDINGS,
    body_bytes,
    cases,
    is_stream,
    load,
    names,
    requires_recordings,
)

pytestmark = requires_recordings


@dataclass
class Expected:
    """What a recorded answer contains, read without the code under test."""

    text: str = ""
    reasoning: list[str] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    redacted: int = 0
    tool_calls: list[tuple[str, str, dict]] = field(default_factory=list)
    cited: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    stop_reason: str | None = None


def expected_from_stream(body: bytes) -> Expected:
    buffer = EventStreamBuffer()
    buffer.add_data(body)
    blocks: dict[int, dict[str, Any]] = {}
    out = Expected()
    for message in buffer:
        kind = message.headers[":event-type"]
        payload = json.loads(message.payload)
        if kind == "contentBlockStart":
            tool = payload["start"].get("toolUse")
            if tool:
                blocks[payload["contentBlockIndex"]] = {"tool": tool, "input": ""}
        elif kind == "contentBlockDelta":
            block = blocks.setdefault(payload["contentBlockIndex"], {})
            d = payload["delta"]
            if "text" in d:
                block["text"] = block.get("text", "") + d["text"]
            if "toolUse" in d:
                block["input"] = block.get("input", "") + d["toolUse"]["input"]
            if "citation" in d:
                block.setdefault("citations", []).append(d["citation"])
            r = d.get("reasoningContent", {})
            if "text" in r:
                block["reasoning"] = block.get("reasoning", "") + r["text"]
            if "signature" in r:
                block["signature"] = block.get("signature", "") + r["signature"]
            if "redactedContent" in r:
                block["redacted"] = True
        elif kind == "messageStop":
            out.stop_reason = payload["stopReason"]
        elif kind == "metadata":
            out.usage = payload["usage"]
    for index in sorted(blocks):
        block = blocks[index]
        out.text += block.get("text", "")
        if "reasoning" in block:
            out.reasoning.append(block["reasoning"])
        if "signature" in block:
            out.signatures.append(block["signature"])
        out.redacted += bool(block.get("redacted"))
        if "tool" in block:
            args = json.loads(block["input"]) if block["input"] else {}
            out.tool_calls.append((block["tool"]["toolUseId"], block["tool"]["name"], args))
        for citation in block.get("citations", []):
            out.cited.append("".join(s["text"] for s in citation["sourceContent"]))
    return out


def expected_from_converse(body: bytes) -> Expected:
    data = json.loads(body)
    out = Expected(stop_reason=data["stopReason"], usage=data["usage"])
    for block in data["output"]["message"]["content"]:
        if "text" in block:
            out.text += block["text"]
        elif "citationsContent" in block:
            cited = block["citationsContent"]
            out.text += "".join(part["text"] for part in cited["content"])
            for citation in cited["citations"]:
                out.cited.append("".join(s["text"] for s in citation["sourceContent"]))
        elif "toolUse" in block:
            use = block["toolUse"]
            out.tool_calls.append((use["toolUseId"], use["name"], use["input"]))
        elif "reasoningContent" in block:
            r = block["reasoningContent"]
            if "redactedContent" in r:
                out.redacted += 1
            else:
                out.reasoning.append(r["reasoningText"]["text"])
                if r["reasoningText"].get("signature"):
                    out.signatures.append(r["reasoningText"]["signature"])
    return out


def model_for(uri: str, chunking: str = "burst") -> ChatBedrockStream:
    parsed = urlparse(uri)
    region = parsed.hostname.split(".")[1]  # bedrock-runtime.<region>.amazonaws.com
    model_id = unquote(parsed.path.split("/")[2])
    return ChatBedrockStream(
        model=model_id, region_name=region, max_retries=0, stream_chunking=chunking
    )


def check(message: AIMessage, expected: Expected) -> None:
    blocks = message.content_blocks
    assert message.text == expected.text
    assert [(c["id"], c["name"], c["args"]) for c in message.tool_calls] == expected.tool_calls
    assert message.invalid_tool_calls == []
    reasoning = [b for b in blocks if b["type"] == "reasoning"]
    assert [b["reasoning"] for b in reasoning if "reasoning" in b] == expected.reasoning
    assert [
        b["extras"]["signature"] for b in reasoning if "signature" in b.get("extras", {})
    ] == expected.signatures
    assert sum("redacted_content" in b.get("extras", {}) for b in reasoning) == expected.redacted
    cited = [
        a["cited_text"] for b in blocks if b["type"] == "text" for a in b.get("annotations", [])
    ]
    assert cited == expected.cited
    usage = expected.usage
    cache_read = usage.get("cacheReadInputTokens", 0)
    cache_write = usage.get("cacheWriteInputTokens", 0)
    assert message.usage_metadata is not None
    assert message.usage_metadata["input_tokens"] == usage["inputTokens"] + cache_read + cache_write
    assert message.usage_metadata["output_tokens"] == usage["outputTokens"]
    assert message.usage_metadata["total_tokens"] == usage["totalTokens"]
    assert message.usage_metadata["input_token_details"]["cache_read"] == cache_read
    assert message.usage_metadata["input_token_details"]["cache_creation"] == cache_write
    assert message.response_metadata["stopReason"] == expected.stop_reason


OK_FILES = [
    name
    for name in names()
    if all(i["response"]["status"]["code"] == 200 for i in load(name)["interactions"])
]


@pytest.mark.parametrize("chunking", ["burst", "event"])
@pytest.mark.parametrize("name", cases(OK_FILES))
def test_recording_replays_with_nothing_lost(name: str, chunking: str) -> None:
    interactions = load(name)["interactions"]
    model = model_for(interactions[0]["request"]["uri"], chunking)
    # Interactions are answered in recorded order, one call each.
    with replayer().use_cassette(str(RECORDINGS / name)):
        for interaction in interactions:
            if is_stream(interaction):
                chunks = list(model.stream([HumanMessage("replay")]))
                full: AIMessageChunk = chunks[0]
                for chunk in chunks[1:]:
                    full = full + chunk
                assert chunks[-1].chunk_position == "last"
                assert sum(c.chunk_position == "last" for c in chunks) == 1
                check(full, expected_from_stream(body_bytes(interaction)))
            else:
                message = model.invoke([HumanMessage("replay")])
                check(message, expected_from_converse(body_bytes(interaction)))


ERRORS = [
    (name, number)
    for name in names()
    for number, interaction in enumerate(load(name)["interactions"])
    if interaction["response"]["status"]["code"] >= 400
]


@pytest.mark.parametrize(("name", "number"), cases(ERRORS, width=2))
def test_error_recordings_raise_typed_errors(name: str, number: int) -> None:
    interaction = load(name)["interactions"][number]
    model = model_for(interaction["request"]["uri"])
    recorded = json.loads(body_bytes(interaction))["message"]
    with replayer().use_cassette(str(RECORDINGS / name)), pytest.raises(BedrockError) as caught:
        if is_stream(interaction):
            list(model.stream("hello"))
        else:
            model.invoke("hello")
    error = caught.value
    assert isinstance(error, ModelError)
    assert error.status_code == interaction["response"]["status"]["code"]
    assert recorded in str(error)
    assert model.model_id in str(error)
    assert error.is_retryable is False
