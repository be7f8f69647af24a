"""LangChain messages -> Converse ``(system, messages)``: the conversation rules of
:func:`to_converse_messages`.

- ``SystemMessage`` content, wherever it appears, goes to ``system`` in order.
- ``HumanMessage`` is a ``user`` turn, ``AIMessage`` an ``assistant`` turn, ``ToolMessage`` a
  ``toolResult`` block in a ``user`` turn. Consecutive turns of one role are merged into one
  Converse message (Bedrock requires alternation), so tool results that answer one assistant
  turn end up in one user message; ``toolResult`` blocks are moved to the front of a user
  message (Anthropic models reject text before tool results).
- ``AIMessage.tool_calls`` are the authority on tool arguments (one ``toolUse`` per id);
  ``invalid_tool_calls`` are replayed with ``{}`` input so their error results still match.
- Empty text blocks are dropped. A message left with no content is dropped too (its
  neighbours then merge); Bedrock rejects empty content lists, and dropping invents nothing.
- The placeholder text ``"."`` is added only where Bedrock would reject the request
  otherwise: a ``toolResult`` with no content (rejected for ``status="error"`` and by several
  models for success), a history whose first turn is the assistant's (Bedrock requires the
  conversation to start with a user turn, so a ``"."`` user turn is prepended), and a
  history that has no user or assistant turn at all (one ``"."`` user turn is sent).
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_bedrock_stream.errors import InputConversionError

from ._blocks import PLACEHOLDER_TEXT, _Block, _block_kind, _Role, _Unconvertible
from ._content import _convert_content, _tool_result
from ._context import _Ctx, _reasoning_mode
from ._document_names import _DocumentNames
from ._tool_use import _invalid_tool_call

_SYSTEM_KEYS = frozenset({"text", "guardContent", "cachePoint"})


def _system_blocks(message: BaseMessage, ctx: _Ctx) -> list[_Block]:
    blocks = _convert_content(message.content, ctx)
    for block in blocks:
        if next(iter(block)) not in _SYSTEM_KEYS:
            raise _Unconvertible(
                "system content can only be text, guard content and cache points", block
            )
    return blocks


def _with_tool_calls(blocks: list[_Block], message: AIMessage) -> list[_Block]:
    """Content blocks with ``tool_calls`` as the authority on tool use (one per id)."""
    calls = {call.get("id"): call for call in message.tool_calls}
    if None in calls or "" in calls:
        raise _Unconvertible("a tool call has no id", calls.get(None) or calls.get(""))
    result: list[_Block] = []
    seen: set[str] = set()
    for block in blocks:
        use = block.get("toolUse")
        if use is None:
            result.append(block)
            continue
        tool_id = use.get("toolUseId")
        if tool_id in seen:
            continue
        seen.add(tool_id)
        call = calls.get(tool_id)
        if call is not None:
            use = {**use, "name": call["name"], "input": call["args"]}
        result.append({"toolUse": use})
    for tool_id, call in calls.items():
        if tool_id not in seen:
            seen.add(str(tool_id))
            use = {"toolUseId": tool_id, "name": call["name"], "input": call["args"]}
            result.append({"toolUse": use})
    for invalid in message.invalid_tool_calls:
        if invalid.get("id") and invalid.get("name") and invalid["id"] not in seen:
            seen.add(str(invalid["id"]))
            result.extend(_invalid_tool_call(dict(invalid)))
    return result


def _tool_message(message: ToolMessage, ctx: _Ctx) -> list[_Block]:
    status = "error" if message.status == "error" else "success"
    return _tool_result(message.tool_call_id, message.content, status, message.content, ctx)


_CHAT_ROLES: dict[str, _Role] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
    "developer": "system",
}


def _role_of(message: BaseMessage) -> _Role:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, (HumanMessage, ToolMessage)):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, ChatMessage) and message.role.lower() in _CHAT_ROLES:
        return _CHAT_ROLES[message.role.lower()]
    raise _Unconvertible(f"unsupported message type {type(message).__name__}", message)


def _convert_message(message: BaseMessage, ctx: _Ctx) -> list[_Block]:
    if isinstance(message, ToolMessage):
        return _tool_message(message, ctx)
    if ctx.role == "system":
        return _system_blocks(message, ctx)
    blocks = _convert_content(message.content, ctx)
    if isinstance(message, AIMessage):
        return _with_tool_calls(blocks, message)
    return blocks


def _tool_results_first(content: list[_Block]) -> list[_Block]:
    results = [block for block in content if "toolResult" in block]
    if not results or content[: len(results)] == results:
        return content
    return results + [block for block in content if "toolResult" not in block]


def _finish_turns(turns: list[_Block]) -> list[_Block]:
    for turn in turns:
        if turn["role"] == "user":
            turn["content"] = _tool_results_first(turn["content"])
    if not turns or turns[0]["role"] == "assistant":
        turns.insert(0, {"role": "user", "content": [{"text": PLACEHOLDER_TEXT}]})
    return turns


def to_converse_messages(
    messages: Sequence[BaseMessage], *, model_id: str | None = None
) -> tuple[list[_Block], list[_Block]]:
    """Convert LangChain messages to Converse ``(system, messages)``.

    See the module docstring for the merging, empty-content and first-turn rules.
    ``model_id``, when given, adapts earlier reasoning to models that reject it (DeepSeek-R1:
    ``<think>`` text; Anthropic: unsigned reasoning left out).
    Raises ``InputConversionError`` (naming the message index and block type) for input
    that cannot be converted.
    """
    names = _DocumentNames()
    reasoning = _reasoning_mode(model_id)
    system: list[_Block] = []
    turns: list[_Block] = []
    for index, message in enumerate(messages):
        try:
            role = _role_of(message)
            blocks = _convert_message(message, _Ctx(role, names, reasoning))
        except _Unconvertible as err:
            raise InputConversionError(
                f"message {index} ({type(message).__name__}): cannot convert "
                f"{_block_kind(err.block)}: {err.reason}",
                message_index=index,
                block=err.block,
            ) from None
        if role == "system":
            system.extend(blocks)
        elif turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        elif blocks:
            turns.append({"role": role, "content": blocks})
    if not messages:
        return system, turns
    return system, _finish_turns(turns)
