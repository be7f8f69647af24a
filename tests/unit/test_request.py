"""LangChain messages -> Converse request: every content form, the merging rules, errors.

Expected structures are written out by hand. Every request built here is also checked against
botocore's service model for both Converse and ConverseStream.
"""

from __future__ import annotations

import base64
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_bedrock_stream._request import build_request, to_converse_messages
from langchain_bedrock_stream.errors import InputConversionError

_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF"
PDF = b"%PDF-1.4 tiny"
PNG_B64 = base64.b64encode(PNG).decode()
PDF_B64 = base64.b64encode(PDF).decode()


def assert_valid(request: dict[str, Any]) -> None:
    for operation in ("Converse", "ConverseStream"):
        shape = _MODEL.operation_model(operation).input_shape
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"


def convert(
    messages: list[BaseMessage], model_id: str = "us.amazon.nova-micro-v1:0"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """to_converse_messages, plus a check that the request it makes (with the tools its
    history calls) is valid."""
    system, turns = to_converse_messages(messages)
    names = {
        block["toolUse"]["name"]
        for turn in turns
        for block in turn["content"]
        if "toolUse" in block
    }
    tools = [{"toolSpec": {"name": name, "inputSchema": {"json": {}}}} for name in sorted(names)]
    config = {"tools": tools} if tools else None
    assert_valid(build_request(messages, model_id=model_id, tool_config=config))
    return system, turns


def user(*content: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(content)}


def assistant(*content: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": list(content)}


def user_turn_of(
    block: dict[str, Any], model_id: str = "us.amazon.nova-micro-v1:0"
) -> list[dict[str, Any]]:
    """The Converse content of one human message holding ``block`` (after a text block)."""
    _, turns = convert([HumanMessage(content=[{"type": "text", "text": "see"}, block])], model_id)
    assert turns[0]["content"][0] == {"text": "see"}
    return turns[0]["content"][1:]


# --- roles, system, merging -----------------------------------------------------------------


def test_plain_conversation() -> None:
    system, turns = convert(
        [SystemMessage("Be brief."), HumanMessage("Hi"), AIMessage("Hello"), HumanMessage("Bye")]
    )
    assert system == [{"text": "Be brief."}]
    assert turns == [
        user({"text": "Hi"}),
        assistant({"text": "Hello"}),
        user({"text": "Bye"}),
    ]


def test_system_messages_anywhere_are_collected_in_order() -> None:
    system, turns = convert(
        [
            SystemMessage("one"),
            HumanMessage("Hi"),
            SystemMessage(
                content=[
                    {"type": "text", "text": "two", "cache_control": {"type": "ephemeral"}},
                    {"cachePoint": {"type": "default"}},
                    "three",
                ]
            ),
        ]
    )
    assert system == [
        {"text": "one"},
        {"text": "two"},
        {"cachePoint": {"type": "default"}},
        {"cachePoint": {"type": "default"}},
        {"text": "three"},
    ]
    assert turns == [user({"text": "Hi"})]


def test_system_guard_content_passes() -> None:
    system, _ = convert(
        [SystemMessage(content=[{"guardContent": {"text": {"text": "rule"}}}]), HumanMessage("x")]
    )
    assert system == [{"guardContent": {"text": {"text": "rule"}}}]


def test_system_cache_flag_appends_a_cache_point() -> None:
    request = build_request(
        [SystemMessage("sys"), HumanMessage("hi")], model_id="m", cache_system=True
    )
    assert request["system"] == [{"text": "sys"}, {"cachePoint": {"type": "default"}}]
    assert_valid(request)


def test_system_image_is_rejected() -> None:
    with pytest.raises(InputConversionError) as info:
        to_converse_messages(
            [HumanMessage("x"), SystemMessage(content=[{"type": "image", "base64": PNG_B64}])]
        )
    assert info.value.message_index == 1
    assert "message 1" in str(info.value)
    assert "'image'" in str(info.value)


def test_consecutive_same_role_messages_merge() -> None:
    _, turns = convert(
        [
            HumanMessage("a"),
            HumanMessage(content=[{"type": "text", "text": "b"}]),
            AIMessage("c"),
            AIMessage("d"),
            HumanMessage("e"),
        ]
    )
    assert turns == [
        user({"text": "a"}, {"text": "b"}),
        assistant({"text": "c"}, {"text": "d"}),
        user({"text": "e"}),
    ]


def test_tool_results_for_one_turn_share_one_user_message() -> None:
    _, turns = convert(
        [
            HumanMessage("weather in Paris and Rome?"),
            AIMessage(
                content="",
                tool_calls=[
                    {"id": "call_1", "name": "weather", "args": {"city": "Paris"}},
                    {"id": "call_2", "name": "weather", "args": {"city": "Rome"}},
                ],
            ),
            ToolMessage("sunny", tool_call_id="call_1"),
            ToolMessage("rain", tool_call_id="call_2"),
            HumanMessage("thanks"),
        ]
    )
    assert turns == [
        user({"text": "weather in Paris and Rome?"}),
        assistant(
            {"toolUse": {"toolUseId": "call_1", "name": "weather", "input": {"city": "Paris"}}},
            {"toolUse": {"toolUseId": "call_2", "name": "weather", "input": {"city": "Rome"}}},
        ),
        user(
            {
                "toolResult": {
                    "toolUseId": "call_1",
                    "content": [{"text": "sunny"}],
                    "status": "success",
                }
            },
            {
                "toolResult": {
                    "toolUseId": "call_2",
                    "content": [{"text": "rain"}],
                    "status": "success",
                }
            },
            {"text": "thanks"},
        ),
    ]


def test_tool_results_move_before_text_in_a_user_message() -> None:
    _, turns = convert(
        [
            HumanMessage("go"),
            AIMessage(content="", tool_calls=[{"id": "t1", "name": "f", "args": {}}]),
            HumanMessage("note first"),
            ToolMessage("done", tool_call_id="t1"),
        ]
    )
    assert turns[2] == user(
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "done"}], "status": "success"}},
        {"text": "note first"},
    )


