"""Every Converse request parameter reaches the wire, from the constructor, per call and
through ``bind``; each request sent passes botocore's own parameter validation.

The loopback Bedrock-wire server records what boto3 actually sent
(``server.requests[i].body``), so these tests see the bytes on the wire, not an
intermediate dict.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream._request import (
    MAX_CACHE_POINTS,
    base_model_name,
    build_request,
    reasoning_fields,
)
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    JsonReply,
    RecordedRequest,
    StreamReply,
)
from tests.support import loopback

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CLAUDE_ADAPTIVE = "us.anthropic.claude-sonnet-4-6"
PROMPT_ARN = "arn:aws:bedrock:us-east-1:123456789012:prompt/PROMPT12345:1"

_SERVICE = botocore.session.get_session().get_service_model("bedrock-runtime")


def assert_valid(recorded: RecordedRequest) -> None:
    """The request as sent validates against botocore's model of its operation."""
    operation = "ConverseStream" if recorded.operation == "converse-stream" else "Converse"
    params = {"modelId": recorded.model_id, **recorded.body}
    shape = _SERVICE.operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


def converse_body(text: str = "ok", **extra: Any) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 5, "outputTokens": 1, "totalTokens": 6},
        "metrics": {"latencyMs": 12},
        **extra,
    }


def stream_events(
    text: str = "ok", stop: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": text}}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn", **(stop or {})}},
        {
            "metadata": {
                "usage": {"inputTokens": 5, "outputTokens": 1, "totalTokens": 6},
                "metrics": {"latencyMs": 12},
                **(metadata or {}),
            }
        },
    ]


def model_on(server: BedrockWireServer, model: str = CLAUDE, **kwargs: Any) -> ChatBedrockStream:
    return loopback.model_on(server, model, **kwargs)


def sent(server: BedrockWireServer) -> dict[str, Any]:
    """The body of the last request, after checking it against botocore's model."""
    recorded = server.requests[-1]
    assert_valid(recorded)
    return dict(recorded.body)


# --- each parameter, three ways -----------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One parameter: a constructor value, a different per-call value, and where it lands."""

    name: str
    init: Any
    call: Any
    read: Callable[[dict[str, Any]], Any]
    expect_init: Any
    expect_call: Any
    model: str = CLAUDE


