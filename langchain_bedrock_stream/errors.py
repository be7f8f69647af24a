"""One documented exception tree; foreign errors are mapped here and nowhere else.

Every error raised by a Bedrock call is a ``BedrockError`` and also the matching
``langchain_core.exceptions`` type (``ModelRateLimitError``, ``ModelNotFoundError``, ...), so
code written for any LangChain provider can catch it. Errors that Bedrock itself reported
(HTTP errors and exception frames) are also ``botocore.exceptions.ClientError`` subclasses,
so code written for ``ChatBedrockConverse`` that catches ``ClientError`` keeps working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ReadTimeoutError,
)
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from .redaction import redact

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage

    from .accumulator import StreamResponse

__all__ = [
    "BedrockAPIError",
    "BedrockAuthenticationError",
    "BedrockConnectionError",
    "BedrockContextOverflowError",
    "BedrockError",
    "BedrockInvalidRequestError",
    "BedrockNotFoundError",
    "BedrockPermissionDeniedError",
    "BedrockRateLimitError",
    "BedrockTimeoutError",
    "InputConversionError",
    "StreamIntegrityError",
    "map_error",
]


def _scrub(error: BaseException) -> None:
    """Mask credentials in a foreign exception kept as ``__cause__`` (in place)."""
    args = tuple(redact(a) if isinstance(a, str) else a for a in error.args)
    if args != error.args:
        error.args = args
    response = getattr(error, "response", None)
    info = response.get("Error") if isinstance(response, dict) else None
    if isinstance(info, dict) and isinstance(info.get("Message"), str):
        info["Message"] = redact(info["Message"])


class InputConversionError(ValueError):
    """A LangChain input could not be turned into a Converse request.

    Raised before any request is sent; the message names the block and the message index.
    """

    def __init__(self, message: str, *, message_index: int | None = None, block: Any = None):
        super().__init__(message)
        self.message_index = message_index
        self.block = block


class BedrockError(ModelError):
    """Base of every error a Bedrock call raises.

    Attributes carry what a caller needs to act or report: the Bedrock error ``code``,
    ``status_code``, ``request_id``, ``model_id``, ``region``, ``retry_after`` (seconds, when
    Bedrock sent a hint), ``attempts`` (requests made, when retries were involved) and, when
    the failure came after content had streamed, ``partial_message``: an ``AIMessage`` with
    everything received (text, reasoning, finished tool calls, usage if known), and
    ``partial_response``, the same answer as a framework-free ``StreamResponse``.
    The foreign error (botocore, urllib3) is kept as ``__cause__``. Credentials are masked
    in every message.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        model_id: str | None = None,
        region: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.code = code
        self.status_code = status_code
        self.request_id = request_id
        self.model_id = model_id
        self.region = region
        self.retry_after = retry_after
        self.attempts: int | None = None
        self.partial_message: AIMessage | None = None
        self.partial_response: StreamResponse | None = None
        self.detail = redact(message)
        ModelError.__init__(self, self._describe())

    def _describe(self) -> str:
        where = f"model {self.model_id!r}" if self.model_id else "Bedrock"
        if self.region:
            where += f" in {self.region}"
        head = self.code or type(self).__name__
        if self.status_code:
            head += f" (HTTP {self.status_code})"
        text = f"{head} from {where}: {self.detail}"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        if self.attempts and self.attempts > 1:
            text += f" (gave up after {self.attempts} attempts)"
        return text

    def __str__(self) -> str:
        return self._describe()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.detail, self._fields()))

    def _fields(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "status_code": self.status_code,
            "request_id": self.request_id,
            "model_id": self.model_id,
            "region": self.region,
            "retry_after": self.retry_after,
        }


def _rebuild(cls: type[BedrockError], detail: str, fields: dict[str, Any]) -> BedrockError:
    return cls(detail, **fields)