def test_chat_message_roles() -> None:
    system, turns = convert(
        [
            ChatMessage(role="system", content="s"),
            ChatMessage(role="user", content="u"),
            ChatMessage(role="assistant", content="a"),
        ]
    )
    assert system == [{"text": "s"}]
    assert turns == [user({"text": "u"}), assistant({"text": "a"})]


# --- emptiness and the first turn -----------------------------------------------------------


def test_empty_text_blocks_are_dropped() -> None:
    _, turns = convert(
        [HumanMessage(content=["", {"type": "text", "text": ""}, {"text": ""}, "kept"])]
    )
    assert turns == [user({"text": "kept"})]


def test_whitespace_beside_other_user_text_is_kept() -> None:
    """Bedrock accepts it there (recorded: test_bedrock_cache_write_and_read)."""
    _, turns = convert([HumanMessage(content=["a", "\n"])])
    assert turns == [user({"text": "a"}, {"text": "\n"})]


def test_an_empty_message_is_dropped_and_its_neighbours_merge() -> None:
    _, turns = convert([HumanMessage("a"), AIMessage(""), HumanMessage("b")])
    assert turns == [user({"text": "a"}, {"text": "b"})]


def test_history_starting_with_the_assistant_gets_a_user_turn_first() -> None:
    _, turns = convert([AIMessage("How can I help?"), HumanMessage("Hi")])
    assert turns == [
        user({"text": "."}),
        assistant({"text": "How can I help?"}),
        user({"text": "Hi"}),
    ]


def test_system_only_input_sends_one_placeholder_user_turn() -> None:
    system, turns = convert([SystemMessage("only rules")])
    assert system == [{"text": "only rules"}]
    assert turns == [user({"text": "."})]


@pytest.mark.parametrize("status", ["success", "error"])
def test_empty_tool_result_gets_the_placeholder(status: str) -> None:
    _, turns = convert(
        [
            HumanMessage("go"),
            AIMessage(content="", tool_calls=[{"id": "t1", "name": "f", "args": {}}]),
            ToolMessage("", tool_call_id="t1", status=status),
        ]
    )
    assert turns[2] == user(
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "."}], "status": status}}
    )


# --- tool messages --------------------------------------------------------------------------


def _tool_result_of(message: ToolMessage) -> dict[str, Any]:
    _, turns = convert(
        [
            HumanMessage("go"),
            AIMessage(
                content="", tool_calls=[{"id": message.tool_call_id, "name": "f", "args": {}}]
            ),
            message,
        ]
    )
    assert turns[2]["role"] == "user"
    return turns[2]


def test_tool_message_json_content_is_sent_as_given() -> None:
    turn = _tool_result_of(
        ToolMessage(
            content=[{"user_id": 1, "first_name": "Ada", "nested_list": [{"snake_key": True}]}],
            tool_call_id="t1",
        )
    )
    assert turn == user(
        {
            "toolResult": {
                "toolUseId": "t1",
                "content": [
                    {
                        "json": {
                            "user_id": 1,
                            "first_name": "Ada",
                            "nested_list": [{"snake_key": True}],
                        }
                    }
                ],
                "status": "success",
            }
        }
    )


def test_tool_message_error_status() -> None:
    turn = _tool_result_of(ToolMessage("boom", tool_call_id="t1", status="error"))
    assert turn == user(
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "boom"}], "status": "error"}}
    )


def test_tool_message_with_text_and_image_blocks() -> None:
    turn = _tool_result_of(
        ToolMessage(
            content=[
                {"type": "text", "text": "chart:"},
                {"type": "image", "base64": PNG_B64, "mime_type": "image/png"},
                {"type": "json", "json": {"rows": 3}},
            ],
            tool_call_id="t1",
        )
    )
    assert turn == user(
        {
            "toolResult": {
                "toolUseId": "t1",
                "content": [
                    {"text": "chart:"},
                    {"image": {"format": "png", "source": {"bytes": PNG}}},
                    {"json": {"rows": 3}},
                ],
                "status": "success",
            }
        }
    )


def test_tool_message_cache_marker_becomes_a_cache_point_after_the_result() -> None:
    turn = _tool_result_of(
        ToolMessage(
            content=[{"type": "text", "text": "long", "cache_control": {"type": "ephemeral"}}],
            tool_call_id="t1",
        )
    )
    assert turn == user(
        {"toolResult": {"toolUseId": "t1", "content": [{"text": "long"}], "status": "success"}},
        {"cachePoint": {"type": "default"}},
    )


def test_tool_message_data_with_an_unknown_type_key_is_json() -> None:
    turn = _tool_result_of(ToolMessage(content=[{"type": "user", "id": 7}], tool_call_id="t1"))
    assert turn["content"][0]["toolResult"]["content"] == [{"json": {"type": "user", "id": 7}}]


# --- assistant turns: native content --------------------------------------------------------


def _assistant(message: AIMessage) -> list[dict[str, Any]]:
    _, turns = convert([HumanMessage("q"), message])
    assert turns[1]["role"] == "assistant"
    return turns[1]["content"]


