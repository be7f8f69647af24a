"""boto3 client construction, the retry policy, and the two calls: Converse and ConverseStream.

One direction of data: a request dict goes out through boto3 (signing, endpoint, HTTP);
what comes back is read as raw event-stream bytes, decoded by ``_wire`` and folded by the
accumulator. Retries (tenacity) cover only what happens before the first content reaches
the caller; after that an error is raised with the partial answer attached, never retried,
so no token is ever repeated. Optionally (``resume=True``) a text answer cut short is
continued by a second request that sends the partial text back as an assistant prefill.

Exactly one retry layer runs: ours (the default; botocore's own retries are switched off
on the clients built here), or botocore's when the caller configured it (a ``Config`` with
``retries``, or a ready client that retries); see ``resolve_policy``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from tenacity import RetryCallState, Retrying, retry_if_exception

from .errors import (
    BedrockError,
    map_error,
    redact,
    register_secrets,
)
from .stream import (
    StreamResponse,
)

__all__ = [
    "ClientSettings",
    "RetryPolicy",
    "build_client",
    "converse",
    "install_log_redaction",
    "resolve_policy",
]

logger = logging.getLogger("langchain_bedrock_stream")

T = TypeVar("T")

_READ_SIZE = 65536

_CONTENT_DELTAS = frozenset(
    {
        "TextDelta",
        "ReasoningDelta",
        "CitationDelta",
        "ToolUseStarted",
        "ToolInputDelta",
        "ToolResultStarted",
        "ToolResultDelta",
        "ImageStarted",
        "ImageDelta",
        "UnknownDelta",
    }
)


@dataclass(frozen=True)
class ClientSettings:
    """What a boto3 ``bedrock-runtime`` client is built from (no secrets in ``repr``)."""

    region_name: str | None = None
    profile_name: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None
    config: Config | None = None
    timeout: float | None = None
    max_pool_connections: int = 256
    bearer_token: str | None = field(default=None, repr=False)
    """A Bedrock API key: requests carry it as a bearer token instead of a SigV4 signature."""


class _StaticToken:
    """botocore token provider handing out one fixed bearer token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def load_token(self, **_: Any) -> Any:
        from botocore.tokens import FrozenAuthToken

        return FrozenAuthToken(self._token)


def build_client(settings: ClientSettings) -> Any:
    """A ``bedrock-runtime`` client; botocore's own retries off unless ``config`` sets them.

    Sized for concurrent use (one connection pool shared by every call of a model). Also
    installs the log redaction (see ``install_log_redaction``). Only touches the network
    when a request is made.
    """
    install_log_redaction()
    register_secrets(
        [
            settings.aws_access_key_id,
            settings.aws_secret_access_key,
            settings.aws_session_token,
            settings.bearer_token,
        ]
    )
    core = None
    if settings.bearer_token:
        import botocore.session

        core = botocore.session.get_session()
        core.register_component("token_provider", _StaticToken(settings.bearer_token))
    session = boto3.Session(
        profile_name=settings.profile_name,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=settings.aws_secret_access_key,
        aws_session_token=settings.aws_session_token,
        botocore_session=core,
    )
    ours: dict[str, Any] = {
        "max_pool_connections": settings.max_pool_connections,
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "user_agent_extra": "langchain-bedrock-stream",
    }
    if settings.bearer_token:
        ours["auth_scheme_preference"] = "httpBearerAuth"
    if settings.timeout is not None:
        ours["read_timeout"] = settings.timeout
        ours["connect_timeout"] = min(settings.timeout, 60)
    config = Config(**ours)
    if settings.config is not None:
        config = config.merge(settings.config)
    region = settings.region_name or session.region_name or "us-east-1"
    return session.client(
        "bedrock-runtime", region_name=region, endpoint_url=settings.endpoint_url, config=config
    )


# --- log redaction ---------------------------------------------------------------------------


