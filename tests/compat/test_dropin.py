"""What a ``ChatBedrockConverse`` user meets after changing the class name: model facts on
the model, tool binding LangChain understands, agents with structured responses, the boto3
client, configuration errors before any request. Real boto3 against the loopback server."""

from __future__ import annotations

import json
import pickle
import warnings
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply, StreamReply

CLAUDE_45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
CLAUDE_46 = "us.anthropic.claude-sonnet-4-6"
LLAMA = "us.meta.llama3-3-70b-instruct-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"


class City(BaseModel):
    """A city."""

    name: str
    country: str


def converse_body(content: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": extra.pop("stopReason", "end_turn"),
        "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
        "metrics": {"latencyMs": 10},
        **extra,
    }


def text_events(text: str) -> list[dict[str, Any]]:
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": text}}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": {"usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8}}},
    ]


def tool_use(name: str, args: dict[str, Any], tool_id: str = "tooluse_1") -> dict[str, Any]:
    return {"toolUse": {"toolUseId": tool_id, "name": name, "input": args}}


@pytest.fixture
def server() -> Iterator[BedrockWireServer]:
    with BedrockWireServer() as running:
        yield running


def on(server: BedrockWireServer, model: str = CLAUDE_45, **kwargs: Any) -> ChatBedrockStream:
    return ChatBedrockStream(
        model=model, region_name="us-east-1", endpoint_url=server.endpoint_url, **kwargs
    )


def get_weather(city: str) -> str:
    """Weather in a city."""
    return f"sunny in {city}"


# --- what the model knows about itself ----------------------------------------------------


def test_profile_provider_and_tool_choice_come_from_the_model_id() -> None:
    claude = ChatBedrockStream(model=CLAUDE_46, region_name="us-west-2")
    assert claude.provider == "anthropic"
    assert claude.profile is not None
    assert claude.profile["reasoning_output"] is True
    assert claude.profile["max_input_tokens"] == 1_000_000
    assert claude.profile["reasoning_effort_levels"] == ["low", "medium", "high", "max"]
    assert "mid_conversation_system_messages" not in claude.profile
    assert claude.supports_tool_choice_values == ("auto", "any", "tool")
    assert claude.disable_streaming is False

    llama = ChatBedrockStream(model=LLAMA, region_name="us-west-2")
    assert (llama.provider, llama.disable_streaming) == ("meta", "tool_calling")
    assert llama.supports_tool_choice_values == ("auto",)
    unknown = ChatBedrockStream(model="acme.future-model-v1:0", region_name="us-west-2")
    assert unknown.profile == {}


def test_settings_given_by_the_user_win() -> None:
    model = ChatBedrockStream(
        model=LLAMA,
        region_name="us-west-2",
        provider="custom",
        disable_streaming=False,
        supports_tool_choice_values=["auto", "any"],
        profile={"max_input_tokens": 5},
    )
    assert model.provider == "custom"
    assert model.disable_streaming is False
    assert list(model.supports_tool_choice_values or ()) == ["auto", "any"]
    assert model.profile == {"max_input_tokens": 5}


def test_summarization_middleware_accepts_a_fraction_trigger() -> None:
    from langchain.agents.middleware import SummarizationMiddleware

    model = ChatBedrockStream(model=CLAUDE_45, region_name="us-west-2")
    SummarizationMiddleware(model=model, trigger=("fraction", 0.8))


# --- tools: what is bound, where it goes ----------------------------------------------------


def test_bind_tools_binds_tools_and_tool_choice_as_langchain_expects() -> None:
    model = ChatBedrockStream(model=CLAUDE_45, region_name="us-west-2")
    bound = model.bind_tools([get_weather], tool_choice="get_weather", strict=True)
    tools = bound.kwargs["tools"]  # type: ignore[attr-defined]
    assert tools[0]["function"]["name"] == "get_weather"
    assert tools[0]["function"]["strict"] is True
    assert tools[0]["function"]["parameters"]["additionalProperties"] is False
    assert bound.kwargs["tool_choice"] == {"tool": {"name": "get_weather"}}  # type: ignore[attr-defined]
    system = model.bind_tools(["nova_grounding"])
    assert system.kwargs["toolConfig"] == {"tools": [{"systemTool": {"name": "nova_grounding"}}]}  # type: ignore[attr-defined]


