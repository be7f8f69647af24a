"""Foreign errors become the ``BedrockError`` tree here, and nowhere else.

``map_errors`` is the one crossing: every call into boto3, the wire decoder, the accumulator
and the bridge runs inside it, and what leaves it is a ``BedrockError`` (see ``errors.py``
for the tree), or one of the documented pass-throughs: ``InputConversionError`` (bad input,
raised before any request) and botocore's configuration and parameter errors
(``ProfileNotFound``, ``NoRegionError``, ``ParamValidationError``, ...), which no retry or
partial answer can help. ``translate`` maps one foreign error; ``typed_error`` is the same
for callers that raise it themselves. Credentials are masked in every chained error
(``redaction.scrub_chain``). The classes that are both ours and botocore's (a service error
that is also the client's modeled class, a transport failure that is also
``EndpointConnectionError``) are in ``_dual_errors``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import math
import ssl
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    EventStreamError,
    HTTPClientError,
    IncompleteReadError,
    NoAuthTokenError,
    NoCredentialsError,
    ReadTimeoutError,
    SSLError,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.parsers import ResponseParserError

from ._accumulator import MalformedEvent
from ._dual_errors import SERVICE_VARIANTS, also_modeled, is_modeled, transport_error
from ._redaction import scrub_chain
from ._wire import ExceptionFrameError, FrameError
from .errors import (
    BedrockAPIError,
    BedrockAuthenticationError,
    BedrockConnectionError,
    BedrockContextOverflowError,
    BedrockError,
    BedrockInvalidRequestError,
    BedrockNotFoundError,
    BedrockPermissionDeniedError,
    BedrockRateLimitError,
    BedrockTimeoutError,
    InputConversionError,
    StreamIntegrityError,
    _ServiceError,
)

__all__ = [
    "certificate_rejected",
    "client_raised",
    "is_event_stream",
    "map_errors",
    "not_an_event_stream",
    "translate",
    "typed_error",
]


EVENT_STREAM = "application/vnd.amazon.eventstream"
QUOTED_BYTES = 1024
"""How much of an unexpected answer's body an error quotes."""


def is_event_stream(content_type: str | None) -> bool:
    """Whether a ``Content-Type`` header allows an event-stream body (no header at all is
    given the benefit of the doubt: the frames are checked anyway)."""
    if not content_type:
        return True
    return content_type.split(";", 1)[0].strip().lower() == EVENT_STREAM


def not_an_event_stream(
    status: int, content_type: str | None, body: bytes, *, request_id: str | None = None
) -> StreamIntegrityError:
    """A streamed call answered 2xx with another kind of body (a JSON error, a proxy's or
    load balancer's HTML page): the error names the content type and quotes the start of
    the body (credentials masked), rather than decoding it as frames."""
    text = body[:QUOTED_BYTES].decode("utf-8", "replace")
    more = "..." if len(body) > QUOTED_BYTES else ""
    return StreamIntegrityError(
        f"HTTP {status} answer with Content-Type {content_type!r}, not an event stream "
        f"({EVENT_STREAM}); its body begins: {text!r}{more}",
        code="NotAnEventStream",
        status_code=status,
        request_id=request_id,
    )


_BY_CODE: dict[str, type[BedrockError]] = {
    "ThrottlingException": BedrockRateLimitError,
    "TooManyRequestsException": BedrockRateLimitError,
    "ServiceQuotaExceededException": BedrockRateLimitError,
    "AccessDeniedException": BedrockPermissionDeniedError,
    "UnrecognizedClientException": BedrockAuthenticationError,
    "InvalidSignatureException": BedrockAuthenticationError,
    "ExpiredTokenException": BedrockAuthenticationError,
    "IncompleteSignature": BedrockAuthenticationError,
    "MissingAuthenticationTokenException": BedrockAuthenticationError,
    "ResourceNotFoundException": BedrockNotFoundError,
    "ValidationException": BedrockInvalidRequestError,
    "ModelTimeoutException": BedrockTimeoutError,
    "ModelNotReadyException": BedrockAPIError,
    "ModelErrorException": BedrockAPIError,
    "ModelStreamErrorException": BedrockAPIError,
    "InternalServerException": BedrockAPIError,
    "ServiceUnavailableException": BedrockAPIError,
}

