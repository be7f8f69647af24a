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
  A tool result that answers no earlier tool call is an error (Bedrock rejects it).
- Empty text blocks are dropped. Whitespace-only ones go where Bedrock rejects them ("text
  content blocks must contain non-whitespace text"): a message, system prompt or tool result
  that is all blank is dropped; in system content they are dropped, and in an assistant turn
  (the ``" "`` after a citations answer, the ``"\n\n"`` before a tool call) each becomes
  ``"."``, as ChatBedrockConverse sends them and Bedrock accepted in recorded traffic. (A
  whitespace separator beside other user content is accepted, as recorded traffic shows, and
  is kept.) A message left with no content is dropped too (its neighbours then merge);
  Bedrock rejects empty content lists, and dropping invents nothing. A final assistant turn
  (a prefill) loses its trailing whitespace, which Bedrock also rejects.
- ``toolResult.status`` is sent only to families that accept it (and when no model is named);
  images in a tool result move after it, into the user message, for a known family that does
  not take images inside tool results.
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

import json
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
    is_blank,
    is_raw,
    raw_block,
)
from .caching import cache_marker
from .family import description, known_profile
from .limits import check_blocks, check_turn

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
    converted = without_blank_text(converted, "user")
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
        check_blocks(raw, ctx.role, ctx.profile, block)
        return [*raw, *cache_marker(block)]
    converter = CONVERTERS.get(kind) if isinstance(kind, str) else None
    if converter is None:
        raise Unconvertible(f"unknown block type; known types: {sorted(CONVERTERS)}", block)
    converted = converter(block, ctx)
    check_blocks(converted, ctx.role, ctx.profile, block)
    return [*converted, *cache_marker(block)]


def _is_blank_text(block: Block) -> bool:
    return "text" in block and is_blank(block["text"])


def without_blank_text(content: list[Block], role: Role) -> list[Block]:
    """``content`` without the whitespace-only text blocks Bedrock would reject.

    Content that is all blank (cache points aside) is dropped. Otherwise system content
    loses its blank blocks, assistant content has each one replaced by ``"."`` (as
    ChatBedrockConverse does, so a history serialises as the one Bedrock accepted in
    recorded traffic, block positions kept), and user content keeps them (accepted there).
    """
    if all(_is_blank_text(block) or "cachePoint" in block for block in content):
        return []
    if role == "system":
        return [block for block in content if not _is_blank_text(block)]
    if role == "assistant":
        return [{"text": PLACEHOLDER_TEXT} if _is_blank_text(b) else b for b in content]
    return content


def _convert_content(content: Any, ctx: Ctx) -> list[Block]:
    items = [content] if isinstance(content, str) else list(content or [])
    if ctx.role == "assistant":
        items = blocks.merge_split_reasoning(items)
    converted = [block for item in items for block in convert_block(item, ctx)]
    return without_blank_text(converted, ctx.role)


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


def _strip_final_assistant_text(turns: list[Block]) -> None:
    """Bedrock rejects a final assistant turn (a prefill) whose text ends in whitespace."""
    if not turns or turns[-1]["role"] != "assistant":
        return
    content = turns[-1]["content"]
    if content and "text" in content[-1]:
        stripped = content[-1]["text"].rstrip()
        if stripped:
            content[-1] = {**content[-1], "text": stripped}
        else:
            content.pop()
    if not content:
        turns.pop()


def _adapted_result(block: Block, *, keep_status: bool, images_inside: bool) -> list[Block]:
    """A ``toolResult`` block as the family takes it: without ``status`` where that is not
    accepted, and with its images moved after it (into the user message, where every
    image-reading model takes them) where images inside a tool result are not."""
    if "toolResult" not in block:
        return [block]
    result = dict(block["toolResult"])
    if not keep_status:
        result.pop("status", None)
    moved: list[Block] = []
    if not images_inside:
        content = result.get("content") or []
        moved = [item for item in content if "image" in item]
        kept = [item for item in content if "image" not in item]
        result["content"] = kept or [{"text": PLACEHOLDER_TEXT}]
    return [{"toolResult": result}, *moved]


def _finish_turns(turns: list[Block], *, keep_status: bool, images_inside: bool) -> list[Block]:
    _strip_final_assistant_text(turns)
    for turn in turns:
        if turn["role"] == "user":
            content = _tool_results_first(turn["content"])
            if not (keep_status and images_inside):
                content = [
                    adapted
                    for block in content
                    for adapted in _adapted_result(
                        block, keep_status=keep_status, images_inside=images_inside
                    )
                ]
            turn["content"] = content
    if not turns or turns[0]["role"] == "assistant":
        turns.insert(0, {"role": "user", "content": [{"text": PLACEHOLDER_TEXT}]})
    return turns


def has_tool_blocks(turns: Sequence[Block]) -> bool:
    """Whether any turn holds a ``toolUse`` or ``toolResult`` block."""
    return any("toolUse" in block or "toolResult" in block for t in turns for block in t["content"])


