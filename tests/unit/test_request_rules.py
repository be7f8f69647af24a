"""Bedrock's documented request rules, checked on every request built here.

Each test builds a request the way a user's history makes it, validates it against botocore's
service model (both operations) and then checks the rule itself with a checker written from
the Converse API reference, independent of the code under test: no whitespace-only text
block, ``toolConfig`` whenever tool blocks are present, Bedrock's input limits raised as
``InputConversionError`` before anything is sent.
"""

from __future__ import annotations

import struct
import warnings
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_bedrock_stream._request import NO_TOOL_CHOICE, build_request, to_converse_messages
from langchain_bedrock_stream.errors import InputConversionError

_SERVICE = botocore.session.get_session().get_service_model("bedrock-runtime")

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"
LLAMA = "us.meta.llama3-1-70b-instruct-v1:0"
MISTRAL = "mistral.mistral-large-2407-v1:0"
UNKNOWN = "us.example.new-model-v1:0"

WEATHER_TOOL = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Weather for a city.",
        "inputSchema": {"json": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
}
TOOLS = {"tools": [WEATHER_TOOL]}


# --- rule checkers, from the API reference ----------------------------------------------------


def assert_valid(request: dict[str, Any]) -> None:
    for operation in ("Converse", "ConverseStream"):
        shape = _SERVICE.operation_model(operation).input_shape
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"


def _texts(blocks: Any) -> Iterator[str]:
    """Every text block's text, including those inside tool results and citations."""
    for block in blocks or ():
        if "text" in block and isinstance(block["text"], str):
            yield block["text"]
        if "toolResult" in block:
            yield from _texts(block["toolResult"].get("content"))
        if "citationsContent" in block:
            yield from _texts(block["citationsContent"].get("content"))


def assert_no_blank_text(request: dict[str, Any]) -> None:
    """Bedrock: "text content blocks must contain non-whitespace text" (the cases it rejects:
    assistant content, system content, a message or tool result that is all blank)."""
    assert all(text.strip() for text in _texts(request.get("system")))
    for message in request["messages"]:
        texts = list(_texts(message["content"]))
        if message["role"] == "assistant":
            assert all(text.strip() for text in texts), texts
        else:
            assert not texts or any(text.strip() for text in texts), texts
        for block in message["content"]:
            if "toolResult" in block:
                inner = list(_texts(block["toolResult"]["content"]))
                assert not inner or any(text.strip() for text in inner), inner
    last = request["messages"][-1]
    if last["role"] == "assistant" and "text" in last["content"][-1]:
        assert last["content"][-1]["text"] == last["content"][-1]["text"].rstrip()


def assert_tool_blocks_have_tool_config(request: dict[str, Any]) -> None:
    """Bedrock: a conversation holding toolUse / toolResult blocks needs toolConfig."""
    kinds = {
        key for message in request["messages"] for block in message["content"] for key in block
    }
    if kinds & {"toolUse", "toolResult"}:
        assert request.get("toolConfig", {}).get("tools"), "tool blocks without toolConfig"


def checked(messages: list[BaseMessage], model_id: str = CLAUDE, **kwargs: Any) -> dict[str, Any]:
    """build_request, then every rule checked on the result."""
    request = build_request(messages, model_id=model_id, **kwargs)
    assert_valid(request)
    assert_no_blank_text(request)
    assert_tool_blocks_have_tool_config(request)
    return request


def weather_call(call_id: str = "t1", text: str = "") -> AIMessage:
    return AIMessage(
        content=text, tool_calls=[{"id": call_id, "name": "get_weather", "args": {"city": "Oslo"}}]
    )


# --- whitespace-only text ---------------------------------------------------------------------


def test_blank_block_after_a_citations_answer_is_replaced() -> None:
    cited = {
        "type": "text",
        "text": "Revenue grew.",
        "citations": [{"title": "report", "source_content": [{"text": "grew 5%"}]}],
    }
    history = [
        HumanMessage("How did revenue do?"),
        AIMessage([cited, {"type": "text", "text": " "}]),
    ]
    request = checked([*history, HumanMessage("And costs?")])
    assert request["messages"][1]["content"] == [
        {
            "citationsContent": {
                "content": [{"text": "Revenue grew."}],
                "citations": [{"title": "report", "sourceContent": [{"text": "grew 5%"}]}],
            }
        },
        {"text": "."},  # as ChatBedrockConverse sends it (recorded: test_citations_v1)
    ]