def test_assistant_text_items_with_index() -> None:
    content = _assistant(
        AIMessage(
            content=[
                {"type": "text", "text": "Hello ", "index": 0},
                {"type": "text", "text": "world", "index": 1},
            ]
        )
    )
    assert content == [{"text": "Hello "}, {"text": "world"}]


def test_assistant_citations_become_citations_content_with_camel_case_keys() -> None:
    content = _assistant(
        AIMessage(
            content=[
                {"type": "text", "text": "Employees receive ", "index": 0},
                {
                    "type": "text",
                    "text": "20 days annual leave.",
                    "citations": [
                        {
                            "title": "company_policy",
                            "source_content": [{"text": "Employees get 20 days."}],
                            "location": {
                                "document_char": {"document_index": 0, "start": 0, "end": 58}
                            },
                        },
                        {
                            "title": "handbook",
                            "source_content": [{"text": "p2"}],
                            "location": {
                                "document_page": {"document_index": 1, "start": 2, "end": 3}
                            },
                        },
                        {
                            "source_content": [{"text": "chunk"}],
                            "location": {
                                "document_chunk": {"document_index": 2, "start": 1, "end": 2}
                            },
                        },
                        {
                            "location": {
                                "web": {"url": "https://example.com", "domain": "example.com"}
                            }
                        },
                    ],
                    "index": 1,
                },
            ]
        )
    )
    assert content == [
        {"text": "Employees receive "},
        {
            "citationsContent": {
                "content": [{"text": "20 days annual leave."}],
                "citations": [
                    {
                        "title": "company_policy",
                        "sourceContent": [{"text": "Employees get 20 days."}],
                        "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 58}},
                    },
                    {
                        "title": "handbook",
                        "sourceContent": [{"text": "p2"}],
                        "location": {"documentPage": {"documentIndex": 1, "start": 2, "end": 3}},
                    },
                    {
                        "sourceContent": [{"text": "chunk"}],
                        "location": {"documentChunk": {"documentIndex": 2, "start": 1, "end": 2}},
                    },
                    {"location": {"web": {"url": "https://example.com", "domain": "example.com"}}},
                ],
            }
        },
    ]


def test_assistant_reasoning_with_signature() -> None:
    content = _assistant(
        AIMessage(
            content=[
                {
                    "type": "reasoning_content",
                    "reasoning_content": {"text": "think", "signature": "sig=="},
                    "index": 0,
                },
                {"type": "text", "text": "answer", "index": 1},
            ]
        )
    )
    assert content == [
        {"reasoningContent": {"reasoningText": {"text": "think", "signature": "sig=="}}},
        {"text": "answer"},
    ]


@pytest.mark.parametrize(
    "redacted", [b"\x00secret\xff", base64.b64encode(b"\x00secret\xff").decode()]
)
def test_assistant_redacted_reasoning_is_sent_as_bytes(redacted: Any) -> None:
    content = _assistant(
        AIMessage(
            content=[
                {"type": "reasoning_content", "reasoning_content": {"redacted_content": redacted}},
                {"type": "text", "text": "ok"},
            ]
        )
    )
    assert content == [
        {"reasoningContent": {"redactedContent": b"\x00secret\xff"}},
        {"text": "ok"},
    ]


def test_split_reasoning_items_with_one_index_merge() -> None:
    content = _assistant(
        AIMessage(
            content=[
                {"type": "reasoning_content", "reasoning_content": {"text": "Let me "}, "index": 0},
                {"type": "reasoning_content", "reasoning_content": {"text": "think."}, "index": 0},
                {
                    "type": "reasoning_content",
                    "reasoning_content": {"signature": "SIG"},
                    "index": 0,
                },
                {"type": "reasoning_content", "reasoning_content": {"text": "Second."}, "index": 2},
                {
                    "type": "reasoning_content",
                    "reasoning_content": {"signature": "SIG2"},
                    "index": 2,
                },
                {"type": "text", "text": "Done", "index": 3},
            ]
        )
    )
    assert content == [
        {"reasoningContent": {"reasoningText": {"text": "Let me think.", "signature": "SIG"}}},
        {"reasoningContent": {"reasoningText": {"text": "Second.", "signature": "SIG2"}}},
        {"text": "Done"},
    ]


def test_signed_reasoning_blocks_are_not_merged() -> None:
    content = _assistant(
        AIMessage(
            content=[
                {"type": "reasoning_content", "reasoning_content": {"text": "a", "signature": "1"}},
                {"type": "reasoning_content", "reasoning_content": {"text": "b", "signature": "2"}},
            ]
        )
    )
    assert content == [
        {"reasoningContent": {"reasoningText": {"text": "a", "signature": "1"}}},
        {"reasoningContent": {"reasoningText": {"text": "b", "signature": "2"}}},
    ]


def test_summed_stream_chunks_round_trip() -> None:
    chunks = [
        AIMessageChunk(
            content=[{"type": "reasoning_content", "reasoning_content": {"text": "Hm"}, "index": 0}]
        ),
        AIMessageChunk(
            content=[{"type": "reasoning_content", "reasoning_content": {"text": "m."}, "index": 0}]
        ),
        AIMessageChunk(
            content=[
                {"type": "reasoning_content", "reasoning_content": {"signature": "S"}, "index": 0}
            ]
        ),
        AIMessageChunk(content=[{"type": "text", "text": "Yes", "index": 1}]),
        AIMessageChunk(content=[{"type": "text", "text": ".", "index": 1}]),
    ]
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert _assistant(total) == [
        {"reasoningContent": {"reasoningText": {"text": "Hmm.", "signature": "S"}}},
        {"text": "Yes."},
    ]