def test_families_that_cannot_stream_tool_use_call_converse(server: BedrockWireServer) -> None:
    llama = on(server, LLAMA)
    server.enqueue(
        JsonReply(
            converse_body([tool_use("get_weather", {"city": "Oslo"})], stopReason="tool_use")
        ),
        StreamReply(text_events("plain text streams")),
    )
    chunks = list(llama.bind_tools([get_weather]).stream("weather in Oslo?"))
    assert next(c.tool_calls for c in chunks if c.tool_calls)[0]["args"] == {"city": "Oslo"}
    assert "".join(c.text for c in llama.stream("hi")) == "plain text streams"
    assert [r.operation for r in server.requests] == ["converse", "converse-stream"]
    assert "toolConfig" in server.requests[0].body


def test_user_disable_streaming_tool_calling_is_honoured(server: BedrockWireServer) -> None:
    claude = on(server, disable_streaming="tool_calling")
    server.enqueue(JsonReply(converse_body([{"text": "no call"}])))
    assert "".join(c.text for c in claude.bind_tools([get_weather]).stream("hi")) == "no call"
    assert server.requests[0].operation == "converse"


def test_forced_choice_a_model_never_takes_fails_before_sending(server: BedrockWireServer) -> None:
    llama = on(server, LLAMA)
    with pytest.raises(ValueError, match="does not accept tool_choice of kind 'any'"):
        llama.bind_tools([get_weather], tool_choice="any")
    small = on(server, "meta.llama3-2-1b-instruct-v1:0")
    with pytest.raises(ValueError, match="accepts no tool_choice"):
        small.bind_tools([get_weather], tool_choice="auto")
    assert server.requests == []


# --- agents with structured responses --------------------------------------------------------


def test_bind_tools_and_invoke_take_response_format(server: BedrockWireServer) -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": City.model_json_schema(), "strict": True},
    }
    model = on(server)
    server.enqueue(
        JsonReply(converse_body([{"text": '{"name": "Oslo", "country": "Norway"}'}])),
        JsonReply(converse_body([{"text": '{"name": "Oslo", "country": "Norway"}'}])),
    )
    model.bind_tools([get_weather], response_format=response_format).invoke("Oslo?")
    model.invoke("Oslo?", response_format=response_format)
    for request in server.requests:
        text_format = request.body["outputConfig"]["textFormat"]
        assert text_format["type"] == "json_schema"
        schema = json.loads(text_format["structure"]["jsonSchema"]["schema"])
        assert schema["additionalProperties"] is False
        assert set(schema["required"]) == {"name", "country"}
    assert "toolConfig" in server.requests[0].body
    assert "toolConfig" not in server.requests[1].body


@pytest.mark.parametrize("with_tools", [True, False])
def test_create_agent_with_response_format(server: BedrockWireServer, with_tools: bool) -> None:
    from langchain.agents import create_agent

    model = on(server)
    server.enqueue(JsonReply(converse_body([{"text": '{"name": "Oslo", "country": "Norway"}'}])))
    agent = create_agent(model, [get_weather] if with_tools else [], response_format=City)
    result = agent.invoke({"messages": [HumanMessage("Capital of Norway?")]})
    assert result["structured_response"] == City(name="Oslo", country="Norway")
    body = server.requests[0].body
    assert body["outputConfig"]["textFormat"]["type"] == "json_schema"
    assert ("toolConfig" in body) is with_tools


def test_prompt_prefill_structured_output(server: BedrockWireServer) -> None:
    model = on(server, NOVA, system=["Be brief."])
    server.enqueue(
        JsonReply(converse_body([{"text": '\n{"name": "Oslo", "country": "Norway"}\n'}]))
    )
    city = model.with_structured_output(City, method="prompt_prefill").invoke("Oslo?")
    assert city == City(name="Oslo", country="Norway")
    body = server.requests[0].body
    assert body["messages"][-1] == {"role": "assistant", "content": [{"text": "```json"}]}
    assert "```" in body["inferenceConfig"]["stopSequences"]
    system_text = " ".join(block.get("text", "") for block in body["system"])
    assert "Be brief." in system_text and '"country"' in system_text