def test_blank_text_before_a_tool_call_is_not_sent() -> None:
    call = weather_call()
    call.content = [{"type": "text", "text": "\n\n"}]
    request = checked(
        [HumanMessage("Weather?"), call, ToolMessage("sunny", tool_call_id="t1")], tool_config=TOOLS
    )
    assert request["messages"][1]["content"] == [  # blank content beside tool calls: dropped
        {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Oslo"}}}
    ]


def test_blank_human_message_is_dropped_and_its_neighbours_merge() -> None:
    request = checked([HumanMessage("  \n"), HumanMessage("Hello")])
    assert request["messages"] == [{"role": "user", "content": [{"text": "Hello"}]}]


def test_blank_assistant_message_is_dropped_and_its_neighbours_merge() -> None:
    request = checked(
        [HumanMessage("a"), AIMessage([" ", {"type": "text", "text": "\n"}]), HumanMessage("b")]
    )
    assert request["messages"] == [{"role": "user", "content": [{"text": "a"}, {"text": "b"}]}]


def test_blank_human_blocks_are_dropped_with_their_cache_marker() -> None:
    blank = {"type": "text", "text": " ", "cache_control": {"type": "ephemeral"}}
    request = checked([HumanMessage("q"), AIMessage("a"), HumanMessage([blank, "\t"])])
    assert [message["role"] for message in request["messages"]] == ["user", "assistant"]


@pytest.mark.parametrize("content", ["   ", ["\n", {"type": "text", "text": " "}]])
def test_blank_tool_result_gets_the_placeholder(content: Any) -> None:
    request = checked(
        [HumanMessage("Weather?"), weather_call(), ToolMessage(content, tool_call_id="t1")],
        tool_config=TOOLS,
    )
    assert request["messages"][2]["content"][0]["toolResult"]["content"] == [{"text": "."}]


def test_blank_system_content_is_not_sent() -> None:
    request = checked([SystemMessage(["  ", "Be brief."]), SystemMessage("\n"), HumanMessage("q")])
    assert request["system"] == [{"text": "Be brief."}]


def test_final_assistant_turn_loses_trailing_whitespace() -> None:
    request = checked([HumanMessage("Start a list"), AIMessage("1. apples\n  ")])
    assert request["messages"][-1] == {"role": "assistant", "content": [{"text": "1. apples"}]}


def test_whitespace_beside_other_user_content_is_kept() -> None:
    """Recorded traffic shows Bedrock accepting it; the rule is about all-blank content."""
    request = checked([HumanMessage(["Part one", "\n", "Part two"])])
    assert request["messages"][0]["content"] == [
        {"text": "Part one"},
        {"text": "\n"},
        {"text": "Part two"},
    ]


# --- tool history without bound tools ---------------------------------------------------------

TOOL_HISTORY: list[BaseMessage] = [
    HumanMessage("Weather in Oslo?"),
    weather_call(text="Let me look."),
    ToolMessage('{"sky": "sunny"}', tool_call_id="t1"),
    AIMessage("It is sunny."),
    HumanMessage("Summarise our chat."),
]


def test_tool_history_without_tools_is_sent_as_text_with_a_warning() -> None:
    with pytest.warns(RuntimeWarning, match="Tool messages were passed without toolConfig"):
        request = checked(TOOL_HISTORY)
    assert "toolConfig" not in request
    assert request["messages"][1]["content"] == [
        {"text": "Let me look."},
        {"text": '[Called get_weather with {"city": "Oslo"}]'},
    ]
    assert request["messages"][2]["content"] == [
        {"text": '[Result of get_weather: {"sky": "sunny"}]'}
    ]


def test_tool_history_with_tools_bound_keeps_tool_blocks() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        request = checked(TOOL_HISTORY, tool_config=TOOLS)
    assert request["toolConfig"] == TOOLS
    assert request["messages"][2]["content"][0]["toolResult"]["toolUseId"] == "t1"


def test_error_result_and_image_in_tool_history_as_text() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + struct.pack(">II", 4, 4)
    result = ToolMessage(
        [
            {"type": "text", "text": "no such city"},
            {"type": "image", "base64": png, "mime_type": "image/png"},
        ],
        tool_call_id="t1",
        status="error",
    )
    with pytest.warns(RuntimeWarning):
        request = checked([HumanMessage("Weather?"), weather_call(), result])
    assert request["messages"][2]["content"] == [
        {"text": "[Error from get_weather: no such city]"},
        {"image": {"format": "png", "source": {"bytes": png}}},
    ]


# --- tool_choice="none" -------------------------------------------------------------------------


def test_tool_choice_none_sends_no_tools() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        request = checked([HumanMessage("hi")], tool_config={**TOOLS, "toolChoice": NO_TOOL_CHOICE})
    assert "toolConfig" not in request


def test_tool_choice_none_with_tool_history_sends_it_as_text_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        request = checked(TOOL_HISTORY, tool_config={**TOOLS, "toolChoice": NO_TOOL_CHOICE})
    assert "toolConfig" not in request
    assert request["messages"][2]["content"] == [
        {"text": '[Result of get_weather: {"sky": "sunny"}]'}
    ]


# --- stop sequences ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["stop", "stop_sequences", "stopSequences"])
def test_a_single_stop_string_is_one_sequence(key: str) -> None:
    request = checked([HumanMessage("count")], inference_config={key: "END"})
    assert request["inferenceConfig"]["stopSequences"] == ["END"]


# --- toolResult.status per family ----------------------------------------------------------------

STATUS_HISTORY: list[BaseMessage] = [
    HumanMessage("Weather?"),
    weather_call(),
    ToolMessage("no such city", tool_call_id="t1", status="error"),
]


@pytest.mark.parametrize("model_id", [CLAUDE, NOVA])
def test_status_is_sent_to_families_that_take_it(model_id: str) -> None:
    request = checked(STATUS_HISTORY, model_id=model_id, tool_config=TOOLS)
    assert request["messages"][2]["content"][0]["toolResult"]["status"] == "error"


@pytest.mark.parametrize("model_id", [LLAMA, MISTRAL, UNKNOWN])
def test_status_is_left_out_for_other_families(model_id: str) -> None:
    request = checked(STATUS_HISTORY, model_id=model_id, tool_config=TOOLS)
    result = request["messages"][2]["content"][0]["toolResult"]
    assert result == {"toolUseId": "t1", "content": [{"text": "no such city"}]}


def test_status_follows_base_model_id_for_an_application_profile() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    request = checked(
        STATUS_HISTORY, model_id=arn, base_model_id="anthropic.claude-sonnet-4-5", tool_config=TOOLS
    )
    assert request["messages"][2]["content"][0]["toolResult"]["status"] == "error"


# --- input limits ----------------------------------------------------------------------------


def png(width: int = 4, height: int = 4, size: int = 0) -> bytes:
    header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + struct.pack(">II", width, height)
    return header + b"\x00" * max(0, size - len(header))


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 4


def webp(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_vp8x(width: int, height: int) -> bytes:
    size = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return webp(b"VP8X", b"\x00" * 4 + size)


def webp_vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    return webp(b"VP8L", b"\x2f" + struct.pack("<I", bits))


def webp_vp8(width: int, height: int) -> bytes:
    return webp(b"VP8 ", b"\x00" * 3 + b"\x9d\x01\x2a" + struct.pack("<HH", width, height))


def image_block(data: bytes, mime: str = "image/png") -> dict[str, Any]:
    return {"type": "image", "base64": data, "mime_type": mime}


def refused(
    messages: list[BaseMessage], pattern: str, model_id: str = CLAUDE
) -> InputConversionError:
    with pytest.raises(InputConversionError, match=pattern) as info:
        build_request(messages, model_id=model_id)
    return info.value


def test_twenty_images_pass_and_twenty_one_are_refused() -> None:
    twenty = [image_block(png()) for _ in range(20)]
    checked([HumanMessage(["Compare.", *twenty])])
    error = refused(
        [HumanMessage(["Compare.", *twenty]), HumanMessage([image_block(png())])],
        r"messages \[0, 1\] \(one Converse message after merging\): 21 images in one message; "
        r"Bedrock takes at most 20",
    )
    assert error.message_index == 0


def test_an_image_over_3_75_mb_is_refused_naming_its_size() -> None:
    big = png(size=4 * 1024 * 1024)
    error = refused(
        [HumanMessage("q"), AIMessage("a"), HumanMessage(["Look.", image_block(big)])],
        r"message 2 \(HumanMessage\): cannot convert 'image' block: the image is 4.00 MB; "
        r"Bedrock takes images of at most 3.75 MB",
    )
    assert error.message_index == 2
    assert error.block == image_block(big)


@pytest.mark.parametrize(
    ("data", "mime", "size"),
    [
        (png(8001, 10), "image/png", "8001x10"),
        (png(10, 9000), "image/png", "10x9000"),
        (jpeg(8200, 600), "image/jpeg", "8200x600"),
        (gif(100, 8001), "image/gif", "100x8001"),
        (webp_vp8x(9000, 9000), "image/webp", "9000x9000"),
        (webp_vp8l(8192, 16), "image/webp", "8192x16"),
        (webp_vp8(16, 8100), "image/webp", "16x8100"),
    ],
)
def test_images_over_8000_px_are_refused_for_every_format(
    data: bytes, mime: str, size: str
) -> None:
    refused(
        [HumanMessage(["Look.", image_block(data, mime)])],
        rf"the image is {size} px; Bedrock takes images of at most 8000x8000 px",
    )


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (png(8000, 8000), "image/png"),
        (jpeg(8000, 1), "image/jpeg"),
        (gif(1, 8000), "image/gif"),
        (webp_vp8x(8000, 8000), "image/webp"),
        (webp_vp8l(8000, 2), "image/webp"),
        (webp_vp8(3, 8000), "image/webp"),
    ],
)
def test_images_of_8000_px_pass(data: bytes, mime: str) -> None:
    checked([HumanMessage(["Look.", image_block(data, mime)])])


