"""Token and cost totals per model across LangChain runs.

```python
from langchain_bedrock_stream.usage import get_bedrock_usage_callback

with get_bedrock_usage_callback() as cb:
    agent.invoke({"messages": [("user", "Hello")]})
print(cb.summary())
```

Every chat model run started inside the ``with`` block is counted, in threads that LangChain
starts (``batch``) and in async code, without passing callbacks. A handler can also be passed
explicitly: ``model.invoke(..., config={"callbacks": [BedrockUsageCallbackHandler()]})``.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import ChatGeneration, LLMResult
from langchain_core.tracers.context import register_configure_hook

from langchain_bedrock_stream.pricing import ModelPrice, estimate_cost

__all__ = ["BedrockUsageCallbackHandler", "ModelUsage", "get_bedrock_usage_callback"]

_UNKNOWN_MODEL = "unknown"


def _zero_usage() -> UsageMetadata:
    return UsageMetadata(input_tokens=0, output_tokens=0, total_tokens=0)


@dataclass
class ModelUsage:
    """Totals for one model: calls, LangChain usage and cost in USD."""

    model: str
    calls: int = 0
    priced_calls: int = 0
    usage_metadata: UsageMetadata = field(default_factory=_zero_usage)
    input_cost: float = 0.0
    output_cost: float = 0.0
    cache_read_cost: float = 0.0
    cache_write_cost: float = 0.0
    total_cost: float = 0.0
    sources: set[str] = field(default_factory=set)

    @property
    def unpriced_calls(self) -> int:
        """Calls whose cost is unknown (not included in the cost totals)."""
        return self.calls - self.priced_calls

    def _add(self, usage: UsageMetadata | None, cost: Mapping[str, Any] | None) -> None:
        self.calls += 1
        if usage:
            self.usage_metadata = add_usage(self.usage_metadata, usage)
        if cost is not None:
            self.priced_calls += 1
            self.input_cost += float(cost.get("input") or 0.0)
            self.output_cost += float(cost.get("output") or 0.0)
            self.cache_read_cost += float(cost.get("cache_read") or 0.0)
            self.cache_write_cost += float(cost.get("cache_write") or 0.0)
            self.total_cost += float(cost.get("total") or 0.0)
            if source := cost.get("source"):
                self.sources.add(str(source))

    def _merge(self, other: ModelUsage) -> None:
        self.calls += other.calls
        self.priced_calls += other.priced_calls
        self.usage_metadata = add_usage(self.usage_metadata, other.usage_metadata)
        self.input_cost += other.input_cost
        self.output_cost += other.output_cost
        self.cache_read_cost += other.cache_read_cost
        self.cache_write_cost += other.cache_write_cost
        self.total_cost += other.total_cost
        self.sources |= other.sources


def _get(mapping: Any, *keys: str) -> Any:
    """First present key of a mapping (camelCase and snake_case spellings)."""
    if not isinstance(mapping, Mapping):
        return None
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def _invoked_model(meta: Mapping[str, Any]) -> str | None:
    router = _get(_get(meta, "trace"), "promptRouter", "prompt_router")
    invoked = _get(router, "invokedModelId", "invoked_model_id")
    return str(invoked) if invoked else None


def _service_tier(meta: Mapping[str, Any]) -> str | None:
    tier = _get(meta, "serviceTier", "service_tier")
    if isinstance(tier, Mapping):
        tier = tier.get("type")
    return str(tier) if tier else None


def _latency(meta: Mapping[str, Any]) -> str | None:
    latency = _get(_get(meta, "performanceConfig", "performance_config"), "latency")
    return str(latency) if latency else None


class BedrockUsageCallbackHandler(BaseCallbackHandler):
    """Sums tokens and cost per model over every chat model answer it sees.

    The model is ``response_metadata["model_name"]`` (or ``"model_id"``); for a prompt router,
    the model it invoked (``trace.promptRouter.invokedModelId``). The cost is
    ``response_metadata["cost"]`` when the chat model computed it, else
    :func:`~langchain_bedrock_stream.pricing.estimate_cost`. Answers with an unknown price count
    in :attr:`unpriced_calls`, and their tokens still count. Safe to share between threads and
    event loops; a streamed answer counts once, when it ends.
    """

    def __init__(self, *, prices: Mapping[str, ModelPrice] | None = None) -> None:
        """Create an empty handler; ``prices`` override every other price for its answers."""
        super().__init__()
        self._lock = threading.Lock()
        self._models: dict[str, ModelUsage] = {}
        self._prices = dict(prices) if prices else None

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Add the usage and cost of every chat generation in ``response``."""
        records: list[tuple[str, UsageMetadata | None, Mapping[str, Any] | None]] = []
        for generations in response.generations:
            for generation in generations:
                if not isinstance(generation, ChatGeneration):
                    continue
                message = generation.message
                if not isinstance(message, AIMessage):
                    continue
                records.append(self._record(message))
        records = [r for r in records if r[1] or r[2] is not None]
        if not records:
            return
        with self._lock:
            for model, usage, cost in records:
                totals = self._models.get(model)
                if totals is None:
                    totals = self._models[model] = ModelUsage(model)
                totals._add(usage, cost)

    def _record(
        self, message: AIMessage
    ) -> tuple[str, UsageMetadata | None, Mapping[str, Any] | None]:
        meta = message.response_metadata or {}
        usage = message.usage_metadata
        model = _invoked_model(meta) or _get(meta, "model_name", "model_id", "model")
        model = str(model) if model else _UNKNOWN_MODEL
        given = meta.get("cost")
        cost: Mapping[str, Any] | None = None
        if self._prices is None and isinstance(given, Mapping) and "total" in given:
            cost = given
        elif usage and model != _UNKNOWN_MODEL:
            cost = estimate_cost(
                model,
                usage,
                prices=self._prices,
                service_tier=_service_tier(meta),
                latency=_latency(meta),
            )
        return model, usage, cost

    # --- totals ---------------------------------------------------------------------------

    @property
    def by_model(self) -> dict[str, ModelUsage]:
        """A copy of the totals per model id."""
        with self._lock:
            return copy.deepcopy(self._models)

    @property
    def usage_metadata(self) -> dict[str, UsageMetadata]:
        """LangChain usage per model id, as ``UsageMetadataCallbackHandler`` reports it."""
        with self._lock:
            return {k: copy.deepcopy(v.usage_metadata) for k, v in self._models.items()}

    def _sum(self, of: Callable[[ModelUsage], float]) -> Any:
        with self._lock:
            return sum(of(m) for m in self._models.values())

    @property
    def total_cost(self) -> float:
        """Cost in USD of every priced answer."""
        return self._sum(lambda m: m.total_cost)

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens of every answer."""
        return self._sum(lambda m: m.usage_metadata["total_tokens"])

    @property
    def input_tokens(self) -> int:
        """Input tokens of every answer, cache reads and writes included."""
        return self._sum(lambda m: m.usage_metadata["input_tokens"])

    @property
    def output_tokens(self) -> int:
        """Output tokens of every answer."""
        return self._sum(lambda m: m.usage_metadata["output_tokens"])

    @property
    def calls(self) -> int:
        """Number of answers counted."""
        return self._sum(lambda m: m.calls)

    @property
    def unpriced_calls(self) -> int:
        """Answers whose cost is unknown and missing from :attr:`total_cost`."""
        return self._sum(lambda m: m.unpriced_calls)

    def merge(self, *others: BedrockUsageCallbackHandler) -> None:
        """Add the totals of ``others`` to these (handlers from other threads, processes or
        workers: a handler pickles with its totals)."""
        for other in others:
            if other is self:
                raise ValueError("a handler cannot merge into itself")
            theirs = other.by_model
            with self._lock:
                for name, usage in theirs.items():
                    mine = self._models.get(name)
                    if mine is None:
                        mine = self._models[name] = ModelUsage(name)
                    mine._merge(usage)

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            state = dict(self.__dict__)
            state["_models"] = copy.deepcopy(self._models)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget every total."""
        with self._lock:
            self._models.clear()

    def summary(self) -> str:
        """Totals as a few readable lines, one per model."""
        models = self.by_model
        calls = sum(m.calls for m in models.values())
        tokens = sum(m.usage_metadata["total_tokens"] for m in models.values())
        cost = sum(m.total_cost for m in models.values())
        unpriced = sum(m.unpriced_calls for m in models.values())
        head = f"Bedrock usage: {calls} call{'s' * (calls != 1)}, {tokens:,} tokens, ${cost:.6f}"
        if unpriced:
            head += f" ({unpriced} call{'s' * (unpriced != 1)} without a known price)"
        lines = [head]
        for name, m in sorted(models.items()):
            usage = m.usage_metadata
            details = usage.get("input_token_details") or {}
            cache = ""
            if details.get("cache_read") or details.get("cache_creation"):
                cache = (
                    f" (cache read {details.get('cache_read', 0):,},"
                    f" cache write {details.get('cache_creation', 0):,})"
                )
            price = f"${m.total_cost:.6f}" if m.priced_calls else "cost unknown"
            if m.priced_calls and m.unpriced_calls:
                price += f" + {m.unpriced_calls} unpriced"
            source = f" [{', '.join(sorted(m.sources))}]" if m.sources else ""
            lines.append(
                f"  {name}: {m.calls} call{'s' * (m.calls != 1)},"
                f" in {usage['input_tokens']:,}{cache}, out {usage['output_tokens']:,},"
                f" {price}{source}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        """Short totals: calls, tokens and cost."""
        models = self.by_model
        return (
            f"{type(self).__name__}(calls={sum(m.calls for m in models.values())}, "
            f"total_tokens={sum(m.usage_metadata['total_tokens'] for m in models.values())}, "
            f"total_cost={sum(m.total_cost for m in models.values()):.6f}, "
            f"models={sorted(models)})"
        )


_handler_var: ContextVar[BedrockUsageCallbackHandler | None] = ContextVar(
    "bedrock_usage_callback", default=None
)
register_configure_hook(_handler_var, inheritable=True)


@contextmanager
def get_bedrock_usage_callback(
    *, prices: Mapping[str, ModelPrice] | None = None
) -> Iterator[BedrockUsageCallbackHandler]:
    """Count every LangChain chat model answer inside the ``with`` block.

    Yields a fresh :class:`BedrockUsageCallbackHandler`. Works in sync and async code and in
    threads LangChain starts; nested blocks count in the innermost handler only (plus any
    handler a run inherits from its parent run). ``prices`` as for :func:`estimate_cost`.
    """
    handler = BedrockUsageCallbackHandler(prices=prices)
    token = _handler_var.set(handler)
    try:
        yield handler
    finally:
        _handler_var.reset(token)
