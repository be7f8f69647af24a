"""Token counting: the local estimate (no network) and the CountTokens API on the loopback
Bedrock-wire server."""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream._tokens import (
    count_tokens_input,
    estimate_request_tokens,
    estimate_text_tokens,
    image_size,
)
from langchain_bedrock_stream.errors import BedrockInvalidRequestError, StreamIntegrityError
from langchain_bedrock_stream.testing import BedrockWireServer, ErrorReply, JsonReply
from tests.support import loopback

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def png(width: int, height: int) -> bytes:
    """A valid, tiny-to-encode PNG of one colour."""
    row = b"\x00" + b"\x10\x20\x30" * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def model_on(server: BedrockWireServer, **kwargs: Any) -> ChatBedrockStream:
    return loopback.model_on(server, CLAUDE, **kwargs)


def weather(location: str) -> str:
    """Get the weather at a location."""
    return location


# --- the local estimate --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("", 0, 0),
        ("Hello", 1, 1),
        ("What is the capital of France?", 6, 9),
        ("internationalization", 3, 6),
        ("你好啊集团", 5, 5),
        ("x = f(1, 2) + 3;", 8, 12),
    ],
)
def test_text_estimate(text: str, low: int, high: int) -> None:
    assert low <= estimate_text_tokens(text) <= high


def test_local_estimate_never_calls_bedrock(server: BedrockWireServer) -> None:
    model = model_on(server)
    messages = [SystemMessage("You are terse."), HumanMessage("What is the capital of France?")]
    count = model.get_num_tokens_from_messages(messages)
    assert 10 <= count <= 25
    assert server.requests == []
    assert model.get_num_tokens("What is the capital of France?") == estimate_text_tokens(
        "What is the capital of France?"
    )
    assert model.get_num_tokens_from_messages([]) == 0


def test_tools_count_with_their_prompt(server: BedrockWireServer) -> None:
    model = model_on(server)
    messages: list[BaseMessage] = [HumanMessage("What is the weather in Paris?")]
    bare = model.get_num_tokens_from_messages(messages)
    with_tools = model.get_num_tokens_from_messages(messages, tools=[weather])
    # The tool's JSON plus the tool-use system prompt Anthropic adds.
    assert with_tools - bare > 346
    nova = ChatBedrockStream(model="us.amazon.nova-micro-v1:0", region_name="us-east-1")
    assert nova.get_num_tokens_from_messages(messages, tools=[weather]) - bare < 100


def test_images_by_size_and_documents_by_kind() -> None:
    small, large = png(200, 100), png(3000, 2000)
    assert image_size(small) == (200, 100)
    assert image_size(large) == (3000, 2000)

    def request(*blocks: dict[str, Any]) -> dict[str, Any]:
        return {"modelId": CLAUDE, "messages": [{"role": "user", "content": list(blocks)}]}

    def image(data: bytes) -> dict[str, Any]:
        return {"image": {"format": "png", "source": {"bytes": data}}}

    base = estimate_request_tokens(request())
    assert estimate_request_tokens(request(image(small))) - base == 27  # 200 * 100 / 750
    # Scaled to 1568 x 1045 and capped: 1600 tokens at most.
    assert estimate_request_tokens(request(image(large))) - base == 1600
    assert estimate_request_tokens(request(image(png(1000, 600)))) - base == 800
    assert estimate_request_tokens(request(image(b"not an image"))) - base == 1600
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] >>\n" + (
        b"2 0 obj << /Type /Page >>\n3 0 obj << /Type /Page >>\n"
    )
    document = {"document": {"name": "doc", "format": "pdf", "source": {"bytes": pdf}}}
    assert estimate_request_tokens(request(document)) - base == 2 * 1500 + 1
    text_doc = {"document": {"name": "n", "format": "txt", "source": {"bytes": b"one two"}}}
    assert estimate_request_tokens(request(text_doc)) - base == 3


def test_history_with_tool_calls_and_images(server: BedrockWireServer) -> None:
    model = model_on(server)
    image = base64.b64encode(png(750, 100)).decode()
    history = [
        HumanMessage("What is the weather in Paris?"),
        AIMessage("", tool_calls=[{"name": "weather", "args": {"location": "Paris"}, "id": "t1"}]),
        ToolMessage("Sunny, 21 degrees.", tool_call_id="t1"),
        HumanMessage([{"type": "image", "base64": image, "mime_type": "image/png"}]),
    ]
    shorter = model.get_num_tokens_from_messages(history[:3], tools=[weather])
    longer = model.get_num_tokens_from_messages(history, tools=[weather])
    assert longer - shorter >= 100  # the image: 750 * 100 / 750
    assert server.requests == []