def pdf(size: int = 64) -> dict[str, Any]:
    data = b"%PDF-1.4" + b"\x00" * (size - 8)
    return {"type": "file", "base64": data, "mime_type": "application/pdf"}


def test_five_documents_pass_and_six_are_refused() -> None:
    checked([HumanMessage(["Compare.", *(pdf() for _ in range(5))])])
    refused(
        [HumanMessage(["Compare.", *(pdf() for _ in range(6))])],
        r"message 0 \(one Converse message after merging\): 6 documents in one message; "
        r"Bedrock takes at most 5",
    )


def test_a_document_over_4_5_mb_is_refused() -> None:
    refused(
        [HumanMessage(["Read.", pdf(5 * 1024 * 1024)])],
        r"'file' block: the document is 5.00 MB; Bedrock takes documents of at most 4.50 MB",
    )


def test_a_document_needs_a_text_block_in_its_message() -> None:
    refused([HumanMessage([pdf()])], r"a message with a document needs a text block")
    request = checked([HumanMessage([pdf()]), HumanMessage("Summarise it.")])
    assert [next(iter(block)) for block in request["messages"][0]["content"]] == [
        "document",
        "text",
    ]


@pytest.mark.parametrize("block", [image_block(png()), pdf()])
def test_images_and_documents_only_in_user_messages(block: dict[str, Any]) -> None:
    kind = "image" if block["type"] == "image" else "document"
    refused(
        [HumanMessage("q"), AIMessage(["Here:", block])],
        rf"message 1 \(AIMessage\).*Bedrock takes {kind}s in user messages only",
    )


