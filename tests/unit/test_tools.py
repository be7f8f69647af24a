"""LangChain tools / tool choice -> Converse toolConfig, checked against the service model."""

from __future__ import annotations

from typing import Annotated, Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from langchain_bedrock_stream._request import build_request
from langchain_bedrock_stream._tools import (
    convert_tool_choice,
    convert_tools,
    tool_config,
    tool_names,
)

_MODEL = botocore.session.get_session().get_service_model("bedrock-runtime")


def assert_valid_tool_config(config: dict[str, Any]) -> None:
    request = build_request([HumanMessage("hi")], model_id="m", tool_config=config)
    for operation in ("Converse", "ConverseStream"):
        shape = _MODEL.operation_model(operation).input_shape
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"


@tool
def get_weather(location: str) -> str:
    """Get the weather for a location."""
    return "sunny"


def lookup_order(order_id: int, verbose: bool = False) -> str:
    """Look up an order by id."""
    return ""


class SearchQuery(BaseModel):
    """Search the catalog."""

    query: str = Field(description="what to look for")
    limit: int | None = None


class Contact(TypedDict):
    """Save a contact."""

    name: Annotated[str, ..., "full name"]


WEATHER_SPEC = {
    "toolSpec": {
        "name": "get_weather",
        "description": "Get the weather for a location.",
        "inputSchema": {
            "json": {
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
                "type": "object",
            }
        },
    }
}


def test_base_tool() -> None:
    assert convert_tools([get_weather]) == [WEATHER_SPEC]


def test_function_pydantic_and_typed_dict() -> None:
    converted = convert_tools([lookup_order, SearchQuery, Contact])
    assert converted == [
        {
            "toolSpec": {
                "name": "lookup_order",
                "description": "Look up an order by id.",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {
                            "order_id": {"type": "integer"},
                            "verbose": {"type": "boolean", "default": False},
                        },
                        "required": ["order_id"],
                    }
                },
            }
        },
        {
            "toolSpec": {
                "name": "SearchQuery",
                "description": "Search the catalog.",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {
                            "query": {"type": "string", "description": "what to look for"},
                            "limit": {
                                "anyOf": [{"type": "integer"}, {"type": "null"}],
                                "default": None,
                            },
                        },
                        "required": ["query"],
                    }
                },
            }
        },
        {
            "toolSpec": {
                "name": "Contact",
                "description": "Save a contact.",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {"name": {"type": "string", "description": "full name"}},
                        "required": ["name"],
                    }
                },
            }
        },
    ]
    assert_valid_tool_config(tool_config(converted, None))


def test_dict_formats() -> None:
    json_schema = {
        "title": "catalog_lookup",
        "description": "Find an item.",
        "type": "object",
        "properties": {"sku": {"type": "string"}},
    }
    openai_tool = {
        "type": "function",
        "function": {
            "name": "ping",
            "description": "Ping a host.",
            "parameters": {"type": "object", "properties": {"host": {"type": "string"}}},
        },
    }
    anthropic_tool = {
        "name": "now",
        "description": "Current time.",
        "input_schema": {"type": "object", "properties": {}},
    }
    assert convert_tools([json_schema, openai_tool, anthropic_tool]) == [
        {
            "toolSpec": {
                "name": "catalog_lookup",
                "description": "Find an item.",
                "inputSchema": {
                    "json": {"type": "object", "properties": {"sku": {"type": "string"}}}
                },
            }
        },
        {
            "toolSpec": {
                "name": "ping",
                "description": "Ping a host.",
                "inputSchema": {
                    "json": {"type": "object", "properties": {"host": {"type": "string"}}}
                },
            }
        },
        {
            "toolSpec": {
                "name": "now",
                "description": "Current time.",
                "inputSchema": {"json": {"type": "object", "properties": {}}},
            }
        },
    ]


def test_tool_without_description_or_parameters() -> None:
    assert convert_tools([{"type": "function", "function": {"name": "tick"}}]) == [
        {
            "toolSpec": {
                "name": "tick",
                "inputSchema": {"json": {"type": "object", "properties": {}}},
            }
        }
    ]


