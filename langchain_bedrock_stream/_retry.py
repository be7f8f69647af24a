"""The retry policy: what is retried, how long to wait, and which layer retries.

Retries cover only what happens before the first content reaches the caller; exactly one
layer runs (ours by default, or botocore's when the caller configured it: ``resolve_policy``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from botocore.config import Config
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception

from .errors import BedrockError, BedrockRateLimitError

__all__ = ["RetryPolicy", "botocore_in_our_place", "resolve_policy"]

logger = logging.getLogger("langchain_bedrock_stream")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and total time.

    ``max_retries`` counts retries after the first attempt. The wait before retry ``n`` is
    uniform in ``[0, min(max_delay, initial_delay * 2**(n-1))]`` (exactly the upper bound
    when ``jitter`` is off). A ``Retry-After`` hint from Bedrock is a lower bound for that
    wait. No retry starts once ``max_elapsed`` seconds (attempts plus waits) would be
    exceeded. ``sleep`` replaces the wait itself (tests pass a recorder; by default a
    cancellable wait).

    ``rate_limiter`` (a LangChain ``BaseRateLimiter``, e.g. the model's own): every retry
    takes its turn from it after the backoff, as the first attempt did, so a shared quota
    holds under retries too; a throttled attempt that is retried is reported to a limiter
    that takes reports (``record_throttle``, as :class:`~.ratelimit.LocalRateLimiter` and
    :class:`~.ratelimit.RayRateLimiter` do; the attempt that ends the call is left to the
    limiter's feedback handler).
    """

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 20.0
    max_elapsed: float = 60.0
    jitter: bool = True
    sleep: Callable[[float], None] | None = field(default=None, repr=False, compare=False)
    # A LangChain ``BaseRateLimiter`` (typed loosely: this module imports nothing of LangChain).
    rate_limiter: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        for name in ("initial_delay", "max_delay", "max_elapsed"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def compute_wait(self, retry: int, error: BaseException | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based) after ``error``."""
        ceiling = min(self.max_delay, self.initial_delay * 2.0 ** min(retry - 1, 62))
        delay = random.uniform(0, ceiling) if self.jitter else ceiling
        hint = getattr(error, "retry_after", None)
        if isinstance(hint, (int, float)) and hint > delay:
            delay = float(hint)
        return delay

    def call(
        self, what: str, function: Callable[[], T], *, interrupt: threading.Event | None = None
    ) -> T:
        """``function()`` with retries of retryable ``BedrockError`` s.

        Each retry is logged (WARNING, with attempt number and reason); the error that ends
        the call records ``attempts`` and, after any retry, is logged too. ``interrupt``
        cuts a wait short (the call is being cancelled).
        """
        attempts = 0
        limiter = self.rate_limiter

        def counted() -> T:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and limiter is not None:
                limiter.acquire(blocking=True)
            return function()

        def sleep(seconds: float) -> None:
            if self.sleep is not None:
                self.sleep(seconds)
            elif interrupt is not None:
                interrupt.wait(seconds)
            else:
                time.sleep(seconds)

        try:
            return Retrying(**self._rules(what, self._report_sync), sleep=sleep)(counted)
        except BedrockError as exc:
            self._gave_up(what, exc, attempts)
            raise

    async def acall(self, what: str, function: Callable[[], Awaitable[T]]) -> T:
        """``call`` for the event loop: the same rules; waits are ``asyncio.sleep`` (a
        cancelled task stops waiting at once)."""
        attempts = 0
        limiter = self.rate_limiter
        throttles: list[BaseException] = []

        async def counted() -> T:
            nonlocal attempts
            attempts += 1
            if attempts > 1 and limiter is not None:
                if throttles:  # reported off the loop: a shared limiter may ask the network
                    throttles.clear()
                    await asyncio.get_running_loop().run_in_executor(None, self._report_now)
                await limiter.aacquire(blocking=True)
            return await function()

        async def sleep(seconds: float) -> None:
            if self.sleep is not None:
                self.sleep(seconds)
            else:
                await asyncio.sleep(seconds)

        try:
            rules = self._rules(what, throttles.append)
            return await AsyncRetrying(**rules, sleep=sleep)(counted)
        except BedrockError as exc:
            self._gave_up(what, exc, attempts)
            raise

    @staticmethod
    def _gave_up(what: str, exc: BedrockError, attempts: int) -> None:
        exc.attempts = attempts
        if attempts > 1 or exc.is_retryable:
            logger.warning(
                "%s failed after %d attempt(s), not retrying: %s",
                what,
                attempts,
                exc,
                extra={"bedrock_attempts": attempts, "bedrock_error_code": exc.code},
            )

    def _report_sync(self, error: BaseException) -> None:
        self._report_now()

    def _report_now(self) -> None:
        """Tell the rate limiter Bedrock throttled an attempt, if it takes reports."""
        record = getattr(self.rate_limiter, "record_throttle", None)
        if callable(record):
            try:
                record()
            except Exception as exc:  # a report lost costs pacing, not the call
                logger.debug("rate limiter did not take the throttle report: %r", exc)

    def _rules(
        self, what: str, throttled: Callable[[BaseException], None] | None = None
    ) -> dict[str, Any]:
        """What is retried, when to stop, how long to wait, what to log (sync and async);
        ``throttled`` hears of each throttled attempt that is retried, when a rate limiter
        takes reports."""

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.compute_wait(state.attempt_number, error)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number > self.max_retries:
                return True
            elapsed = state.seconds_since_start or 0.0
            upcoming = float(getattr(state, "upcoming_sleep", 0.0) or 0.0)
            return elapsed + upcoming > self.max_elapsed

        def log(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            if (
                throttled is not None
                and self.rate_limiter is not None
                and isinstance(error, BedrockRateLimitError)
            ):
                throttled(error)
            pause = state.next_action.sleep if state.next_action else 0.0
            logger.warning(
                "%s: attempt %d of %d failed, retrying in %.3fs: %s",
                what,
                state.attempt_number,
                self.max_retries + 1,
                pause,
                error,
                extra={
                    "bedrock_attempt": state.attempt_number,
                    "bedrock_error_code": getattr(error, "code", None),
                    "bedrock_retry_in": pause,
                },
            )

        return {
            "retry": retry_if_exception(
                lambda e: isinstance(e, BedrockError) and bool(e.is_retryable)
            ),
            "stop": stop,
            "wait": wait,
            "before_sleep": log,
            "reraise": True,
        }


def _botocore_retries_on(retries: Mapping[str, Any] | None) -> bool:
    """Whether a botocore ``retries`` setting leaves botocore retrying."""
    if retries is None:
        return False
    if retries.get("total_max_attempts") is not None:
        return int(retries["total_max_attempts"]) > 1
    if retries.get("max_attempts") is not None:
        return int(retries["max_attempts"]) > 0
    return True  # a mode alone keeps that mode's default attempts


def resolve_policy(
    policy: RetryPolicy | None,
    *,
    max_retries: int | None = None,
    config: Config | None = None,
    client: Any = None,
) -> RetryPolicy:
    """The retry policy for a call, so that botocore's retries and ours never multiply.

    - By default ours run (``max_retries``, default 3) and the clients built here have
      botocore's retries off.
    - When the caller turned botocore's retries on (``config=Config(retries=...)`` with more
      than one attempt, or a ready ``client`` whose config retries, which boto3's default
      does) ours step aside: botocore retries HTTP-level failures as configured, and
      nothing else is retried (exception frames at the start of a stream included).
    - Asking for both (a positive ``max_retries`` or a ``retry_policy`` while botocore
      retries) is a configuration error: ``ValueError``, before any request is sent.
    """
    base = policy if policy is not None else RetryPolicy()
    if max_retries is not None:
        base = replace(base, max_retries=max_retries)
    if client is not None:
        meta = getattr(client, "meta", None)
        retries = getattr(getattr(meta, "config", None), "retries", None)
        # A botocore client without a retries setting uses botocore's default retries; an
        # object that is not a botocore client (a stub, a wrapper) has no layer to defer to.
        theirs = meta is not None and (retries is None or _botocore_retries_on(retries))
        where = f"the supplied client retries (its config has retries={retries!r})"
    else:
        retries = getattr(config, "retries", None)
        theirs = _botocore_retries_on(retries)
        where = f"config=Config(retries={retries!r}) turns botocore's retries on"
    if not theirs:
        return base
    if base.max_retries > 0 and (policy is not None or max_retries is not None):
        raise ValueError(
            f"two retry layers requested: {where}, and max_retries/retry_policy ask for "
            f"{base.max_retries} more; they would multiply. Either drop max_retries/"
            "retry_policy (botocore retries alone), or turn botocore's off with "
            "Config(retries={'total_max_attempts': 1}) (ours alone)"
        )
    return replace(base, max_retries=0)


_MODE_ATTEMPTS = {"legacy": 5, "standard": 3, "adaptive": 3}


def botocore_in_our_place(policy: RetryPolicy, client: Any) -> RetryPolicy:
    """The policy for a call whose HTTP exchange does not go through botocore (the event
    loop's), so botocore's retry handler never sees an answer: where ``resolve_policy``
    left retrying to botocore, ours retry instead, with botocore's number of attempts
    (``total_max_attempts``, ``max_attempts`` + 1, or the mode's default)."""
    if policy.max_retries > 0:
        return policy
    retries = getattr(getattr(getattr(client, "meta", None), "config", None), "retries", None)
    if retries is not None and not _botocore_retries_on(retries):
        return policy
    retries = retries or {}
    total = retries.get("total_max_attempts")
    if total is None and retries.get("max_attempts") is not None:
        total = int(retries["max_attempts"]) + 1
    if total is None:
        total = _MODE_ATTEMPTS.get(str(retries.get("mode") or "standard"), 3)
    return replace(policy, max_retries=max(int(total) - 1, 0))