def test_an_image_in_a_tool_result_is_allowed_and_checked() -> None:
    ok = ToolMessage([image_block(png())], tool_call_id="t1")
    checked([HumanMessage("Chart?"), weather_call(), ok], tool_config=TOOLS)
    too_big = ToolMessage([image_block(png(9000, 9000))], tool_call_id="t1")
    refused(
        [HumanMessage("Chart?"), weather_call(), too_big], r"message 2 \(ToolMessage\).*9000x9000"
    )


@pytest.mark.parametrize(
    ("message", "pattern"),
    [
        (HumanMessage("half a pair \ud83d here"), r"lone surrogate '\\ud83d' at offset 12"),
        (HumanMessage("nul\x00byte"), r"NUL character at offset 3"),
        (SystemMessage("rules\x00"), r"NUL character at offset 5"),
    ],
)
def test_invalid_unicode_is_refused(message: BaseMessage, pattern: str) -> None:
    messages: list[BaseMessage] = [message]
    if not isinstance(message, HumanMessage):
        messages.append(HumanMessage("q"))
    refused(messages, pattern)


def test_invalid_unicode_in_tool_arguments_is_refused() -> None:
    call = AIMessage(
        "", tool_calls=[{"id": "t1", "name": "get_weather", "args": {"city": "\udc00"}}]
    )
    refused([HumanMessage("q"), call], r"message 1 \(AIMessage\).*lone surrogate")


