"""Prompt caching for LangChain agents (``create_agent``), for :class:`ChatBedrockStream`.

langchain-aws's ``BedrockPromptCachingMiddleware`` checks ``isinstance(model, (ChatBedrock,
ChatBedrockConverse))`` and skips any other class with a warning, so it never reaches this
chat model. :class:`PromptCachingMiddleware` takes the same arguments and does the same thing:
it passes ``cache_control={"type": ..., "ttl": ...}`` with each model call (never writing
markers into the agent's stored messages), and the chat model puts cache points after the
system prompt, the tools and the conversation (see ``request.caching``).

Needs the ``langchain`` package (``pip install langchain``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal
from warnings import warn

from langchain.agents.middleware.types import (
    AgentMiddleware,
    ModelCallResult,
    ModelRequest,
    ModelResponse,
)

from .chat_model import ChatBedrockStream
from .models import describe

__all__ = ["PromptCachingMiddleware"]


class PromptCachingMiddleware(AgentMiddleware):
    """Cache the agent's prompt prefix on Bedrock for every model call.

    ``ttl``: ``"5m"`` (Bedrock's default lifetime) or ``"1h"``. ``min_messages_to_cache``:
    calls with fewer messages (the system prompt counted) are sent without caching.
    ``unsupported_model_behavior``: what a model that is not a :class:`ChatBedrockStream`,
    or whose family does not cache, gets: ``"ignore"``, ``"warn"`` (the default) or
    ``"raise"``. ``type`` is accepted for compatibility: Converse has one cache type.
    """

    def __init__(
        self,
        type: Literal["ephemeral"] = "ephemeral",  # langchain-aws's name
        ttl: Literal["5m", "1h"] = "5m",
        min_messages_to_cache: int = 0,
        unsupported_model_behavior: Literal["ignore", "warn", "raise"] = "warn",
    ) -> None:
        if ttl not in ("5m", "1h"):
            raise ValueError(f"ttl must be '5m' or '1h', got {ttl!r}")
        self.type = type
        self.ttl = ttl
        self.min_messages_to_cache = min_messages_to_cache
        self.unsupported_model_behavior = unsupported_model_behavior

    def _unsupported(self, reason: str) -> bool:
        if self.unsupported_model_behavior == "raise":
            raise ValueError(reason)
        if self.unsupported_model_behavior == "warn":
            warn(reason, stacklevel=4)
        return False

    def _applies(self, request: ModelRequest) -> bool:
        model = request.model
        if not isinstance(model, ChatBedrockStream):
            return self._unsupported(
                f"PromptCachingMiddleware caches for ChatBedrockStream, not "
                f"{type(model).__name__} (for ChatBedrockConverse use langchain-aws's "
                "BedrockPromptCachingMiddleware)"
            )
        described = describe(model.model_id, model.base_model_id)
        if described.known and not described.profile.prompt_caching:
            return self._unsupported(f"{model.model_id} does not support prompt caching")
        count = len(request.messages) + (1 if request.system_message else 0)
        return count >= self.min_messages_to_cache

    def _with_cache(self, request: ModelRequest) -> ModelRequest:
        if not self._applies(request):
            return request
        settings: dict[str, Any] = {
            **request.model_settings,
            "cache_control": {"type": self.type, "ttl": self.ttl},
        }
        return request.override(model_settings=settings)

    def wrap_model_call(
        self,
        request: ModelRequest,
        handler: Callable[[ModelRequest], ModelResponse],
    ) -> ModelCallResult:
        return handler(self._with_cache(request))

    async def awrap_model_call(
        self,
        request: ModelRequest,
        handler: Callable[[ModelRequest], Awaitable[ModelResponse]],
    ) -> ModelCallResult:
        return await handler(self._with_cache(request))