PARAMS = [
    Param("temperature", 0.7, 0, lambda b: b["inferenceConfig"]["temperature"], 0.7, 0),
    Param("max_tokens", 300, 20, lambda b: b["inferenceConfig"]["maxTokens"], 300, 20),
    Param("top_p", 0.9, 0.5, lambda b: b["inferenceConfig"]["topP"], 0.9, 0.5),
    Param("stop", ["END"], ["STOP"], lambda b: b["inferenceConfig"]["stopSequences"], ["END"],
          ["STOP"]),
    Param("additional_model_request_fields", {"top_k": 40}, {"top_k": 5},
          lambda b: b["additionalModelRequestFields"], {"top_k": 40}, {"top_k": 5}),
    Param("additional_model_response_field_paths", ["/stop_sequence"], ["/usage"],
          lambda b: b["additionalModelResponseFieldPaths"], ["/stop_sequence"], ["/usage"]),
    Param("guardrail_config",
          {"guardrailIdentifier": "abc123def456", "guardrailVersion": "1", "trace": "enabled"},
          {"guardrail_identifier": "zzz999", "guardrail_version": "DRAFT",
           "trace": "enabled_full"},
          lambda b: b["guardrailConfig"],
          {"guardrailIdentifier": "abc123def456", "guardrailVersion": "1", "trace": "enabled"},
          {"guardrailIdentifier": "zzz999", "guardrailVersion": "DRAFT",
           "trace": "enabled_full"}),
    Param("performance_config", {"latency": "optimized"}, "standard",
          lambda b: b["performanceConfig"], {"latency": "optimized"}, {"latency": "standard"}),
    Param("service_tier", "flex", "priority", lambda b: b["serviceTier"], {"type": "flex"},
          {"type": "priority"}),
    Param("request_metadata", {"team": "search"}, {"run": "r-1"},
          lambda b: b["requestMetadata"], {"team": "search"}, {"run": "r-1"}),
    Param("prompt_variables", {"topic": "cats"}, {"topic": {"text": "dogs"}},
          lambda b: b["promptVariables"], {"topic": {"text": "cats"}},
          {"topic": {"text": "dogs"}}, model=PROMPT_ARN),
    Param("output_config",
          {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {
              "name": "A", "schema": {"type": "object", "properties": {}}}}}},
          {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {
              "name": "B", "schema": '{"type": "object"}'}}}},
          lambda b: b["outputConfig"]["textFormat"]["structure"]["jsonSchema"],
          {"name": "A", "schema": '{"type": "object", "properties": {}}'},
          {"name": "B", "schema": '{"type": "object"}'}),
    Param("reasoning_effort", "low", "high", lambda b: b["additionalModelRequestFields"],
          {"thinking": {"type": "enabled", "budget_tokens": 1024}},
          {"thinking": {"type": "enabled", "budget_tokens": 16384}}),
    Param("thinking_budget", 2048, 4000, lambda b: b["additionalModelRequestFields"],
          {"thinking": {"type": "enabled", "budget_tokens": 2048}},
          {"thinking": {"type": "enabled", "budget_tokens": 4000}}),
    Param("cache_system", True, True, lambda b: b["system"][-1],
          {"cachePoint": {"type": "default"}}, {"cachePoint": {"type": "default"}}),
]  # fmt: skip

MESSAGES = [SystemMessage("You are terse."), HumanMessage("Hello")]


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.name)
@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_param_from_constructor_call_and_bind(
    server: BedrockWireServer, param: Param, streamed: bool
) -> None:
    def run(model: Any, **kwargs: Any) -> dict[str, Any]:
        if streamed:
            server.enqueue(StreamReply(stream_events()))
            list(model.stream(MESSAGES, **kwargs))
        else:
            server.enqueue(JsonReply(converse_body()))
            model.invoke(MESSAGES, **kwargs)
        assert server.requests[-1].operation == ("converse-stream" if streamed else "converse")
        return sent(server)

    plain = model_on(server, param.model)
    configured = model_on(server, param.model, **{param.name: param.init})
    assert param.read(run(configured)) == param.expect_init
    assert param.read(run(configured, **{param.name: param.call})) == param.expect_call
    assert param.read(run(plain, **{param.name: param.call})) == param.expect_call
    assert param.read(run(configured.bind(**{param.name: param.call}))) == param.expect_call


def test_model_override_per_call_and_bind(server: BedrockWireServer) -> None:
    model = model_on(server)
    server.enqueue(JsonReply(converse_body()), StreamReply(stream_events()))
    answer = model.invoke("Hello", model="us.amazon.nova-micro-v1:0")
    chunks = list(model.bind(model_id="us.amazon.nova-lite-v1:0").stream("Hello"))
    first, second = server.requests
    assert (first.model_id, second.model_id) == (
        "us.amazon.nova-micro-v1:0",
        "us.amazon.nova-lite-v1:0",
    )
    assert first.path == "/model/us.amazon.nova-micro-v1%3A0/converse"
    assert answer.response_metadata["model_name"] == "us.amazon.nova-micro-v1:0"
    last = chunks[-1]
    assert isinstance(last, AIMessageChunk)
    assert last.response_metadata["model_name"] == "us.amazon.nova-lite-v1:0"
    for recorded in server.requests:
        assert_valid(recorded)


def test_stop_argument_beats_constructor_stop(server: BedrockWireServer) -> None:
    model = model_on(server, stop=["END"])
    server.enqueue(JsonReply(converse_body()), JsonReply(converse_body()))
    model.invoke("hi", stop=["you"])
    assert sent(server)["inferenceConfig"]["stopSequences"] == ["you"]
    model.invoke("hi", stop_sequences=["THEN"])
    assert sent(server)["inferenceConfig"]["stopSequences"] == ["THEN"]