AUDIO = {"type": "audio", "base64": b"RIFF....WAVE", "mime_type": "audio/wav"}


@pytest.mark.parametrize("model_id", [CLAUDE, NOVA, LLAMA])
def test_audio_is_refused_for_families_that_do_not_take_it(model_id: str) -> None:
    refused(
        [HumanMessage(["Transcribe.", AUDIO])],
        r"'audio' block: .* do not take audio input",
        model_id,
    )


def test_audio_is_left_to_bedrock_for_a_model_the_table_does_not_know() -> None:
    request = checked([HumanMessage(["Transcribe.", AUDIO])], model_id=UNKNOWN)
    assert request["messages"][0]["content"][1] == {
        "audio": {"format": "wav", "source": {"bytes": b"RIFF....WAVE"}}
    }


def test_to_converse_messages_without_a_model_checks_limits_but_not_families() -> None:
    _, turns = to_converse_messages([HumanMessage(["Transcribe.", AUDIO])])
    assert turns[0]["content"][1]["audio"]["format"] == "wav"
    with pytest.raises(InputConversionError, match="21 images"):
        to_converse_messages([HumanMessage(["x", *(image_block(png()) for _ in range(21))])])


# --- images in tool results per family ------------------------------------------------------------


def chart_result() -> ToolMessage:
    return ToolMessage([{"type": "text", "text": "chart:"}, image_block(png())], tool_call_id="t1")


@pytest.mark.parametrize("model_id", [CLAUDE, NOVA, UNKNOWN])
def test_images_stay_inside_tool_results_where_the_family_takes_them(model_id: str) -> None:
    request = checked(
        [HumanMessage("Chart?"), weather_call(), chart_result()],
        model_id=model_id,
        tool_config=TOOLS,
    )
    content = request["messages"][2]["content"]
    assert len(content) == 1
    assert [next(iter(item)) for item in content[0]["toolResult"]["content"]] == ["text", "image"]


def test_images_move_after_the_tool_result_for_other_families() -> None:
    request = checked(
        [HumanMessage("Chart?"), weather_call(), chart_result()],
        model_id=MISTRAL,
        tool_config=TOOLS,
    )
    assert request["messages"][2]["content"] == [
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "chart:"}]}},
        {"image": {"format": "png", "source": {"bytes": png()}}},
    ]
    only_image = ToolMessage([image_block(png())], tool_call_id="t1")
    request = checked(
        [HumanMessage("Chart?"), weather_call(), only_image], model_id=MISTRAL, tool_config=TOOLS
    )
    assert request["messages"][2]["content"][0]["toolResult"]["content"] == [{"text": "."}]


@pytest.mark.parametrize("tool_config", [None, TOOLS])
def test_a_tool_result_answering_no_call_is_refused_with_or_without_tools(
    tool_config: dict[str, Any] | None,
) -> None:
    with pytest.raises(InputConversionError, match=r"message 2 \(ToolMessage\).*'b2' has no match"):
        build_request(
            [HumanMessage("Weather?"), weather_call("a1"), ToolMessage("sunny", tool_call_id="b2")],
            model_id=CLAUDE,
            tool_config=tool_config,
        )
