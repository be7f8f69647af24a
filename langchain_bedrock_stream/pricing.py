"""Cost of a Bedrock answer from its token usage.

Prices come from four places, first match wins:

1. user prices: the ``prices=`` argument of :func:`estimate_cost`, then :func:`register_price`
   (which may name a service tier);
2. the genai-prices package's bundled data (provider ``aws``), which knows the regional premium
   of the newer Claude models (global profiles list price; ``us.``/``eu.``/... profiles and
   in-Region calls 10% more), Nova 2 Lite's global/geo split and the long-context tiers it lists;
3. ``data/prices.json`` in this package, for a few models genai-prices does not list;
4. models.dev's Bedrock prices (``data/models_dev.json``, with cache read and write prices
   where models.dev lists them, and an inference profile's own price where it lists one), for
   every other model models.dev prices.

genai-prices never fetches prices here: by default only its bundled data is read. Call
:func:`use_genai_prices_updates` to read its current snapshot instead, which is the fetched one
only if you run ``genai_prices.UpdatePrices`` yourself.

Not modelled (the cost is ``None`` rather than a guess): Bedrock service tiers other than the
default one (``flex``, ``priority``) unless a price for the tier is known: registered with
``register_price(..., service_tier=...)``, or in the data (genai-prices, prices.json and
models.dev list none for Bedrock today); latency
optimized inference, batch inference, provisioned throughput, custom and imported models,
application inference profiles and prompt routers addressed by ARN (register a price for the
ARN, or let the usage callback price the router's ``invokedModelId``). Per-AWS-Region price
differences beyond the global/geo split above are not modelled: prices are the US-Region list
prices. User prices apply to every tier and every profile of the ids they match.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypedDict

if TYPE_CHECKING:
    from ._accumulator import StreamResponse

from ._cost import Rates, Tokens, genai_rates, usage_counts
from .models import parse_model_id

__all__ = [
    "CostBreakdown",
    "ModelPrice",
    "PriceInfo",
    "estimate_cost",
    "lookup_price",
    "register_price",
    "unregister_price",
    "use_genai_prices_updates",
]

_TIERS = ("flex", "priority")

logger = logging.getLogger(__name__)

_PRICES_JSON = Path(__file__).parent / "data" / "prices.json"

#: Plain ids (``None``) and the ARN resource types that name a model; every other one
#: (application inference profile, provisioned, custom or imported model, prompt router)
#: hides the model.
_MODEL_ARN_TYPES = frozenset({None, "foundation-model", "inference-profile"})
_DEFAULT_TIERS = frozenset({"", "default", "standard", "on_demand", "on-demand"})


@dataclass(frozen=True)
class ModelPrice:
    """Prices of one model in USD per million tokens.

    A cache price left ``None`` bills those tokens at ``input`` (the 1-hour write price falls
    back to ``cache_write``).
    """

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    cache_write_1h: float | None = None

    def __post_init__(self) -> None:
        for name in ("input", "output", "cache_read", "cache_write", "cache_write_1h"):
            value = getattr(self, name)
            if value is not None and not (0 <= float(value) < float("inf")):
                raise ValueError(f"ModelPrice.{name} must be a finite price >= 0, not {value!r}")


class CostBreakdown(TypedDict):
    """Cost of one answer in USD, split by kind of token."""

    input: float
    output: float
    cache_read: float
    cache_write: float
    total: float
    currency: str
    source: str
    model: str


class PriceInfo(NamedTuple):
    """The price :func:`estimate_cost` would use for a model id."""

    model: str
    """Id of the price entry used: a genai-prices model id, a prices.json key or a user key."""
    source: str
    """``"user"``, ``"genai-prices <version>"`` or ``"prices.json <as-of date>"``."""
    price: ModelPrice
    """Base-tier prices (genai-prices lists higher long-context tiers for some models)."""


# --- model ids ----------------------------------------------------------------------------


class _ParsedId(NamedTuple):
    key: str  # lowercase id with ARN and routing prefixes removed; the ARN itself if opaque
    known: bool  # False for ARNs that hide the model
    scoped: str | None  # "us.anthropic.claude-sonnet-4-20250514": profile prefix, no version
    base: str | None  # "anthropic.claude-sonnet-4-20250514": no profile prefix, no version


@lru_cache(maxsize=2048)
def _parse(model_id: str) -> _ParsedId:
    """Price-lookup keys of ``model_id``, read from the one model-id parser. Custom and
    imported models, provisioned throughput and application profiles are billed their own
    way: opaque here even when their ARN names a base model."""
    text = model_id.strip().lower()
    parsed = parse_model_id(text)
    if parsed.arn_kind not in _MODEL_ARN_TYPES or parsed.name is None or parsed.base is None:
        return _ParsedId(text, False, None, None)
    key = f"{parsed.scope}.{parsed.base}" if parsed.scope else parsed.base
    scoped = f"{parsed.scope}.{parsed.name}" if parsed.scope else None
    return _ParsedId(key.lower(), True, scoped, parsed.name)


def normalize_model_id(model_id: str) -> str | None:
    """Bedrock model id without ARN, inference-profile prefix or version suffix.

    ``arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0``
    gives ``anthropic.claude-sonnet-4-20250514``. ``None`` when the id is an ARN that does not
    name its model (application inference profile, provisioned or custom model, prompt router).
    """
    return _parse(model_id).base


def _key_for(model: str) -> str:
    parsed = _parse(model)
    if not parsed.known:
        return parsed.key
    return parsed.scoped or parsed.base or parsed.key


# --- price sources ------------------------------------------------------------------------


class _Resolved(NamedTuple):
    model: str
    source: str
    price: ModelPrice | None  # flat prices (user, prices.json, models.dev)
    genai_model: Any  # genai_prices.types.ModelInfo when the price comes from genai-prices
    tiers: Mapping[str, ModelPrice] = {}
    """Prices of non-default service tiers, where the source lists them."""


_registry_lock = threading.Lock()
_registry: dict[str, ModelPrice] = {}
_tier_registry: dict[str, dict[str, ModelPrice]] = {}
_registry_version = 0  # part of the resolution cache key, so a change is never missed
_warn_lock = threading.Lock()
_warned: set[str] = set()
_genai_live = False


def _tier_name(service_tier: str | None) -> str | None:
    tier = (service_tier or "").strip().lower()
    return None if tier in _DEFAULT_TIERS else tier


def register_price(model: str, price: ModelPrice, *, service_tier: str | None = None) -> None:
    """Add or override the price of a model for the whole process.

    ``model`` is matched after normalisation, exactly or as a prefix (the longest registered
    prefix wins): ``"anthropic.claude-sonnet-4"`` covers every Sonnet 4.x id and every profile,
    ``"global.anthropic.claude-sonnet-4-5"`` only the global profile. An application inference
    profile ARN is matched as given. Registered prices win over every packaged source.
    Without ``service_tier`` the price applies to every tier that has no price of its own;
    with ``service_tier="flex"`` (or ``"priority"``, ...) only to answers of that tier.
    """
    if not isinstance(price, ModelPrice):
        raise TypeError(f"price must be a ModelPrice, not {type(price).__name__}")
    global _registry_version
    tier = _tier_name(service_tier)
    with _registry_lock:
        if tier is None:
            _registry[_key_for(model)] = price
        else:
            _tier_registry.setdefault(tier, {})[_key_for(model)] = price
        _registry_version += 1
    _resolve.cache_clear()


def unregister_price(model: str, *, service_tier: str | None = None) -> None:
    """Remove a price added with :func:`register_price` (no error if there is none)."""
    global _registry_version
    tier = _tier_name(service_tier)
    with _registry_lock:
        if tier is None:
            _registry.pop(_key_for(model), None)
        else:
            _tier_registry.get(tier, {}).pop(_key_for(model), None)
        _registry_version += 1
    _resolve.cache_clear()


def use_genai_prices_updates(enabled: bool = True) -> None:
    """Read genai-prices' current snapshot instead of its bundled data.

    The current snapshot differs from the bundled one only while you run
    ``genai_prices.UpdatePrices``; this package never starts it and never fetches prices.
    """
    global _genai_live
    _genai_live = enabled
    _resolve.cache_clear()


def _match_user(
    parsed: _ParsedId, table: Mapping[str, ModelPrice]
) -> tuple[str, ModelPrice] | None:
    if not table:
        return None
    candidates = [c for c in (parsed.scoped, parsed.base) if c] if parsed.known else [parsed.key]
    for candidate in candidates:
        if candidate in table:
            return candidate, table[candidate]
    for candidate in candidates:
        best = max((k for k in table if candidate.startswith(k)), key=len, default=None)
        if best is not None:
            return best, table[best]
    return None


@lru_cache(maxsize=1)
def _prices_json() -> dict[str, tuple[ModelPrice, str]]:
    try:
        raw = json.loads(_PRICES_JSON.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        logger.warning("Could not read %s; its prices are not used", _PRICES_JSON, exc_info=True)
        return {}
    table: dict[str, tuple[ModelPrice, str]] = {}
    for key, entry in raw.get("models", {}).items():
        price = _price_of(entry)
        table[key] = (price, f"prices.json {entry.get('as_of', raw.get('as_of', ''))}".strip())
    return table


def _price_of(entry: Mapping[str, Any]) -> ModelPrice:
    return ModelPrice(
        input=float(entry["input"]),
        output=float(entry["output"]),
        cache_read=_opt_float(entry.get("cache_read")),
        cache_write=_opt_float(entry.get("cache_write")),
        cache_write_1h=_opt_float(entry.get("cache_write_1h")),
    )


class _Listed(NamedTuple):
    price: ModelPrice
    source: str
    tiers: dict[str, ModelPrice]


@lru_cache(maxsize=1)
def _models_dev() -> dict[str, _Listed]:
    """models.dev's Bedrock prices by id as listed (lowercase), by profile prefix + name and
    by name; an id without a profile prefix is preferred for the name keys."""
    from .models import models_dev_prices, models_dev_source

    source = f"models.dev ({models_dev_source()})"
    table: dict[str, _Listed] = {}
    listed = models_dev_prices()
    for model_id in sorted(listed, key=lambda i: (parse_model_id(i).scope is not None, i)):
        cost = listed[model_id]
        tiers = {
            tier: _price_of(cost[tier])
            for tier in _TIERS
            if isinstance(cost.get(tier), Mapping) and {"input", "output"} <= set(cost[tier])
        }
        entry = _Listed(_price_of(cost), source, tiers)
        parsed = _parse(model_id)
        for key in (parsed.key, parsed.scoped, parsed.base):
            if key and key not in table:
                table[key] = entry
    return table


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


class _Genai(NamedTuple):
    aws: Any  # genai_prices.types.Provider for Amazon Bedrock
    version: str
    source: str


@lru_cache(maxsize=1)
def _genai_bundled() -> _Genai | None:
    # The bundled data module only: importing it reads no file and opens no connection.
    try:
        import genai_prices
        from genai_prices.data import providers
    except Exception:  # pragma: no cover - the dependency is declared; be safe anyway
        logger.warning("genai-prices is unavailable; using prices.json only", exc_info=True)
        return None
    return _genai_from(providers, genai_prices.__version__, None)


def _genai_from(providers: Any, version: str, updated: datetime | None) -> _Genai | None:
    aws = next((p for p in providers if getattr(p, "id", None) == "aws"), None)
    if aws is None:
        return None
    source = f"genai-prices {version}"
    if updated is not None:
        source += f" (updated {updated:%Y-%m-%d})"
    return _Genai(aws, version, source)


def _genai() -> _Genai | None:
    bundled = _genai_bundled()
    if bundled is None or not _genai_live:
        return bundled
    from genai_prices.data_snapshot import get_snapshot

    snapshot = get_snapshot()
    updated = snapshot.timestamp if getattr(snapshot, "from_auto_update", False) else None
    return _genai_from(snapshot.providers, bundled.version, updated)


def _genai_lookup(genai: _Genai, ref: str) -> Any:
    try:
        return genai.aws.find_model(ref)
    except (LookupError, ValueError):
        return None


@lru_cache(maxsize=2048)
def _resolve(model_id: str, snapshot_id: int, version: int) -> _Resolved | None:
    # snapshot_id and version only key the cache: a new genai-prices snapshot or a registry
    # change resolves afresh.
    del snapshot_id, version
    parsed = _parse(model_id)
    with _registry_lock:
        registered = dict(_registry)
    if match := _match_user(parsed, registered):
        return _Resolved(match[0], "user", match[1], None)
    if not parsed.known:
        return None
    genai = _genai()
    if genai is not None and (model := _genai_lookup(genai, parsed.key)) is not None:
        return _Resolved(str(model.id), genai.source, None, model)
    table = _prices_json()
    for candidate in (parsed.scoped, parsed.base):
        if candidate and candidate in table:
            price, source = table[candidate]
            return _Resolved(candidate, source, price, None)
    listed = _models_dev()
    unscoped = parsed.key.split(".", 1)[1] if parsed.scoped else None
    for candidate in (parsed.key, parsed.scoped, unscoped, parsed.base):
        if candidate and candidate in listed:
            entry = listed[candidate]
            return _Resolved(candidate, entry.source, entry.price, None, entry.tiers)
    return None


def _tier_price(model_id: str, tier: str | None) -> _Resolved | None:
    """A price registered for ``tier`` that matches ``model_id``."""
    if tier is None:
        return None
    with _registry_lock:
        table = dict(_tier_registry.get(tier, {}))
    match = _match_user(_parse(model_id), table)
    return _Resolved(match[0], "user", match[1], None) if match else None


def _resolve_with(model_id: str, prices: Mapping[str, ModelPrice] | None) -> _Resolved | None:
    if prices:
        table = {_key_for(k): v for k, v in prices.items()}
        if match := _match_user(_parse(model_id), table):
            return _Resolved(match[0], "user", match[1], None)
    genai = _genai() if _genai_live else None
    return _resolve(model_id, id(genai.aws) if genai is not None else 0, _registry_version)


# --- rates --------------------------------------------------------------------------------


def _rates(resolved: _Resolved, input_tokens: int, tier: str | None) -> Rates | None:
    """Rates in force; ``None`` for a non-default ``tier`` whose price is not known."""
    if resolved.price is not None:
        p = resolved.price
        if tier is not None and resolved.source != "user":
            if tier not in resolved.tiers:
                return None
            p = resolved.tiers[tier]
        return Rates(p.input, p.output, p.cache_read, p.cache_write, p.cache_write_1h)
    return genai_rates(resolved.genai_model, input_tokens, tier)


def lookup_price(
    model_id: str, *, prices: Mapping[str, ModelPrice] | None = None
) -> PriceInfo | None:
    """The price entry :func:`estimate_cost` uses for ``model_id``, or ``None`` if unknown."""
    resolved = _resolve_with(model_id, prices)
    if resolved is None:
        return None
    rates = _rates(resolved, 0, None)
    if rates is None or rates.input is None:
        return None
    price = ModelPrice(
        input=rates.input,
        output=rates.output if rates.output is not None else 0.0,
        cache_read=rates.cache_read,
        cache_write=rates.cache_write,
        cache_write_1h=rates.cache_write_1h,
    )
    return PriceInfo(resolved.model, resolved.source, price)


# --- cost ---------------------------------------------------------------------------------


def _warn_once(key: str, message: str, *args: Any) -> None:
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(message, *args)


def estimate_cost(
    model_id: str,
    usage: Mapping[str, Any],
    *,
    prices: Mapping[str, ModelPrice] | None = None,
    service_tier: str | None = None,
    latency: str | None = None,
) -> CostBreakdown | None:
    """Cost in USD of one answer from its usage: Bedrock's or LangChain's.

    ``usage`` is Bedrock's ``usage`` (camelCase, as Converse, ``StreamResponse.usage`` and
    ``BedrockStream.usage`` give it) or LangChain's ``UsageMetadata``, whose ``input_tokens``
    includes cache reads and writes (``input_token_details.cache_read`` / ``cache_creation``;
    1-hour writes in ``ephemeral_1h_input_tokens``); any other shape raises ``ValueError``
    (see :func:`usage_counts`). ``prices`` maps model ids or prefixes to prices that win
    over every other source for this call. ``service_tier`` (``"flex"``, ``"priority"``...) and
    ``latency`` (``"optimized"``) other than the default are priced only by user prices.

    Returns ``None``, with one logged warning per model id, when no price is known.
    """
    usage = usage_counts(usage)
    tier_key = _tier_name(service_tier)
    resolved = _tier_price(model_id, tier_key) or _resolve_with(model_id, prices)
    parsed = _parse(model_id)
    if resolved is None:
        if parsed.known:
            _warn_once(
                model_id,
                "No price known for Bedrock model %r; its cost is not estimated. "
                "Add one with langchain_bedrock_stream.pricing.register_price().",
                model_id,
            )
        else:
            _warn_once(
                model_id,
                "The ARN %r does not name its model, so its cost is not estimated. "
                "Register a price for this ARN with register_price().",
                model_id,
            )
        return None

    if resolved.source == "user":
        tier_key = None  # a user price applies to the tier it was registered for, or to all
    user = resolved.source == "user"
    if not user and latency is not None and latency.strip().lower() == "optimized":
        _warn_once(
            f"{model_id}\0latency",
            "Latency-optimized prices are not known for %r; its cost is not estimated.",
            model_id,
        )
        return None

    tokens = Tokens.of(usage)
    rates = _rates(resolved, tokens.input, tier_key)
    if rates is None:
        _warn_once(
            f"{model_id}\0tier\0{tier_key}",
            "No %r service tier price known for %r; its cost is not estimated.",
            tier_key,
            model_id,
        )
        return None

    write_1h_rate = rates.cache_write_1h
    if write_1h_rate is None:
        if resolved.price is not None:
            write_1h_rate = rates.cache_write if rates.cache_write is not None else rates.input
        elif rates.input is not None and "anthropic." in f"{resolved.model} {parsed.key}":
            # Anthropic's published rule: a 1-hour cache write costs twice the base input price.
            write_1h_rate = 2 * rates.input
    costs = tokens.priced(rates._replace(cache_write_1h=write_1h_rate))
    if costs is None:
        _warn_once(
            f"{model_id}\0partial",
            "The price of %r lacks a rate for some of its tokens; its cost is not estimated.",
            model_id,
        )
        return None
    return CostBreakdown(
        input=costs.input,
        output=costs.output,
        cache_read=costs.cache_read,
        cache_write=costs.cache_write,
        total=sum(costs),
        currency="USD",
        source=resolved.source,
        model=resolved.model,
    )


def response_cost(model_id: str | None, response: StreamResponse) -> CostBreakdown | None:
    """Cost of one answer, priced as ``ChatBedrockStream`` and ``BedrockStream`` price it.

    Bedrock's usage of ``response``; a prompt router's answer at the model it routed to
    (``trace.promptRouter.invokedModelId``); the answer's service tier and latency mode.
    ``None`` without usage or model, or when no price is known (see :func:`estimate_cost`).
    """

    def member(value: Any, key: str) -> Any:
        return value.get(key) if isinstance(value, Mapping) else None

    routed = member(member(response.trace, "promptRouter"), "invokedModelId")
    model = routed if isinstance(routed, str) and routed else model_id
    if response.usage is None or not model:
        return None
    tier = member(response.service_tier, "type")
    latency = member(response.performance_config, "latency")
    return estimate_cost(
        model,
        response.usage,
        service_tier=tier if isinstance(tier, str) else None,
        latency=latency if isinstance(latency, str) else None,
    )