_BY_STATUS: dict[int, type[BedrockError]] = {
    401: BedrockAuthenticationError,
    403: BedrockPermissionDeniedError,
    404: BedrockNotFoundError,
    408: BedrockTimeoutError,
    429: BedrockRateLimitError,
}

_TRANSIENT_4XX = frozenset({408, 424, 429})
"""Client-error statuses Bedrock uses for transient conditions (timeout, a model's own
failure, throttling)."""

_OVERFLOW_HINTS = (
    "too long",
    "context window",
    "context length",
    "maximum context",
    "input is too large",
    "exceeds the maximum number of tokens",
    "prompt is too long",
    "too many input tokens",
    "too many total text bytes",
)
_UNKNOWN_MODEL_HINTS = ("model identifier is invalid", "model id is invalid")


def _class_for(code: str, status: int, message: str) -> type[BedrockError]:
    lowered = message.lower()
    if status in (400, 413) or code == "ValidationException":
        if any(hint in lowered for hint in _OVERFLOW_HINTS):
            return BedrockContextOverflowError
        if any(hint in lowered for hint in _UNKNOWN_MODEL_HINTS):
            return BedrockNotFoundError
    if code in _BY_CODE:
        cls = _BY_CODE[code]
        if (
            issubclass(cls, BedrockAPIError)
            and 400 <= status < 500
            and status not in _TRANSIENT_4XX
        ):
            # A server-side code answered with a client-error status (ModelErrorException
            # with HTTP 400): the request itself is at fault, and a retry would fail again.
            return BedrockInvalidRequestError
        return cls
    if code.lower().endswith("exception") and code[:1].islower():
        # Exception frames use camelCase names: throttlingException, ...
        return _BY_CODE.get(code[:1].upper() + code[1:], BedrockAPIError)
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return BedrockAPIError
    if status >= 400:
        return BedrockInvalidRequestError
    return BedrockAPIError


def _retry_after(headers: dict[str, Any]) -> float | None:
    """Seconds from a ``Retry-After`` (seconds or an HTTP date) or ``x-amzn-retry-after``."""
    value = headers.get("retry-after") or headers.get("x-amzn-retry-after")
    if value is None:
        return None
    seconds: float | None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = _seconds_until(value, headers.get("date"))
    if seconds is None or not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _seconds_until(when: Any, date: Any) -> float | None:
    """Seconds from the response's ``Date`` (or now) to the HTTP date ``when``."""
    try:
        target = parsedate_to_datetime(str(when)).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        now = parsedate_to_datetime(str(date)).timestamp() if date else time.time()
    except (TypeError, ValueError, IndexError, OverflowError):
        now = time.time()
    return target - now


_CERTIFICATE_HINTS = (
    "certificate verify failed",
    "certificate_verify_failed",
    "hostname mismatch",
    "doesn't match",
    "does not match",
    "self signed certificate",
    "self-signed certificate",
    "unable to get local issuer certificate",
    "certificate has expired",
    "certificate is not yet valid",
)


def certificate_rejected(error: BaseException) -> bool:
    """Whether a TLS failure is the peer's certificate failing verification (the same
    again on every attempt), rather than the connection failing during TLS (an EOF, a
    reset: worth a retry). Looks through the chained and wrapped errors (botocore's
    ``SSLError`` keeps urllib3's, which keeps the ``ssl`` module's)."""
    seen: set[int] = set()
    pending: list[Any] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        if isinstance(current, BaseException):
            text = str(current).lower()
            if any(hint in text for hint in _CERTIFICATE_HINTS):
                return True
            kwargs = getattr(current, "kwargs", None)
            if isinstance(kwargs, dict):
                pending.append(kwargs.get("error"))
            pending.extend((current.__cause__, current.__context__))
            pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
            pending.append(getattr(current, "reason", None))
    return False


_CREDENTIAL_ERRORS = (
    NoAuthTokenError,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
)