def test_tool_calls_are_the_authority_for_arguments() -> None:
    content = _assistant(
        AIMessage(
            content=[
                {"type": "text", "text": "Checking."},
                {
                    "type": "tool_use",
                    "id": "t1",
                    "name": "lookup",
                    "input": '{"q": "par',
                    "index": 1,
                },
                {"type": "tool_use", "id": "t1", "name": "lookup", "input": {}},
            ],
            tool_calls=[
                {"id": "t1", "name": "lookup", "args": {"q": "paris"}},
                {"id": "t2", "name": "weather", "args": {"city": "Paris"}},
            ],
        )
    )
    assert content == [
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {"q": "paris"}}},
        {"toolUse": {"toolUseId": "t2", "name": "weather", "input": {"city": "Paris"}}},
    ]


def test_tool_use_block_without_tool_calls_parses_streamed_input() -> None:
    content = _assistant(
        AIMessage(content=[{"type": "tool_use", "id": "t1", "name": "f", "input": '{"a": 1}'}])
    )
    assert content == [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}}]


def test_tool_call_without_arguments_sends_an_empty_object() -> None:
    content = _assistant(
        AIMessage(content=[{"type": "tool_use", "id": "t1", "name": "now", "input": ""}])
    )
    assert content == [{"toolUse": {"toolUseId": "t1", "name": "now", "input": {}}}]


def test_invalid_tool_calls_are_replayed_with_empty_input() -> None:
    content = _assistant(
        AIMessage(
            content="",
            invalid_tool_calls=[
                {
                    "id": "bad1",
                    "name": "f",
                    "args": '{"a": ',
                    "error": "bad json",
                    "type": "invalid_tool_call",
                }
            ],
        )
    )
    assert content == [{"toolUse": {"toolUseId": "bad1", "name": "f", "input": {}}}]


def test_server_tool_use_and_result() -> None:
    content = _assistant(
        AIMessage(
            content=[
                {
                    "type": "server_tool_use",
                    "id": "srv1",
                    "name": "nova_code_interpreter",
                    "input": '{"snippet": "print(1)"}',
                    "index": 0,
                },
                {
                    "type": "server_tool_result",
                    "tool_use_id": "srv1",
                    "content": [{"json": {"stdOut": "1", "exitCode": 0}}],
                    "status": "success",
                    "result_type": "nova_code_interpreter_result",
                    "index": 1,
                },
                {"type": "text", "text": "It printed 1.", "index": 2},
            ]
        )
    )
    assert content == [
        {
            "toolUse": {
                "toolUseId": "srv1",
                "name": "nova_code_interpreter",
                "input": {"snippet": "print(1)"},
                "type": "server_tool_use",
            }
        },
        {
            "toolResult": {
                "toolUseId": "srv1",
                "content": [{"json": {"stdOut": "1", "exitCode": 0}}],
                "status": "success",
                "type": "nova_code_interpreter_result",
            }
        },
        {"text": "It printed 1."},
    ]


def test_unknown_member_from_a_summed_stream() -> None:
    content = _assistant(
        AIMessage(
            content=[
                {"type": "text", "text": "Here."},
                {
                    "type": "non_standard",
                    "value": {"guardContent": {"text": {"text": "kept"}}},
                    "index": 1,
                },
            ]
        )
    )
    assert content == [{"text": "Here."}, {"guardContent": {"text": {"text": "kept"}}}]


def test_generated_image_in_an_assistant_turn_is_refused() -> None:
    """Bedrock takes images in user messages only: a generated image cannot go back."""
    image = {"type": "image", "format": "png", "source": {"bytes": PNG_B64}, "index": 0}
    with pytest.raises(InputConversionError, match=r"message 1 .*images in user messages only"):
        to_converse_messages([HumanMessage("q"), AIMessage(content=[image])])


REASONING_HISTORY: list[BaseMessage] = [
    HumanMessage("q"),
    AIMessage(
        content=[
            {"type": "text", "text": "Answer."},
            {"type": "reasoning_content", "reasoning_content": {"text": "unsigned"}},
            {
                "type": "reasoning_content",
                "reasoning_content": {"text": "signed", "signature": "S"},
            },
            {"type": "reasoning_content", "reasoning_content": {"redacted_content": b"\x01"}},
        ]
    ),
    HumanMessage("again"),
]


def _sent_assistant_turn(model_id: str) -> list[dict[str, Any]]:
    request = build_request(REASONING_HISTORY, model_id=model_id)
    assert_valid(request)
    return request["messages"][1]["content"]


def test_reasoning_goes_to_deepseek_r1_as_think_text() -> None:
    assert _sent_assistant_turn("us.deepseek.r1-v1:0") == [
        {"text": "Answer."},
        {"text": "<think>\nunsigned\n</think>"},
        {"text": "<think>\nsigned\n</think>"},
    ]


def test_unsigned_reasoning_is_left_out_for_anthropic_models() -> None:
    assert _sent_assistant_turn("us.anthropic.claude-sonnet-4-5-20250929-v1:0") == [
        {"text": "Answer."},
        {"reasoningContent": {"reasoningText": {"text": "signed", "signature": "S"}}},
        {"reasoningContent": {"redactedContent": b"\x01"}},
    ]


