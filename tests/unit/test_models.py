"""The model description: ids parsed once, one family table."""

from __future__ import annotations

import dataclasses

import pytest

from langchain_bedrock_stream.models import UNKNOWN, describe, parse_model_id

ACCOUNT = "123456789012"


@pytest.mark.parametrize(
    ("model_id", "scope", "name", "provider", "version"),
    [
        (
            "anthropic.claude-3-haiku-20240307-v1:0",
            None,
            "anthropic.claude-3-haiku-20240307",
            "anthropic",
            "-v1:0",
        ),
        (
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "us",
            "anthropic.claude-sonnet-4-20250514",
            "anthropic",
            "-v1:0",
        ),
        ("eu.amazon.nova-pro-v1:0", "eu", "amazon.nova-pro", "amazon", "-v1:0"),
        ("apac.amazon.nova-lite-v1:0", "apac", "amazon.nova-lite", "amazon", "-v1:0"),
        (
            "ap.anthropic.claude-3-5-sonnet-20241022-v2:0",
            "ap",
            "anthropic.claude-3-5-sonnet-20241022",
            "anthropic",
            "-v2:0",
        ),
        (
            "amer.meta.llama3-3-70b-instruct-v1:0",
            "amer",
            "meta.llama3-3-70b-instruct",
            "meta",
            "-v1:0",
        ),
        (
            "us-gov.anthropic.claude-3-haiku-20240307-v1:0",
            "us-gov",
            "anthropic.claude-3-haiku-20240307",
            "anthropic",
            "-v1:0",
        ),
        (
            "jp.anthropic.claude-haiku-4-5-20251001-v1:0",
            "jp",
            "anthropic.claude-haiku-4-5-20251001",
            "anthropic",
            "-v1:0",
        ),
        ("au.anthropic.claude-sonnet-4-6", "au", "anthropic.claude-sonnet-4-6", "anthropic", None),
        (
            "global.anthropic.claude-opus-4-6-v1",
            "global",
            "anthropic.claude-opus-4-6-v1",
            "anthropic",
            None,
        ),
        ("anthropic.claude-v2:1:200k", None, "anthropic.claude-v2", "anthropic", ":1:200k"),
        ("deepseek.r1-v1:0", None, "deepseek.r1", "deepseek", "-v1:0"),
        ("openai.gpt-oss-120b-1:0", None, "openai.gpt-oss-120b-1", "openai", ":0"),
    ],
)
def test_plain_and_profile_ids(model_id, scope, name, provider, version):
    parsed = parse_model_id(model_id)
    assert (parsed.scope, parsed.name, parsed.provider, parsed.version) == (
        scope,
        name,
        provider,
        version,
    )
    assert parsed.arn_kind is None and parsed.region is None
    assert parsed.names_model


@pytest.mark.parametrize(
    ("arn", "kind", "region", "name"),
    [
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            "foundation-model",
            "us-east-1",
            "anthropic.claude-3-haiku-20240307",
        ),
        (
            f"arn:aws:bedrock:eu-west-1:{ACCOUNT}:inference-profile/eu.amazon.nova-lite-v1:0",
            "inference-profile",
            "eu-west-1",
            "amazon.nova-lite",
        ),
        (
            f"arn:aws:bedrock:ap-southeast-2:{ACCOUNT}:inference-profile/"
            "ap.anthropic.claude-sonnet-4-20250514-v1:0",
            "inference-profile",
            "ap-southeast-2",
            "anthropic.claude-sonnet-4-20250514",
        ),
        (
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/a1b2c3d4e5",
            "application-inference-profile",
            "us-east-1",
            None,
        ),
        (
            f"arn:aws:bedrock:us-west-2:{ACCOUNT}:provisioned-model/abcdef123456",
            "provisioned-model",
            "us-west-2",
            None,
        ),
        (
            f"arn:aws:bedrock:us-west-2:{ACCOUNT}:imported-model/xyz987",
            "imported-model",
            "us-west-2",
            None,
        ),
        (
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/"
            "amazon.titan-text-express-v1:0:8k/abcd1234",
            "custom-model",
            "us-east-1",
            "amazon.titan-text-express",
        ),
        (
            f"arn:aws:bedrock:us-east-1:{ACCOUNT}:custom-model/abcd1234",
            "custom-model",
            "us-east-1",
            None,
        ),
        (
            f"arn:aws-us-gov:bedrock:us-gov-west-1:{ACCOUNT}:prompt/PROMPT12345:1",
            "prompt",
            "us-gov-west-1",
            None,
        ),
    ],
)
def test_arns_of_every_kind(arn, kind, region, name):
    parsed = parse_model_id(arn)
    assert parsed.is_arn
    assert (parsed.arn_kind, parsed.region, parsed.name) == (kind, region, name)
    assert parsed.names_model is (name is not None)