def _event_stream_error(error: ExceptionFrameError, request_id: str | None) -> EventStreamError:
    """An exception frame as the ``EventStreamError`` botocore raises for it."""
    cause = EventStreamError(
        {
            "Error": {"Code": error.exception_type, "Message": error.message},
            "ResponseMetadata": {"RequestId": request_id or ""},
        },
        "ConverseStream",
    )
    cause.__cause__ = error
    return cause


def _translate(
    error: BaseException, *, model_id: str | None, region: str | None, request_id: str | None
) -> tuple[BaseException, BaseException]:
    """The error to raise for ``error``, and the cause to chain it to."""
    if isinstance(error, BedrockError):
        return error, error
    scrub_chain(error)
    where: dict[str, Any] = {"model_id": model_id, "region": region}
    if isinstance(error, (FrameError, MalformedEvent, ResponseParserError)):
        what = "corrupt event stream" if isinstance(error, FrameError) else "malformed answer"
        mapped: BaseException = StreamIntegrityError(
            f"{what}: {error}", code="StreamIntegrity", request_id=request_id, **where
        )
        return mapped, error
    cause = error
    if isinstance(error, ExceptionFrameError):
        cause = _event_stream_error(error, request_id)
    mapped = translate(cause, model_id=model_id, region=region)
    if mapped is cause:
        return error, error
    if isinstance(mapped, BedrockError) and mapped.request_id is None:
        mapped.request_id = request_id
    return mapped, cause


def typed_error(
    error: BaseException,
    *,
    model_id: str | None,
    region: str | None = None,
    request_id: str | None = None,
) -> BaseException:
    """``error`` as the package's typed error, or itself when it is not a failure mapped
    here (the translation ``map_errors`` applies, for callers that raise it themselves)."""
    return _translate(error, model_id=model_id, region=region, request_id=request_id)[0]


_CLIENT_RAISED = "_bedrock_client_raised"


def client_raised(error: BaseException) -> BaseException:
    """Mark ``error`` as raised by a user's own client code (the events a fake client's
    ``converse_stream`` returned): unless it is a known transport or service failure, it
    propagates as itself, as the user wrote it."""
    with contextlib.suppress(Exception):  # an exception that refuses new attributes
        setattr(error, _CLIENT_RAISED, True)
    return error


def _passes_through(error: BaseException) -> bool:
    """The documented pass-throughs: bad input, botocore's configuration errors, and
    errors a user's own client raised."""
    return (
        isinstance(error, (InputConversionError, BotoCoreError))
        or not isinstance(error, Exception)
        or getattr(error, _CLIENT_RAISED, False) is True
    )


@contextlib.contextmanager
def map_errors(
    *,
    model_id: str | None,
    region: str | None,
    request_id: Callable[[], str | None] | None = None,
    keep: tuple[type[BaseException], ...] = (),
    langchain: bool = False,
) -> Iterator[None]:
    """The one crossing: inside it, every failure becomes a ``BedrockError``.

    botocore/urllib3 errors and exception frames map to their ``BedrockError`` types, a
    corrupt or malformed stream to ``StreamIntegrityError``, and anything unforeseen
    (``KeyError``, ``TypeError``, ... from an answer no one anticipated) to
    ``StreamIntegrityError`` too, chained to the original. ``InputConversionError``,
    botocore's configuration errors, ``BaseException`` s (``KeyboardInterrupt``,
    cancellation) and the ``keep`` types propagate as themselves. Credentials are masked
    in the whole chain. ``request_id`` is asked for at the time of the failure. With
    ``langchain`` (the chat model's crossings), what leaves is also the matching
    ``langchain_core.exceptions`` type (see ``_langchain_face``).
    """
    if langchain:
        from ._langchain_face import as_langchain

        try:
            with map_errors(model_id=model_id, region=region, request_id=request_id, keep=keep):
                yield
        except BedrockError as exc:
            as_langchain(exc)
            raise
        return
    try:
        yield
    except BedrockError:
        raise
    except Exception as exc:
        if isinstance(exc, keep):
            raise
        rid = request_id() if request_id is not None else None
        mapped, cause = _translate(exc, model_id=model_id, region=region, request_id=rid)
        if mapped is exc:
            if _passes_through(exc):
                raise
            mapped = StreamIntegrityError(
                f"unexpected {type(exc).__name__} during the call (its cause): {exc}",
                code="UnreadableAnswer",
                request_id=rid,
                model_id=model_id,
                region=region,
            )
        raise mapped from cause