def _call_text(use: Mapping[str, Any]) -> str:
    args = use.get("input")
    if not args:
        return f"[Called {use.get('name')}]"
    return f"[Called {use.get('name')} with {json.dumps(args, ensure_ascii=False, default=str)}]"


def _result_blocks(result: Mapping[str, Any], names: Mapping[Any, Any]) -> list[Block]:
    name = names.get(result.get("toolUseId"), "a tool")
    parts: list[str] = []
    media: list[Block] = []
    for item in result.get("content") or ():
        if "text" in item:
            parts.append(item["text"])
        elif "json" in item:
            parts.append(json.dumps(item["json"], ensure_ascii=False, default=str))
        else:
            media.append(dict(item))
    label = "Error from" if result.get("status") == "error" else "Result of"
    return [{"text": f"[{label} {name}: {' '.join(parts)}]"}, *media]


def tool_history_as_text(turns: list[Block]) -> list[Block]:
    """``turns`` with ``toolUse`` / ``toolResult`` blocks written as text.

    Bedrock rejects tool blocks in a request without ``toolConfig``, and a request without
    tools (none bound, or ``tool_choice="none"``) must not let the model call any. So the
    history is kept as text the model can read (``[Called f with {...}]``, ``[Result of f:
    ...]``), as ChatBedrockConverse does; images, documents and video from tool results stay
    as blocks of the user turn.
    """
    names = {
        block["toolUse"].get("toolUseId"): block["toolUse"].get("name")
        for turn in turns
        for block in turn["content"]
        if "toolUse" in block
    }
    rewritten: list[Block] = []
    for turn in turns:
        content: list[Block] = []
        for block in turn["content"]:
            if "toolUse" in block:
                content.append({"text": _call_text(block["toolUse"])})
            elif "toolResult" in block:
                content.extend(_result_blocks(block["toolResult"], names))
            else:
                content.append(block)
        rewritten.append({"role": turn["role"], "content": content})
    return rewritten


def _check_answers(converted: list[Block], role: Role, called: list[Any]) -> None:
    """Note the tool calls of an assistant message; refuse a tool result in a user message
    that answers no earlier call (Bedrock rejects the request)."""
    for block in converted:
        if role == "assistant" and "toolUse" in block:
            called.append(block["toolUse"].get("toolUseId"))
        elif role == "user" and "toolResult" in block:
            tool_use_id = block["toolResult"].get("toolUseId")
            if tool_use_id not in called:
                raise Unconvertible(
                    f"tool result for tool call id {tool_use_id!r} has no matching tool call in "
                    f"an earlier AI message (tool call ids so far: {called})",
                    block,
                )


def conversion_error(index: int, message: Any, err: Unconvertible) -> InputConversionError:
    """The error a caller sees: the message index, its type and the block that failed."""
    return InputConversionError(
        f"message {index} ({type(message).__name__}): cannot convert "
        f"{block_kind(err.block)}: {err.reason}",
        message_index=index,
        block=err.block,
    )


def _turn_error(indices: list[int], reason: str) -> InputConversionError:
    which = f"message {indices[0]}" if len(indices) == 1 else f"messages {indices}"
    return InputConversionError(
        f"{which} (one Converse message after merging): {reason}", message_index=indices[0]
    )


def to_converse_messages(
    messages: Sequence[BaseMessage],
    *,
    model_id: str | None = None,
    base_model_id: str | None = None,
) -> tuple[list[Block], list[Block]]:
    """Convert LangChain messages to Converse ``(system, messages)``.

    See the module docstring for the merging, empty-content and first-turn rules, and
    :mod:`.limits` for the input limits checked. ``model_id`` (with ``base_model_id`` when
    the id hides the model), when given, adapts the request to the model's family: earlier
    reasoning for models that reject it (DeepSeek-R1: ``<think>`` text; Anthropic: unsigned
    reasoning left out), ``toolResult.status`` only where accepted, and media kinds the
    family does not take refused.
    Raises ``InputConversionError`` (naming the message index and block type) for input
    that cannot be converted or breaks a limit.
    """
    model = description(model_id, base_model_id)
    profile = known_profile(model)
    reasoning = model.profile.reasoning_history if model is not None else "native"
    names = DocumentNames()
    system: list[Block] = []
    turns: list[Block] = []
    sources: list[list[int]] = []
    called: list[Any] = []
    for index, message in enumerate(messages):
        try:
            role = _role_of(message)
            converted = _convert_message(message, Ctx(role, names, reasoning, profile))
            check_blocks(converted, role, profile)
            _check_answers(converted, role, called)
        except Unconvertible as err:
            raise conversion_error(index, message, err) from None
        if role == "system":
            system.extend(converted)
        elif turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(converted)
            sources[-1].append(index)
        elif converted:
            turns.append({"role": role, "content": converted})
            sources.append([index])
    for turn, indices in zip(turns, sources, strict=True):
        reason = check_turn(turn)
        if reason is not None:
            raise _turn_error(indices, reason)
    if not messages:
        return system, turns
    keep_status = model is None or model.profile.tool_result_status
    images_inside = profile is None or profile.tool_result_images
    return system, _finish_turns(turns, keep_status=keep_status, images_inside=images_inside)
