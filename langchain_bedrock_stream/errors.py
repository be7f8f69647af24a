"""The exception tree of every Bedrock call, drawn::

    Exception
    ├── BedrockError                      code, status_code, request_id, model_id, region,
    │   │                                 retry_after, attempts, partial_response/_message
    │   ├── BedrockRateLimitError         429, ThrottlingException           retryable
    │   ├── BedrockAuthenticationError    401, bad or missing credentials
    │   ├── BedrockPermissionDeniedError  403, AccessDeniedException
    │   ├── BedrockNotFoundError          404, unknown model or profile
    │   ├── BedrockInvalidRequestError    400, ValidationException
    │   ├── BedrockContextOverflowError   input longer than the context window
    │   ├── BedrockAPIError               5xx, model and mid-stream errors   retryable
    │   │   (the seven above are also botocore's ClientError, and the client's modeled
    │   │   class: ``except client.exceptions.ValidationException`` catches them)
    │   ├── BedrockTimeoutError           connect/read timeouts, 408         retryable
    │   ├── BedrockConnectionError        unreachable, dropped; also         retryable
    │   │                                 Python's ConnectionError
    │   │   (transport failures are also the botocore exception the same failure raises:
    │   │   EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
    │   │   ProxyConnectionError, SSLError, ConnectionClosedError)
    │   └── StreamIntegrityError          corrupt, malformed or not an event stream
    │       └── IncompleteStreamError     ended before messageStop; also ConnectionError
    └── ValueError
        └── InputConversionError          bad input, raised before any request

Raised through ``ChatBedrockStream``, every ``BedrockError`` is also the matching
``langchain_core.exceptions`` type (``ModelRateLimitError``, ``ModelAPIError``, ...), so code
written for any LangChain provider can catch it; this module and ``BedrockStream`` load
nothing of LangChain (the face is given at the chat model's crossings, ``_langchain_face``).
Foreign errors are translated in one place, ``_error_boundary.map_errors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    ClientError,
)

from ._redaction import redact

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage

    from ._accumulator import StreamResponse


class InputConversionError(ValueError):
    """A LangChain input could not be turned into a Converse request.

    Raised before any request is sent; the message names the block and the message index.
    """

    def __init__(self, message: str, *, message_index: int | None = None, block: Any = None):
        super().__init__(message)
        self.message_index = message_index
        self.block = block


class BedrockError(Exception):
    """Base of every error a Bedrock call raises.

    Attributes carry what a caller needs to act or report: the Bedrock error ``code``,
    ``status_code``, ``request_id``, ``model_id``, ``region``, ``retry_after`` (seconds, when
    Bedrock sent a hint), ``attempts`` (requests made, when retries were involved) and, when
    the failure came after content had streamed, ``partial_message``: an ``AIMessage`` with
    everything received (text, reasoning, finished tool calls, usage if known), and
    ``partial_response``, the same answer as a framework-free ``StreamResponse``.
    The foreign error (botocore, urllib3) is kept as ``__cause__``. Credentials are masked
    in every message. ``is_retryable``: whether the same request may succeed later.
    """

    is_retryable = False

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
        Exception.__init__(self, self._describe())

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
        # Rebuilt from its constructor arguments, then every attribute set since
        # (``attempts``, ``partial_message``, ``partial_response``, ``response``, ...).
        # A class made for one client's modeled exception pickles as the class it extends.
        cls = getattr(type(self), "_pickled_as", None) or type(self)
        faced = getattr(type(self), "_langchain_face", False)
        return (_rebuild, (cls, self.detail, self._fields(), faced), dict(vars(self)))

    def _fields(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "status_code": self.status_code,
            "request_id": self.request_id,
            "model_id": self.model_id,
            "region": self.region,
            "retry_after": self.retry_after,
        }


def _rebuild(
    cls: type[BedrockError], detail: str, fields: dict[str, Any], faced: bool = False
) -> BedrockError:
    error = cls(detail, **fields)
    if faced:  # raised through ChatBedrockStream: also LangChain's type again
        from ._langchain_face import as_langchain

        as_langchain(error)
    return error


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


class BedrockRateLimitError(_ServiceError):
    """Throttled (HTTP 429 / ``ThrottlingException``); retryable."""

    is_retryable = True


class BedrockAuthenticationError(_ServiceError):
    """Credentials missing, invalid or expired."""


class BedrockPermissionDeniedError(_ServiceError):
    """Credentials valid but not allowed (``AccessDeniedException``, model access not granted)."""


class BedrockNotFoundError(_ServiceError):
    """The model id, inference profile or resource does not exist in this region."""


class BedrockInvalidRequestError(_ServiceError):
    """Bedrock rejected the request (``ValidationException`` and other 4xx)."""


class BedrockContextOverflowError(_ServiceError):
    """The input is longer than the model's context window."""


class BedrockAPIError(_ServiceError):
    """A server-side failure (5xx, model errors, mid-stream exception frames); retryable."""

    is_retryable = True


class BedrockTimeoutError(BedrockError):
    """The request or the model timed out; retryable."""

    is_retryable = True


class BedrockConnectionError(BedrockError, ConnectionError):
    """Bedrock could not be reached, or the connection dropped mid-answer; retryable.

    Also the builtin ``ConnectionError``, so ``with_retry(retry_if_exception_type=
    (ConnectionError,))`` written for botocore's errors still retries it.
    """

    is_retryable = True


class StreamIntegrityError(BedrockError):
    """The event stream was cut short or corrupt (no ``messageStop``, bad CRC, no events).

    Never reported as a short success: what did arrive is in ``partial_message``.
    """

    is_retryable = True


class IncompleteStreamError(StreamIntegrityError, ConnectionError):
    """The event stream ended before ``messageStop``: an answer cut short, never a success.

    Also the builtin ``ConnectionError`` (a cut stream is a failed connection), so
    ``with_retry(retry_if_exception_type=(ConnectionError,))`` retries it.
    """


__all__ = sorted(  # every class of the tree above, and nothing else
    name
    for name, value in list(globals().items())
    if not name.startswith("_")
    and isinstance(value, type)
    and issubclass(value, (BedrockError, InputConversionError))
)


def __getattr__(name: str) -> Any:
    """``map_error`` / ``map_errors`` / ``typed_error`` lived here until 0.2.0 (deprecated)."""
    from . import _deprecated

    return _deprecated.attribute(__name__, name)
