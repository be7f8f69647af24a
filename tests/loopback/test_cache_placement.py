"""A cache point never directly follows a document or video block (Bedrock rejects that;
images are fine): it goes before the trailing run of documents and videos instead."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply
from tests.loopback.test_params import converse_body, sent
from tests.support import loopback

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"


def _document(name: str, **extra: Any) -> dict[str, Any]:
    return {"document": {"format": "txt", "name": name, "source": {"bytes": b"text"}}, **extra}


def _video() -> dict[str, Any]:
    return {"video": {"format": "mp4", "source": {"bytes": b"\x00\x00\x00\x18ftypmp42"}}}


def _kinds(content: list[dict[str, Any]]) -> list[str]:
    return [next(iter(block)) for block in content]


def _send(server: BedrockWireServer, model_id: str, content: list[Any], **kw: Any) -> list[str]:
    server.enqueue(JsonReply(converse_body()))
    loopback.model_on(server, model_id, **kw).invoke([HumanMessage(content)])
    return _kinds(sent(server)["messages"][-1]["content"])


def test_automatic_point_goes_before_trailing_documents(server: BedrockWireServer) -> None:
    content = [{"type": "text", "text": "read these"}, _document("a"), _document("b")]
    kinds = _send(server, CLAUDE, content, cache_messages=True)
    assert kinds == ["text", "cachePoint", "document", "document"]


def test_automatic_point_goes_before_a_trailing_video(server: BedrockWireServer) -> None:
    content = [{"type": "text", "text": "watch"}, _video()]
    assert _send(server, NOVA, content, cache_messages=True) == ["text", "cachePoint", "video"]


def test_automatic_point_after_an_image_stays(server: BedrockWireServer) -> None:
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
        b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
        b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    content = [
        {"type": "text", "text": "see"},
        {"image": {"format": "png", "source": {"bytes": png}}},
    ]
    assert _send(server, CLAUDE, content, cache_messages=True) == ["text", "image", "cachePoint"]


def test_marked_document_gets_its_point_before_the_documents(server: BedrockWireServer) -> None:
    content = [
        {"type": "text", "text": "read"},
        _document("a"),
        _document("b", cache_control={"type": "ephemeral"}),
        {"type": "text", "text": "and answer"},
    ]
    kinds = _send(server, CLAUDE, content)
    assert kinds == ["text", "cachePoint", "document", "document", "text"]


def test_marked_document_with_nothing_before_it_is_refused(server: BedrockWireServer) -> None:
    content = [_document("a", cache_control={"type": "ephemeral"}), {"type": "text", "text": "q"}]
    model = loopback.model_on(server, CLAUDE)
    with pytest.raises(ValueError, match="document or video"):
        model.invoke([HumanMessage(content)])
    assert server.requests == []


def test_automatic_point_skipped_in_a_turn_of_videos_only(server: BedrockWireServer) -> None:
    """A conversation point in a turn holding only a video has nowhere to go: none is sent."""
    content = [_video()]
    server.enqueue(JsonReply(converse_body()))
    model = loopback.model_on(server, NOVA, cache_messages=True)
    model.invoke([HumanMessage(content)])
    assert "cachePoint" not in _kinds(sent(server)["messages"][-1]["content"])
