"""Tool and output schemas on the wire: nullable unions collapse to the concrete type
(bind_tools, per-call tools, with_structured_output, create_agent), and a request with more
than 16 union-typed parameters is refused before it is sent, naming the tools."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from langchain_bedrock_stream import InputConversionError
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply
from tests.loopback.test_params import converse_body, sent
from tests.support import loopback

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


def _unions(schema: Any) -> int:
    """Union-typed schemas anywhere in ``schema`` (written here from the JSON-schema
    keywords, independently of the package's own counting)."""
    if isinstance(schema, list):
        return sum(_unions(item) for item in schema)
    if not isinstance(schema, dict):
        return 0
    own = (
        len(schema.get("anyOf", [])) > 1
        or len(schema.get("oneOf", [])) > 1
        or (isinstance(schema.get("type"), list) and len(schema["type"]) > 1)
    )
    return int(own) + sum(_unions(value) for value in schema.values())


def _mcp_tool(number: int) -> StructuredTool:
    """An MCP-style tool: two optional integers, given as a JSON schema."""
    schema = {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None},
            "offset": {"type": ["integer", "null"], "description": "skip this many"},
        },
        "required": ["query"],
    }
    return StructuredTool(
        name=f"search_{number}",
        description=f"search index {number}",
        args_schema=schema,
        func=lambda **_: "ok",
    )


def _sent_schemas(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [tool["toolSpec"]["inputSchema"]["json"] for tool in body["toolConfig"]["tools"]]


def test_ten_mcp_tools_send_no_unions(server: BedrockWireServer) -> None:
    tools = [_mcp_tool(n) for n in range(10)]
    server.enqueue(JsonReply(converse_body()))
    loopback.model_on(server, CLAUDE).bind_tools(tools).invoke([HumanMessage("hi")])
    schemas = _sent_schemas(sent(server))
    assert len(schemas) == 10
    assert sum(_unions(schema) for schema in schemas) == 0
    assert schemas[0]["properties"]["limit"] == {"type": "integer"}
    assert schemas[0]["properties"]["offset"] == {
        "type": "integer",
        "description": "skip this many",
    }
    assert schemas[0]["required"] == ["query"]
    # the caller's schema is not changed
    assert "anyOf" in tools[0].args_schema["properties"]["limit"]  # type: ignore[index]


class Address(BaseModel):
    street: str
    unit: int | None = None


class Person(BaseModel):
    """A person."""

    name: str
    nickname: str | None = Field(default=None, description="what friends say")
    address: Address | None = None
    tags: list[str | None] = []


def test_nested_nullable_unions_collapse_per_call(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(converse_body()))
    loopback.model_on(server, CLAUDE).invoke([HumanMessage("hi")], tools=[Person])
    (schema,) = _sent_schemas(sent(server))
    assert _unions(schema) == 0
    properties = schema["properties"]
    assert properties["nickname"]["type"] == "string"
    assert properties["nickname"]["description"] == "what friends say"
    assert properties["tags"]["items"] == {"type": "string"}
    assert properties["address"]["type"] == "object"
    assert properties["address"]["properties"]["unit"]["type"] == "integer"


def test_refs_and_defs_collapse(server: BedrockWireServer) -> None:
    schema = {
        "type": "object",
        "properties": {"where": {"anyOf": [{"$ref": "#/$defs/Place"}, {"type": "null"}]}},
        "$defs": {
            "Place": {
                "type": "object",
                "properties": {"zip": {"type": ["string", "null"]}},
            }
        },
    }
    tool = {"toolSpec": {"name": "go", "inputSchema": {"json": schema}}}
    server.enqueue(JsonReply(converse_body()))
    loopback.model_on(server, CLAUDE).invoke("hi", tools=[tool])
    (sent_schema,) = _sent_schemas(sent(server))
    assert sent_schema["properties"]["where"] == {"$ref": "#/$defs/Place"}
    assert sent_schema["$defs"]["Place"]["properties"]["zip"] == {"type": "string"}


def _tool_call_reply(name: str, args: dict[str, Any]) -> dict[str, Any]:
    return converse_body(
        output={
            "message": {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "t1", "name": name, "input": args}}],
            }
        },
        stopReason="tool_use",
    )


def test_structured_output_function_calling_collapses(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(_tool_call_reply("Person", {"name": "Ann"})))
    model = loopback.model_on(server, CLAUDE)
    result = model.with_structured_output(Person).invoke("who?")
    assert result == Person(name="Ann")
    assert _unions(_sent_schemas(sent(server))) == 0


def test_structured_output_json_schema_collapses(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(converse_body('{"name": "Ann"}')))
    model = loopback.model_on(server, CLAUDE)
    result = model.with_structured_output(Person, method="json_schema").invoke("who?")
    assert result == Person(name="Ann")
    body = sent(server)
    schema = json.loads(body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"])
    assert _unions(schema) == 0
    assert schema["properties"]["nickname"]["type"] == "string"


def test_create_agent_tools_collapse(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(converse_body("done")))
    agent = create_agent(loopback.model_on(server, CLAUDE), tools=[_mcp_tool(1), _mcp_tool(2)])
    agent.invoke({"messages": [HumanMessage("hi")]})
    schemas = _sent_schemas(sent(server))
    assert len(schemas) == 2 and sum(_unions(s) for s in schemas) == 0


def _union_tool(name: str, count: int) -> dict[str, Any]:
    """A tool with ``count`` parameters that are real unions (integer or string)."""
    union = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    schema = {"type": "object", "properties": {f"p{i}": union for i in range(count)}}
    return {"toolSpec": {"name": name, "inputSchema": {"json": schema}}}


def test_sixteen_unions_are_sent(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(converse_body()))
    model = loopback.model_on(server, CLAUDE)
    model.invoke("hi", tools=[_union_tool("a", 10), _union_tool("b", 6)])
    assert sum(_unions(s) for s in _sent_schemas(sent(server))) == 16


@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_more_than_sixteen_unions_are_refused_before_sending(
    server: BedrockWireServer, stream: bool
) -> None:
    model = loopback.model_on(server, CLAUDE).bind_tools(
        [_union_tool("lookup", 10), _union_tool("store", 7), _mcp_tool(3)]
    )
    with pytest.raises(InputConversionError) as caught:
        if stream:
            list(model.stream("hi"))
        else:
            model.invoke("hi")
    message = str(caught.value)
    assert "17" in message and "'lookup' (10)" in message and "'store' (7)" in message
    assert "search_3" not in message
    assert server.requests == []


def test_create_agent_response_format_collapses(server: BedrockWireServer) -> None:
    """An agent's structured response (sent as the native output schema) collapses too."""
    from langchain.agents.structured_output import ProviderStrategy

    server.enqueue(JsonReply(converse_body('{"name": "Ann"}')))
    agent = create_agent(
        loopback.model_on(server, CLAUDE),
        tools=[_mcp_tool(1)],
        response_format=ProviderStrategy(Person),
    )
    result = agent.invoke({"messages": [HumanMessage("who?")]})
    assert result["structured_response"] == Person(name="Ann")
    body = sent(server)
    schema = json.loads(body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"])
    assert _unions(schema) == 0 and _unions(_sent_schemas(body)) == 0
