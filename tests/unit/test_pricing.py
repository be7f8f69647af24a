"""Cost from usage: sources, model-id normalisation, overrides, warnings, no network."""

from __future__ import annotations

import copy
import json
import logging
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import Usage, calc_price
from genai_prices.data import providers as genai_providers
from genai_prices.data_snapshot import DataSnapshot, set_custom_snapshot
from genai_prices.types import ModelPrice as GenaiModelPrice
from genai_prices.types import TieredPrices

from langchain_bedrock_stream import pricing
from langchain_bedrock_stream.pricing import (
    ModelPrice,
    estimate_cost,
    lookup_price,
    normalize_model_id,
    register_price,
    unregister_price,
    use_genai_prices_updates,
)

SONNET_4 = "us.anthropic.claude-sonnet-4-20250514-v1:0"
SONNET_45_GLOBAL = "global.anthropic.claude-sonnet-4-5-20250929-v1:0"
SONNET_45_US = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA_MICRO = "us.amazon.nova-micro-v1:0"

# Hand-written list prices, USD per million tokens (AWS Bedrock pricing page).
SONNET_4_PRICE = {"input": 3.0, "output": 15.0, "cache_read": 0.30, "cache_write": 3.75}
NOVA_MICRO_PRICE = {"input": 0.035, "output": 0.14, "cache_read": 0.00875}


def usage(
    input_tokens: int,
    output_tokens: int,
    cache_read: int = 0,
    cache_creation: int = 0,
    **details: int,
) -> dict[str, Any]:
    """LangChain UsageMetadata: input_tokens includes cache reads and writes."""
    return {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "input_token_details": {
            "cache_read": cache_read,
            "cache_creation": cache_creation,
            **details,
        },
    }


@pytest.fixture(autouse=True)
def _clean_state(fresh_pricing: None) -> Iterator[None]:
    yield
    set_custom_snapshot(None)


# --- hand-computed prices -----------------------------------------------------------------


def test_sonnet_4_and_nova_micro_prices_match_hand_written_list_prices() -> None:
    sonnet = lookup_price(SONNET_4)
    assert sonnet is not None
    assert sonnet.source.startswith("genai-prices ")
    assert sonnet.price.input == pytest.approx(SONNET_4_PRICE["input"])
    assert sonnet.price.output == pytest.approx(SONNET_4_PRICE["output"])
    assert sonnet.price.cache_read == pytest.approx(SONNET_4_PRICE["cache_read"])
    assert sonnet.price.cache_write == pytest.approx(SONNET_4_PRICE["cache_write"])

    nova = lookup_price(NOVA_MICRO)
    assert nova is not None
    assert nova.price.input == pytest.approx(NOVA_MICRO_PRICE["input"])
    assert nova.price.output == pytest.approx(NOVA_MICRO_PRICE["output"])
    assert nova.price.cache_read == pytest.approx(NOVA_MICRO_PRICE["cache_read"])


def test_uncached_cost() -> None:
    cost = estimate_cost(SONNET_4, usage(1_000, 500))
    assert cost is not None
    assert cost["input"] == pytest.approx(1_000 * 3.0 / 1e6)  # 0.003
    assert cost["output"] == pytest.approx(500 * 15.0 / 1e6)  # 0.0075
    assert cost["cache_read"] == 0
    assert cost["cache_write"] == 0
    assert cost["total"] == pytest.approx(0.0105)
    assert cost["currency"] == "USD"
    assert cost["source"].startswith("genai-prices ")
    assert "claude-sonnet-4-20250514" in cost["model"]


