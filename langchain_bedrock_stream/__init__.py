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

if TYPE_CHECKING:
    from .accumulator import StreamResponse
    from .chat_model import ChatBedrockStream
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
        IncompleteStreamError,
        InputConversionError,
        StreamIntegrityError,
    )
    from .models import register_model_profile
    from .pricing import ModelPrice, estimate_cost, register_price
    from .ratelimit import LocalRateLimiter, RateLimits, RayRateLimiter
    from .request import create_cache_point
    from .retry import RetryPolicy
    from .stream import (
        BedrockInvalidToolCall,
        BedrockStream,
        BedrockToolCall,
        converse,
        converse_stream,
    )
    from .telemetry import disable_tracing, enable_tracing
    from .usage import BedrockUsageCallbackHandler, get_bedrock_usage_callback

# Names resolve on first use, so ``BedrockStream`` (and ``langchain_bedrock_stream.stream``)
# can be imported without loading LangChain or boto3.
_WHERE = {
    "ChatBedrockStream": "chat_model",
    "BedrockStream": "stream",
    "BedrockToolCall": "stream",
    "BedrockInvalidToolCall": "stream",
    "converse": "stream",
    "converse_stream": "stream",
    "StreamResponse": "accumulator",
    "RetryPolicy": "retry",
    "create_cache_point": "request",
    "LocalRateLimiter": "ratelimit",
    "RayRateLimiter": "ratelimit",
    "RateLimits": "ratelimit",
    "estimate_cost": "pricing",
    "register_price": "pricing",
    "register_model_profile": "models",
    "ModelPrice": "pricing",
    "get_bedrock_usage_callback": "usage",
    "enable_tracing": "telemetry",
    "disable_tracing": "telemetry",
    "BedrockUsageCallbackHandler": "usage",
    **{
        name: "errors"
        for name in (
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
            "IncompleteStreamError",
            "InputConversionError",
            "StreamIntegrityError",
        )
    },
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if name in ("ToolCall", "InvalidToolCall"):  # the 0.1.0 names, deprecated
        from .stream import renamed

        return renamed(__name__, name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__all__ = [
    "BedrockAPIError",
    "BedrockAuthenticationError",
    "BedrockConnectionError",
    "BedrockContextOverflowError",
    "BedrockError",
    "BedrockInvalidRequestError",
    "BedrockInvalidToolCall",
    "BedrockNotFoundError",
    "BedrockPermissionDeniedError",
    "BedrockRateLimitError",
    "BedrockStream",
    "BedrockTimeoutError",
    "BedrockToolCall",
    "BedrockUsageCallbackHandler",
    "ChatBedrockStream",
    "IncompleteStreamError",
    "InputConversionError",
    "LocalRateLimiter",
    "ModelPrice",
    "RateLimits",
    "RayRateLimiter",
    "RetryPolicy",
    "StreamIntegrityError",
    "StreamResponse",
    "converse",
    "converse_stream",
    "create_cache_point",
    "disable_tracing",
    "enable_tracing",
    "estimate_cost",
    "get_bedrock_usage_callback",
    "register_model_profile",
    "register_price",
]

__version__ = "0.2.0"