def test_unknown_call_argument_is_refused(server: BedrockWireServer) -> None:
    with pytest.raises(TypeError, match="temprature"):
        model_on(server).invoke("hi", temprature=0)
    assert server.requests == []


# --- guardrails ------------------------------------------------------------------------------

GUARDRAIL = {
    "guardrailIdentifier": "abc123def456",
    "guardrailVersion": "1",
    "trace": "enabled",
    "streamProcessingMode": "async",
}
GUARDRAIL_TRACE = {
    "guardrail": {
        "inputAssessment": {
            "abc123def456": {"contentPolicy": {"filters": [{"type": "VIOLENCE", "action": "NONE"}]}}
        }
    }
}


def test_guardrail_stream_processing_mode_only_on_streams(server: BedrockWireServer) -> None:
    model = model_on(server, guardrail_config=GUARDRAIL)
    server.enqueue(StreamReply(stream_events(metadata={"trace": GUARDRAIL_TRACE})))
    chunks = list(model.stream("hi"))
    assert sent(server)["guardrailConfig"] == GUARDRAIL
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    assert full.response_metadata["trace"] == GUARDRAIL_TRACE

    server.enqueue(JsonReply(converse_body(trace=GUARDRAIL_TRACE)))
    answer = model.invoke("hi")
    body = sent(server)
    assert "streamProcessingMode" not in body["guardrailConfig"]
    assert body["guardrailConfig"]["trace"] == "enabled"
    assert answer.response_metadata["trace"] == GUARDRAIL_TRACE


def test_guardrail_alias_and_snake_case_keys(server: BedrockWireServer) -> None:
    model = model_on(
        server,
        guardrails={
            "guardrail_identifier": "abc123",
            "guardrail_version": "2",
            "trace": "disabled",
        },
    )
    server.enqueue(JsonReply(converse_body()))
    model.invoke("hi")
    assert sent(server)["guardrailConfig"] == {
        "guardrailIdentifier": "abc123",
        "guardrailVersion": "2",
        "trace": "disabled",
    }


# --- returned fields -------------------------------------------------------------------------


def test_additional_response_fields_surface_in_response_metadata(
    server: BedrockWireServer,
) -> None:
    fields = {"stop_sequence": "END", "usage": {"thinking_tokens": 7}}
    model = model_on(server, additional_model_response_field_paths=["/stop_sequence", "/usage"])
    server.enqueue(JsonReply(converse_body(additionalModelResponseFields=fields)))
    answer = model.invoke("hi")
    assert answer.response_metadata["additionalModelResponseFields"] == fields

    server.enqueue(StreamReply(stream_events(stop={"additionalModelResponseFields": fields})))
    chunks = list(model.stream("hi"))
    assert chunks[-1].response_metadata["additionalModelResponseFields"] == fields
    streamed = model_on(server, streaming=True)
    server.enqueue(StreamReply(stream_events(stop={"additionalModelResponseFields": fields})))
    assert streamed.invoke("hi").response_metadata["additionalModelResponseFields"] == fields


def test_service_tier_and_performance_echo_in_metadata(server: BedrockWireServer) -> None:
    model = model_on(server, service_tier="flex", performance_config={"latency": "optimized"})
    echo: dict[str, Any] = {
        "serviceTier": {"type": "flex"},
        "performanceConfig": {"latency": "optimized"},
    }
    server.enqueue(JsonReply(converse_body(**echo)))
    answer = model.invoke("hi")
    assert answer.response_metadata["serviceTier"] == {"type": "flex"}
    assert answer.response_metadata["performanceConfig"] == {"latency": "optimized"}