def test_other_models_get_reasoning_as_it_is() -> None:
    assert _sent_assistant_turn("openai.gpt-oss-120b-1:0") == [
        {"text": "Answer."},
        {"reasoningContent": {"reasoningText": {"text": "unsigned"}}},
        {"reasoningContent": {"reasoningText": {"text": "signed", "signature": "S"}}},
        {"reasoningContent": {"redactedContent": b"\x01"}},
    ]


# --- assistant turns: LangChain v1 standard blocks ------------------------------------------


def test_v1_standard_blocks() -> None:
    content = _assistant(
        AIMessage(
            content=[
                {
                    "type": "reasoning",
                    "reasoning": "ponder",
                    "extras": {"signature": "S1"},
                    "index": 0,
                },
                {
                    "type": "text",
                    "text": "20 days.",
                    "annotations": [
                        {
                            "type": "citation",
                            "title": "company_policy",
                            "cited_text": "Employees get 20 days.",
                            "extras": {
                                "location": {
                                    "document_char": {"document_index": 0, "start": 0, "end": 22}
                                }
                            },
                        }
                    ],
                },
                {
                    "type": "server_tool_call",
                    "id": "s1",
                    "name": "nova_grounding",
                    "args": {"q": "x"},
                },
                {
                    "type": "server_tool_result",
                    "tool_call_id": "s1",
                    "status": "error",
                    "output": "failed",
                    "extras": {"type": "nova_grounding_result"},
                },
                {"type": "tool_call", "id": "c1", "name": "f", "args": {"a": 1}},
            ],
            tool_calls=[{"id": "c1", "name": "f", "args": {"a": 1}}],
            response_metadata={"output_version": "v1"},
        )
    )
    assert content == [
        {"reasoningContent": {"reasoningText": {"text": "ponder", "signature": "S1"}}},
        {
            "citationsContent": {
                "content": [{"text": "20 days."}],
                "citations": [
                    {
                        "title": "company_policy",
                        "sourceContent": [{"text": "Employees get 20 days."}],
                        "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 22}},
                    }
                ],
            }
        },
        {
            "toolUse": {
                "toolUseId": "s1",
                "name": "nova_grounding",
                "input": {"q": "x"},
                "type": "server_tool_use",
            }
        },
        {
            "toolResult": {
                "toolUseId": "s1",
                "content": [{"text": "failed"}],
                "status": "error",
                "type": "nova_grounding_result",
            }
        },
        {"toolUse": {"toolUseId": "c1", "name": "f", "input": {"a": 1}}},
    ]


def test_v1_redacted_reasoning() -> None:
    content = _assistant(
        AIMessage(
            content=[{"type": "reasoning", "extras": {"redacted_content": b"\x01\x02"}}, "ok"]
        )
    )
    assert content == [{"reasoningContent": {"redactedContent": b"\x01\x02"}}, {"text": "ok"}]


def test_anthropic_thinking_blocks() -> None:
    content = _assistant(
        AIMessage(
            content=[
                {"type": "thinking", "thinking": "hmm", "signature": "S"},
                {"type": "redacted_thinking", "data": base64.b64encode(b"xyz").decode()},
                {"type": "text", "text": "ok"},
            ]
        )
    )
    assert content == [
        {"reasoningContent": {"reasoningText": {"text": "hmm", "signature": "S"}}},
        {"reasoningContent": {"redactedContent": b"xyz"}},
        {"text": "ok"},
    ]


# --- images ---------------------------------------------------------------------------------


def test_standard_image_base64() -> None:
    assert user_turn_of({"type": "image", "base64": PNG_B64, "mime_type": "image/png"}) == [
        {"image": {"format": "png", "source": {"bytes": PNG}}}
    ]


def test_standard_image_format_sniffed_from_bytes() -> None:
    block = {"type": "image", "base64": base64.b64encode(JPEG).decode()}
    assert user_turn_of(block) == [{"image": {"format": "jpeg", "source": {"bytes": JPEG}}}]


@pytest.mark.parametrize(
    ("mime", "fmt"),
    [("image/jpeg", "jpeg"), ("image/jpg", "jpeg"), ("image/gif", "gif"), ("image/webp", "webp")],
)
def test_image_formats(mime: str, fmt: str) -> None:
    block = {"type": "image", "base64": PNG_B64, "mime_type": mime}
    assert user_turn_of(block) == [{"image": {"format": fmt, "source": {"bytes": PNG}}}]


def test_standard_image_data_url() -> None:
    block = {"type": "image", "url": f"data:image/png;base64,{PNG_B64}"}
    assert user_turn_of(block) == [{"image": {"format": "png", "source": {"bytes": PNG}}}]


def test_standard_image_s3_url_and_file_id() -> None:
    assert user_turn_of({"type": "image", "url": "s3://bucket/cat.jpg"}) == [
        {"image": {"format": "jpeg", "source": {"s3Location": {"uri": "s3://bucket/cat.jpg"}}}}
    ]
    block = {
        "type": "image",
        "file_id": "s3://bucket/pic",
        "mime_type": "image/webp",
        "extras": {"bucket_owner": "123456789012"},
    }
    assert user_turn_of(block) == [
        {
            "image": {
                "format": "webp",
                "source": {"s3Location": {"uri": "s3://bucket/pic", "bucketOwner": "123456789012"}},
            }
        }
    ]


def test_openai_image_url() -> None:
    block = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}}
    assert user_turn_of(block) == [{"image": {"format": "png", "source": {"bytes": PNG}}}]


def test_anthropic_image_source() -> None:
    block = {
        "type": "image",
        "source": {"type": "base64", "media_type": "image/gif", "data": PNG_B64},
    }
    assert user_turn_of(block) == [{"image": {"format": "gif", "source": {"bytes": PNG}}}]


