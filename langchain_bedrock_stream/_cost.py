"""From token usage and rates to dollars: the arithmetic of ``pricing.estimate_cost``.

Which price applies to a model (user prices, genai-prices, ``prices.json``, models.dev) is
``pricing``'s business; here are the two usage shapes read as one, the split of input tokens
into uncached, cache reads and 5-minute and 1-hour cache writes, and what each costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

__all__ = ["Costs", "Rates", "Tokens", "genai_rates", "usage_counts"]

_MTOK = 1_000_000.0
_E1H = "ephemeral_1h_input_tokens"
_E5M = "ephemeral_5m_input_tokens"


class Rates(NamedTuple):
    """USD per million tokens of each kind; ``None`` where the price names none."""

    input: float | None
    output: float | None
    cache_read: float | None
    cache_write: float | None
    cache_write_1h: float | None


def genai_rates(model: Any, input_tokens: int, tier: str | None) -> Rates | None:
    """The rates of a genai-prices model now, at ``input_tokens`` (tiered prices), for
    ``tier`` (``None`` when genai-prices lists no price for that tier)."""
    now = datetime.now(UTC)
    if tier is not None:
        context = {"service_tier": tier}
        if not any(v.when == context for v in getattr(model, "price_variants", None) or ()):
            return None
        model_price = model.get_prices(now, context)
    else:
        model_price = model.get_prices(now)

    def rate(key: str) -> float | None:
        value = getattr(model_price, key, None)
        if value is None:
            return None
        tiers = getattr(value, "tiers", None)
        if tiers is not None:  # TieredPrices: the highest tier whose start is exceeded
            chosen = value.base
            for step in sorted(tiers, key=lambda t: t.start):
                if input_tokens > step.start:
                    chosen = step.price
            return float(chosen)
        return float(value)

    write_5m = rate("cache_write_mtok")
    return Rates(
        rate("input_mtok"),
        rate("output_mtok"),
        rate("cache_read_mtok"),
        write_5m if write_5m is not None else rate("cache_write_5m_mtok"),
        rate("cache_write_1h_mtok"),
    )


def _count(value: Any) -> int:
    try:
        return max(int(value or 0), 0)
    except (TypeError, ValueError):
        return 0


_LANGCHAIN_KEYS = ("input_tokens", "output_tokens")
_BEDROCK_KEYS = ("inputTokens", "outputTokens")


def usage_counts(usage: Mapping[str, Any]) -> dict[str, Any]:
    """Token counts in LangChain's ``UsageMetadata`` shape, from either usage shape.

    Accepts LangChain's ``UsageMetadata`` (``input_tokens`` includes cache reads and writes)
    as is, and Bedrock's own ``usage`` (``inputTokens`` excludes them; ``cacheReadInputTokens``,
    ``cacheWriteInputTokens``, ``cacheDetails`` split by TTL), which is what Converse, the
    accumulator and ``BedrockStream.usage`` give. Any other shape is a ``ValueError``: a cost
    read from the wrong keys would be a silent $0.00.
    """
    if not isinstance(usage, Mapping):
        raise TypeError(f"usage must be a mapping, not {type(usage).__name__}")
    if any(key in usage for key in _LANGCHAIN_KEYS):
        return dict(usage)
    if not any(key in usage for key in _BEDROCK_KEYS):
        raise ValueError(
            "unknown usage shape: expected Bedrock's usage (inputTokens, outputTokens, "
            "cacheReadInputTokens, ...) or LangChain's UsageMetadata (input_tokens, "
            f"output_tokens, ...), got the keys {sorted(map(str, usage))}"
        )
    uncached = _count(usage.get("inputTokens"))
    cache_read = _count(usage.get("cacheReadInputTokens"))
    cache_write = _count(usage.get("cacheWriteInputTokens"))
    output = _count(usage.get("outputTokens"))
    details: dict[str, int] = {"cache_read": cache_read, "cache_creation": cache_write}
    for entry in usage.get("cacheDetails") or ():
        ttl = entry.get("ttl") if isinstance(entry, Mapping) else None
        if ttl in ("5m", "1h"):
            key = f"ephemeral_{ttl}_input_tokens"
            details[key] = details.get(key, 0) + _count(entry.get("inputTokens"))
    total_in = uncached + cache_read + cache_write
    return {
        "input_tokens": total_in,
        "output_tokens": output,
        "total_tokens": _count(usage.get("totalTokens")) or total_in + output,
        "input_token_details": details,
    }


class Costs(NamedTuple):
    """USD by kind of token."""

    input: float
    output: float
    cache_read: float
    cache_write: float


class Tokens(NamedTuple):
    """An answer's tokens by how they are billed."""

    input: int
    """All input tokens, cache reads and writes included (what tiered prices go by)."""
    uncached: int
    output: int
    cache_read: int
    cache_write_5m: int
    cache_write_1h: int

    @classmethod
    def of(cls, usage: Mapping[str, Any]) -> Tokens:
        """From LangChain's ``UsageMetadata`` shape (see ``usage_counts``)."""
        details = usage.get("input_token_details") or {}
        input_tokens = _count(usage.get("input_tokens"))
        cache_read = _count(details.get("cache_read"))
        # The TTL split may sit in input_token_details (as LangChain integrations put it) or
        # at top.
        write_1h = _count(details.get(_E1H, usage.get(_E1H)))
        write_5m = _count(details.get(_E5M, usage.get(_E5M)))
        cache_write = max(_count(details.get("cache_creation")), write_5m + write_1h)
        write_1h = min(write_1h, cache_write)
        return cls(
            input=input_tokens,
            uncached=max(input_tokens - cache_read - cache_write, 0),
            output=_count(usage.get("output_tokens")),
            cache_read=cache_read,
            cache_write_5m=cache_write - write_1h,
            cache_write_1h=write_1h,
        )

    def priced(self, rates: Rates) -> Costs | None:
        """What these tokens cost at ``rates`` (cache reads and writes without a rate of
        their own at the input rate); ``None`` when tokens of some kind have no rate."""
        read_rate = rates.cache_read if rates.cache_read is not None else rates.input
        write_rate = rates.cache_write if rates.cache_write is not None else rates.input
        needed = (
            (rates.input, self.uncached),
            (rates.output, self.output),
            (read_rate, self.cache_read),
            (write_rate, self.cache_write_5m),
            (rates.cache_write_1h, self.cache_write_1h),
        )
        if any(rate is None and tokens > 0 for rate, tokens in needed):
            return None
        write = _cost(write_rate, self.cache_write_5m) + _cost(
            rates.cache_write_1h, self.cache_write_1h
        )
        return Costs(
            _cost(rates.input, self.uncached),
            _cost(rates.output, self.output),
            _cost(read_rate, self.cache_read),
            write,
        )


def _cost(rate: float | None, tokens: int) -> float:
    return (rate or 0.0) * tokens / _MTOK