_NETWORK_ERRNOS = frozenset(
    {
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)
"""An ``OSError`` with one of these is the network's, not a file's or a setting's."""


def translate(error: BaseException, *, model_id: str | None, region: str | None) -> BaseException:
    """Translate a botocore/urllib3 failure into the ``BedrockError`` tree.

    Anything that is not a transport or service failure (a bug, a ``KeyboardInterrupt``)
    is returned unchanged so it propagates as itself; ``map_errors`` decides what becomes
    of those.
    """
    if isinstance(error, BedrockError):
        return error
    scrub_chain(error)
    where: dict[str, Any] = {"model_id": model_id, "region": region}
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        meta = error.response.get("ResponseMetadata", {})
        headers = meta.get("HTTPHeaders", {}) or {}
        status = int(meta.get("HTTPStatusCode") or 0)
        code = str(info.get("Code") or "")
        message = str(info.get("Message") or error)
        if code.isdigit() and not status:
            status = int(code)
        if code.isdigit() or not code:
            code = ""
        cls = _class_for(code, status, message)
        fields: dict[str, Any] = {
            "code": code or None,
            "status_code": status or None,
            "request_id": meta.get("RequestId") or headers.get("x-amzn-requestid"),
            "retry_after": _retry_after(headers),
            **where,
        }
        service_cls = cls if issubclass(cls, _ServiceError) else SERVICE_VARIANTS.get(cls)
        if service_cls is not None and is_modeled(type(error)):
            service_cls = also_modeled((service_cls, type(error)))
        if service_cls is not None:
            mapped: BedrockError = service_cls(message, operation=error.operation_name, **fields)
        else:
            mapped = cls(message, **fields)
        return mapped
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError, TimeoutError)):
        return transport_error(BedrockTimeoutError, error, str(error), code="Timeout", **where)
    if isinstance(
        error,
        (EndpointConnectionError, ConnectionClosedError, ConnectionError, IncompleteReadError),
    ):
        return transport_error(
            BedrockConnectionError, error, str(error), code="ConnectionError", **where
        )
    if isinstance(error, (ssl.SSLError, asyncio.IncompleteReadError)) or (
        isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS
    ):  # raw failures of sockets, TLS and asyncio streams
        failed = transport_error(
            BedrockConnectionError, error, str(error), code=type(error).__name__, **where
        )
        if certificate_rejected(error):
            failed.is_retryable = False
        return failed
    if isinstance(error, BotocoreConnectionError):  # TLS and proxy failures
        failed = transport_error(
            BedrockConnectionError, error, str(error), code=type(error).__name__, **where
        )
        if isinstance(error, SSLError) and certificate_rejected(error):
            failed.is_retryable = False  # the same certificate again next time
        return failed
    if isinstance(error, NoCredentialsError):
        return BedrockAuthenticationError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or pass credentials_profile_name / aws_access_key_id",
            code="NoCredentials",
            **where,
        )
    if isinstance(error, _CREDENTIAL_ERRORS):
        return BedrockAuthenticationError(
            f"AWS credentials could not be obtained: {error}", code=type(error).__name__, **where
        )
    name = type(error).__name__
    module = type(error).__module__ or ""
    # Transport failures only; botocore's configuration and validation errors (no region,
    # an HTTP endpoint with an API key, bad parameters) are not worth a retry and
    # propagate as themselves.
    if isinstance(error, HTTPClientError) or module.startswith(("urllib3", "http.client")):
        if "Timeout" in name:
            return BedrockTimeoutError(str(error), code=name, **where)
        return BedrockConnectionError(f"{name}: {error}", code=name, **where)
    return error