def test_v0_image_block() -> None:
    block = {"type": "image", "source_type": "base64", "data": PNG_B64, "mime_type": "image/png"}
    assert user_turn_of(block) == [{"image": {"format": "png", "source": {"bytes": PNG}}}]


def test_http_image_url_is_a_clear_error() -> None:
    with pytest.raises(InputConversionError) as info:
        to_converse_messages(
            [
                HumanMessage("a"),
                AIMessage("b"),
                HumanMessage(content=[{"type": "image", "url": "https://example.com/cat.png"}]),
            ]
        )
    error = info.value
    assert error.message_index == 2
    assert error.block == {"type": "image", "url": "https://example.com/cat.png"}
    assert "message 2" in str(error)
    assert "'image' block" in str(error)
    assert "never fetches" in str(error)


def test_unsupported_image_mime_type() -> None:
    with pytest.raises(InputConversionError, match=r"message 0 .*'image' block.*image/tiff"):
        to_converse_messages(
            [
                HumanMessage(
                    content=[{"type": "image", "base64": PNG_B64, "mime_type": "image/tiff"}]
                )
            ]
        )


def test_raw_image_with_base64_string_bytes_is_decoded() -> None:
    raw = {"image": {"format": "png", "source": {"bytes": PNG_B64}}}
    assert user_turn_of(raw) == [{"image": {"format": "png", "source": {"bytes": PNG}}}]
    assert raw == {"image": {"format": "png", "source": {"bytes": PNG_B64}}}  # not mutated


# --- documents ------------------------------------------------------------------------------


def test_standard_file_with_name_context_and_citations() -> None:
    block = {
        "type": "file",
        "base64": PDF_B64,
        "mime_type": "application/pdf",
        "extras": {"name": "Q3 report.final.pdf", "context": "finance", "citations": True},
    }
    assert user_turn_of(block) == [
        {
            "document": {
                "format": "pdf",
                "name": "Q3 report-final",
                "source": {"bytes": PDF},
                "context": "finance",
                "citations": {"enabled": True},
            }
        }
    ]


def test_unnamed_documents_get_numbered_unique_names() -> None:
    _, turns = convert(
        [
            HumanMessage(
                content=[
                    {"type": "file", "base64": PDF_B64, "mime_type": "application/pdf"},
                    {
                        "type": "file",
                        "base64": PDF_B64,
                        "mime_type": "application/pdf",
                        "extras": {"filename": "Document 2"},
                    },
                    {"type": "file", "base64": PDF_B64, "mime_type": "application/pdf"},
                    {
                        "type": "file",
                        "base64": PDF_B64,
                        "mime_type": "application/pdf",
                        "extras": {"filename": "Document 2"},
                    },
                    "Compare them.",
                ]
            )
        ]
    )
    names = [block["document"]["name"] for block in turns[0]["content"][:4]]
    assert names == ["Document 1", "Document 2", "Document 3", "Document 2 (2)"]


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("a  b\t\tc", "a b c"),
        ("report/2024:v1", "report-2024-v1"),
        ("[draft] (v2) my_doc", "[draft] (v2) my_doc"),
        ("...", "-"),
        ("   ", "Document 1"),
    ],
)
def test_document_names_follow_bedrock_rules(given: str, sent: str) -> None:
    block = {
        "type": "file",
        "base64": PDF_B64,
        "mime_type": "application/pdf",
        "extras": {"name": given},
    }
    assert user_turn_of(block)[0]["document"]["name"] == sent


