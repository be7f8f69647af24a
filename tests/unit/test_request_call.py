"""One call's request from plain settings (``request.call``): the per-call table and the
rules that pick between a call's keywords and the model's settings. No chat model, no
sockets; the wire itself is covered by ``test_params``."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import botocore.session
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream._request import build_request
from langchain_bedrock_stream._request.call import (
    PER_CALL,
    PER_CALL_NAMES,
    CallSettings,
    call_request,
    for_converse,
    guard_last_user_turn,
    resolve_choice,
)
from langchain_bedrock_stream.models import describe

CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "us.amazon.nova-pro-v1:0"
HI = [HumanMessage("hi")]


def settings(model_id: str = CLAUDE, **values: Any) -> CallSettings:
    return CallSettings(model_id=model_id, description=describe(model_id), **values)


# --- the table ------------------------------------------------------------------------------


def test_each_keyword_is_declared_once() -> None:
    names = [parameter.name for parameter in PER_CALL]
    assert len(names) == len(set(names)) == len(PER_CALL_NAMES)


def test_each_overridden_field_is_a_constructor_field_of_the_chat_model() -> None:
    fields = set(ChatBedrockStream.model_fields)
    assert {p.field for p in PER_CALL if p.field} <= fields


def test_each_overridden_field_is_read_from_the_settings() -> None:
    settings_fields = set(CallSettings.__dataclass_fields__)
    assert {p.field for p in PER_CALL if p.field} <= settings_fields


def test_build_targets_are_request_builder_keywords() -> None:
    keywords = set(inspect.signature(build_request).parameters)
    targets = {p.target for p in PER_CALL if p.route in ("build", "reasoning")}
    assert targets <= keywords


def test_inference_targets_are_converse_inference_members() -> None:
    service = botocore.session.get_session().get_service_model("bedrock-runtime")
    shape = service.shape_for("InferenceConfiguration")
    targets = {p.target for p in PER_CALL if p.route in ("inference", "stop")}
    assert targets <= set(shape.members)


def test_an_unknown_keyword_names_the_declared_ones_but_not_langchains_stream() -> None:
    with pytest.raises(TypeError) as caught:
        call_request(HI, None, {"max_token": 5}, settings(owner="MyModel"))
    message = str(caught.value)
    assert "MyModel" in message and "'max_token'" in message
    assert "'max_tokens'" in message and "'thinking_budget'" in message
    assert "'stream'" not in message


def test_the_chat_model_accepts_exactly_the_declared_keywords() -> None:
    model = ChatBedrockStream(model=CLAUDE, region_name="us-east-1")
    with pytest.raises(TypeError):
        model.converse_request("hi", max_token=5)
    assert model.converse_request("hi", max_tokens=5, stream=True)["inferenceConfig"] == {
        "maxTokens": 5
    }


# --- which value wins -----------------------------------------------------------------------


def test_a_calls_value_replaces_the_setting_and_none_keeps_it() -> None:
    base = settings(max_tokens=300, temperature=0.5, service_tier="flex")
    called = call_request(HI, None, {"max_tokens": 20, "service_tier": "priority"}, base)
    assert called["inferenceConfig"] == {"maxTokens": 20, "temperature": 0.5}
    assert called["serviceTier"] == {"type": "priority"}
    kept = call_request(HI, None, {"max_tokens": None, "service_tier": None}, base)
    assert kept["inferenceConfig"] == {"maxTokens": 300, "temperature": 0.5}
    assert kept["serviceTier"] == {"type": "flex"}


def test_model_wins_over_model_id() -> None:
    request = call_request(HI, None, {"model": NOVA, "model_id": "other"}, settings())
    assert request["modelId"] == NOVA
    assert call_request(HI, None, {"model_id": NOVA}, settings())["modelId"] == NOVA


@pytest.mark.parametrize(
    ("stop", "kwargs", "expected"),
    [
        (["A"], {"stop": ["B"], "stop_sequences": ["C"]}, ["A"]),
        (None, {"stop": ["B"], "stop_sequences": ["C"]}, ["B"]),
        (None, {"stop": [], "stop_sequences": ["C"]}, ["C"]),
        ([], {}, ["FIELD"]),
        (None, {"stop": "ONE"}, ["ONE"]),
    ],
)
def test_stop_sequences_take_the_first_non_empty(
    stop: list[str] | None, kwargs: dict[str, Any], expected: list[str]
) -> None:
    request = call_request(HI, stop, kwargs, settings(stop_sequences=["FIELD"]))
    assert request["inferenceConfig"]["stopSequences"] == expected


def test_a_calls_reasoning_keyword_replaces_both_settings() -> None:
    base = settings(reasoning_effort="high")
    budget = call_request(HI, None, {"thinking_budget": 2048}, base)
    assert budget["additionalModelRequestFields"]["thinking"] == {
        "type": "enabled",
        "budget_tokens": 2048,
    }
    none = call_request(HI, None, {}, settings(thinking_budget=2048, reasoning_effort=None))
    assert none["additionalModelRequestFields"]["thinking"]["budget_tokens"] == 2048


def test_response_format_gives_output_config_unless_a_call_gives_one() -> None:
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "Answer", "schema": {"type": "object", "properties": {}}},
    }
    made = call_request(HI, None, {"response_format": response_format}, settings())
    assert made["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["name"] == "Answer"
    own = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"name": "Own"}}}}
    given = call_request(
        HI, None, {"response_format": response_format, "output_config": own}, settings()
    )
    assert given["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["name"] == "Own"


def test_sampling_a_profile_refuses_is_left_out_with_one_warning() -> None:
    refusing = settings(temperature=0.3, top_p=0.9, max_tokens=50, profile={"temperature": False})
    with pytest.warns(UserWarning, match="temperature or top_p") as caught:
        request = call_request(HI, None, {}, refusing)
    assert len(caught) == 1
    assert request["inferenceConfig"] == {"maxTokens": 50}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        silent = call_request(HI, None, {}, settings(temperature=0.3, profile={}))
    assert silent["inferenceConfig"] == {"temperature": 0.3}


def test_system_blocks_come_first_and_raw_blocks_replace_the_conversation() -> None:
    request = call_request(HI, None, {}, settings(system=["Be brief."]))
    assert request["system"] == [{"text": "Be brief."}]
    raw = [{"role": "user", "content": [{"text": "raw"}]}]
    replaced = call_request(HI, None, {}, settings(system=["Be brief."], raw_blocks=raw))
    assert replaced["messages"] == raw and "system" not in replaced


# --- tool choice, guardrails, Converse ------------------------------------------------------


def test_a_forced_choice_while_thinking_becomes_auto_with_a_warning() -> None:
    thinking = settings(thinking_budget=2048, supports_tool_choice_values=["auto"])
    with pytest.warns(UserWarning, match="Downgrading"):
        assert resolve_choice({"any": {}}, thinking) == {"auto": {}}


def test_a_choice_the_model_does_not_take_is_refused_when_not_thinking() -> None:
    with pytest.raises(ValueError, match="does not accept tool_choice"):
        resolve_choice({"any": {}}, settings(supports_tool_choice_values=["auto"]))
    assert resolve_choice({"any": {}}, settings(supports_tool_choice_values=["any"])) == {"any": {}}


def test_the_last_user_turns_text_is_guarded() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"text": "first"}]},
        {"role": "assistant", "content": [{"text": "reply"}]},
        {"role": "user", "content": [{"text": "last"}, {"image": {"format": "png"}}]},
    ]
    guard_last_user_turn(messages)
    assert messages[0]["content"] == [{"text": "first"}]
    assert messages[2]["content"] == [
        {"guardContent": {"text": {"text": "last"}}},
        {"image": {"format": "png"}},
    ]


def test_a_last_turn_of_tool_results_gets_a_placeholder_guard() -> None:
    history = [
        HumanMessage("weather?"),
        AIMessage("", tool_calls=[{"name": "weather", "args": {}, "id": "t1"}]),
        ToolMessage("sunny", tool_call_id="t1"),
    ]
    tools = [{"toolSpec": {"name": "weather", "inputSchema": {"json": {"type": "object"}}}}]
    guarded = settings(guard_last_turn_only=True, guardrail_config={"guardrailIdentifier": "g"})
    request = call_request(history, None, {"toolConfig": {"tools": tools}}, guarded)
    last = request["messages"][-1]["content"]
    assert "toolResult" in last[0]
    assert any("guardContent" in block for block in last)


def test_converse_requests_lose_only_the_streaming_guardrail_mode() -> None:
    request = {
        "modelId": CLAUDE,
        "guardrailConfig": {"guardrailIdentifier": "g", "streamProcessingMode": "async"},
    }
    sent = for_converse(request)
    assert sent["guardrailConfig"] == {"guardrailIdentifier": "g"}
    assert request["guardrailConfig"]["streamProcessingMode"] == "async"  # not mutated
    plain = {"modelId": CLAUDE, "guardrailConfig": {"guardrailIdentifier": "g"}}
    assert for_converse(plain) is plain


# --- the chat model's settings --------------------------------------------------------------


def test_a_chat_model_and_its_settings_make_the_same_request() -> None:
    model = ChatBedrockStream(
        model=CLAUDE,
        region_name="us-east-1",
        max_tokens=4000,
        reasoning_effort="low",
        additional_model_request_fields={"top_k": 5},
        cache_system=True,
        system=["Be brief."],
    )
    direct = CallSettings(
        model_id=CLAUDE,
        description=describe(CLAUDE),
        max_tokens=4000,
        reasoning_effort="low",
        additional_model_request_fields={"top_k": 5},
        cache_system=True,
        system=["Be brief."],
    )
    assert model.converse_request("hi") == call_request(HI, None, {}, direct)