def test_list_field_sent_as_json_text_is_repaired(server: BedrockWireServer) -> None:
    class Shopping(BaseModel):
        items: list[str]

    model = on(server)
    server.enqueue(
        JsonReply(
            converse_body(
                [tool_use("Shopping", {"items": '["milk", "eggs"]'})], stopReason="tool_use"
            )
        )
    )
    assert model.with_structured_output(Shopping).invoke("list?") == Shopping(
        items=["milk", "eggs"]
    )


# --- answers ----------------------------------------------------------------------------------


def test_nova_inline_thinking_becomes_a_reasoning_block(server: BedrockWireServer) -> None:
    server.enqueue(
        JsonReply(converse_body([{"text": "<thinking>Asia is largest.</thinking>\nAsia,3705"}]))
    )
    message = on(server, NOVA).invoke("largest?")
    assert message.text == "Asia,3705"
    reasoning = [b for b in message.content if isinstance(b, dict) and "reasoning_content" in b]
    assert reasoning[0]["reasoning_content"]["text"] == "Asia is largest."


def test_reasoning_tokens_from_the_response_usage(server: BedrockWireServer) -> None:
    usage = {"usage": {"output_tokens": 565, "output_tokens_details": {"thinking_tokens": 562}}}
    server.enqueue(JsonReply(converse_body([{"text": "42"}], additionalModelResponseFields=usage)))
    message = on(server, additional_model_response_field_paths=["/usage"]).invoke("hi")
    assert isinstance(message, AIMessage) and message.usage_metadata is not None
    assert message.usage_metadata["output_token_details"] == {"reasoning": 562}


# --- the client, the region, tracing -------------------------------------------------------


def test_client_is_built_on_first_use_and_can_be_patched(server: BedrockWireServer) -> None:
    model = on(server)
    client = model.client
    assert client is model.client
    assert client.meta.region_name == "us-east-1"
    calls: list[dict[str, Any]] = []

    def fake_converse(**kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        return converse_body([{"text": "patched"}])

    client.converse = fake_converse
    assert model.invoke("hi").text == "patched"
    assert calls[0]["modelId"] == CLAUDE_45
    assert server.requests == []


def test_region_from_the_environment_shows_and_none_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-3")
    assert ChatBedrockStream(model=CLAUDE_45).region_name == "eu-west-3"
    monkeypatch.delenv("AWS_REGION")
    arn = "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/apac.amazon.nova-pro-v1:0"
    assert ChatBedrockStream(model=arn).region_name == "ap-south-1"
    nowhere = ChatBedrockStream(model=CLAUDE_45)
    assert nowhere.region_name is None
    with pytest.raises(ValueError, match="no AWS Region configured"):
        nowhere.invoke("hi")


def test_ls_params_carry_invocation_params() -> None:
    model = ChatBedrockStream(model=CLAUDE_45, region_name="eu-central-1", temperature=0.2)
    params = model._get_ls_params()
    assert params["ls_provider"] == "amazon_bedrock"
    assert params["ls_invocation_params"] == {  # type: ignore[typeddict-item]
        "provider": "anthropic",
        "region_name": "eu-central-1",
    }


def test_langsmith_gateway_sets_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANGSMITH_GATEWAY", "https://eu.gateway.smith.langchain.com/")
    model = ChatBedrockStream(model=CLAUDE_45, region_name="us-east-1")
    assert model.endpoint_url == "https://eu.gateway.smith.langchain.com/bedrock"
    monkeypatch.delenv("LANGSMITH_GATEWAY")
    assert ChatBedrockStream(model=CLAUDE_45, region_name="us-east-1").endpoint_url is None


# --- values checked before any request ---------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_tokens": -1}, "max_tokens"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": 3}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
    ],
)
def test_bad_inference_values_fail_before_sending(
    server: BedrockWireServer, kwargs: dict[str, Any], name: str
) -> None:
    model = on(server)
    with pytest.raises(ValueError, match=name):
        model.invoke("hi", **kwargs)
    with pytest.raises(ValueError, match=name):
        on(server, **kwargs)
    assert server.requests == []