@pytest.mark.parametrize(
    ("mime", "fmt"),
    [
        ("text/csv", "csv"),
        ("application/msword", "doc"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        ("application/vnd.ms-excel", "xls"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
        ("text/html", "html"),
        ("text/plain", "txt"),
        ("text/markdown", "md"),
    ],
)
def test_document_formats(mime: str, fmt: str) -> None:
    block = {"type": "file", "base64": PDF_B64, "mime_type": mime, "extras": {"name": "doc"}}
    assert user_turn_of(block) == [
        {"document": {"format": fmt, "name": "doc", "source": {"bytes": PDF}}}
    ]


def test_document_format_from_file_name() -> None:
    block = {"type": "file", "base64": PDF_B64, "extras": {"filename": "table.csv"}}
    assert user_turn_of(block) == [
        {"document": {"format": "csv", "name": "table", "source": {"bytes": PDF}}}
    ]


def test_text_plain_block() -> None:
    block = {
        "type": "text-plain",
        "text": "Leave: 20 days.",
        "mime_type": "text/plain",
        "title": "policy",
        "context": "HR manual",
        "extras": {"citations": {"enabled": True}},
    }
    assert user_turn_of(block) == [
        {
            "document": {
                "format": "txt",
                "name": "policy",
                "source": {"text": "Leave: 20 days."},
                "context": "HR manual",
                "citations": {"enabled": True},
            }
        }
    ]


def test_anthropic_document_blocks() -> None:
    pdf = {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF_B64},
        "title": "paper",
        "context": "a study",
        "citations": {"enabled": True},
    }
    chunks = {
        "type": "document",
        "source": {
            "type": "content",
            "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}],
        },
        "title": "notes",
    }
    assert user_turn_of(pdf) == [
        {
            "document": {
                "format": "pdf",
                "name": "paper",
                "source": {"bytes": PDF},
                "context": "a study",
                "citations": {"enabled": True},
            }
        }
    ]
    assert user_turn_of(chunks) == [
        {
            "document": {
                "format": "txt",
                "name": "notes",
                "source": {"content": [{"text": "one"}, {"text": "two"}]},
            }
        }
    ]


def test_document_from_s3() -> None:
    block = {"type": "file", "url": "s3://bucket/docs/spec.docx"}
    assert user_turn_of(block) == [
        {
            "document": {
                "format": "docx",
                "name": "Document 1",
                "source": {"s3Location": {"uri": "s3://bucket/docs/spec.docx"}},
            }
        }
    ]


def test_raw_document_passes_with_bytes_decoded() -> None:
    raw = {"document": {"format": "pdf", "name": "raw", "source": {"bytes": PDF_B64}}}
    assert user_turn_of(raw) == [
        {"document": {"format": "pdf", "name": "raw", "source": {"bytes": PDF}}}
    ]


def test_file_without_format_is_an_error() -> None:
    with pytest.raises(InputConversionError, match=r"message 0 .*'file' block.*mime_type"):
        to_converse_messages([HumanMessage(content=[{"type": "file", "base64": PDF_B64}])])


# --- video and audio ------------------------------------------------------------------------


def test_video_forms() -> None:
    mp4 = base64.b64encode(b"....ftypmp42").decode()
    assert user_turn_of({"type": "video", "base64": mp4, "mime_type": "video/mp4"}) == [
        {"video": {"format": "mp4", "source": {"bytes": b"....ftypmp42"}}}
    ]
    assert user_turn_of({"type": "video", "url": "s3://b/clip.mov"}) == [
        {"video": {"format": "mov", "source": {"s3Location": {"uri": "s3://b/clip.mov"}}}}
    ]
    lc_aws = {
        "type": "video",
        "source": {"type": "s3Location", "media_type": "video/mp4", "data": {"uri": "s3://b/v"}},
    }
    assert user_turn_of(lc_aws) == [
        {"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://b/v"}}}}
    ]
    assert user_turn_of(
        {"type": "video_url", "video_url": {"url": f"data:video/webm;base64,{mp4}"}}
    ) == [{"video": {"format": "webm", "source": {"bytes": b"....ftypmp42"}}}]


AUDIO_MODEL = "us.example.audio-model-v1:0"
"""A model the family table does not know: audio is left to Bedrock (see test_request_rules)."""


def test_audio_forms() -> None:
    wav = base64.b64encode(b"RIFF....WAVE").decode()
    block: dict[str, Any] = {"type": "audio", "base64": wav, "mime_type": "audio/wav"}
    assert user_turn_of(block, AUDIO_MODEL) == [
        {"audio": {"format": "wav", "source": {"bytes": b"RIFF....WAVE"}}}
    ]
    assert user_turn_of({"type": "audio", "file_id": "s3://b/a.mp3"}, AUDIO_MODEL) == [
        {"audio": {"format": "mp3", "source": {"s3Location": {"uri": "s3://b/a.mp3"}}}}
    ]
    block = {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}}
    assert user_turn_of(block, AUDIO_MODEL) == [
        {"audio": {"format": "wav", "source": {"bytes": b"RIFF....WAVE"}}}
    ]


# --- raw blocks, cache markers, other kinds -------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {"cachePoint": {"type": "default"}},
        {"guardContent": {"text": {"text": "check me", "qualifiers": ["query"]}}},
        {
            "searchResult": {
                "source": "https://kb/1",
                "title": "KB",
                "content": [{"text": "fact"}],
                "citations": {"enabled": True},
            }
        },
        {"citationsContent": {"content": [{"text": "x"}], "citations": [{"title": "t"}]}},
    ],
)
def test_raw_converse_blocks_pass_untouched(raw: dict[str, Any]) -> None:
    assert user_turn_of(raw) == [raw]


def test_raw_tool_result_passes() -> None:
    raw = {
        "toolResult": {"toolUseId": "t1", "content": [{"json": {"a_b": 1}}], "status": "success"}
    }
    _, turns = convert(
        [
            HumanMessage("go"),
            AIMessage(content="", tool_calls=[{"id": "t1", "name": "f", "args": {}}]),
            HumanMessage(content=[raw]),
        ]
    )
    assert turns[2] == user(raw)