def test_converse_entries_pass_through() -> None:
    entries = [
        {"toolSpec": {"name": "x", "inputSchema": {"json": {"type": "object"}}, "strict": True}},
        {"systemTool": {"name": "nova_grounding"}},
        {"cachePoint": {"type": "default"}},
    ]
    assert convert_tools(entries) == entries
    assert_valid_tool_config(tool_config(convert_tools(entries), None))


def test_system_tools_by_name_and_by_object() -> None:
    class CodeInterpreter:
        def to_bedrock_format(self) -> dict[str, Any]:
            return {"systemTool": {"name": "nova_code_interpreter"}}

    assert convert_tools(["nova_grounding", CodeInterpreter()]) == [
        {"systemTool": {"name": "nova_grounding"}},
        {"systemTool": {"name": "nova_code_interpreter"}},
    ]


def test_strict_true_closes_objects_and_keeps_required() -> None:
    nested = {
        "type": "function",
        "function": {
            "name": "book",
            "parameters": {
                "type": "object",
                "properties": {
                    "guest": {
                        "type": "object",
                        "properties": {"name": {"type": "string"}},
                    },
                    "nights": {"type": "integer", "default": 1},
                    "tags": {
                        "type": "array",
                        "items": {"type": "object", "properties": {"k": {"type": "string"}}},
                    },
                },
                "required": ["guest"],
            },
        },
    }
    assert convert_tools([nested], strict=True) == [
        {
            "toolSpec": {
                "name": "book",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {
                            "guest": {
                                "type": "object",
                                "properties": {"name": {"type": "string"}},
                                "additionalProperties": False,
                            },
                            "nights": {"type": "integer", "default": 1},
                            "tags": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {"k": {"type": "string"}},
                                    "additionalProperties": False,
                                },
                            },
                        },
                        "required": ["guest"],
                        "additionalProperties": False,
                    }
                },
                "strict": True,
            }
        }
    ]


def test_strict_false_is_sent_and_schema_untouched() -> None:
    spec = convert_tools([get_weather], strict=False)[0]["toolSpec"]
    assert spec["strict"] is False
    assert spec["inputSchema"] == WEATHER_SPEC["toolSpec"]["inputSchema"]


def test_tool_without_a_name_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"tool .*'description': 'no name'"):
        convert_tools([{"description": "no name"}])


def test_tool_with_invalid_name_is_a_value_error() -> None:
    bad = {"type": "function", "function": {"name": "get weather!", "parameters": {}}}
    with pytest.raises(ValueError, match=r"tool 'get weather!' needs a name"):
        convert_tools([bad])


def test_tool_with_non_object_schema_is_a_value_error() -> None:
    bad = {"type": "function", "function": {"name": "listy", "parameters": {"type": "array"}}}
    with pytest.raises(ValueError, match=r"tool 'listy': the input schema must be a JSON object"):
        convert_tools([bad])


def test_tool_names() -> None:
    tools = convert_tools([get_weather, "nova_grounding", {"cachePoint": {"type": "default"}}])
    assert tool_names(tools) == ["get_weather", "nova_grounding"]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"auto": {}}),
        ("any", {"any": {}}),
        ("required", {"any": {}}),
        (True, {"any": {}}),
        ("get_weather", {"tool": {"name": "get_weather"}}),
        ({"auto": {}}, {"auto": {}}),
        ({"any": {}}, {"any": {}}),
        ({"tool": {"name": "get_weather"}}, {"tool": {"name": "get_weather"}}),
        (
            {"type": "function", "function": {"name": "get_weather"}},
            {"tool": {"name": "get_weather"}},
        ),
        ({"type": "tool", "name": "get_weather"}, {"tool": {"name": "get_weather"}}),
        ({"type": "any"}, {"any": {}}),
        ("none", None),
        (None, None),
        (False, None),
    ],
)
def test_tool_choice_forms(choice: Any, expected: dict[str, Any] | None) -> None:
    assert convert_tool_choice(choice, ["get_weather", "ping"]) == expected


