"""Error classes that are ours and another library's at once, so code written for that
library keeps catching them.

Transport failures are also the botocore exception the same failure raises through boto3
(what ``ChatBedrockConverse`` lets through), so drop-in code that catches
``EndpointConnectionError`` to fail over keeps working; these are named at module level and
pickle as themselves. A service error is also the client's modeled class
(``client.exceptions.ValidationException``); botocore makes those per session, so those
classes are made at run time (``also``), and pickle as the class they extend. The LangChain
face (``_langchain_face``) makes its classes with ``also`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ProxyConnectionError,
    ReadTimeoutError,
    SSLError,
)

from .errors import BedrockConnectionError, BedrockError, BedrockTimeoutError, _ServiceError

__all__ = [
    "SERVICE_VARIANTS",
    "MadeClasses",
    "also",
    "also_modeled",
    "is_modeled",
    "transport_error",
]

_E = TypeVar("_E", bound=BedrockError)
_K = TypeVar("_K")


def also(cls: type[_E], other: type, **attributes: Any) -> type[_E]:
    """A class that is ``cls`` and also ``other``, named as ``cls`` and pickled as ``cls``
    (or as what ``cls`` itself pickles as): ``isinstance`` holds for both."""
    namespace = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__doc__": cls.__doc__,
        "_pickled_as": getattr(cls, "_pickled_as", None) or cls,
        **attributes,
    }
    return type(cls.__name__, (cls, other), namespace)


class MadeClasses(Generic[_K, _E]):
    """Classes made at run time by ``make``, once per key. At most ``size`` are kept (the
    classes botocore makes per session, which keys hold on to, come and go)."""

    def __init__(self, make: Callable[[_K], type[_E]], *, size: int) -> None:
        self._make, self._size = make, size
        self._made: dict[_K, type[_E]] = {}

    def __call__(self, key: _K) -> type[_E]:
        made = self._made.get(key)
        if made is None:
            if len(self._made) >= self._size:
                self._made.clear()
            made = self._made[key] = self._make(key)
        return made


class _ServiceTimeoutError(BedrockTimeoutError, _ServiceError):
    """A timeout Bedrock reported (``ModelTimeoutException``, HTTP 408): also a ``ClientError``."""


class _ServiceConnectionError(BedrockConnectionError, _ServiceError):
    """A connection failure Bedrock reported as an HTTP error: also a ``ClientError``."""


class _TransportError(BedrockError):
    """A transport failure that is also botocore's exception for it: ``kwargs`` as botocore
    keeps them (values that are not plain data as text, so the error pickles)."""

    kwargs: dict[str, Any]

    def _take_kwargs(self, error: BaseException) -> None:
        kwargs = getattr(error, "kwargs", None) or {}
        self.kwargs = {
            name: value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
            for name, value in kwargs.items()
        }


class _EndpointConnectionError(_TransportError, BedrockConnectionError, EndpointConnectionError):
    """Bedrock could not be reached; also botocore's ``EndpointConnectionError``."""


class _ConnectTimeoutError(_TransportError, BedrockTimeoutError, ConnectTimeoutError):
    """Connecting timed out; also botocore's ``ConnectTimeoutError``."""


class _ReadTimeoutError(_TransportError, BedrockTimeoutError, ReadTimeoutError):
    """No data for ``read_timeout``; also botocore's ``ReadTimeoutError``."""


class _ProxyConnectionError(_TransportError, BedrockConnectionError, ProxyConnectionError):
    """The proxy could not be reached or refused; also botocore's ``ProxyConnectionError``."""


class _SSLError(_TransportError, BedrockConnectionError, SSLError):
    """TLS failed; also botocore's ``SSLError``."""


class _ConnectionClosedError(_TransportError, BedrockConnectionError, ConnectionClosedError):
    """The connection closed before or during the answer; also botocore's
    ``ConnectionClosedError``."""


_AS_BOTOCORE: tuple[tuple[type[BotoCoreError], type[_TransportError]], ...] = (
    (ConnectTimeoutError, _ConnectTimeoutError),
    (ReadTimeoutError, _ReadTimeoutError),
    (ProxyConnectionError, _ProxyConnectionError),
    (SSLError, _SSLError),
    (EndpointConnectionError, _EndpointConnectionError),
    (ConnectionClosedError, _ConnectionClosedError),
)
"""Most specific first (``ConnectTimeoutError`` is also a botocore ``ConnectionError``)."""


def _transport_class(error: BaseException, base: type[BedrockError]) -> type[BedrockError]:
    """``base``, or the class that is both ``base`` and the botocore class of ``error``."""
    for botocore_class, ours in _AS_BOTOCORE:
        if isinstance(error, botocore_class) and issubclass(ours, base):
            return ours
    return base


def transport_error(
    base: type[BedrockError], error: BaseException, message: str, **fields: Any
) -> BedrockError:
    """A ``base`` error for the transport failure ``error``: also botocore's class of it."""
    cls = _transport_class(error, base)
    mapped = cls(message, **fields)
    if isinstance(mapped, _TransportError):
        mapped._take_kwargs(error)
    return mapped


SERVICE_VARIANTS: dict[type[BedrockError], type[_ServiceError]] = {
    BedrockTimeoutError: _ServiceTimeoutError,
    BedrockConnectionError: _ServiceConnectionError,
}

_MODELED_MODULE = "botocore.errorfactory"
"""Where botocore creates a client's modeled exception classes
(``client.exceptions.ValidationException``, ...), one set per session."""


def is_modeled(cls: type) -> bool:
    """Whether ``cls`` is one of a client's modeled exception classes."""
    return cls.__module__ == _MODELED_MODULE


def _also_modeled(pair: tuple[type[_ServiceError], type[ClientError]]) -> type[_ServiceError]:
    return also(*pair)


also_modeled = MadeClasses(_also_modeled, size=256)
"""``also_modeled((cls, modeled))``: ``cls`` that is also the client's modeled exception
class, so code written for botocore (``except client.exceptions.ValidationException``) keeps
catching it. Made once per pair; pickles as ``cls`` (the modeled class lives only in its
session)."""