def test_cached_cost_splits_input_into_uncached_read_and_write() -> None:
    # 10,000 input tokens of which 6,000 cache reads and 2,000 cache writes: 2,000 uncached.
    cost = estimate_cost(SONNET_4, usage(10_000, 1_000, cache_read=6_000, cache_creation=2_000))
    assert cost is not None
    assert cost["input"] == pytest.approx(2_000 * 3.0 / 1e6)  # 0.006
    assert cost["cache_read"] == pytest.approx(6_000 * 0.30 / 1e6)  # 0.0018
    assert cost["cache_write"] == pytest.approx(2_000 * 3.75 / 1e6)  # 0.0075
    assert cost["output"] == pytest.approx(1_000 * 15.0 / 1e6)  # 0.015
    assert cost["total"] == pytest.approx(0.0303)


def test_nova_micro_cost_with_cache_read() -> None:
    cost = estimate_cost(NOVA_MICRO, usage(2_000, 300, cache_read=1_000))
    assert cost is not None
    assert cost["input"] == pytest.approx(1_000 * 0.035 / 1e6)
    assert cost["cache_read"] == pytest.approx(1_000 * 0.00875 / 1e6)
    assert cost["output"] == pytest.approx(300 * 0.14 / 1e6)
    assert cost["total"] == pytest.approx(0.000035 + 0.00000875 + 0.000042)


def test_one_hour_cache_writes_use_their_own_rate() -> None:
    # Sonnet 4.5 global: $3.75 per Mtok for 5-minute writes, $6 for 1-hour writes.
    cost = estimate_cost(
        SONNET_45_GLOBAL,
        usage(
            5_000,
            0,
            cache_creation=3_000,
            ephemeral_5m_input_tokens=2_000,
            ephemeral_1h_input_tokens=1_000,
        ),
    )
    assert cost is not None
    assert cost["input"] == pytest.approx(2_000 * 3.0 / 1e6)
    assert cost["cache_write"] == pytest.approx(2_000 * 3.75 / 1e6 + 1_000 * 6.0 / 1e6)


def test_one_hour_writes_without_a_listed_rate_follow_anthropics_two_times_input_rule() -> None:
    cost = estimate_cost(
        SONNET_4, usage(1_000, 0, cache_creation=1_000, ephemeral_1h_input_tokens=1_000)
    )
    assert cost is not None
    assert cost["cache_write"] == pytest.approx(1_000 * 6.0 / 1e6)


@pytest.mark.parametrize(
    "model_id",
    [
        SONNET_4,
        SONNET_45_GLOBAL,
        SONNET_45_US,
        NOVA_MICRO,
        "anthropic.claude-3-5-haiku-20241022-v1:0",
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "amazon.nova-pro-v1:0",
        "us.deepseek.r1-v1:0",
        "openai.gpt-oss-120b-1:0",
        "meta.llama3-1-70b-instruct-v1:0",
        "mistral.mistral-large-2402-v1:0",
        "qwen.qwen3-32b-v1:0",
    ],
)
def test_totals_agree_with_genai_prices(model_id: str) -> None:
    ours = estimate_cost(model_id, usage(10_000, 2_000, cache_read=3_000, cache_creation=1_000))
    theirs = calc_price(
        Usage(
            input_tokens=10_000,
            output_tokens=2_000,
            cache_read_tokens=3_000,
            cache_write_tokens=1_000,
        ),
        model_id,
        provider_id="aws",
    )
    assert ours is not None
    assert ours["total"] == pytest.approx(float(theirs.total_price), rel=1e-12)