def test_arn_partition_and_account():
    parsed = parse_model_id(
        f"arn:aws-us-gov:bedrock:us-gov-west-1:{ACCOUNT}:inference-profile/"
        "us-gov.anthropic.claude-3-haiku-20240307-v1:0"
    )
    assert (parsed.partition, parsed.account, parsed.scope) == ("aws-us-gov", ACCOUNT, "us-gov")


def test_every_prefix_of_one_model_gives_one_description():
    """Geographic, global and ARN forms of one model agree (two tables once disagreed)."""
    forms = [
        "anthropic.claude-sonnet-4-20250514-v1:0",
        *(
            f"{p}.anthropic.claude-sonnet-4-20250514-v1:0"
            for p in ("us", "eu", "apac", "ap", "amer", "us-gov", "jp", "au", "global")
        ),
        f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/"
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
    ]
    described = {describe(form).name for form in forms}
    profiles = {describe(form).profile for form in forms}
    assert described == {"anthropic.claude-sonnet-4-20250514"}
    assert len(profiles) == 1


def test_application_profile_reads_its_family_from_base_model():
    arn = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:application-inference-profile/abc123"
    assert describe(arn).profile is UNKNOWN
    assert describe(arn).provider == ""
    with_base = describe(arn, "anthropic.claude-3-7-sonnet-20250219-v1:0")
    assert with_base.family == "claude"
    assert with_base.provider == "anthropic"
    assert with_base.id.arn_kind == "application-inference-profile"


@pytest.mark.parametrize(
    ("model_id", "streaming", "choices"),
    [
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "full", ("auto", "any", "tool")),
        ("anthropic.claude-3-haiku-20240307-v1:0", "full", ("auto", "any", "tool")),
        ("us.amazon.nova-pro-v1:0", "full", ("auto", "any", "tool")),
        ("us.meta.llama3-3-70b-instruct-v1:0", "no_tools", ("auto",)),
        ("meta.llama3-2-1b-instruct-v1:0", "no_tools", ()),
        ("us.meta.llama4-scout-17b-instruct-v1:0", "no_tools", ("auto",)),
        ("mistral.mistral-large-2407-v1:0", "no_tools", ("auto", "any")),
        ("mistral.mistral-7b-instruct-v0:2", "no_tools", ()),
        ("us.deepseek.r1-v1:0", "no_tools", ()),
        ("deepseek.v3-v1:0", "full", ("auto", "any")),
        ("openai.gpt-oss-120b-1:0", "full", ()),
        ("cohere.command-r-plus-v1:0", "full", ()),
        ("amazon.titan-text-express-v1", "no_tools", ()),
        ("some.future-model-v1:0", "no_tools", ()),
    ],
)
def test_streaming_and_tool_choice_by_family(model_id, streaming, choices):
    profile = describe(model_id).profile
    assert (profile.streaming, profile.tool_choices) == (streaming, choices)


def test_reasoning_styles():
    assert describe("us.anthropic.claude-3-7-sonnet-20250219-v1:0").profile.reasoning == "budget"
    assert describe("global.anthropic.claude-opus-4-6-v1").profile.reasoning == "adaptive"
    assert describe("global.anthropic.claude-opus-4-6-v1").profile.reasoning_efforts == (
        "low",
        "medium",
        "high",
        "max",
    )
    nova2 = describe("us.amazon.nova-2-lite-v1:0").profile
    assert (nova2.reasoning, nova2.reasoning_efforts) == ("nova", ("low", "medium", "high"))
    assert describe("us.deepseek.r1-v1:0").profile.reasoning_history == "think_tags"
    assert not describe("us.deepseek.r1-v1:0").profile.accepts_reasoning_in_history
    assert describe("anthropic.claude-3-haiku-20240307-v1:0").profile.reasoning == "none"