def test_cache_control_marker_with_ttl() -> None:
    block = {"type": "text", "text": "big", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    _, turns = convert([HumanMessage(content=[block, "question"])])
    assert turns == [
        user(
            {"text": "big"}, {"cachePoint": {"type": "default", "ttl": "1h"}}, {"text": "question"}
        )
    ]


def test_cache_control_in_extras() -> None:
    block = {"type": "text", "text": "big", "extras": {"cache_control": {"type": "ephemeral"}}}
    _, turns = convert([HumanMessage(content=[block])])
    assert turns == [user({"text": "big"}, {"cachePoint": {"type": "default"}})]


def test_guard_content_and_search_result_blocks() -> None:
    assert user_turn_of({"type": "guard_content", "text": "guarded"}) == [
        {"guardContent": {"text": {"text": "guarded"}}}
    ]
    block = {
        "type": "search_result",
        "source": "https://kb/1",
        "title": "KB entry",
        "content": [{"type": "text", "text": "fact one"}],
        "citations": {"enabled": True},
    }
    assert user_turn_of(block) == [
        {
            "searchResult": {
                "source": "https://kb/1",
                "title": "KB entry",
                "content": [{"text": "fact one"}],
                "citations": {"enabled": True},
            }
        }
    ]


def test_non_standard_wrapper_is_unwrapped() -> None:
    block = {"type": "non_standard", "value": {"cachePoint": {"type": "default"}}}
    assert user_turn_of(block) == [{"cachePoint": {"type": "default"}}]


# --- errors ---------------------------------------------------------------------------------


def test_unknown_block_type_names_block_and_index() -> None:
    bad = {"type": "hologram", "data": "?"}
    with pytest.raises(InputConversionError) as info:
        to_converse_messages([HumanMessage("a"), AIMessage("b"), HumanMessage(content=["ok", bad])])
    assert info.value.message_index == 2
    assert info.value.block == bad
    assert str(info.value).startswith("message 2 (HumanMessage): cannot convert 'hologram' block")
    assert isinstance(info.value, ValueError)


def test_untyped_dict_that_is_not_converse_is_an_error() -> None:
    with pytest.raises(InputConversionError, match=r"message 0 .*untyped block with keys 'foo'"):
        to_converse_messages([HumanMessage(content=[{"foo": 1}])])


def test_unsupported_message_type() -> None:
    with pytest.raises(InputConversionError, match=r"message 1 .*FunctionMessage"):
        to_converse_messages([HumanMessage("a"), FunctionMessage(name="f", content="x")])


def test_tool_call_without_id_is_an_error() -> None:
    message = AIMessage(content="", tool_calls=[{"id": None, "name": "f", "args": {}}])
    with pytest.raises(InputConversionError, match=r"message 1 .*no id"):
        to_converse_messages([HumanMessage("a"), message])


def test_bad_base64_is_an_error() -> None:
    with pytest.raises(InputConversionError, match=r"message 0 .*'image' block.*base64"):
        to_converse_messages(
            [HumanMessage(content=[{"type": "image", "base64": "@@@", "mime_type": "image/png"}])]
        )


# --- build_request --------------------------------------------------------------------------


def test_minimal_request_omits_empty_members() -> None:
    request = build_request([HumanMessage("Hi")], model_id="us.amazon.nova-micro-v1:0")
    assert request == {
        "modelId": "us.amazon.nova-micro-v1:0",
        "messages": [user({"text": "Hi"})],
        "system": [],  # always sent, as ChatBedrockConverse does
        "inferenceConfig": {},  # always sent, as ChatBedrockConverse does
    }
    assert_valid(request)


def test_every_optional_member_in_its_service_model_shape() -> None:
    request = build_request(
        [SystemMessage("sys"), HumanMessage("Hi")],
        model_id="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        inference_config={"max_tokens": 100, "temperature": 0.0, "topP": 0.9, "stop": ["END"]},
        tool_config={
            "tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}],
            "toolChoice": {"auto": {}},
        },
        additional_model_request_fields={"thinking": {"type": "enabled", "budget_tokens": 1024}},
        additional_model_response_field_paths=["/stop_sequence"],
        guardrail_config={
            "guardrail_identifier": "abc123",
            "guardrail_version": "1",
            "trace": "enabled",
        },
        performance_config="optimized",
        service_tier="priority",
        request_metadata={"team": "search"},
        prompt_variables={"topic": "cats", "tone": {"text": "dry"}},
        output_config={
            "textFormat": {
                "type": "json_schema",
                "structure": {
                    "jsonSchema": {"name": "City", "schema": {"type": "object", "properties": {}}}
                },
            }
        },
    )
    assert request == {
        "modelId": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "messages": [user({"text": "Hi"})],
        "system": [{"text": "sys"}],
        "inferenceConfig": {
            "maxTokens": 100,
            "temperature": 0.0,
            "topP": 0.9,
            "stopSequences": ["END"],
        },
        "toolConfig": {
            "tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}],
            "toolChoice": {"auto": {}},
        },
        "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}},
        "additionalModelResponseFieldPaths": ["/stop_sequence"],
        "guardrailConfig": {
            "guardrailIdentifier": "abc123",
            "guardrailVersion": "1",
            "trace": "enabled",
        },
        "performanceConfig": {"latency": "optimized"},
        "serviceTier": {"type": "priority"},
        "requestMetadata": {"team": "search"},
        "promptVariables": {"topic": {"text": "cats"}, "tone": {"text": "dry"}},
        "outputConfig": {
            "textFormat": {
                "type": "json_schema",
                "structure": {
                    "jsonSchema": {"name": "City", "schema": '{"type": "object", "properties": {}}'}
                },
            }
        },
    }
    assert_valid(request)


def test_service_tier_and_performance_as_mappings() -> None:
    request = build_request(
        [HumanMessage("Hi")],
        model_id="m",
        service_tier={"type": "flex"},
        performance_config={"latency": "standard"},
    )
    assert request["serviceTier"] == {"type": "flex"}
    assert request["performanceConfig"] == {"latency": "standard"}
    assert_valid(request)


def test_stream_processing_mode_is_valid_for_converse_stream() -> None:
    request = build_request(
        [HumanMessage("Hi")],
        model_id="m",
        guardrail_config={
            "guardrailIdentifier": "g1",
            "guardrailVersion": "DRAFT",
            "streamProcessingMode": "async",
        },
    )
    shape = _MODEL.operation_model("ConverseStream").input_shape
    assert not ParamValidator().validate(request, shape).has_errors()


def test_empty_message_list_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="message list is empty"):
        build_request([], model_id="m")


def test_input_conversion_error_is_raised_by_build_request() -> None:
    with pytest.raises(InputConversionError):
        build_request(
            [HumanMessage(content=[{"type": "image", "url": "http://x/y.png"}])], model_id="m"
        )
