"""One content item -> Converse content blocks.

``_CONVERTERS`` maps each block ``type`` to a small converter (``index`` keys are ignored
everywhere); an untyped dict must be a raw Converse block, a string is text. Tool results are
here because their content is converted item by item with the same table: ``ToolMessage``
content, ``server_tool_result`` (Bedrock's result ``type`` read from ``result_type``) and
Anthropic ``tool_result`` blocks. In them strings and known blocks are converted; any other
dict is tool output data and is sent as ``{"json": value}`` exactly as given (keys are never
renamed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._blocks import PLACEHOLDER_TEXT, _Block, _extras, _Unconvertible
from ._cache_points import _cache_marker
from ._context import _Ctx
from ._formats import _AUDIO_EXTENSIONS, _AUDIO_FORMATS, _VIDEO_EXTENSIONS, _VIDEO_FORMATS
from ._media import (
    _document_block,
    _file,
    _image,
    _image_url,
    _input_audio,
    _media,
    _text_plain,
    _video_url,
)
from ._raw import _is_raw, _raw_block
from ._reasoning_blocks import _merge_split_reasoning, _reasoning
from ._text import _guard_content, _search_result, _text
from ._tool_use import _invalid_tool_call, _tool_use


def _status(block: Mapping[str, Any]) -> str:
    if block.get("status") == "error" or block.get("is_error") or block.get("isError"):
        return "error"
    return "success"


def _tool_result(
    tool_use_id: Any, content: Any, status: str, block: Any, ctx: _Ctx, result_type: Any = None
) -> list[_Block]:
    if not tool_use_id:
        raise _Unconvertible("a tool result needs the id of its tool use", block)
    blocks, trailing = _tool_result_content(content, ctx)
    result: _Block = {
        "toolUseId": tool_use_id,
        "content": blocks or [{"text": PLACEHOLDER_TEXT}],
        "status": status,
    }
    if result_type:
        result["type"] = result_type
    return [{"toolResult": result}, *trailing]


def _server_tool_result(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    if "tool_call_id" in block:  # LangChain v1 standard block
        tool_use_id, content = block.get("tool_call_id"), block.get("output")
    else:
        tool_use_id, content = block.get("tool_use_id"), block.get("content")
    result_type = block.get("result_type") or _extras(block).get("type")
    return _tool_result(tool_use_id, content, _status(block), block, ctx, result_type)


def _anthropic_tool_result(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    return _tool_result(block.get("tool_use_id"), block.get("content"), _status(block), block, ctx)


# Tool results accept these Converse members; cache points go after the toolResult block.
_TOOL_RESULT_KEYS = frozenset({"text", "json", "image", "document", "video", "searchResult"})


def _tool_result_item(item: Any, ctx: _Ctx) -> list[_Block]:
    if isinstance(item, str):
        return [{"text": item}] if item else []
    if isinstance(item, Mapping) and (
        (isinstance(item.get("type"), str) and item["type"] in _CONVERTERS)
        or _is_raw({k: v for k, v in item.items() if k != "cache_control"})
    ):
        return _convert_block(item, ctx)
    return [{"json": item}]  # tool output data: sent as given, keys untouched


def _tool_result_content(content: Any, ctx: _Ctx) -> tuple[list[_Block], list[_Block]]:
    """Converse tool-result content, and the cache points that must follow the result."""
    if isinstance(content, str):
        return ([{"text": content}] if content else []), []
    if content is None:
        return [], []
    items = content if isinstance(content, list) else [content]
    blocks: list[_Block] = []
    trailing: list[_Block] = []
    for item in items:
        for converted in _tool_result_item(item, ctx):
            if "cachePoint" in converted:
                trailing.append(converted)
            elif next(iter(converted)) in _TOOL_RESULT_KEYS:
                blocks.append(converted)
            else:
                raise _Unconvertible(
                    f"a tool result cannot hold a {next(iter(converted))!r} block", item
                )
    return blocks, trailing


def _json(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    return [{"json": block.get("json")}]


def _non_standard(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    value = block.get("value")
    if isinstance(value, Mapping) and "type" in value:
        return _convert_block(value, ctx)
    if isinstance(value, Mapping) and value:
        return [raw for key in value for raw in _raw_block({key: value[key]})]
    raise _Unconvertible("a non_standard block must wrap a dict", block)


_Converter = Callable[[Mapping[str, Any], _Ctx], list[_Block]]

_CONVERTERS: dict[str, _Converter] = {
    "text": _text,
    "image": _image,
    "image_url": _image_url,
    "file": _file,
    "text-plain": _text_plain,
    "document": _document_block,
    "video": _media("video", _VIDEO_FORMATS, _VIDEO_EXTENSIONS),
    "video_url": _video_url,
    "audio": _media("audio", _AUDIO_FORMATS, _AUDIO_EXTENSIONS),
    "input_audio": _input_audio,
    "reasoning_content": _reasoning,
    "reasoning": _reasoning,
    "thinking": _reasoning,
    "redacted_thinking": _reasoning,
    "tool_use": lambda block, ctx: _tool_use(block, args_key="input"),
    "tool_call": lambda block, ctx: _tool_use(block, args_key="args"),
    "tool_call_chunk": lambda block, ctx: _tool_use(block, args_key="args"),
    "invalid_tool_call": _invalid_tool_call,
    "server_tool_use": lambda block, ctx: _tool_use(block, args_key="input", server=True),
    "server_tool_call": lambda block, ctx: _tool_use(block, args_key="args", server=True),
    "server_tool_result": _server_tool_result,
    "tool_result": _anthropic_tool_result,
    "json": _json,
    "guard_content": _guard_content,
    "search_result": _search_result,
    "non_standard": _non_standard,
}
"""LangChain / OpenAI / Anthropic block ``type`` -> converter to Converse blocks."""


def _convert_block(block: Any, ctx: _Ctx) -> list[_Block]:
    if isinstance(block, str):
        return [{"text": block}] if block else []
    if not isinstance(block, Mapping):
        raise _Unconvertible("content items must be strings or dicts", block)
    kind = block.get("type")
    if kind is None:
        raw = _raw_block(block)
        if raw and isinstance(raw[0].get("document"), Mapping):
            ctx.names.note(raw[0]["document"].get("name"))
        return [*raw, *_cache_marker(block)]
    converter = _CONVERTERS.get(kind) if isinstance(kind, str) else None
    if converter is None:
        raise _Unconvertible(f"unknown block type; known types: {sorted(_CONVERTERS)}", block)
    return [*converter(block, ctx), *_cache_marker(block)]


def _convert_content(content: Any, ctx: _Ctx) -> list[_Block]:
    items = [content] if isinstance(content, str) else list(content or [])
    if ctx.role == "assistant":
        items = _merge_split_reasoning(items)
    return [converted for item in items for converted in _convert_block(item, ctx)]