class _ServiceError(BedrockError, ClientError):
    """An error Bedrock reported; also a botocore ``ClientError`` for existing handlers."""

    def __init__(self, message: str, *, operation: str = "ConverseStream", **fields: Any):
        BedrockError.__init__(self, message, **fields)
        self.response: dict[str, Any] = {
            "Error": {"Code": self.code or "", "Message": self.detail},
            "ResponseMetadata": {
                "RequestId": self.request_id or "",
                "HTTPStatusCode": self.status_code or 0,
            },
        }
        self.operation_name = operation

    def __str__(self) -> str:
        return self._describe()


class BedrockRateLimitError(_ServiceError, ModelRateLimitError):
    """Throttled (HTTP 429 / ``ThrottlingException``); retryable."""

    is_retryable = True


class BedrockAuthenticationError(_ServiceError, ModelAuthenticationError):
    """Credentials missing, invalid or expired."""


class BedrockPermissionDeniedError(_ServiceError, ModelPermissionDeniedError):
    """Credentials valid but not allowed (``AccessDeniedException``, model access not granted)."""


class BedrockNotFoundError(_ServiceError, ModelNotFoundError):
    """The model id, inference profile or resource does not exist in this region."""


class BedrockInvalidRequestError(_ServiceError, ModelInvalidRequestError):
    """Bedrock rejected the request (``ValidationException`` and other 4xx)."""


class BedrockContextOverflowError(_ServiceError, ContextOverflowError):
    """The input is longer than the model's context window."""


class BedrockAPIError(_ServiceError, ModelAPIError):
    """A server-side failure (5xx, model errors, mid-stream exception frames); retryable."""

    is_retryable = True


class BedrockTimeoutError(BedrockError, ModelTimeoutError):
    """The request or the model timed out; retryable."""

    is_retryable = True


class BedrockConnectionError(BedrockError, ModelConnectionError):
    """Bedrock could not be reached, or the connection dropped mid-answer; retryable."""

    is_retryable = True


class StreamIntegrityError(BedrockError, ModelAPIError):
    """The event stream was cut short or corrupt (no ``messageStop``, bad CRC, no events).

    Never reported as a short success: what did arrive is in ``partial_message``.
    """

    is_retryable = True


class _ServiceTimeoutError(BedrockTimeoutError, _ServiceError):
    """A timeout Bedrock reported (``ModelTimeoutException``, HTTP 408): also a ``ClientError``."""


class _ServiceConnectionError(BedrockConnectionError, _ServiceError):
    """A connection failure Bedrock reported as an HTTP error: also a ``ClientError``."""


_SERVICE_VARIANTS: dict[type[BedrockError], type[_ServiceError]] = {
    BedrockTimeoutError: _ServiceTimeoutError,
    BedrockConnectionError: _ServiceConnectionError,
}

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
        return _BY_CODE[code]
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
    value = headers.get("retry-after") or headers.get("x-amzn-retry-after")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def map_error(error: BaseException, *, model_id: str | None, region: str | None) -> BaseException:
    """Translate a botocore/urllib3 failure into the ``BedrockError`` tree.

    Anything that is not a transport or service failure (a bug, a ``KeyboardInterrupt``)
    is returned unchanged so it propagates as itself.
    """
    if isinstance(error, BedrockError):
        return error
    _scrub(error)
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
        service_cls = cls if issubclass(cls, _ServiceError) else _SERVICE_VARIANTS.get(cls)
        if service_cls is not None:
            mapped: BedrockError = service_cls(message, operation=error.operation_name, **fields)
        else:
            mapped = cls(message, **fields)
        return mapped
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError, TimeoutError)):
        return BedrockTimeoutError(str(error), code="Timeout", **where)
    if isinstance(error, (EndpointConnectionError, ConnectionClosedError, ConnectionError)):
        return BedrockConnectionError(str(error), code="ConnectionError", **where)
    if isinstance(error, NoCredentialsError):
        return BedrockAuthenticationError(
            "no AWS credentials found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or pass credentials_profile_name / aws_access_key_id",
            code="NoCredentials",
            **where,
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