# --- the CountTokens API ----------------------------------------------------------------------

_COUNT_TOKENS = (
    botocore.session.get_session()
    .get_service_model("bedrock-runtime")
    .operation_model("CountTokens")
    .input_shape
)


def test_count_tokens_api(server: BedrockWireServer) -> None:
    model = model_on(server, count_tokens_via_api=True, cache_system=True)
    server.enqueue(JsonReply({"inputTokens": 421}))
    messages = [SystemMessage("You are terse."), HumanMessage("What is the weather in Paris?")]
    assert model.get_num_tokens_from_messages(messages, tools=[weather]) == 421
    (recorded,) = server.requests
    assert recorded.operation == "count-tokens"
    # The foundation model: the cross-region prefix "us." is dropped.
    assert recorded.path == "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens"
    converse = recorded.body["input"]["converse"]
    assert converse["messages"] == [
        {"role": "user", "content": [{"text": "What is the weather in Paris?"}]}
    ]
    assert converse["system"] == [{"text": "You are terse."}, {"cachePoint": {"type": "default"}}]
    assert converse["toolConfig"]["tools"][0]["toolSpec"]["name"] == "weather"
    assert set(converse) == {"messages", "system", "toolConfig"}
    params = {"modelId": recorded.model_id, **recorded.body}
    report = ParamValidator().validate(params, _COUNT_TOKENS)
    assert not report.has_errors(), report.generate_report()


def test_count_tokens_input_shape() -> None:
    request = {
        "modelId": CLAUDE,
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 10},
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
    }
    assert count_tokens_input(request) == {
        "converse": {
            "messages": request["messages"],
            "additionalModelRequestFields": request["additionalModelRequestFields"],
        }
    }
    report = ParamValidator().validate(
        {
            "modelId": "anthropic.claude-sonnet-4-5-20250929-v1:0",
            "input": count_tokens_input(request),
        },
        _COUNT_TOKENS,
    )
    assert not report.has_errors(), report.generate_report()


def test_count_tokens_api_errors_are_typed(server: BedrockWireServer) -> None:
    model = model_on(server, count_tokens_via_api=True, max_retries=0)
    server.enqueue(
        ErrorReply(
            400, "ValidationException", "The provided model doesn't support counting tokens."
        )
    )
    with pytest.raises(BedrockInvalidRequestError, match="doesn't support counting tokens"):
        model.get_num_tokens_from_messages([HumanMessage("hi")])


def test_a_count_tokens_answer_without_its_count_is_a_typed_error(
    server: BedrockWireServer,
) -> None:
    model = model_on(server, count_tokens_via_api=True, max_retries=0)
    server.enqueue(JsonReply({"unexpected": 1}))
    with pytest.raises(StreamIntegrityError):
        model.get_num_tokens_from_messages([HumanMessage("hi")])


def test_count_tokens_api_retries_throttling(server: BedrockWireServer) -> None:
    from langchain_bedrock_stream._retry import RetryPolicy

    policy = RetryPolicy(max_retries=2, sleep=lambda _: None)
    model = model_on(server, count_tokens_via_api=True, retry_policy=policy)
    server.enqueue(
        ErrorReply(429, "ThrottlingException", "slow down"), JsonReply({"inputTokens": 7})
    )
    assert model.get_num_tokens_from_messages([HumanMessage("hi")]) == 7
    assert len(server.requests) == 2


def test_image_dimensions_agree_with_the_request_checks() -> None:
    """Token estimates and Bedrock's size limits read an image header the same way: a JPEG
    whose marker is preceded by a fill byte, a PNG whose first chunk is not IHDR."""
    from langchain_bedrock_stream._request import limits

    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 100, 200, 1) + b"\x01\x11\x00"
    jpeg_with_fill = b"\xff\xd8" + b"\xff" + sof0 + b"\xff\xd9"
    png_without_ihdr = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rtEXt" + struct.pack(">II", 5, 6)
    for data, expected in ((jpeg_with_fill, (200, 100)), (png_without_ihdr, None)):
        assert image_size(data) == expected
        assert limits.image_size(data) == expected
