"""LangChain messages -> Converse ``(system, messages)``: the conversation rules of
:func:`to_converse_messages`, and the table that converts one content item.

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

Content items: ``CONVERTERS`` maps each block ``type`` to a converter (``index`` keys are
ignored everywhere); an untyped dict must be a raw Converse block, a string is text. In tool
results strings and known blocks are converted; any other dict is tool output data and is sent
as ``{"json": value}`` exactly as given (keys are never renamed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_bedrock_stream.errors import InputConversionError

from . import blocks, media
from .blocks import (
    PLACEHOLDER_TEXT,
    Block,
    Ctx,
    DocumentNames,
    Role,
    Unconvertible,
    block_kind,
    extras,
    invalid_tool_call,
    is_raw,
    raw_block,
)
from .caching import cache_marker
from .family import reasoning_mode

# --- tool results ---------------------------------------------------------------------------


def _status(block: Mapping[str, Any]) -> str:
    if block.get("status") == "error" or block.get("is_error") or block.get("isError"):
        return "error"
    return "success"


def tool_result(
    tool_use_id: Any, content: Any, status: str, block: Any, ctx: Ctx, result_type: Any = None
) -> list[Block]:
    """A ``toolResult`` block, and the cache points that follow it."""
    if not tool_use_id:
        raise Unconvertible("a tool result needs the id of its tool use", block)
    converted, trailing = _tool_result_content(content, ctx)
    result: Block = {
        "toolUseId": tool_use_id,
        "content": converted or [{"text": PLACEHOLDER_TEXT}],
        "status": status,
    }
    if result_type:
        result["type"] = result_type
    return [{"toolResult": result}, *trailing]


def _server_tool_result(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    if "tool_call_id" in block:  # LangChain v1 standard block
        tool_use_id, content = block.get("tool_call_id"), block.get("output")
    else:
        tool_use_id, content = block.get("tool_use_id"), block.get("content")
    result_type = block.get("result_type") or extras(block).get("type")
    return tool_result(tool_use_id, content, _status(block), block, ctx, result_type)


def _anthropic_tool_result(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    return tool_result(block.get("tool_use_id"), block.get("content"), _status(block), block, ctx)


# Tool results accept these Converse members; cache points go after the toolResult block.
_TOOL_RESULT_KEYS = frozenset({"text", "json", "image", "document", "video", "searchResult"})


def _tool_result_item(item: Any, ctx: Ctx) -> list[Block]:
    if isinstance(item, str):
        return convert_block(item, ctx)
    if isinstance(item, Mapping) and (
        (isinstance(item.get("type"), str) and item["type"] in CONVERTERS)
        or is_raw({k: v for k, v in item.items() if k != "cache_control"})
    ):
        return convert_block(item, ctx)
    return [{"json": item}]  # tool output data: sent as given, keys untouched


def _tool_result_content(content: Any, ctx: Ctx) -> tuple[list[Block], list[Block]]:
    """Converse tool-result content, and the cache points that must follow the result."""
    if content is None:
        return [], []
    items = content if isinstance(content, list) else [content]
    converted: list[Block] = []
    trailing: list[Block] = []
    for item in items:
        for block in _tool_result_item(item, ctx):
            if "cachePoint" in block:
                trailing.append(block)
            elif next(iter(block)) in _TOOL_RESULT_KEYS:
                converted.append(block)
            else:
                raise Unconvertible(
                    f"a tool result cannot hold a {next(iter(block))!r} block", item
                )
    return converted, trailing


# --- one content item -----------------------------------------------------------------------


def _json(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    return [{"json": block.get("json")}]


def _non_standard(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    value = block.get("value")
    if isinstance(value, Mapping) and "type" in value:
        return convert_block(value, ctx)
    if isinstance(value, Mapping) and value:
        return [raw for key in value for raw in raw_block({key: value[key]})]
    raise Unconvertible("a non_standard block must wrap a dict", block)


Converter = Callable[[Mapping[str, Any], Ctx], list[Block]]

CONVERTERS: dict[str, Converter] = {
    "text": blocks.text,
    "image": media.image,
    "image_url": media.image_url,
    "file": media.file,
    "text-plain": media.text_plain,
    "document": media.document,
    "video": media.video,
    "video_url": media.video_url,
    "audio": media.audio,
    "input_audio": media.input_audio,
    "reasoning_content": blocks.reasoning,
    "reasoning": blocks.reasoning,
    "thinking": blocks.reasoning,
    "redacted_thinking": blocks.reasoning,
    "tool_use": lambda block, ctx: blocks.tool_use(block, args_key="input"),
    "tool_call": lambda block, ctx: blocks.tool_use(block, args_key="args"),
    "tool_call_chunk": lambda block, ctx: blocks.tool_use(block, args_key="args"),
    "invalid_tool_call": invalid_tool_call,
    "server_tool_use": lambda block, ctx: blocks.tool_use(block, args_key="input", server=True),
    "server_tool_call": lambda block, ctx: blocks.tool_use(block, args_key="args", server=True),
    "server_tool_result": _server_tool_result,
    "tool_result": _anthropic_tool_result,
    "json": _json,
    "guard_content": blocks.guard_content,
    "search_result": blocks.search_result,
    "non_standard": _non_standard,
}
"""LangChain / OpenAI / Anthropic block ``type`` -> converter to Converse blocks."""


def convert_block(block: Any, ctx: Ctx) -> list[Block]:
    """One content item (a string or a block dict) -> Converse blocks."""
    if isinstance(block, str):
        return blocks.text({"text": block}, ctx)
    if not isinstance(block, Mapping):
        raise Unconvertible("content items must be strings or dicts", block)
    kind = block.get("type")
    if kind is None:
        raw = raw_block(block)
        if raw and isinstance(raw[0].get("document"), Mapping):
            ctx.names.note(raw[0]["document"].get("name"))
        return [*raw, *cache_marker(block)]
    converter = CONVERTERS.get(kind) if isinstance(kind, str) else None
    if converter is None:
        raise Unconvertible(f"unknown block type; known types: {sorted(CONVERTERS)}", block)
    return [*converter(block, ctx), *cache_marker(block)]


def _convert_content(content: Any, ctx: Ctx) -> list[Block]:
    items = [content] if isinstance(content, str) else list(content or [])
    if ctx.role == "assistant":
        items = blocks.merge_split_reasoning(items)
    return [converted for item in items for converted in convert_block(item, ctx)]


# --- one message ----------------------------------------------------------------------------

_SYSTEM_KEYS = frozenset({"text", "guardContent", "cachePoint"})


def _system_blocks(message: BaseMessage, ctx: Ctx) -> list[Block]:
    converted = _convert_content(message.content, ctx)
    for block in converted:
        if next(iter(block)) not in _SYSTEM_KEYS:
            raise Unconvertible(
                "system content can only be text, guard content and cache points", block
            )
    return converted


def _with_tool_calls(converted: list[Block], message: AIMessage) -> list[Block]:
    """Content blocks with ``tool_calls`` as the authority on tool use (one per id)."""
    calls = {call.get("id"): call for call in message.tool_calls}
    if None in calls or "" in calls:
        raise Unconvertible("a tool call has no id", calls.get(None) or calls.get(""))
    result: list[Block] = []
    seen: set[str] = set()
    for block in converted:
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
            result.extend(invalid_tool_call(dict(invalid)))
    return result


def _tool_message(message: ToolMessage, ctx: Ctx) -> list[Block]:
    status = "error" if message.status == "error" else "success"
    return tool_result(message.tool_call_id, message.content, status, message.content, ctx)


_CHAT_ROLES: dict[str, Role] = {
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
    "developer": "system",
}


def _role_of(message: BaseMessage) -> Role:
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, (HumanMessage, ToolMessage)):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, ChatMessage) and message.role.lower() in _CHAT_ROLES:
        return _CHAT_ROLES[message.role.lower()]
    raise Unconvertible(f"unsupported message type {type(message).__name__}", message)


def _convert_message(message: BaseMessage, ctx: Ctx) -> list[Block]:
    if isinstance(message, ToolMessage):
        return _tool_message(message, ctx)
    if ctx.role == "system":
        return _system_blocks(message, ctx)
    converted = _convert_content(message.content, ctx)
    if isinstance(message, AIMessage):
        return _with_tool_calls(converted, message)
    return converted


# --- the conversation -----------------------------------------------------------------------


def _tool_results_first(content: list[Block]) -> list[Block]:
    results = [block for block in content if "toolResult" in block]
    if not results or content[: len(results)] == results:
        return content
    return results + [block for block in content if "toolResult" not in block]


def _finish_turns(turns: list[Block]) -> list[Block]:
    for turn in turns:
        if turn["role"] == "user":
            turn["content"] = _tool_results_first(turn["content"])
    if not turns or turns[0]["role"] == "assistant":
        turns.insert(0, {"role": "user", "content": [{"text": PLACEHOLDER_TEXT}]})
    return turns


def conversion_error(index: int, message: Any, err: Unconvertible) -> InputConversionError:
    """The error a caller sees: the message index, its type and the block that failed."""
    return InputConversionError(
        f"message {index} ({type(message).__name__}): cannot convert "
        f"{block_kind(err.block)}: {err.reason}",
        message_index=index,
        block=err.block,
    )


def to_converse_messages(
    messages: Sequence[BaseMessage], *, model_id: str | None = None
) -> tuple[list[Block], list[Block]]:
    """Convert LangChain messages to Converse ``(system, messages)``.

    See the module docstring for the merging, empty-content and first-turn rules.
    ``model_id``, when given, adapts earlier reasoning to models that reject it (DeepSeek-R1:
    ``<think>`` text; Anthropic: unsigned reasoning left out).
    Raises ``InputConversionError`` (naming the message index and block type) for input
    that cannot be converted.
    """
    names = DocumentNames()
    reasoning = reasoning_mode(model_id)
    system: list[Block] = []
    turns: list[Block] = []
    for index, message in enumerate(messages):
        try:
            role = _role_of(message)
            converted = _convert_message(message, Ctx(role, names, reasoning))
        except Unconvertible as err:
            raise conversion_error(index, message, err) from None
        if role == "system":
            system.extend(converted)
        elif turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(converted)
        elif converted:
            turns.append({"role": role, "content": converted})
    if not messages:
        return system, turns
    return system, _finish_turns(turns)