def test_a_model_built_with_a_client_refuses_to_pickle(server: BedrockWireServer) -> None:
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", endpoint_url=server.endpoint_url
    )
    model = ChatBedrockStream(model=CLAUDE_45, client=client)
    assert model.client is client
    assert model.region_name == "us-east-1"
    with pytest.raises(TypeError, match="client= cannot be pickled"):
        pickle.dumps(model)
    own = on(server)
    assert pickle.loads(pickle.dumps(own)).model_id == CLAUDE_45


def test_model_kwargs_move_to_request_fields_with_a_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ChatBedrockStream(
            model=CLAUDE_45, region_name="us-east-1", model_kwargs={"top_k": 5}
        )
    assert model.additional_model_request_fields == {"top_k": 5}
    assert any("additional_model_request_fields" in str(w.message) for w in caught)


def test_guard_last_turn_only_with_a_tool_result_last_turn(server: BedrockWireServer) -> None:
    from langchain_core.messages import ToolMessage

    guardrail = {"guardrailIdentifier": "gr-1", "guardrailVersion": "1"}
    model = on(server, guardrail_config=guardrail, guard_last_turn_only=True)
    server.enqueue(JsonReply(converse_body([{"text": "It is sunny."}])))
    model.bind_tools([get_weather]).invoke(
        [
            HumanMessage("Weather in Oslo?"),
            AIMessage(
                "", tool_calls=[{"name": "get_weather", "args": {"city": "Oslo"}, "id": "t1"}]
            ),
            ToolMessage("sunny", tool_call_id="t1"),
        ]
    )
    turns = server.requests[0].body["messages"]
    assert turns[0]["content"] == [{"text": "Weather in Oslo?"}]
    last = turns[-1]["content"]
    assert [next(iter(block)) for block in last] == ["toolResult", "guardContent"]
    assert last[1] == {"guardContent": {"text": {"text": "[tool_result]"}}}


def test_converse_request_shows_the_call_without_sending(server: BedrockWireServer) -> None:
    model = on(server, temperature=0.1)
    request = model.converse_request("hi", tools=[get_weather], tool_choice="any", max_tokens=9)
    assert request["modelId"] == CLAUDE_45
    assert request["inferenceConfig"] == {"maxTokens": 9, "temperature": 0.1}
    assert request["toolConfig"]["toolChoice"] == {"any": {}}
    assert request["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    with pytest.raises(ValueError, match="max_tokens"):
        model.converse_request("hi", max_tokens=-1)
    assert server.requests == []


def test_thinking_decides_forced_choice_per_family() -> None:
    claude5 = ChatBedrockStream(model="us.anthropic.claude-sonnet-5", region_name="us-east-1")
    assert claude5.thinking  # on by default for this family, and it still takes forced choice
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bound = claude5.with_structured_output(City).first  # type: ignore[attr-defined]
    assert bound.kwargs["tool_choice"] == {"tool": {"name": "City"}}

    sonnet45 = ChatBedrockStream(model=CLAUDE_45, region_name="us-east-1", thinking_budget=2048)
    assert sonnet45.thinking
    assert sonnet45.supports_tool_choice_values == ("auto",)
    with pytest.warns(UserWarning, match="rejects forced tool use while extended thinking"):
        bound = sonnet45.with_structured_output(City).first  # type: ignore[attr-defined]
    assert bound.kwargs["tool_choice"] is None
    assert not ChatBedrockStream(model=CLAUDE_45, region_name="us-east-1").thinking


def test_system_tools_go_through_converse(server: BedrockWireServer) -> None:
    model = on(server, "us.amazon.nova-2-lite-v1:0")
    server.enqueue(JsonReply(converse_body([{"text": "grounded answer"}])))
    bound = model.bind_tools([get_weather, "nova_grounding"])
    assert "".join(chunk.text for chunk in bound.stream("news?")) == "grounded answer"
    body = server.requests[0].body
    assert server.requests[0].operation == "converse"
    assert [next(iter(tool)) for tool in body["toolConfig"]["tools"]] == ["toolSpec", "systemTool"]
