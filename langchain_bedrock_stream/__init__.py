"""Amazon Bedrock (Converse / ConverseStream) for LangChain, with a fast, lossless streaming core.

Public names:

- ``ChatBedrockStream``: the LangChain chat model (drop-in for ``ChatBedrockConverse``).
- ``BedrockStream`` / ``converse_stream`` / ``converse``: one Bedrock answer without LangChain:
  iterate its deltas and tool calls, then read text, tool calls, usage, cost, next messages.
- the ``BedrockError`` tree: typed errors; raised through ``ChatBedrockStream`` also LangChain's
  ``Model*Error`` types.
- ``estimate_cost`` / ``get_bedrock_usage_callback``: cost of an answer, totals across runs.
- ``create_cache_point``: a prompt-caching checkpoint to place in your messages.
- ``enable_tracing`` / ``disable_tracing``: OpenTelemetry GenAI spans of this package's own.
- ``LocalRateLimiter`` / ``RayRateLimiter`` / ``RateLimits``: Bedrock's quotas shared by threads
  or by every worker of a Ray cluster.
- ``langchain_bedrock_stream.testing``: an event-stream encoder and a local Bedrock-wire server.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import _deprecated

if TYPE_CHECKING:  # the same names as _PUBLIC below, for type checkers
    from ._request import create_cache_point as create_cache_point
    from ._retry import RetryPolicy as RetryPolicy
    from .chat_model import ChatBedrockStream as ChatBedrockStream
    from .errors import BedrockAPIError as BedrockAPIError
    from .errors import BedrockAuthenticationError as BedrockAuthenticationError
    from .errors import BedrockConnectionError as BedrockConnectionError
    from .errors import BedrockContextOverflowError as BedrockContextOverflowError
    from .errors import BedrockError as BedrockError
    from .errors import BedrockInvalidRequestError as BedrockInvalidRequestError
    from .errors import BedrockNotFoundError as BedrockNotFoundError
    from .errors import BedrockPermissionDeniedError as BedrockPermissionDeniedError
    from .errors import BedrockRateLimitError as BedrockRateLimitError
    from .errors import BedrockTimeoutError as BedrockTimeoutError
    from .errors import IncompleteStreamError as IncompleteStreamError
    from .errors import InputConversionError as InputConversionError
    from .errors import StreamIntegrityError as StreamIntegrityError
    from .models import register_model_profile as register_model_profile
    from .pricing import ModelPrice as ModelPrice
    from .pricing import estimate_cost as estimate_cost
    from .pricing import register_price as register_price
    from .ratelimit import LocalRateLimiter as LocalRateLimiter
    from .ratelimit import RateLimits as RateLimits
    from .ratelimit import RayRateLimiter as RayRateLimiter
    from .stream import BedrockInvalidToolCall as BedrockInvalidToolCall
    from .stream import BedrockStream as BedrockStream
    from .stream import BedrockToolCall as BedrockToolCall
    from .stream import StreamResponse as StreamResponse
    from .stream import converse as converse
    from .stream import converse_stream as converse_stream
    from .telemetry import disable_tracing as disable_tracing
    from .telemetry import enable_tracing as enable_tracing
    from .usage import BedrockUsageCallbackHandler as BedrockUsageCallbackHandler
    from .usage import get_bedrock_usage_callback as get_bedrock_usage_callback

# The public line, in one table: each public name and the module that defines it. Names
# resolve on first use, so ``BedrockStream`` (and ``langchain_bedrock_stream.stream``) can
# be imported without loading LangChain or boto3; ``__all__`` is this table's names, and the
# ``TYPE_CHECKING`` imports above say the same to type checkers (a test holds them equal).
_PUBLIC: dict[str, tuple[str, ...]] = {
    "chat_model": ("ChatBedrockStream",),
    "stream": (
        "BedrockStream",
        "BedrockToolCall",
        "BedrockInvalidToolCall",
        "converse",
        "converse_stream",
        "StreamResponse",
    ),
    "errors": (
        "BedrockError",
        "BedrockAPIError",
        "BedrockAuthenticationError",
        "BedrockConnectionError",
        "BedrockContextOverflowError",
        "BedrockInvalidRequestError",
        "BedrockNotFoundError",
        "BedrockPermissionDeniedError",
        "BedrockRateLimitError",
        "BedrockTimeoutError",
        "IncompleteStreamError",
        "InputConversionError",
        "StreamIntegrityError",
    ),
    "_retry": ("RetryPolicy",),
    "_request": ("create_cache_point",),
    "ratelimit": ("LocalRateLimiter", "RayRateLimiter", "RateLimits"),
    "pricing": ("ModelPrice", "estimate_cost", "register_price"),
    "models": ("register_model_profile",),
    "usage": ("BedrockUsageCallbackHandler", "get_bedrock_usage_callback"),
    "telemetry": ("enable_tracing", "disable_tracing"),
}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}

_deprecated.install()


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        return _deprecated.attribute(__name__, name)
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = sorted(_WHERE)

__version__ = "0.2.0"