def test_long_context_tier_follows_genai_prices() -> None:
    tiered: list[tuple[str, int]] = []
    for provider in genai_providers:
        for model in provider.models if provider.id == "aws" else ():
            price = model.prices
            if isinstance(price, GenaiModelPrice):
                input_price = getattr(price, "input_mtok", None)
                if isinstance(input_price, TieredPrices):
                    tiered.append((model.id, input_price.tiers[0].start))
    if not tiered:
        pytest.skip("no tiered Bedrock price in this genai-prices version")
    model_ref, start = tiered[0]
    model_id = model_ref.removeprefix("regional.")
    for tokens in (start // 2, start + 1_000):
        ours = estimate_cost(model_id, usage(tokens, 1_000))
        theirs = calc_price(
            Usage(input_tokens=tokens, output_tokens=1_000), model_id, provider_id="aws"
        )
        assert ours is not None
        assert ours["total"] == pytest.approx(float(theirs.total_price), rel=1e-12)


# --- ids: profiles, versions, ARNs --------------------------------------------------------


@pytest.mark.parametrize(
    ("model_id", "normalised"),
    [
        (SONNET_4, "anthropic.claude-sonnet-4-20250514"),
        ("eu.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic.claude-sonnet-4-20250514"),
        ("us-gov.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307"),
        (SONNET_45_GLOBAL, "anthropic.claude-sonnet-4-5-20250929"),
        ("apac.amazon.nova-pro-v1:0", "amazon.nova-pro"),
        ("amazon.nova-pro-v1:0:300k", "amazon.nova-pro"),
        ("mistral.mistral-7b-instruct-v0:2", "mistral.mistral-7b-instruct"),
        ("openai.gpt-oss-120b-1:0", "openai.gpt-oss-120b-1"),
        ("amazon.titan-embed-text-v1", "amazon.titan-embed-text-v1"),
        ("openai.gpt-5.4", "openai.gpt-5.4"),
        ("US.Amazon.Nova-Micro-V1:0", "amazon.nova-micro"),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0",
            "anthropic.claude-3-5-haiku-20241022",
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
            "us.anthropic.claude-sonnet-4-20250514-v1:0",
            "anthropic.claude-sonnet-4-20250514",
        ),
        ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", None),
        ("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/a1b2c3", None),
        ("arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-lite-v1:0/x1", None),
    ],
)
def test_normalize_model_id(model_id: str, normalised: str | None) -> None:
    assert normalize_model_id(model_id) == normalised


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "eu.anthropic.claude-sonnet-4-20250514-v1:0",
        "apac.anthropic.claude-sonnet-4-20250514-v1:0",
        "global.anthropic.claude-sonnet-4-20250514-v1:0",
        "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-20250514-v1:0",
        "arn:aws:bedrock:eu-west-1:123456789012:inference-profile/"
        "eu.anthropic.claude-sonnet-4-20250514-v1:0",
    ],
)
def test_sonnet_4_costs_the_same_through_every_profile_and_arn(model_id: str) -> None:
    cost = estimate_cost(model_id, usage(1_000, 500))
    assert cost is not None
    assert cost["total"] == pytest.approx(0.0105)


def test_regional_premium_over_global_profile_for_newer_claude_models() -> None:
    # Claude Sonnet 4.5 and later: global profile at list price, geo/in-Region 10% more.
    global_cost = estimate_cost(SONNET_45_GLOBAL, usage(1_000_000, 0))
    us_cost = estimate_cost(SONNET_45_US, usage(1_000_000, 0))
    eu_cost = estimate_cost("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", usage(1_000_000, 0))
    arn_cost = estimate_cost(
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/" + SONNET_45_GLOBAL,
        usage(1_000_000, 0),
    )
    assert global_cost is not None and us_cost is not None and eu_cost is not None
    assert arn_cost is not None
    assert global_cost["total"] == pytest.approx(3.0)
    assert arn_cost["total"] == pytest.approx(3.0)
    assert us_cost["total"] == pytest.approx(3.3)
    assert eu_cost["total"] == pytest.approx(3.3)


@pytest.mark.parametrize("model_id", ["eu.amazon.nova-micro-v1:0", "apac.amazon.nova-micro-v1:0"])
def test_nova_prefixes(model_id: str) -> None:
    cost = estimate_cost(model_id, usage(1_000_000, 1_000_000))
    assert cost is not None
    assert cost["total"] == pytest.approx(0.035 + 0.14)


# --- prices.json --------------------------------------------------------------------------