def test_inline_thinking_only_for_first_nova_generation():
    assert describe("us.amazon.nova-lite-v1:0").profile.inline_thinking
    assert not describe("us.amazon.nova-2-lite-v1:0").profile.inline_thinking
    assert not describe("us.anthropic.claude-sonnet-4-20250514-v1:0").profile.inline_thinking


def test_tool_result_status_only_where_accepted():
    assert describe(
        "us.anthropic.claude-sonnet-4-20250514-v1:0"
    ).profile.supports_tool_result_status
    assert describe("us.amazon.nova-pro-v1:0").profile.supports_tool_result_status
    assert not describe("us.meta.llama3-3-70b-instruct-v1:0").profile.tool_result_status
    assert not describe("mistral.mistral-large-2407-v1:0").profile.tool_result_status
    assert not UNKNOWN.tool_result_status


def test_limits_and_inputs():
    micro = describe("us.amazon.nova-micro-v1:0").profile
    assert (micro.image_input, micro.max_input_tokens) == (False, 128_000)
    sonnet = describe("us.anthropic.claude-sonnet-4-20250514-v1:0").profile
    assert (sonnet.max_input_tokens, sonnet.max_output_tokens) == (200_000, 64_000)
    assert sonnet.image_input and sonnet.document_input and not sonnet.audio_input
    opus41 = describe("us.anthropic.claude-opus-4-1-20250805-v1:0").profile
    assert opus41.max_output_tokens == 32_000


def test_profiles_are_frozen():
    profile = describe("us.amazon.nova-pro-v1:0").profile
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.streaming = "none"  # type: ignore[misc]


def test_parse_never_raises_on_odd_input():
    for odd in ("", "arn:", "arn:aws:bedrock", ".", "us.", "bedrock/us.amazon.nova-pro-v1:0"):
        parse_model_id(odd)
    assert parse_model_id("bedrock/us.amazon.nova-pro-v1:0").name == "amazon.nova-pro"


def test_forced_choice_while_thinking_by_family():
    assert not describe(
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
    ).profile.forced_choice_with_thinking
    assert describe("global.anthropic.claude-opus-4-8").profile.forced_choice_with_thinking
    claude5 = describe("us.anthropic.claude-sonnet-5").profile
    assert claude5.thinking_by_default and claude5.forced_choice_with_thinking
    assert describe("us.anthropic.claude-sonnet-5-5").profile.tool_choices == ("auto",)


def test_gpt_reasoning_levels_by_generation():
    assert describe("openai.gpt-5.5").profile.reasoning_efforts[-1] == "xhigh"
    assert describe("us.openai.gpt-6-sol").profile.reasoning_efforts[0] == "none"
    assert describe("us.openai.gpt-6-sol").profile.reasoning_efforts[-1] == "max"
    assert "none" not in describe("openai.gpt-6-astra").profile.reasoning_efforts
    assert describe("openai.gpt-5.5").profile.reasoning == "effort_object"
    assert describe("openai.gpt-oss-20b-1:0").profile.reasoning == "effort_field"


def test_langchain_profile_from_the_description():
    from langchain_bedrock_stream.models import langchain_profile

    claude = langchain_profile(describe("us.anthropic.claude-sonnet-4-6"))
    assert claude["reasoning_output"] and claude["tool_calling"] and claude["tool_choice"]
    assert claude["max_input_tokens"] == 1_000_000
    assert claude["image_inputs"] and claude["pdf_inputs"] and not claude["audio_inputs"]
    assert "mid_conversation_tools" not in claude
    llama = langchain_profile(describe("us.meta.llama3-3-70b-instruct-v1:0"))
    assert llama["tool_calling"] and not llama["tool_choice"] and not llama["tool_call_streaming"]
    assert langchain_profile(describe("acme.unknown-v1:0")) == {}
