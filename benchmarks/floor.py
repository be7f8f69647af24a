"""LangChain's own floor: a chat model with no I/O that yields the chunks a scripted answer
holds, paced as the server paces its events.

The chunks have the shape both Bedrock chat models (``ChatBedrockConverse`` and
``ChatBedrockStream``) give a text delta: a list of content blocks with their index, and
the provider in ``response_metadata``; summing them with ``+`` merges those blocks. Whatever
a streaming Bedrock chat model costs beyond this (per event, on the same event loop) is what
its transport and decoding add; this is what LangChain's chunk machinery (callbacks,
``AIMessageChunk``, run ids, merging) costs by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult


def _chunk(event: Mapping[str, Any]) -> AIMessageChunk | None:
    """The chunk a Bedrock chat model makes of one event (None: the event makes none)."""
    delta = event.get("contentBlockDelta")
    if delta is not None and "text" in delta["delta"]:
        text = delta["delta"]["text"]
        block = {"type": "text", "text": text, "index": delta["contentBlockIndex"]}
        return AIMessageChunk(content=[block], response_metadata={"model_provider": "bedrock"})
    metadata = event.get("metadata")
    if metadata is not None:
        usage = metadata["usage"]
        return AIMessageChunk(
            content="",
            usage_metadata={
                "input_tokens": usage["inputTokens"],
                "output_tokens": usage["outputTokens"],
                "total_tokens": usage["totalTokens"],
            },
            response_metadata={"stopReason": "end_turn", "metrics": metadata["metrics"]},
            chunk_position="last",
        )
    return None


class FloorChatModel(BaseChatModel):
    """Yields the chunks of ``events``, event ``k`` due ``k * delay`` seconds after the start."""

    events: Sequence[Mapping[str, Any]]
    delay: float = 0.02

    @property
    def _llm_type(self) -> str:
        return "langchain-floor"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.text for e in self.events if (c := _chunk(e)) is not None)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, event in enumerate(self.events):
            message = _chunk(event)
            if message is None:
                continue
            wait = start + index * self.delay - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            chunk = ChatGenerationChunk(message=message)
            if run_manager is not None:
                await run_manager.on_llm_new_token(message.text, chunk=chunk)
            yield chunk