def test_prices_json_fills_gaps() -> None:
    cost = estimate_cost("cohere.command-r-plus-v1:0", usage(1_000_000, 1_000_000))
    assert cost is not None
    assert cost["source"].startswith("prices.json ")
    assert cost["model"] == "cohere.command-r-plus"
    assert cost["total"] == pytest.approx(3.0 + 15.0)
    plain = estimate_cost("cohere.command-r-v1:0", usage(1_000_000, 0))
    assert plain is not None and plain["total"] == pytest.approx(0.5)
    v3 = estimate_cost("us.deepseek.v3-v1:0", usage(1_000_000, 1_000_000))
    assert v3 is not None and v3["total"] == pytest.approx(0.58 + 1.68)


def test_prices_json_entries_have_as_of_and_source() -> None:
    raw = json.loads(pricing._PRICES_JSON.read_text(encoding="utf-8"))
    assert raw["currency"] == "USD"
    assert raw["as_of"]
    for key, entry in raw["models"].items():
        assert normalize_model_id(key) == key, key
        assert entry["as_of"][:4].isdigit(), key
        assert entry["source"], key
        assert entry["input"] > 0 and entry["output"] > 0, key


def test_genai_prices_wins_over_prices_json(monkeypatch: pytest.MonkeyPatch) -> None:
    table = dict(pricing._prices_json())
    table["anthropic.claude-sonnet-4-20250514"] = (ModelPrice(99.0, 99.0), "prices.json test")
    monkeypatch.setattr(pricing, "_prices_json", lambda: table)
    pricing._resolve.cache_clear()
    cost = estimate_cost(SONNET_4, usage(1_000, 500))
    assert cost is not None and cost["total"] == pytest.approx(0.0105)


# --- unknown models -----------------------------------------------------------------------


