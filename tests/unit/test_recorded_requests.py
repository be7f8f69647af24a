"""Conformance: ``build_request`` reproduces request bodies real clients sent to Bedrock.

Each case writes the LangChain input by hand (assistant turns in the native content format
this package produces) and compares our request with the recorded body after JSON parsing.
Opaque data (PDF and image bytes, the redacted-reasoning blob) is read from the recording
as input data; for the two ``test_thinking`` histories the assistant turn is rebuilt from
the recorded *stream response* by summing native chunks, so the comparison is a real round
trip: Bedrock's events -> LangChain chunks -> ``+`` -> our request -> Bedrock's request.
"""

from __future__ import annotations

import base64
import functools
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import botocore.session
import pytest
from botocore.eventstream import EventStreamBuffer
from botocore.validate import ParamValidator
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool

from langchain_bedrock_stream._request import build_request
from langchain_bedrock_stream._tools import convert_tool_choice, convert_tools, tool_config
from tests.support.recordings import load, requires_recordings

pytestmark = requires_recordings

_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")


# --- reading recordings ---------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    model_id: str
    operation: str
    body: dict[str, Any]
    response: dict[str, Any]


@functools.cache
def recording(name: str) -> tuple[Recorded, ...]:
    cassette = load(f"{name}.yaml")
    out = []
    for interaction in cassette["interactions"]:
        request = interaction["request"]
        path = request["uri"].split("/model/", 1)[1]
        model, _, action = path.rpartition("/")
        body = request["body"]
        out.append(
            Recorded(
                model_id=unquote(model),
                operation="ConverseStream" if action == "converse-stream" else "Converse",
                body=json.loads(body if isinstance(body, str) else body.decode()),
                response=interaction["response"],
            )
        )
    return tuple(out)


def normalise_recorded(body: dict[str, Any]) -> dict[str, Any]:
    """The recorded body as ``build_request`` makes it: the same members (both send
    ``"system": []`` without a system prompt and ``"inferenceConfig": {}``)."""
    return dict(body)