# --- reasoning -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "effort", "fields"),
    [
        (CLAUDE_ADAPTIVE, "medium", {"thinking": {"type": "adaptive"},
                                     "output_config": {"effort": "medium"}}),
        ("global.anthropic.claude-opus-4-7", "xhigh", {"thinking": {"type": "adaptive"},
                                                      "output_config": {"effort": "xhigh"}}),
        ("us.anthropic.claude-sonnet-5", "none", {"thinking": {"type": "disabled"}}),
        ("anthropic.claude-3-7-sonnet-20250219-v1:0", "medium",
         {"thinking": {"type": "enabled", "budget_tokens": 4096}}),
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", "max",
         {"thinking": {"type": "enabled", "budget_tokens": 32000}}),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "none", {}),
        ("us.amazon.nova-2-lite-v1:0", "high",
         {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": "high"}}),
        ("openai.gpt-oss-120b-1:0", "low", {"reasoning_effort": "low"}),
    ],
)  # fmt: skip
def test_reasoning_effort_per_family(model_id: str, effort: str, fields: dict[str, Any]) -> None:
    assert reasoning_fields(model_id, effort=effort) == fields


@pytest.mark.parametrize(
    ("model_id", "kwargs", "message"),
    [
        ("us.amazon.nova-pro-v1:0", {"effort": "low"}, "not supported for 'us.amazon.nova-pro"),
        ("us.anthropic.claude-3-5-haiku-20241022-v1:0", {"effort": "low"}, "not supported"),
        ("us.amazon.nova-2-lite-v1:0", {"effort": "max"}, "use one of"),
        ("us.amazon.nova-2-lite-v1:0", {"budget": 2000}, "Anthropic Claude setting"),
        (CLAUDE, {"budget": 100}, "at least 1024"),
        (CLAUDE, {"effort": "low", "budget": 2000}, "not both"),
        (CLAUDE, {"effort": "extreme"}, "must be one of"),
    ],
)
def test_reasoning_errors_are_clear(model_id: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        reasoning_fields(model_id, **kwargs)


def test_thinking_budget_sets_max_tokens_and_checks_it(server: BedrockWireServer) -> None:
    model = model_on(server, thinking_budget=2048)
    server.enqueue(JsonReply(converse_body()))
    model.invoke("hi")
    body = sent(server)
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2048}
    }
    assert body["inferenceConfig"]["maxTokens"] == 2048 + 4096
    with pytest.raises(ValueError, match="max_tokens=1000 must be greater than the thinking"):
        model.invoke("hi", max_tokens=1000)


def test_explicit_request_fields_win_over_reasoning(server: BedrockWireServer) -> None:
    model = model_on(
        server,
        reasoning_effort="high",
        additional_model_request_fields={"thinking": {"type": "enabled", "budget_tokens": 1500}},
        max_tokens=3000,
    )
    server.enqueue(JsonReply(converse_body()))
    model.invoke("hi")
    assert sent(server)["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 1500}
    }


def test_call_reasoning_replaces_constructor_reasoning(server: BedrockWireServer) -> None:
    model = model_on(server, CLAUDE_ADAPTIVE, thinking_budget=2048)
    server.enqueue(JsonReply(converse_body()))
    model.invoke("hi", reasoning_effort="low")
    assert sent(server)["additionalModelRequestFields"] == {
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "low"},
    }


def test_unsupported_reasoning_fails_at_construction(server: BedrockWireServer) -> None:
    with pytest.raises(ValueError, match="reasoning_effort is not supported"):
        model_on(server, "us.meta.llama3-3-70b-instruct-v1:0", reasoning_effort="high")
    model = model_on(server, "us.meta.llama3-3-70b-instruct-v1:0")
    with pytest.raises(ValueError, match="reasoning_effort is not supported"):
        model.invoke("hi", reasoning_effort="high")
    assert server.requests == []