def test_unknown_model_gives_none_and_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_bedrock_stream.pricing")
    for _ in range(3):
        assert estimate_cost("acme.unknown-model-v1:0", usage(100, 100)) is None
    warnings = [r for r in caplog.records if "acme.unknown-model-v1:0" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING

    caplog.clear()
    assert estimate_cost("acme.other-model", usage(1, 1)) is None
    assert len(caplog.records) == 1


def test_arn_that_hides_its_model_gives_none(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_bedrock_stream.pricing")
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    assert estimate_cost(arn, usage(100, 100)) is None
    assert estimate_cost(arn, usage(100, 100)) is None
    assert len(caplog.records) == 1
    assert lookup_price(arn) is None


def test_non_default_service_tier_and_latency_optimized_are_not_guessed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_bedrock_stream.pricing")
    assert estimate_cost(SONNET_4, usage(1_000, 500), service_tier="default") is not None
    assert estimate_cost(SONNET_4, usage(1_000, 500), service_tier="flex") is None
    assert estimate_cost(SONNET_4, usage(1_000, 500), service_tier="priority") is None
    assert estimate_cost("cohere.command-r-v1:0", usage(1, 1), service_tier="flex") is None
    assert estimate_cost(SONNET_4, usage(1_000, 500), latency="optimized") is None
    assert estimate_cost(SONNET_4, usage(1_000, 500), latency="standard") is not None
    assert estimate_cost(SONNET_4, usage(1_000, 500), service_tier="flex") is None
    assert len(caplog.records) == 4  # one per (model, tier/latency) pair
    # A user price is taken as given, whatever the tier.
    flex = {SONNET_4: ModelPrice(input=1.5, output=7.5)}
    cost = estimate_cost(SONNET_4, usage(1_000, 500), service_tier="flex", prices=flex)
    assert cost is not None and cost["total"] == pytest.approx(0.0015 + 0.00375)


# --- overrides ----------------------------------------------------------------------------


def test_register_price_for_an_unknown_model_and_unregister() -> None:
    register_price("acme.model-v1:0", ModelPrice(input=1.0, output=2.0))
    cost = estimate_cost("us.acme.model-v1:0", usage(1_000_000, 1_000_000))
    assert cost is not None
    assert cost["source"] == "user"
    assert cost["model"] == "acme.model"
    assert cost["total"] == pytest.approx(3.0)
    unregister_price("acme.model-v1:0")
    assert estimate_cost("us.acme.model-v1:0", usage(1, 1)) is None


def test_registered_price_wins_over_genai_prices_and_longest_prefix_wins() -> None:
    register_price("anthropic.claude-sonnet-4", ModelPrice(input=1.0, output=1.0))
    register_price("anthropic.claude-sonnet-4-5", ModelPrice(input=2.0, output=2.0))
    four = estimate_cost(SONNET_4, usage(1_000_000, 0))
    four_five = estimate_cost(SONNET_45_US, usage(1_000_000, 0))
    assert four is not None and four_five is not None
    assert (four["source"], four["model"], four["total"]) == (
        "user",
        "anthropic.claude-sonnet-4",
        pytest.approx(1.0),
    )
    assert (four_five["model"], four_five["total"]) == (
        "anthropic.claude-sonnet-4-5",
        pytest.approx(2.0),
    )


def test_scoped_registration_only_matches_that_profile() -> None:
    register_price("global.anthropic.claude-sonnet-4-5", ModelPrice(input=1.0, output=1.0))
    global_cost = estimate_cost(SONNET_45_GLOBAL, usage(1_000_000, 0))
    us_cost = estimate_cost(SONNET_45_US, usage(1_000_000, 0))
    assert global_cost is not None and global_cost["total"] == pytest.approx(1.0)
    assert us_cost is not None and us_cost["total"] == pytest.approx(3.3)


def test_register_price_for_an_application_inference_profile_arn() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
    register_price(arn, ModelPrice(**SONNET_4_PRICE))
    cost = estimate_cost(arn, usage(1_000, 500))
    assert cost is not None and cost["total"] == pytest.approx(0.0105)


def test_prices_argument_wins_over_registered_prices() -> None:
    register_price(SONNET_4, ModelPrice(input=1.0, output=1.0))
    cost = estimate_cost(
        SONNET_4, usage(1_000_000, 0), prices={"anthropic.claude": ModelPrice(5.0, 5.0)}
    )
    assert cost is not None and cost["total"] == pytest.approx(5.0)
    cost = estimate_cost(SONNET_4, usage(1_000_000, 0), prices={"acme.": ModelPrice(5.0, 5.0)})
    assert cost is not None and cost["total"] == pytest.approx(1.0)


def test_user_cache_prices_and_fallbacks() -> None:
    price = ModelPrice(input=2.0, output=4.0, cache_read=0.5)
    cost = estimate_cost(
        "acme.x",
        usage(4_000_000, 0, cache_read=1_000_000, cache_creation=1_000_000),
        prices={"acme.x": price},
    )
    assert cost is not None
    assert cost["input"] == pytest.approx(4.0)  # 2M uncached at $2
    assert cost["cache_read"] == pytest.approx(0.5)
    assert cost["cache_write"] == pytest.approx(2.0)  # no cache_write price: billed as input
    with pytest.raises(TypeError):
        register_price("acme.x", {"input": 1.0})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ModelPrice(input=-1.0, output=1.0)
    with pytest.raises(ValueError):
        ModelPrice(input=1.0, output=float("nan"))


# --- speed and no network -----------------------------------------------------------------


def test_resolution_is_cached() -> None:
    estimate_cost(SONNET_4, usage(1, 1))
    before = pricing._resolve.cache_info().hits
    for _ in range(10):
        estimate_cost(SONNET_4, usage(1, 1))
    assert pricing._resolve.cache_info().hits == before + 10


def test_no_network_and_bundled_data_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    pricing._genai_bundled.cache_clear()
    assert estimate_cost(SONNET_4, usage(1_000, 500)) is not None
    genai = pricing._genai()
    assert genai is not None
    assert any(p is genai.aws for p in genai_providers)  # the bundled data itself
    assert genai.source == f"genai-prices {genai.version}"


def test_updated_genai_snapshot_is_used_only_after_opting_in() -> None:
    changed = copy.deepcopy(genai_providers)
    aws = next(p for p in changed if p.id == "aws")
    model = next(m for m in aws.models if m.is_match(SONNET_4))
    model.prices = GenaiModelPrice(input_mtok=Decimal(1), output_mtok=Decimal(1))
    set_custom_snapshot(DataSnapshot(providers=changed, from_auto_update=True))

    cost = estimate_cost(SONNET_4, usage(1_000_000, 0))
    assert cost is not None and cost["total"] == pytest.approx(3.0)  # bundled data

    use_genai_prices_updates(True)
    cost = estimate_cost(SONNET_4, usage(1_000_000, 0))
    assert cost is not None and cost["total"] == pytest.approx(1.0)
    assert "updated" in cost["source"]

    use_genai_prices_updates(False)
    cost = estimate_cost(SONNET_4, usage(1_000_000, 0))
    assert cost is not None and cost["total"] == pytest.approx(3.0)


def test_odd_usage_values_do_not_raise() -> None:
    cost = estimate_cost(SONNET_4, {"input_tokens": None, "output_tokens": "12"})
    assert cost is not None and cost["total"] == pytest.approx(12 * 15.0 / 1e6)
    # More cache tokens than input tokens: uncached input is never negative.
    cost = estimate_cost(SONNET_4, usage(10, 0, cache_read=50))
    assert cost is not None and cost["input"] == 0


# --- Bedrock's own usage shape ----------------------------------------------------------------


def test_bedrock_usage_shape_is_priced_like_the_langchain_one() -> None:
    # Bedrock's inputTokens leaves out cache reads and writes; hand-computed at list prices.
    bedrock_usage = {
        "inputTokens": 2_000,
        "outputTokens": 1_000,
        "totalTokens": 11_000,
        "cacheReadInputTokens": 6_000,
        "cacheWriteInputTokens": 2_000,
    }
    cost = estimate_cost(SONNET_4, bedrock_usage)
    assert cost is not None
    assert cost["input"] == pytest.approx(2_000 * 3.0 / 1e6)
    assert cost["output"] == pytest.approx(1_000 * 15.0 / 1e6)
    assert cost["cache_read"] == pytest.approx(6_000 * 0.30 / 1e6)
    assert cost["cache_write"] == pytest.approx(2_000 * 3.75 / 1e6)
    assert cost["total"] == pytest.approx(0.006 + 0.015 + 0.0018 + 0.0075)


def test_bedrock_usage_cache_details_split_writes_by_ttl() -> None:
    one_hour = {
        "inputTokens": 0,
        "outputTokens": 0,
        "totalTokens": 1_000_000,
        "cacheWriteInputTokens": 1_000_000,
        "cacheDetails": [{"ttl": "1h", "inputTokens": 1_000_000}],
    }
    five_minutes = {**one_hour, "cacheDetails": [{"ttl": "5m", "inputTokens": 1_000_000}]}
    long_cost = estimate_cost(SONNET_4, one_hour)
    short_cost = estimate_cost(SONNET_4, five_minutes)
    assert long_cost is not None and short_cost is not None
    assert short_cost["cache_write"] == pytest.approx(3.75)
    # Anthropic's rule: a 1-hour write costs twice the base input price.
    assert long_cost["cache_write"] == pytest.approx(6.0)


@pytest.mark.parametrize(
    "shape",
    [{}, {"prompt_tokens": 10, "completion_tokens": 5}, {"total_tokens": 15}],
)
def test_unknown_usage_shape_raises_instead_of_costing_nothing(shape: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="unknown usage shape") as caught:
        estimate_cost(SONNET_4, shape)
    for key in shape:
        assert key in str(caught.value)


def test_usage_that_is_not_a_mapping_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="mapping"):
        estimate_cost(SONNET_4, [("inputTokens", 1)])  # type: ignore[arg-type]
