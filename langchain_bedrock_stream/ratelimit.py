"""Rate limiters that keep many callers inside Bedrock's per-account quotas.

Bedrock limits requests and tokens per minute, per model and Region, for the whole account.
Callers that each retry on their own when throttled only add to the pressure; these limiters
pace every call from one token bucket instead, and slow that bucket down when Bedrock
throttles.

- :class:`TokenBucket`: the pure logic (time is passed in, no I/O), unit-tested on its own.
- :class:`LocalRateLimiter`: one bucket for the threads and tasks of one process.
- :class:`RayRateLimiter`: one bucket for every worker of a Ray cluster, held by a named
  Ray actor (Ray is imported only when it is used).
- :class:`RateLimitFeedback`: the callback handler that tells a limiter what each finished
  call cost in tokens and when Bedrock throttled; it also sums usage and cost.

Both limiters are LangChain ``BaseRateLimiter`` s::

    limiter = LocalRateLimiter(RateLimits(requests_per_minute=120, tokens_per_minute=200_000))
    model = ChatBedrockStream(
        model="us.amazon.nova-micro-v1:0",
        rate_limiter=limiter,
        callbacks=[limiter.feedback()],
    )

The model's own retries take their turn from the bucket too (``RetryPolicy.rate_limiter``),
and each retried throttle is reported to it. Without the feedback handler only requests per
minute are limited (plus ``tokens_per_request`` as an estimate), and only retried throttles
slow the bucket down.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.exceptions import ModelRateLimitError
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, Generation, LLMResult
from langchain_core.rate_limiters import BaseRateLimiter

from .usage import BedrockUsageCallbackHandler

__all__ = [
    "BucketRateLimiter",
    "LocalRateLimiter",
    "RateLimitFeedback",
    "RateLimits",
    "RayRateLimiter",
]

logger = logging.getLogger(__name__)

DEFAULT_ACTOR_NAME = "langchain-bedrock-stream-rate-limiter"
DEFAULT_NAMESPACE = "langchain_bedrock_stream"
_MIN_WAIT = 0.001


@dataclass(frozen=True)
class RateLimits:
    """What a bucket allows, and how it reacts to throttling.

    ``request_burst`` and ``token_burst`` are how much may go at once after a quiet spell
    (default: one second's worth, at least one request). ``tokens_per_request`` is reserved
    when a request starts and corrected when its usage is reported, so the token limit acts
    before answers come back (0: only reported usage counts); a call that fails keeps it.
    A throttle multiplies the speed by ``slowdown`` (down to ``min_speed``); throttles within
    ``settle`` seconds of a slowdown answer requests sent before it and count once. After
    ``cooldown`` seconds without a slowdown the speed steps back up by the same factor, until
    it is full again.
    """

    requests_per_minute: float
    tokens_per_minute: float | None = None
    request_burst: float | None = None
    token_burst: float | None = None
    tokens_per_request: int = 0
    slowdown: float = 0.5
    min_speed: float = 1 / 16
    settle: float = 2.0
    cooldown: float = 30.0

    def __post_init__(self) -> None:
        if not self.requests_per_minute > 0:
            raise ValueError(f"requests_per_minute must be > 0, not {self.requests_per_minute}")
        if self.tokens_per_minute is not None and not self.tokens_per_minute > 0:
            raise ValueError(f"tokens_per_minute must be > 0, not {self.tokens_per_minute}")
        if not 0 < self.slowdown <= 1:
            raise ValueError(f"slowdown must be in (0, 1], not {self.slowdown}")
        if not 0 < self.min_speed <= 1:
            raise ValueError(f"min_speed must be in (0, 1], not {self.min_speed}")
        for name in ("request_burst", "token_burst"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, not {value}")
        for name in ("tokens_per_request", "settle", "cooldown"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, not {getattr(self, name)}")

    @property
    def requests_per_second(self) -> float:
        """The full request rate per second."""
        return self.requests_per_minute / 60.0

    @property
    def tokens_per_second(self) -> float | None:
        """The full token rate per second, if tokens are limited."""
        return None if self.tokens_per_minute is None else self.tokens_per_minute / 60.0

    @property
    def request_capacity(self) -> float:
        """Most requests that may start at once."""
        if self.request_burst is not None:
            return self.request_burst
        return max(1.0, self.requests_per_second)

    @property
    def token_capacity(self) -> float | None:
        """Most tokens the bucket holds, if tokens are limited."""
        if self.tokens_per_second is None:
            return None
        if self.token_burst is not None:
            return self.token_burst
        return max(self.tokens_per_second, float(self.tokens_per_request))


@dataclass(frozen=True)
class BucketState:
    """A snapshot of a bucket, for logs and tests."""

    speed: float
    """Fraction of the configured rates in force (1.0 unless Bedrock throttled lately)."""
    requests_available: float
    tokens_available: float | None
    granted: int
    """Requests let through so far."""
    tokens_reported: int
    """Tokens of finished calls reported so far."""
    throttles: int
    """Throttling responses reported so far."""
    slowdowns: int
    """How many of them slowed the bucket down."""


class TokenBucket:
    """Requests and tokens per minute as one bucket; every method takes the time ``now``.

    Requests refill at ``requests_per_minute`` up to the burst; each request takes one.
    Tokens refill at ``tokens_per_minute`` and are spent by usage reported after the fact, so
    the balance may go negative: no request starts until it is paid back.
    """

    def __init__(self, limits: RateLimits, now: float) -> None:
        self.limits = limits
        self._requests = limits.request_capacity
        capacity = limits.token_capacity
        self._tokens = 0.0 if capacity is None else capacity
        self._updated = now
        self._speed = 1.0
        self._last_slowdown: float | None = None
        self._recover_at = float("inf")
        self._granted = 0
        self._tokens_reported = 0
        self._throttles = 0
        self._slowdowns = 0

    def try_acquire(self, now: float) -> float:
        """Take one request if allowed now: 0.0; else the seconds to wait before trying again."""
        self._advance(now)
        limits = self.limits
        need = float(min(limits.tokens_per_request, limits.token_capacity or 0.0))
        if self._requests >= 1.0 and (limits.tokens_per_second is None or self._tokens >= need):
            self._requests -= 1.0
            self._tokens -= limits.tokens_per_request if limits.tokens_per_second else 0
            self._granted += 1
            return 0.0
        wait = (1.0 - self._requests) / (limits.requests_per_second * self._speed)
        if limits.tokens_per_second is not None:
            wait = max(wait, (need - self._tokens) / (limits.tokens_per_second * self._speed))
        return max(wait, _MIN_WAIT)

    def record_usage(self, tokens: int, now: float) -> None:
        """A call that went through the bucket finished having used ``tokens`` tokens."""
        self._advance(now)
        tokens = max(int(tokens), 0)
        self._tokens_reported += tokens
        if self.limits.tokens_per_second is not None:
            self._tokens -= tokens - self.limits.tokens_per_request

    def record_throttle(self, now: float) -> bool:
        """Bedrock throttled a call; returns whether this slowed the bucket down."""
        self._advance(now)
        self._throttles += 1
        last = self._last_slowdown
        if last is not None and now - last < self.limits.settle:
            return False
        self._speed = max(self.limits.min_speed, self._speed * self.limits.slowdown)
        self._last_slowdown = now
        self._recover_at = now + self.limits.cooldown
        self._requests = min(self._requests, 0.0)  # no burst straight after a throttle
        self._slowdowns += 1
        return True

    def state(self, now: float) -> BucketState:
        """The bucket as of ``now``."""
        self._advance(now)
        tokens = None if self.limits.tokens_per_second is None else self._tokens
        return BucketState(
            speed=self._speed,
            requests_available=self._requests,
            tokens_available=tokens,
            granted=self._granted,
            tokens_reported=self._tokens_reported,
            throttles=self._throttles,
            slowdowns=self._slowdowns,
        )

    def _advance(self, now: float) -> None:
        """Refill up to ``now``, stepping the speed back up at each recovery time passed."""
        while self._recover_at <= now:
            self._refill(self._recover_at)
            self._speed = min(1.0, self._speed / self.limits.slowdown)
            more = self._speed < 1.0
            self._recover_at = self._recover_at + self.limits.cooldown if more else float("inf")
        self._refill(now)

    def _refill(self, until: float) -> None:
        elapsed = until - self._updated
        if elapsed <= 0:
            return  # a clock that went backwards refills nothing
        self._updated = until
        limits = self.limits
        rate = limits.requests_per_second * self._speed
        self._requests = min(limits.request_capacity, self._requests + rate * elapsed)
        if limits.tokens_per_second is not None:
            refill = limits.tokens_per_second * self._speed * elapsed
            self._tokens = min(limits.token_capacity or 0.0, self._tokens + refill)


class LimiterCore:
    """A bucket on a clock, with usage and cost totals: what a limiter's callers share.

    Thread-safe. :class:`LocalRateLimiter` calls it directly; :class:`RayRateLimiter` runs it
    inside a Ray actor, so its methods take and return plain, picklable values.
    """

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._bucket = TokenBucket(limits, clock())
        self._totals = BedrockUsageCallbackHandler()

    def limits(self) -> RateLimits:
        """The limits the bucket enforces."""
        return self._bucket.limits

    def try_acquire(self) -> float:
        """0.0 when a request may start now, else seconds to wait before asking again."""
        with self._lock:
            return self._bucket.try_acquire(self._clock())

    def finished(self, answers: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Calls finished: ``(usage_metadata, response_metadata)`` of each answer."""
        tokens = sum(int(usage.get("total_tokens") or 0) for usage, _ in answers)
        with self._lock:
            self._bucket.record_usage(tokens, self._clock())
        generations: list[Generation] = [
            ChatGeneration(message=AIMessage(content="", usage_metadata=u, response_metadata=m))
            for u, m in answers
        ]
        self._totals.on_llm_end(LLMResult(generations=[generations]))

    def throttled(self) -> bool:
        """Bedrock throttled a call; whether the bucket slowed down."""
        with self._lock:
            slowed = self._bucket.record_throttle(self._clock())
            speed = self._bucket.state(self._clock()).speed
        if slowed:
            logger.warning("Bedrock throttled: rate limiter slowed to %.0f%% speed", speed * 100)
        return slowed

    def state(self) -> BucketState:
        """A snapshot of the bucket."""
        with self._lock:
            return self._bucket.state(self._clock())

    def totals(self) -> BedrockUsageCallbackHandler:
        """Usage and cost of every answer reported so far (a copy)."""
        copy = BedrockUsageCallbackHandler()
        copy.merge(self._totals)
        return copy

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


class BucketRateLimiter(BaseRateLimiter):
    """A ``BaseRateLimiter`` that asks a :class:`LimiterCore`, wherever it lives: the
    interface both limiters share (acquire, report, inspect)."""

    max_poll: float = 2.0
    """Longest single wait before asking the bucket again (it may have sped up)."""

    @abstractmethod
    def _try_acquire(self) -> float: ...

    @abstractmethod
    async def _atry_acquire(self) -> float: ...

    @abstractmethod
    def _send(self, method: str, *args: Any) -> Any:
        """Call ``method`` of the core with ``args`` and return its result."""

    def acquire(self, *, blocking: bool = True) -> bool:
        """Take one request from the bucket, waiting for it unless ``blocking`` is False."""
        while True:
            wait = self._try_acquire()
            if wait <= 0:
                return True
            if not blocking:
                return False
            time.sleep(min(wait, self.max_poll))

    async def aacquire(self, *, blocking: bool = True) -> bool:
        """As :meth:`acquire`, waiting without blocking the event loop."""
        while True:
            wait = await self._atry_acquire()
            if wait <= 0:
                return True
            if not blocking:
                return False
            await asyncio.sleep(min(wait, self.max_poll))

    def record_answers(self, answers: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Report finished calls: ``(usage_metadata, response_metadata)`` of each answer."""
        self._send("finished", answers)

    def record_throttle(self) -> bool:
        """Report a throttling response; returns whether the bucket slowed down."""
        return bool(self._send("throttled"))

    def state(self) -> BucketState:
        """A snapshot of the shared bucket."""
        state: BucketState = self._send("state")
        return state

    def totals(self) -> BedrockUsageCallbackHandler:
        """Usage and cost per model of every answer reported to this limiter."""
        totals: BedrockUsageCallbackHandler = self._send("totals")
        return totals

    def feedback(self) -> RateLimitFeedback:
        """The callback handler that reports usage and throttling to this limiter."""
        return RateLimitFeedback(self)


class LocalRateLimiter(BucketRateLimiter):
    """One bucket for every thread and task of this process.

    A copy sent to another process (pickled with a model) starts its own bucket from the
    copied state: use :class:`RayRateLimiter` to share one across processes.
    """

    def __init__(self, limits: RateLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Pace calls by ``limits``; ``clock`` tells the time in seconds (monotonic)."""
        self._core = LimiterCore(limits, clock)

    @property
    def limits(self) -> RateLimits:
        """The limits the bucket enforces."""
        return self._core.limits()

    def _try_acquire(self) -> float:
        return self._core.try_acquire()

    async def _atry_acquire(self) -> float:
        return self._core.try_acquire()

    def _send(self, method: str, *args: Any) -> Any:
        return getattr(self._core, method)(*args)


@lru_cache(maxsize=1)
def _actor_class() -> Any:
    import ray

    # No CPU reserved: the actor only does arithmetic, and must not take a worker's slot.
    return ray.remote(num_cpus=0)(LimiterCore)


class RayRateLimiter(BucketRateLimiter):
    """One bucket for every worker of a Ray cluster, held by a named Ray actor.

    Creating it (in the driver, after ``ray.init()``) starts the actor ``name`` in
    ``namespace``, or joins it if it runs already (its limits then win). The limiter pickles
    as that name, so a model holding it can be sent to Ray tasks, actors and Ray Data
    workers; each finds the actor on first use. ``detached=True`` lets the actor outlive the
    driver (stop it with :meth:`close`); otherwise it ends with the driver's job.
    """

    def __init__(
        self,
        limits: RateLimits,
        *,
        name: str = DEFAULT_ACTOR_NAME,
        namespace: str = DEFAULT_NAMESPACE,
        detached: bool = False,
    ) -> None:
        """Start or join the shared bucket ``name`` in ``namespace``."""
        import ray

        self.name = name
        self.namespace = namespace
        options: dict[str, Any] = {"name": name, "namespace": namespace, "get_if_exists": True}
        if detached:
            options["lifetime"] = "detached"
        self._handle: Any = _actor_class().options(**options).remote(limits)
        actual: RateLimits = ray.get(self._handle.limits.remote())
        if actual != limits:
            logger.warning(
                "Rate limiter actor %r already runs with other limits (%s); using those",
                name,
                actual,
            )
        self.limits = actual

    def _actor(self) -> Any:
        if self._handle is None:
            import ray

            self._handle = ray.get_actor(self.name, namespace=self.namespace)
        return self._handle

    def _try_acquire(self) -> float:
        import ray

        wait: float = ray.get(self._actor().try_acquire.remote())
        return wait

    async def _atry_acquire(self) -> float:
        wait: float = await self._actor().try_acquire.remote()
        return wait

    def _send(self, method: str, *args: Any) -> Any:
        import ray

        return ray.get(getattr(self._actor(), method).remote(*args))

    def close(self) -> None:
        """Stop the shared actor (every limiter using it stops working)."""
        import ray

        ray.kill(self._actor())
        self._handle = None

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace, "limits": self.limits}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.name = state["name"]
        self.namespace = state["namespace"]
        self.limits = state["limits"]
        self._handle = None

    def __repr__(self) -> str:
        return f"RayRateLimiter(name={self.name!r}, namespace={self.namespace!r})"


def _answers(response: LLMResult) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    answers = []
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            if isinstance(message, AIMessage) and message.usage_metadata:
                usage = dict(message.usage_metadata)
                answers.append((usage, dict(message.response_metadata or {})))
    return answers


class RateLimitFeedback(BaseCallbackHandler):
    """Tells a limiter what finished calls used, and when Bedrock throttled.

    Attach it to the model (``callbacks=[limiter.feedback()]``) or to a run's config. It
    reports each answer's ``usage_metadata`` (for tokens per minute and the limiter's
    totals) and each ``ModelRateLimitError`` (to slow the shared bucket down).
    """

    def __init__(self, limiter: BucketRateLimiter) -> None:
        """Report to ``limiter``."""
        super().__init__()
        self.limiter = limiter

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Report the usage of every answer in ``response``."""
        if answers := _answers(response):
            self.limiter.record_answers(answers)

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        """Report a throttling response."""
        if isinstance(error, ModelRateLimitError):
            self.limiter.record_throttle()