def test_application_profile_uses_base_model_for_reasoning(server: BedrockWireServer) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5"
    model = model_on(server, arn, base_model=CLAUDE_ADAPTIVE, reasoning_effort="high")
    server.enqueue(JsonReply(converse_body()))
    model.invoke("hi")
    assert sent(server)["additionalModelRequestFields"]["thinking"] == {"type": "adaptive"}
    assert base_model_name(arn) == "a1b2c3d4e5"
    assert base_model_name("global.anthropic.claude-sonnet-4-6") == "anthropic.claude-sonnet-4-6"


def test_forced_tool_choice_with_thinking_becomes_auto_with_a_warning(
    server: BedrockWireServer,
) -> None:
    """Anthropic rejects forced tool use while thinking: the choice is downgraded, as
    ChatBedrockConverse does, so agents that force a tool keep working."""

    def lookup(query: str) -> str:
        """Look something up."""
        return query

    model = model_on(server, thinking_budget=2048)
    assert model.supports_tool_choice_values == ("auto",)
    for forced in ("any", "lookup"):
        with pytest.warns(UserWarning, match="Downgrading to tool_choice='auto'"):
            bound = model.bind_tools([lookup], tool_choice=forced)
        server.enqueue(JsonReply(converse_body()))
        bound.invoke("hi")
        assert sent(server)["toolConfig"]["toolChoice"] == {"auto": {}}


def test_forced_tool_choice_with_per_call_thinking_is_refused(server: BedrockWireServer) -> None:
    def lookup(query: str) -> str:
        """Look something up."""
        return query

    model = model_on(server)
    bound = model.bind_tools([lookup], tool_choice="any")
    with pytest.raises(ValueError, match=r"forces tool use.*extended thinking"):
        bound.invoke("hi", thinking_budget=2048)
    assert server.requests == []


# --- prompt caching --------------------------------------------------------------------------


def _tool(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"The {name} tool.",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    }


def test_cache_system_and_tools_with_ttl(server: BedrockWireServer) -> None:
    model = model_on(server, cache_system=True, cache_tools=True, cache_ttl="1h")
    server.enqueue(JsonReply(converse_body()), JsonReply(converse_body()))
    model.bind_tools([_tool("alpha"), _tool("beta")]).invoke(MESSAGES)
    body = sent(server)
    assert body["system"] == [
        {"text": "You are terse."},
        {"cachePoint": {"type": "default", "ttl": "1h"}},
    ]
    assert [next(iter(tool)) for tool in body["toolConfig"]["tools"]] == [
        "toolSpec",
        "toolSpec",
        "cachePoint",
    ]
    assert body["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default", "ttl": "1h"}}
    plain = model_on(server)
    plain.bind_tools([_tool("alpha")]).invoke(MESSAGES, cache_tools=True, cache_system=True)
    body = sent(server)
    assert body["system"][-1] == {"cachePoint": {"type": "default"}}
    assert body["toolConfig"]["tools"][-1] == {"cachePoint": {"type": "default"}}
    server.enqueue(JsonReply(converse_body()))
    model.bind(cache_ttl="5m").invoke(MESSAGES)
    assert sent(server)["system"][-1] == {"cachePoint": {"type": "default", "ttl": "5m"}}


def test_cache_system_without_system_prompt_adds_nothing(server: BedrockWireServer) -> None:
    server.enqueue(JsonReply(converse_body()))
    model_on(server, cache_system=True).invoke("hi")
    assert sent(server)["system"] == []  # as ChatBedrockConverse sends it


def test_anthropic_cache_control_on_a_tool_adds_a_cache_point(server: BedrockWireServer) -> None:
    tool = {
        "name": "color_picker",
        "description": "Pick a color.",
        "input_schema": {"type": "object", "properties": {"c": {"type": "string"}}},
        "cache_control": {"type": "ephemeral"},
    }
    server.enqueue(JsonReply(converse_body()))
    model_on(server).bind_tools([tool]).invoke("hi")
    tools = sent(server)["toolConfig"]["tools"]
    assert tools[0]["toolSpec"]["name"] == "color_picker"
    assert tools[1] == {"cachePoint": {"type": "default"}}