def test_unknown_tool_choice_name_lists_known_names() -> None:
    with pytest.raises(
        ValueError, match=r"unknown tool 'search'; known tools: 'get_weather', 'ping'"
    ):
        convert_tool_choice("search", ["get_weather", "ping"])
    with pytest.raises(ValueError, match=r"unknown tool 'x'"):
        convert_tool_choice({"type": "function", "function": {"name": "x"}}, ["get_weather"])


def test_tool_config() -> None:
    tools = convert_tools([get_weather])
    choice = convert_tool_choice("get_weather", tool_names(tools))
    config = tool_config(tools, choice)
    assert config == {"tools": [WEATHER_SPEC], "toolChoice": {"tool": {"name": "get_weather"}}}
    assert_valid_tool_config(config)
    assert tool_config(tools, None) == {"tools": [WEATHER_SPEC]}


def test_tool_config_needs_a_tool() -> None:
    with pytest.raises(ValueError, match="at least one tool"):
        tool_config([], {"auto": {}})


def test_forced_tool_choice_is_refused_for_a_family_that_only_takes_auto() -> None:
    from langchain_bedrock_stream import ChatBedrockStream

    def lookup(q: str) -> str:
        """Look something up."""
        return q

    llama = ChatBedrockStream(model="us.meta.llama3-3-70b-instruct-v1:0", region_name="us-east-1")
    with pytest.raises(ValueError, match=r"does not accept tool_choice of kind 'any'.*'auto'"):
        llama.bind_tools([lookup], tool_choice="any")
    llama.bind_tools([lookup], tool_choice="auto")  # fine
    claude = ChatBedrockStream(model="us.anthropic.claude-sonnet-4-20250514-v1:0")
    claude.bind_tools([lookup], tool_choice="lookup")  # fine
    declared = ChatBedrockStream(
        model="us.anthropic.claude-sonnet-4-20250514-v1:0", supports_tool_choice_values=["auto"]
    )
    with pytest.raises(ValueError, match="'tool'"):
        declared.bind_tools([lookup], tool_choice="lookup")


def test_structured_output_on_a_model_without_forced_choice_falls_back_to_auto() -> None:
    from pydantic import BaseModel

    from langchain_bedrock_stream import ChatBedrockStream

    class City(BaseModel):
        name: str

    llama = ChatBedrockStream(model="meta.llama3-1-8b-instruct-v1:0", region_name="us-east-1")
    with pytest.warns(UserWarning, match="does not accept a forced tool choice"):
        runnable = llama.with_structured_output(City)
    bound = runnable.first  # the model bound with the tool
    assert bound.kwargs["tool_choice"] is None
    assert [t["function"]["name"] for t in bound.kwargs["tools"]] == ["City"]


def test_binding_with_only_system_tools_downgrades_a_forced_choice() -> None:
    from langchain_bedrock_stream._tools import binding

    def keep(choice: Any) -> Any:
        return choice

    with pytest.warns(UserWarning, match="Downgrading to tool_choice='auto'"):
        bound = binding(["nova_grounding"], tool_choice="any", strict=None, resolve=keep)
    assert bound == {
        "toolConfig": {
            "tools": [{"systemTool": {"name": "nova_grounding"}}],
            "toolChoice": {"auto": {}},
        },
        "disable_streaming": True,
    }


def test_call_tool_config_from_bound_tools_and_none_choice() -> None:
    from langchain_bedrock_stream._request import NO_TOOL_CHOICE
    from langchain_bedrock_stream._tools import bindable_tools, call_tool_config

    tools = bindable_tools([WEATHER_SPEC])
    config = call_tool_config({"tools": tools, "tool_choice": {"any": {}}}, lambda c: c)
    assert config == {"tools": [WEATHER_SPEC], "toolChoice": {"any": {}}}
    assert_valid_tool_config(config)
    unchecked = call_tool_config({"tools": tools, "tool_choice": "none"}, lambda c: 1 / 0)
    assert unchecked is not None and unchecked["toolChoice"] == NO_TOOL_CHOICE
    assert call_tool_config({}, lambda c: c) is None