class _RedactingFilter(logging.Filter):
    """Masks credentials in a record's message before any handler sees it.

    botocore logs, at DEBUG, each request with its headers (``Authorization`` with the
    access key id, ``X-Amz-Security-Token``) and the canonical request it signs. The
    message is formatted (only for records that pass the level check) and rewritten.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the handler's business, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactingFilter()
_FILTERED_LOGGERS = (
    "langchain_bedrock_stream",
    "botocore",
    "botocore.auth",
    "botocore.awsrequest",
    "botocore.endpoint",
    "botocore.hooks",
    "botocore.httpsession",
    "botocore.parsers",
    "botocore.retries.standard",
    "botocore.retryhandler",
    "urllib3.connection",
    "urllib3.connectionpool",
)
_filter_lock = threading.Lock()


def install_log_redaction() -> None:
    """Add the credential-masking filter to botocore's, urllib3's and our loggers (idempotent).

    A logger filter applies to the records that logger creates, so it is added to each
    logger by name: the ones listed here and every ``botocore.*``/``urllib3.*`` logger that
    exists when a client is built.
    """
    with _filter_lock:
        names = set(_FILTERED_LOGGERS)
        names.update(
            name
            for name in list(logging.Logger.manager.loggerDict)
            if name.startswith(("botocore.", "urllib3.", "langchain_bedrock_stream."))
        )
        for name in names:
            target = logging.getLogger(name)
            if _FILTER not in target.filters:
                target.addFilter(_FILTER)


# --- retries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and total time.

    ``max_retries`` counts retries after the first attempt. The wait before retry ``n`` is
    uniform in ``[0, min(max_delay, initial_delay * 2**(n-1))]`` (exactly the upper bound
    when ``jitter`` is off). A ``Retry-After`` hint from Bedrock is a lower bound for that
    wait. No retry starts once ``max_elapsed`` seconds (attempts plus waits) would be
    exceeded. ``sleep`` replaces the wait itself (tests pass a recorder; by default a
    cancellable wait).
    """

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 20.0
    max_elapsed: float = 60.0
    jitter: bool = True
    sleep: Callable[[float], None] | None = field(default=None, repr=False, compare=False)

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

        def counted() -> T:
            nonlocal attempts
            attempts += 1
            return function()

        try:
            return self._retrying(what, interrupt)(counted)
        except BedrockError as exc:
            exc.attempts = attempts
            if attempts > 1 or exc.is_retryable:
                logger.warning(
                    "%s failed after %d attempt(s), not retrying: %s",
                    what,
                    attempts,
                    exc,
                    extra={"bedrock_attempts": attempts, "bedrock_error_code": exc.code},
                )
            raise

    def _retrying(self, what: str, interrupt: threading.Event | None) -> Retrying:
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

        def sleep(seconds: float) -> None:
            if self.sleep is not None:
                self.sleep(seconds)
            elif interrupt is not None:
                interrupt.wait(seconds)
            else:
                time.sleep(seconds)

        return Retrying(
            retry=retry_if_exception(
                lambda e: isinstance(e, BedrockError) and bool(e.is_retryable)
            ),
            stop=stop,
            wait=wait,
            before_sleep=log,
            sleep=sleep,
            reraise=True,
        )


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


# --- Converse ------------------------------------------------------------------------------


def converse(
    client: Any,
    request: Mapping[str, Any],
    *,
    policy: RetryPolicy,
    region: str | None,
) -> tuple[StreamResponse, str | None]:
    """One Converse call (with retries) -> the answer and the request id."""
    model_id = request.get("modelId")

    def call() -> dict[str, Any]:
        try:
            return dict(client.converse(**request))
        except Exception as exc:
            mapped = map_error(exc, model_id=model_id, region=region)
            if mapped is exc:
                raise
            raise mapped from exc

    raw = policy.call(f"Converse {model_id}", call)
    request_id = (raw.get("ResponseMetadata") or {}).get("RequestId")
    logger.debug(
        "Converse model=%s region=%s request_id=%s: answered", model_id, region, request_id
    )
    return StreamResponse.from_converse(raw), request_id
