"""Prompt caching as LangChain users know it: ``create_cache_point()``, a call's
``cache_control=``, automatic cache points for a growing conversation (``cache_messages``), and
Bedrock's rules (at most 4 cache points, longer TTLs before shorter ones) checked before sending.

Requests go through real boto3 to the loopback Bedrock server where the chat model is involved,
and every request is validated against botocore's service model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream._request import build_request
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply

_SERVICE = botocore.session.get_session().get_service_model("bedrock-runtime")

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"
LLAMA = "us.meta.llama3-1-70b-instruct-v1:0"
POINT = {"cachePoint": {"type": "default"}}
POINT_1H = {"cachePoint": {"type": "default", "ttl": "1h"}}
TOOL = {"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}


def valid(request: dict[str, Any]) -> dict[str, Any]:
    for operation in ("Converse", "ConverseStream"):
        shape = _SERVICE.operation_model(operation).input_shape
        report = ParamValidator().validate(request, shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"
    return request


def build(messages: list[BaseMessage], model_id: str = CLAUDE, **kwargs: Any) -> dict[str, Any]:
    return valid(build_request(messages, model_id=model_id, **kwargs))


def points(request: dict[str, Any]) -> dict[str, list[int]]:
    """Where the cache points are: section -> positions."""
    where: dict[str, list[int]] = {}
    sections = [
        ("tools", (request.get("toolConfig") or {}).get("tools")),
        ("system", request.get("system")),
    ] + [(f"messages[{i}]", m["content"]) for i, m in enumerate(request["messages"])]
    for name, blocks in sections:
        at = [i for i, block in enumerate(blocks or ()) if "cachePoint" in block]
        if at:
            where[name] = at
    return where


# --- create_cache_point -------------------------------------------------------------------------


def test_create_cache_point_as_on_chat_bedrock_converse() -> None:
    assert ChatBedrockStream.create_cache_point() == POINT
    assert ChatBedrockStream.create_cache_point(ttl="1h") == POINT_1H
    with pytest.raises(ValueError, match="only cache point type is 'default'"):
        ChatBedrockStream.create_cache_point("ephemeral")
    with pytest.raises(ValueError, match="cache ttl must be one of"):
        ChatBedrockStream.create_cache_point(ttl="1d")


def test_a_created_cache_point_in_content_lands_where_it_is_put() -> None:
    point = ChatBedrockStream.create_cache_point()
    request = build(
        [
            SystemMessage(["Long rules.", point]),
            HumanMessage(["Long document text.", point, "Question?"]),
        ]
    )
    assert request["system"] == [{"text": "Long rules."}, POINT]
    assert request["messages"][0]["content"] == [
        {"text": "Long document text."},
        POINT,
        {"text": "Question?"},
    ]


# --- a call's cache_control ----------------------------------------------------------------------

CONVERSATION: list[BaseMessage] = [
    SystemMessage("You are helpful."),
    HumanMessage("First question"),
    AIMessage("First answer"),
    HumanMessage("Second question"),
]


def test_cache_control_caches_system_conversation_and_tools() -> None:
    request = build(
        CONVERSATION, tool_config={"tools": [TOOL]}, cache_control={"type": "ephemeral"}
    )
    assert request["system"][-1] == POINT
    assert request["messages"][-1]["content"][-1] == POINT
    assert request["toolConfig"]["tools"] == [TOOL, POINT]
    assert points(request)["messages[0]"] == [1]  # where the previous call's conversation ended


def test_cache_control_ttl_1h_is_sent_and_5m_left_as_the_default() -> None:
    long = build(CONVERSATION, cache_control={"type": "ephemeral", "ttl": "1h"})
    assert long["system"][-1] == POINT_1H
    assert long["messages"][-1]["content"][-1] == POINT_1H
    short = build(CONVERSATION, cache_control={"type": "ephemeral", "ttl": "5m"})
    assert short["system"][-1] == POINT


def test_cache_control_uses_only_the_room_left_by_markers() -> None:
    marked = {"type": "text", "text": "big", "cache_control": {"type": "ephemeral"}}
    messages = [SystemMessage("rules"), HumanMessage([marked, marked, marked, "question"])]
    request = build(messages, tool_config={"tools": [TOOL]}, cache_control={"type": "ephemeral"})
    assert points(request) == {"system": [1], "messages[0]": [1, 3, 5]}
    full = build([HumanMessage([marked] * 4)], cache_control={"type": "ephemeral"})
    assert points(full) == {"messages[0]": [1, 3, 5, 7]}


def test_cache_control_for_nova_skips_tools_ttl_and_tool_turns() -> None:
    request = build(
        CONVERSATION,
        model_id=NOVA,
        tool_config={"tools": [TOOL]},
        cache_control={"type": "ephemeral", "ttl": "1h"},
    )
    assert request["system"][-1] == POINT
    assert request["messages"][-1]["content"][-1] == POINT
    assert request["toolConfig"]["tools"] == [TOOL]


def test_cache_control_for_a_family_without_caching_adds_nothing() -> None:
    request = build(CONVERSATION, model_id=LLAMA, cache_control={"type": "ephemeral"})
    assert points(request) == {}


def test_cache_control_must_be_a_dict() -> None:
    with pytest.raises(ValueError, match="cache_control must be a dict"):
        build(CONVERSATION, cache_control="yes")  # type: ignore[arg-type]


# --- cache_messages: a growing conversation ------------------------------------------------------


def _cached_prefixes(request: dict[str, Any]) -> list[list[Any]]:
    """The content each message cache point caches: the blocks before it (points aside)."""
    seen: list[Any] = []
    prefixes = []
    for message in request["messages"]:
        for block in message["content"]:
            if "cachePoint" in block:
                prefixes.append(list(seen))
            else:
                seen.append(block)
    return prefixes


def test_each_call_reads_the_prefix_the_previous_call_wrote() -> None:
    history: list[BaseMessage] = [SystemMessage("rules")]
    previous: dict[str, Any] | None = None
    for turn in range(5):
        history.append(HumanMessage(f"question {turn}"))
        request = build(history, cache_system=True, cache_messages=True)
        assert request["messages"][-1]["content"][-1] == POINT
        assert sum(len(at) for at in points(request).values()) <= 4
        if previous is not None:
            written = _cached_prefixes(previous)[-1]
            assert written in _cached_prefixes(request), f"call {turn} misses the cached prefix"
        previous = request
        history.append(AIMessage(f"answer {turn}"))


def test_cache_messages_takes_the_ttl_and_leaves_families_without_caching_alone() -> None:
    request = build(CONVERSATION, cache_messages=True, cache_ttl="1h")
    assert request["messages"][-1]["content"][-1] == POINT_1H
    llama = build(CONVERSATION, model_id=LLAMA, cache_messages=True, cache_system=True)
    assert points(llama) == {"system": [1]}


# --- rules checked before sending ----------------------------------------------------------------


def test_a_1h_point_after_a_5m_one_is_refused() -> None:
    marked = {"type": "text", "text": "doc", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
    with pytest.raises(ValueError, match=r"ttl '1h' in messages\[0\] comes after .* in system"):
        build([SystemMessage("rules"), HumanMessage([marked, "q"])], cache_system=True)
    ok = build(
        [SystemMessage("rules"), HumanMessage([marked, "q"])], cache_system=True, cache_ttl="1h"
    )
    assert ok["system"][-1] == POINT_1H


def test_tools_are_read_before_system_for_ttl_order() -> None:
    with pytest.raises(ValueError, match=r"ttl '1h' in system comes after .* in tools"):
        build(
            [SystemMessage(["rules", POINT_1H]), HumanMessage("q")],
            tool_config={"tools": [TOOL]},
            cache_tools=True,
        )
    request = build(
        [SystemMessage(["rules", POINT]), HumanMessage("q")],
        tool_config={"tools": [TOOL, POINT_1H]},
    )
    assert points(request) == {"tools": [1], "system": [1]}


def test_more_than_four_explicit_points_are_refused() -> None:
    with pytest.raises(ValueError, match=r"5 cache points .*at most 4"):
        build([HumanMessage(["a", POINT, "b", POINT, "c", POINT, "d", POINT, "e", POINT])])


# --- through the chat model, on the wire ---------------------------------------------------------


def converse_reply() -> JsonReply:
    return JsonReply(
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 5, "outputTokens": 1, "totalTokens": 6},
        }
    )


@pytest.fixture
def server() -> Iterator[BedrockWireServer]:
    with BedrockWireServer() as running:
        yield running


def sent(server: BedrockWireServer) -> dict[str, Any]:
    recorded = server.requests[-1]
    return valid({"modelId": recorded.model_id, **recorded.body})


def test_per_call_cache_control_reaches_the_wire(server: BedrockWireServer) -> None:
    model = ChatBedrockStream(
        model=CLAUDE, region_name="us-east-1", endpoint_url=server.endpoint_url
    )
    server.enqueue(converse_reply())
    model.invoke(CONVERSATION, cache_control={"type": "ephemeral", "ttl": "1h"})
    body = sent(server)
    assert body["system"][-1] == POINT_1H
    assert body["messages"][-1]["content"][-1] == POINT_1H
    server.enqueue(converse_reply())
    model.bind(cache_control={"type": "ephemeral"}).invoke(CONVERSATION)
    assert sent(server)["system"][-1] == POINT
    server.enqueue(converse_reply())
    model.invoke(CONVERSATION)
    assert points(sent(server)) == {}


def test_cache_messages_field_reaches_the_wire(server: BedrockWireServer) -> None:
    model = ChatBedrockStream(
        model=CLAUDE,
        region_name="us-east-1",
        endpoint_url=server.endpoint_url,
        cache_messages=True,
    )
    server.enqueue(converse_reply())
    model.invoke(CONVERSATION)
    assert points(sent(server)) == {"messages[0]": [1], "messages[2]": [1]}
    server.enqueue(converse_reply())
    model.invoke(CONVERSATION, cache_messages=False)
    assert points(sent(server)) == {}


# --- agents: prompt-caching middleware -----------------------------------------------------------


def test_prompt_caching_middleware_caches_an_agents_calls(server: BedrockWireServer) -> None:
    from langchain.agents import create_agent

    from langchain_bedrock_stream.middleware import PromptCachingMiddleware

    model = ChatBedrockStream(
        model=CLAUDE, region_name="us-east-1", endpoint_url=server.endpoint_url
    )
    agent = create_agent(
        model, system_prompt="You are terse.", middleware=[PromptCachingMiddleware(ttl="1h")]
    )
    server.enqueue(converse_reply())
    server.enqueue(converse_reply())
    state = agent.invoke({"messages": [HumanMessage("hi")]})
    state["messages"].append(HumanMessage("again"))
    agent.invoke(state)
    body = sent(server)
    assert body["system"] == [{"text": "You are terse."}, POINT_1H]
    assert body["messages"][-1]["content"][-1] == POINT_1H
    assert points(body)["messages[0]"] == [1]
    stored = [m.content for m in state["messages"]]
    assert all("cachePoint" not in str(content) for content in stored)


def test_prompt_caching_middleware_honours_min_messages_and_unsupported_models(
    server: BedrockWireServer,
) -> None:
    from langchain.agents import create_agent

    from langchain_bedrock_stream.middleware import PromptCachingMiddleware

    model = ChatBedrockStream(
        model=CLAUDE, region_name="us-east-1", endpoint_url=server.endpoint_url
    )
    agent = create_agent(model, middleware=[PromptCachingMiddleware(min_messages_to_cache=3)])
    server.enqueue(converse_reply())
    agent.invoke({"messages": [HumanMessage("hi")]})
    assert points(sent(server)) == {}

    llama = ChatBedrockStream(
        model=LLAMA, region_name="us-east-1", endpoint_url=server.endpoint_url
    )
    strict = create_agent(
        llama, middleware=[PromptCachingMiddleware(unsupported_model_behavior="raise")]
    )
    with pytest.raises(ValueError, match="does not support prompt caching"):
        strict.invoke({"messages": [HumanMessage("hi")]})
    lenient = create_agent(llama, middleware=[PromptCachingMiddleware()])
    server.enqueue(converse_reply())
    with pytest.warns(UserWarning, match="does not support prompt caching"):
        lenient.invoke({"messages": [HumanMessage("hi")]})
    assert points(sent(server)) == {}


def test_langchain_aws_middleware_skips_this_class(server: BedrockWireServer) -> None:
    """Why PromptCachingMiddleware exists: langchain-aws's checks the class (isinstance) and
    sends this model's calls uncached, with a warning."""
    from langchain.agents import create_agent
    from langchain_aws.middleware.prompt_caching import BedrockPromptCachingMiddleware

    model = ChatBedrockStream(
        model=CLAUDE, region_name="us-east-1", endpoint_url=server.endpoint_url
    )
    agent = create_agent(
        model, system_prompt="You are terse.", middleware=[BedrockPromptCachingMiddleware()]
    )
    server.enqueue(converse_reply())
    with pytest.warns(UserWarning, match="only supports ChatBedrock and ChatBedrockConverse"):
        agent.invoke({"messages": [HumanMessage("hi")]})
    assert points(sent(server)) == {}