def test_more_than_four_cache_points_is_a_clear_error(server: BedrockWireServer) -> None:
    cached = {"cache_control": {"type": "ephemeral"}}
    human = HumanMessage([{"type": "text", "text": f"part {n}", **cached} for n in range(3)])
    model = model_on(server, cache_system=True, cache_tools=True)
    with pytest.raises(ValueError, match=r"5 cache points \(system: 1, tools: 1, messages: 3\)"):
        model.bind_tools([_tool("alpha")]).invoke([SystemMessage("rules"), human])
    assert server.requests == []
    server.enqueue(JsonReply(converse_body()))
    model.invoke([SystemMessage("rules"), human])  # 4 without tools: allowed
    assert len([b for b in sent(server)["messages"][0]["content"] if "cachePoint" in b]) == 3
    assert MAX_CACHE_POINTS == 4


def test_bad_cache_ttl_is_refused() -> None:
    with pytest.raises(ValueError, match="cache ttl must be one of"):
        build_request(
            [SystemMessage("s"), HumanMessage("h")], model_id=CLAUDE, cache_system=True,
            cache_ttl="2h",
        )  # fmt: skip


# --- every parameter at once -----------------------------------------------------------------

EVERYTHING: dict[str, Any] = {
    "temperature": 0.5,
    "max_tokens": 5000,
    "top_p": 0.9,
    "stop": ["END"],
    "additional_model_request_fields": {"top_k": 50},
    "additional_model_response_field_paths": ["/stop_sequence"],
    "guardrail_config": GUARDRAIL,
    "performance_config": {"latency": "optimized"},
    "service_tier": "priority",
    "request_metadata": {"team": "search", "env": "test"},
    "output_config": {
        "textFormat": {
            "type": "json_schema",
            "structure": {"jsonSchema": {"name": "Answer", "schema": {"type": "object"}}},
        }
    },
    "thinking_budget": 2048,
    "cache_system": True,
    "cache_tools": True,
    "cache_ttl": "5m",
}


@pytest.mark.parametrize("streamed", [False, True], ids=["invoke", "stream"])
def test_every_parameter_together_is_a_valid_request(
    server: BedrockWireServer, streamed: bool
) -> None:
    model = model_on(server, **EVERYTHING).bind_tools([_tool("alpha")])
    if streamed:
        server.enqueue(StreamReply(stream_events()))
        list(model.stream(MESSAGES))
    else:
        server.enqueue(JsonReply(converse_body()))
        model.invoke(MESSAGES)
    body = sent(server)
    assert set(body) >= {
        "messages",
        "system",
        "inferenceConfig",
        "toolConfig",
        "additionalModelRequestFields",
        "additionalModelResponseFieldPaths",
        "guardrailConfig",
        "performanceConfig",
        "serviceTier",
        "requestMetadata",
        "outputConfig",
    }
    assert body["inferenceConfig"] == {
        "maxTokens": 5000,
        "temperature": 0.5,
        "topP": 0.9,
        "stopSequences": ["END"],
    }
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "top_k": 50,
    }
    assert ("streamProcessingMode" in body["guardrailConfig"]) is streamed
    assert json.loads(body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"]) == {
        "type": "object"
    }


def test_prompt_management_arn_with_variables(server: BedrockWireServer) -> None:
    model = model_on(server, PROMPT_ARN, prompt_variables={"genre": "jazz", "year": "1959"})
    server.enqueue(JsonReply(converse_body("Kind of Blue")))
    answer = model.invoke([HumanMessage("Recommend an album.")])
    recorded = server.requests[-1]
    assert recorded.model_id == PROMPT_ARN
    assert sent(server)["promptVariables"] == {"genre": {"text": "jazz"}, "year": {"text": "1959"}}
    assert isinstance(answer, AIMessage)
    assert answer.text == "Kind of Blue"