def on_the_wire(value: Any) -> Any:
    """Our params as boto3 serialises them: ``bytes`` become base64 strings."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {key: on_the_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [on_the_wire(item) for item in value]
    return value


def assert_reproduces(
    name: str, index: int, messages: list[BaseMessage], **params: Any
) -> dict[str, Any]:
    recorded = recording(name)[index]
    request = build_request(messages, model_id=recorded.model_id, **params)
    report = ParamValidator().validate(
        request, _MODEL.operation_model(recorded.operation).input_shape
    )
    assert not report.has_errors(), report.generate_report()
    assert request["modelId"] == recorded.model_id
    ours = on_the_wire({key: value for key, value in request.items() if key != "modelId"})
    assert ours == normalise_recorded(recorded.body)
    return request


def recorded_bytes(name: str, index: int, message: int, block: int, kind: str) -> str:
    """Base64 media data from a recorded request (input data, not structure)."""
    content = recording(name)[index].body["messages"][message]["content"][block]
    return content[kind]["source"]["bytes"]


def stream_events(name: str, index: int) -> list[tuple[str, dict[str, Any]]]:
    buffer = EventStreamBuffer()
    buffer.add_data(recording(name)[index].response["body"]["string"])
    events = []
    for frame in buffer:
        payload = json.loads(frame.payload)
        payload.pop("p", None)
        events.append((frame.headers[":event-type"], payload))
    return events


def _snake_citation(citation: dict[str, Any]) -> dict[str, Any]:
    names = {"sourceContent": "source_content", "documentChar": "document_char"}
    names |= {"documentIndex": "document_index"}
    out: dict[str, Any] = {}
    for key, value in citation.items():
        out[names.get(key, key)] = _snake_citation(value) if isinstance(value, dict) else value
    return out


def native_chunk(event: dict[str, Any]) -> AIMessageChunk:
    """The native LangChain chunk for one ``contentBlockDelta`` event."""
    index, delta = event["contentBlockIndex"], event["delta"]
    if "text" in delta:
        item: dict[str, Any] = {"type": "text", "text": delta["text"], "index": index}
    elif "reasoningContent" in delta:
        item = {"type": "reasoning_content", "reasoning_content": delta["reasoningContent"]}
        item["index"] = index
    elif "citation" in delta:
        citation = _snake_citation(delta["citation"])
        item = {"type": "text", "text": "", "citations": [citation], "index": index}
    else:
        raise AssertionError(f"unexpected delta {delta}")
    return AIMessageChunk(content=[item])


def assistant_from_stream(name: str, index: int) -> AIMessage:
    """The assistant turn a streaming caller holds after ``full = full + chunk``."""
    total = AIMessageChunk(content=[])
    for kind, payload in stream_events(name, index):
        if kind == "contentBlockDelta":
            total = total + native_chunk(payload)
    return AIMessage(
        content=total.content, response_metadata={"model_provider": "bedrock_converse"}
    )


# --- simple requests ------------------------------------------------------------------------

SYSTEM = SystemMessage("You are a helpful chatbot.")
CAPITAL = HumanMessage("What is the capital of France?")


@pytest.mark.parametrize(
    ("name", "messages", "params"),
    [
        ("test_bedrock_model", [SystemMessage("You are a chatbot."), HumanMessage("Hello!")], {}),
        (
            "test_bedrock_model_max_tokens",
            [SYSTEM, CAPITAL],
            {"inference_config": {"max_tokens": 5}},
        ),
        ("test_bedrock_model_top_p", [SYSTEM, CAPITAL], {"inference_config": {"topP": 0.5}}),
        (
            "test_bedrock_model_stream",
            [SYSTEM, CAPITAL],
            {"inference_config": {"temperature": 0.0}},
        ),
        (
            "test_bedrock_model_guardrail_config",
            [SYSTEM, CAPITAL],
            {
                "guardrail_config": {
                    "guardrailIdentifier": "xbgw7g293v7o",
                    "guardrailVersion": "DRAFT",
                    "trace": "enabled",
                }
            },
        ),
        ("test_bedrock_model_stream_empty_text_delta", [HumanMessage("Hi")], {}),
        ("test_bedrock_error", [HumanMessage("hello")], {}),
        ("test_bedrock_streaming_error", [HumanMessage("hello")], {}),
        (
            "test_bedrock_model_thinking_part_stream",
            [HumanMessage("Hello")],
            {
                "additional_model_request_fields": {
                    "thinking": {"type": "enabled", "budget_tokens": 1024}
                }
            },
        ),
    ],
)
def test_simple_requests(name: str, messages: list[BaseMessage], params: dict[str, Any]) -> None:
    assert_reproduces(name, 0, messages, **params)


# --- agent loops ----------------------------------------------------------------------------


@tool
def get_weather(location: str) -> str:
    """Get the weather for a location."""
    return "It's sunny."


AGENT_QUESTION = HumanMessage("What is the weather in San Francisco, CA?")


def _weather_call(tool_id: str) -> dict[str, Any]:
    return {"id": tool_id, "name": "get_weather", "args": {"location": "San Francisco, CA"}}


AGENT_TURNS = {
    # ChatBedrockConverse.invoke: a tool_use block and the matching tool call
    "test_agent_loop[v0]": AIMessage(
        content=[
            {
                "type": "tool_use",
                "id": "tooluse_hi2yncmb3TRabw7kPLFJX3",
                "name": "get_weather",
                "input": {"location": "San Francisco, CA"},
            }
        ],
        tool_calls=[_weather_call("tooluse_hi2yncmb3TRabw7kPLFJX3")],
    ),
    # output_version="v1": a standard tool_call block
    "test_agent_loop[v1]": AIMessage(
        content=[{"type": "tool_call", **_weather_call("tooluse_Hc3MXzVAJJ7C28xbJu45mA")}],
        tool_calls=[_weather_call("tooluse_Hc3MXzVAJJ7C28xbJu45mA")],
        response_metadata={"output_version": "v1"},
    ),
    # summed stream: the tool_use item carries the streamed (raw) input, tool_calls the args
    "test_agent_loop_streaming[v0]": AIMessage(
        content=[
            {
                "type": "tool_use",
                "id": "tooluse_Zsi5nODkqYT50BEZ9GG8ud",
                "name": "get_weather",
                "input": '{"location": "San Fr',
                "index": 0,
            }
        ],
        tool_calls=[_weather_call("tooluse_Zsi5nODkqYT50BEZ9GG8ud")],
    ),
    # a tool call only in tool_calls
    "test_agent_loop_streaming[v1]": AIMessage(
        content="", tool_calls=[_weather_call("tooluse_q8A6U9X7S4apz8TPXNx4Kq")]
    ),
}


@pytest.mark.parametrize("name", sorted(AGENT_TURNS))
def test_agent_loop(name: str) -> None:
    config = tool_config(convert_tools([get_weather]), None)
    assert_reproduces(name, 0, [AGENT_QUESTION], tool_config=config)
    call = AGENT_TURNS[name]
    result = ToolMessage("It's sunny.", tool_call_id=call.tool_calls[0]["id"])
    assert_reproduces(name, 1, [AGENT_QUESTION, call, result], tool_config=config)


# --- tool choice, strict tools, native structured output ------------------------------------

PARIS = HumanMessage("What's the weather in Paris?")


def _paris_history(tool_id: str, result: str) -> list[BaseMessage]:
    call = {"id": tool_id, "name": "get_weather", "args": {"city": "Paris"}}
    return [
        PARIS,
        AIMessage(content="", tool_calls=[call]),
        ToolMessage(result, tool_call_id=tool_id),
    ]


def test_tool_choice_auto() -> None:
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the current weather for a city.",
            "parameters": {
                "additionalProperties": False,
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
                "type": "object",
            },
        },
    }
    tools = convert_tools([weather])
    config = tool_config(tools, convert_tool_choice("auto", ["get_weather"]))
    name = "test_tool_choice_matrix[auto-bedrock]"
    assert_reproduces(name, 0, [PARIS], tool_config=config)
    history = _paris_history("tooluse_XjTErzm6TpyMMpDviNVY3g", "Sunny, 22C in Paris")
    assert_reproduces(name, 1, history, tool_config=config)


def test_tool_choice_required() -> None:
    def get_weather(city: str) -> str:
        """Get weather for a city"""
        return ""

    config = tool_config(
        convert_tools([get_weather]), convert_tool_choice("required", ["get_weather"])
    )
    assert_reproduces("test_tool_choice_matrix[required-bedrock]", 0, [PARIS], tool_config=config)


def test_strict_tool() -> None:
    def get_weather(city: str) -> str:
        return ""

    tools = convert_tools([get_weather], strict=True)
    config = tool_config(tools, convert_tool_choice("auto", ["get_weather"]))
    name = "test_bedrock_strict_tool_supported_model"
    assert_reproduces(name, 0, [PARIS], tool_config=config)
    history = _paris_history("tooluse_8ZVLMmsdearTDSS0unN07z", "Weather in Paris: Sunny, 22°C")
    assert_reproduces(name, 1, history, tool_config=config)


def test_native_structured_output() -> None:
    schema = {
        "additionalProperties": False,
        "properties": {
            "city": {"type": "string"},
            "country": {"type": "string"},
            "population": {"type": "integer"},
        },
        "required": ["city", "country", "population"],
        "type": "object",
    }
    output_config = {
        "textFormat": {
            "type": "json_schema",
            "structure": {
                "jsonSchema": {
                    "name": "CityInfo",
                    "schema": schema,
                    "description": "Information about a city.",
                }
            },
        }
    }
    question = HumanMessage(
        "What is the capital of France? Give me the city name, country, and population."
    )
    assert_reproduces(
        "test_bedrock_native_output_supported_model", 0, [question], output_config=output_config
    )


# --- prompt caching -------------------------------------------------------------------------

NUMBER_ONLY = SystemMessage("YOU MUST RESPONSE ONLY WITH SINGLE NUMBER\n" * 50)
EPHEMERAL = {"type": "ephemeral"}


def test_cache_write_and_read() -> None:
    human = HumanMessage(
        content=[
            "Newer response with something except single number\n" * 10,
            {
                "type": "text-plain",
                "mime_type": "text/plain",
                "base64": base64.b64encode(b"You are a great mathematician").decode(),
            },
            {"type": "text", "text": "\n", "cache_control": EPHEMERAL},
            {"type": "text", "text": "What is 10 + 11?", "cache_control": EPHEMERAL},
        ]
    )
    tools = convert_tools(
        [
            {
                "title": "catalog_lookup",
                "type": "object",
                "properties": {},
                "additionalProperties": False,
            },
            {
                "type": "function",
                "function": {
                    "name": "diagnostics",
                    "parameters": {
                        "additionalProperties": False,
                        "properties": {},
                        "type": "object",
                    },
                },
            },
            {"cachePoint": {"type": "default"}},
        ]
    )
    config = tool_config(tools, convert_tool_choice("auto", ["catalog_lookup", "diagnostics"]))
    for index in (0, 1):
        assert_reproduces(
            "test_bedrock_cache_write_and_read",
            index,
            [NUMBER_ONLY, human],
            tool_config=config,
            cache_system=True,
        )


def test_cache_point_in_user_content() -> None:
    human = HumanMessage(
        content=[
            {
                "type": "text",
                "text": "ONLY SINGLE NUMBER IN RESPONSE\n" * 100,
                "cache_control": EPHEMERAL,
            },
            {"type": "text", "text": "Response only number What is 2 + 3"},
        ]
    )
    system = SystemMessage(
        content=[
            {"type": "text", "text": NUMBER_ONLY.text, "cache_control": EPHEMERAL},
        ]
    )
    assert_reproduces("test_bedrock_cache_usage_includes_cache_tokens", 0, [system, human])


# --- documents and images -------------------------------------------------------------------


def test_document_input() -> None:
    name = "test_document_url_input"
    pdf = recorded_bytes(name, 0, 0, 1, "document")
    human = HumanMessage(
        content=[
            {"type": "text", "text": "What is the main content on this document?"},
            {"type": "file", "base64": pdf, "mime_type": "application/pdf"},
        ]
    )
    assert_reproduces(name, 0, [SYSTEM, human])


def test_multiple_documents_in_history() -> None:
    name = "test_bedrock_multiple_documents_in_history"
    first = recorded_bytes(name, 0, 0, 1, "document")
    second = recorded_bytes(name, 0, 2, 1, "document")
    messages = [
        HumanMessage(
            content=[
                "Here is a PDF document: ",
                {"type": "file", "base64": first, "mime_type": "application/pdf"},
            ]
        ),
        AIMessage("foo bar"),
        HumanMessage(
            content=[
                "Here is another PDF document: ",
                {
                    "type": "document",
                    "source": {"type": "base64", "media_type": "application/pdf", "data": second},
                },
            ]
        ),
        AIMessage(content=[{"type": "text", "text": "foo bar 2", "index": 0}]),
        HumanMessage("What is in the documents?"),
    ]
    assert_reproduces(name, 0, messages)


def test_pdf_citations() -> None:
    name = "test_pdf_citations"
    pdf = recorded_bytes(name, 0, 0, 1, "document")
    human = HumanMessage(
        content=[
            {"type": "text", "text": "What is the title of this document?"},
            {
                "type": "file",
                "base64": pdf,
                "mime_type": "application/pdf",
                "extras": {"name": "my-pdf", "citations": {"enabled": True}},
            },
        ]
    )
    assert_reproduces(name, 0, [human])


def test_image_as_binary_content() -> None:
    name = "test_image_as_binary_content_input"
    png = recorded_bytes(name, 0, 0, 1, "image")
    human = HumanMessage(
        content=[
            {"type": "text", "text": "What fruit is in the image?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        ]
    )
    assert_reproduces(name, 0, [SYSTEM, human])


# --- citations ------------------------------------------------------------------------------

POLICY_TEXT = (
    "Company leave policy: Employees get 20 days annual leave. "
    "Consult with your manager for details."
)
LEAVE_QUESTION = {"type": "text", "text": "How many days of annual leave do employees get?"}
POLICY_DOCUMENT = {
    "type": "text-plain",
    "text": POLICY_TEXT,
    "mime_type": "text/plain",
    "title": "company_policy",
    "context": "HR Policy Manual Section 3.2",
    "extras": {"citations": {"enabled": True}},
}
FOLLOW_UP = HumanMessage("Who should they consult with?")


def _char_citation(source: str, start: int, end: int) -> dict[str, Any]:
    return {
        "title": "company_policy",
        "source_content": [{"text": source}],
        "location": {"document_char": {"document_index": 0, "start": start, "end": end}},
    }


FIRST_FACT = "Company leave policy: Employees get 20 days annual leave. "
SECOND_FACT = "Consult with your manager for details."


def _cited_answer(parts: list[tuple[str, dict[str, Any] | None]]) -> AIMessage:
    content: list[str | dict[str, Any]] = []
    for index, (text, citation) in enumerate(parts):
        item: dict[str, Any] = {"type": "text", "text": text, "index": index}
        if citation is not None:
            item["citations"] = [citation]
        content.append(item)
    return AIMessage(content=content)


def test_citations_document_text() -> None:
    name = "test_citations[document0]"
    question = HumanMessage(content=[POLICY_DOCUMENT, LEAVE_QUESTION])
    assert_reproduces(name, 0, [question])
    answer = _cited_answer(
        [
            ("According to the company policy manual, ", None),
            ("employees get 20 days annual leave.", _char_citation(FIRST_FACT, 0, 58)),
            (" If you need more specific details, ", None),
            ("consult with your manager for details.", _char_citation(SECOND_FACT, 58, 96)),
        ]
    )
    assert_reproduces(name, 1, [question, answer, FOLLOW_UP])


def test_citations_document_chunks() -> None:
    name = "test_citations[document1]"
    document = {
        "type": "document",
        "source": {
            "type": "content",
            "content": [
                {
                    "type": "text",
                    "text": "Company leave policy: Employees get 20 days annual leave.",
                },
                {"type": "text", "text": SECOND_FACT},
            ],
        },
        "title": "company_policy",
        "context": "HR Policy Manual Section 3.2",
        "citations": {"enabled": True},
    }
    question = HumanMessage(content=[document, LEAVE_QUESTION])
    assert_reproduces(name, 0, [question])

    def chunk_citation(source: str, start: int, end: int) -> dict[str, Any]:
        location = {"document_chunk": {"document_index": 0, "start": start, "end": end}}
        return {
            "title": "company_policy",
            "source_content": [{"text": source}],
            "location": location,
        }

    answer = _cited_answer(
        [
            ("Employees receive ", None),
            (
                "20 days annual leave.",
                chunk_citation("Company leave policy: Employees get 20 days annual leave.", 0, 1),
            ),
            (" For more specific details, ", None),
            ("consult with your manager.", chunk_citation(SECOND_FACT, 1, 2)),
        ]
    )
    assert_reproduces(name, 1, [question, answer, FOLLOW_UP])


def test_citations_native_output() -> None:
    name = "test_citations_v1[v0]"
    question = HumanMessage(content=[POLICY_DOCUMENT, LEAVE_QUESTION])
    assert_reproduces(name, 0, [question])
    answer = _cited_answer(
        [
            ("Employees receive ", None),
            ("20 days annual leave.", _char_citation(FIRST_FACT, 0, 58)),
            (" For further details, ", None),
            ("consult with your manager.", _char_citation(SECOND_FACT, 58, 96)),
        ]
    )
    assert_reproduces(name, 1, [question, answer, FOLLOW_UP])


def test_citations_v1_standard_blocks() -> None:
    name = "test_citations_v1[v1]"
    question = HumanMessage(content=[POLICY_DOCUMENT, LEAVE_QUESTION])
    assert_reproduces(name, 0, [question])

    def annotated(text: str, cited: str, start: int, end: int) -> dict[str, Any]:
        location = {"document_char": {"document_index": 0, "start": start, "end": end}}
        annotation = {
            "type": "citation",
            "title": "company_policy",
            "cited_text": cited,
            "extras": {"location": location},
        }
        return {"type": "text", "text": text, "annotations": [annotation]}

    answer = AIMessage(
        content=[
            {"type": "text", "text": "According to the HR Policy Manual, "},
            annotated("employees get 20 days annual leave.", FIRST_FACT, 0, 58),
            {"type": "text", "text": "."},
            annotated("You should consult with your manager for details.", SECOND_FACT, 58, 96),
        ],
        response_metadata={"output_version": "v1", "model_provider": "bedrock_converse"},
    )
    assert_reproduces(name, 1, [question, answer, FOLLOW_UP])


# --- reasoning ------------------------------------------------------------------------------

FACTORIAL_QUESTION = HumanMessage(
    "What is the smallest positive integer n such that n! is divisible by 10^6? "
    "Reason through this carefully step by step before answering."
)
FACTORIAL_FOLLOW_UP = HumanMessage(
    "Now find the smallest n such that n! is divisible by 10^9. "
    "Reason through it step by step as before."
)
ADAPTIVE = {
    "inference_config": {"maxTokens": 4096},
    "additional_model_request_fields": {"thinking": {"type": "adaptive", "display": "summarized"}},
}


def test_thinking_native_from_summed_stream() -> None:
    name = "test_thinking[v0]"
    assert_reproduces(name, 0, [FACTORIAL_QUESTION], **ADAPTIVE)
    answer = assistant_from_stream(name, 0)
    assert [item["type"] for item in answer.content] == ["reasoning_content", "text"]  # type: ignore[index]
    assert_reproduces(name, 1, [FACTORIAL_QUESTION, answer, FACTORIAL_FOLLOW_UP], **ADAPTIVE)


def test_thinking_v1_from_summed_stream() -> None:
    name = "test_thinking[v1]"
    assert_reproduces(name, 0, [FACTORIAL_QUESTION], **ADAPTIVE)
    native = assistant_from_stream(name, 0)
    answer = AIMessage(
        content=native.content_blocks,  # type: ignore[arg-type]
        response_metadata={"output_version": "v1", "model_provider": "bedrock_converse"},
    )
    assert [item["type"] for item in answer.content] == ["reasoning", "text"]  # type: ignore[index]
    assert_reproduces(name, 1, [FACTORIAL_QUESTION, answer, FACTORIAL_FOLLOW_UP], **ADAPTIVE)


def test_redacted_reasoning() -> None:
    name = "test_bedrock_model_thinking_part_redacted"
    trigger = HumanMessage(
        "ANTHROPIC_MAGIC_STRING_TRIGGER_REDACTED_THINKING_"
        "46C9A13E193C177646C7398A98432ECCCE4C1253D5E2D82641AC0E52CC2876CB"
    )
    thinking = {
        "additional_model_request_fields": {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    }
    assert_reproduces(name, 0, [trigger], **thinking)
    response = json.loads(recording(name)[0].response["body"]["string"])
    blob = response["output"]["message"]["content"][0]["reasoningContent"]["redactedContent"]
    answer = AIMessage(
        content=[
            {
                "type": "reasoning_content",
                "reasoning_content": {"redacted_content": base64.b64decode(blob)},
            },
            {
                "type": "text",
                "text": "I notice you've sent what appears to be some kind of trigger or command "
                "string. I can't respond to attempts to access internal systems or manipulate how "
                "I process information. \n\nInstead, I'd be happy to have a normal conversation "
                "with you. Is there something specific I can help you with today? I'm here to "
                "provide information, have discussions, or assist with tasks within my guidelines.",
            },
        ]
    )
    assert_reproduces(name, 1, [trigger, answer, HumanMessage("What was that?")], **thinking)
