"""Accumulator deltas -> ``AIMessageChunk``; final response -> ``AIMessage``.

Message content uses the native format of langchain-aws's ``ChatBedrockConverse`` (lists of
``{"type": "text" | "reasoning_content" | "tool_use" | ...}`` dicts, a plain string when the
answer is one text block), so code written against it reads our messages unchanged.
``response_metadata["model_provider"]`` is ``"amazon_bedrock"``, whose content translator
(registered on import) gives the standard blocks: ``text`` with ``citation`` annotations,
``reasoning`` with its signature, ``tool_call``, ``server_tool_call`` and
``server_tool_result``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict, Unpack, cast

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages import content as types
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.block_translators import register_translator
from langchain_core.messages.block_translators.bedrock_converse import (
    translate_content as _converse_translate,
)
from langchain_core.messages.block_translators.bedrock_converse import (
    translate_content_chunk as _converse_translate_chunk,
)
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk

from ._accumulator import (
    CitationDelta,
    Delta,
    ImageDelta,
    ImageStarted,
    ReasoningDelta,
    StreamResponse,
    TextDelta,
    ToolInputDelta,
    ToolResultDelta,
    ToolResultStarted,
    ToolUseStarted,
    UnknownDelta,
)
from ._response import converse_members

__all__ = [
    "MODEL_PROVIDER",
    "MetadataArgs",
    "chunk_from_deltas",
    "final_chunk",
    "message_from_response",
    "response_metadata",
    "usage_metadata",
]

MODEL_PROVIDER = "amazon_bedrock"

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def _snake(obj: Any) -> Any:
    """camelCase keys -> snake_case, recursively (the format ChatBedrockConverse exposes)."""
    if isinstance(obj, dict):
        return {_CAMEL.sub("_", k).lower(): _snake(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_snake(v) for v in obj]
    return obj


# --- usage ---------------------------------------------------------------------------------


def reasoning_tokens(additional_fields: Mapping[str, Any] | None) -> int | None:
    """Thinking tokens the model reports in ``additionalModelResponseFields`` (asked for
    with ``additional_model_response_field_paths=["/usage"]``), if any."""
    usage = additional_fields.get("usage") if isinstance(additional_fields, Mapping) else None
    details = usage.get("output_tokens_details") if isinstance(usage, Mapping) else None
    tokens = details.get("thinking_tokens") if isinstance(details, Mapping) else None
    return tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else None


def usage_metadata(
    usage: Mapping[str, Any] | None, additional_fields: Mapping[str, Any] | None = None
) -> UsageMetadata | None:
    """Bedrock ``usage`` -> LangChain ``UsageMetadata``.

    ``input_tokens`` includes cache reads and writes (Bedrock's ``inputTokens`` does not);
    ``cacheDetails`` splits writes by TTL into ``ephemeral_5m/1h_input_tokens``; thinking
    tokens reported in ``additional_fields`` become ``output_token_details["reasoning"]``.
    """
    if not usage:
        return None
    uncached = int(usage.get("inputTokens") or 0)
    cache_read = int(usage.get("cacheReadInputTokens") or 0)
    cache_write = int(usage.get("cacheWriteInputTokens") or 0)
    output = int(usage.get("outputTokens") or 0)
    input_tokens = uncached + cache_read + cache_write
    details = InputTokenDetails(cache_read=cache_read, cache_creation=cache_write)
    for entry in usage.get("cacheDetails") or []:
        ttl = entry.get("ttl")
        if ttl in ("5m", "1h"):
            key = f"ephemeral_{ttl}_input_tokens"
            extra = cast("dict[str, int]", details)
            extra[key] = extra.get(key, 0) + int(entry.get("inputTokens") or 0)
    metadata = UsageMetadata(
        input_tokens=input_tokens,
        output_tokens=output,
        total_tokens=int(usage.get("totalTokens") or input_tokens + output),
        input_token_details=details,
    )
    thinking = reasoning_tokens(additional_fields)
    if thinking is not None:
        metadata["output_token_details"] = OutputTokenDetails(reasoning=thinking)
    return metadata


class MetadataArgs(TypedDict, total=False):
    """Who gave an answer and what the caller adds to its ``response_metadata``: the keyword
    arguments of ``response_metadata``, ``final_chunk`` and ``message_from_response``."""

    model_id: Required[str]
    """The model, reported as ``model_name``."""
    request_id: str | None
    """Bedrock's request id, reported when known."""
    extra: Mapping[str, Any] | None
    """Merged in last (cost, timing, ...)."""


def response_metadata(response: StreamResponse, **args: Unpack[MetadataArgs]) -> dict[str, Any]:
    """Everything Bedrock said about the answer besides its content, plus model identity."""
    members = converse_members(response)
    members.pop("usage", None)  # it is the message's usage_metadata
    metrics = members.get("metrics")
    if isinstance(metrics, Mapping):
        metrics = members["metrics"] = dict(metrics)
        if "latencyMs" in metrics and not isinstance(metrics["latencyMs"], list):
            # A list, as ChatBedrockConverse has it, so merged chunks never collide.
            metrics["latencyMs"] = [metrics["latencyMs"]]
    meta: dict[str, Any] = {"stopReason": response.stop_reason, **members}
    if response.extras:
        meta["extras"] = response.extras
    if args.get("request_id"):
        meta["request_id"] = args["request_id"]
    meta["model_name"] = args["model_id"]
    meta["model_provider"] = MODEL_PROVIDER
    meta.update(args.get("extra") or {})
    return meta


# --- streaming chunks ----------------------------------------------------------------------


def _b64(data: Any) -> Any:
    return base64.b64encode(data).decode("ascii") if isinstance(data, (bytes, bytearray)) else data


def _delta_item(delta: Delta) -> dict[str, Any] | None:
    """The content item one delta contributes (``None`` for deltas with no content)."""
    if isinstance(delta, TextDelta):
        return {"type": "text", "text": delta.text, "index": delta.index}
    if isinstance(delta, ReasoningDelta):
        reasoning: dict[str, Any] = {}
        if delta.text is not None:
            reasoning["text"] = delta.text
        if delta.signature is not None:
            reasoning["signature"] = delta.signature
        if delta.redacted is not None:
            reasoning["redacted_content"] = delta.redacted
        return {"type": "reasoning_content", "reasoning_content": reasoning, "index": delta.index}
    if isinstance(delta, CitationDelta):
        return {
            "type": "text",
            "text": "",
            "citations": [_snake(delta.citation)],
            "index": delta.index,
        }
    if isinstance(delta, ToolUseStarted):
        kind = "server_tool_use" if delta.server else "tool_use"
        item = {"type": kind, "id": delta.tool_use_id, "name": delta.name, "index": delta.index}
        if delta.server:
            item["input"] = ""
        return item
    if isinstance(delta, ToolInputDelta):
        if delta.server:
            return {"type": "server_tool_use", "input": delta.fragment, "index": delta.index}
        return None  # client tool input travels in tool_call_chunks only
    if isinstance(delta, ToolResultStarted):
        item = {
            "type": "server_tool_result",
            "tool_use_id": delta.tool_use_id,
            "content": [],
            "index": delta.index,
        }
        if delta.status:
            item["status"] = delta.status
        if delta.type:
            item["result_type"] = delta.type
        return item
    if isinstance(delta, ToolResultDelta):
        return {"type": "server_tool_result", "content": delta.content, "index": delta.index}
    if isinstance(delta, ImageStarted):
        return {"type": "image", "format": delta.format, "index": delta.index}
    if isinstance(delta, ImageDelta):
        item = {"type": "image", "index": delta.index}
        if delta.source is not None:
            item["source"] = {k: _b64(v) for k, v in delta.source.items()}
        if delta.error is not None:
            item["error"] = delta.error
        return item
    if isinstance(delta, UnknownDelta):
        # An index of its own: summed chunks keep it apart from the block's known content
        # (langchain-core would fold text arriving after it into the non_standard item).
        # A repeated member's later values get their own index too: langchain-core cannot
        # merge values of different types, and an odd part must not cost the answer.
        index = f"lc_{delta.index}_{delta.member}"
        if delta.seq:
            index += f"_{delta.seq}"
        return {"type": "non_standard", "value": {delta.member: delta.value}, "index": index}
    return None


def _merge_into(target: dict[str, Any], item: Mapping[str, Any]) -> None:
    """Fold ``item`` into ``target`` the way ``AIMessageChunk.__add__`` merges same-index items:
    strings, bytes and lists concatenate, dicts merge recursively, ``type``/``index`` stay."""
    for key, value in item.items():
        if key in ("type", "index") and key in target:
            continue
        current = target.get(key)
        if current is None:
            target[key] = (
                dict(value)
                if isinstance(value, dict)
                else (list(value) if isinstance(value, list) else value)
            )
        elif isinstance(current, str) and isinstance(value, str):  # noqa: SIM114 - typed apart
            target[key] = current + value
        elif isinstance(current, bytes) and isinstance(value, bytes):
            target[key] = current + value
        elif isinstance(current, list) and isinstance(value, list):
            current.extend(value)
        elif isinstance(current, dict) and isinstance(value, Mapping):
            _merge_into(current, value)
        elif value is not None:
            target[key] = value


def chunk_from_deltas(deltas: Sequence[Delta]) -> tuple[AIMessageChunk, str] | None:
    """One ``AIMessageChunk`` for every delta already received, and its text.

    Items of one block are merged (text joined, tool input fragments of one call
    concatenated), so a burst of events costs one chunk, and one ``+`` for callers who
    sum chunks. Returns ``None`` when the deltas carry no content (block boundaries).
    """
    items: dict[int | str, dict[str, Any]] = {}
    calls: dict[int, dict[str, Any]] = {}
    texts: list[str] = []
    pieces: dict[int, list[str]] = {}  # text of a block's item, joined once at the end
    for delta in deltas:
        if type(delta) is TextDelta:
            texts.append(delta.text)
            if not delta.text:
                continue
            item = items.get(delta.index)
            if item is not None and item["type"] == "text":
                block_pieces = pieces.get(delta.index)
                if block_pieces is None:
                    pieces[delta.index] = [item["text"], delta.text]
                else:
                    block_pieces.append(delta.text)
                continue
        elif isinstance(delta, ToolUseStarted):
            early = calls.get(delta.index)
            if not delta.server:
                if early is None:
                    calls[delta.index] = {"name": delta.name, "id": delta.tool_use_id, "args": ""}
                else:  # its input arrived first (in this burst): keep it
                    early["name"], early["id"] = delta.name, delta.tool_use_id
            elif early is not None and early["name"] is None:
                # Input that came before the start of a server tool is not a client call.
                del calls[delta.index]
                server = _delta_item(delta)
                if server is not None:
                    server["input"] = early["args"]
                    items[delta.index] = server
                continue
        elif isinstance(delta, ToolInputDelta) and not delta.server:
            call = calls.get(delta.index)
            if call is None:
                calls[delta.index] = {"name": None, "id": None, "args": delta.fragment}
            else:
                call["args"] += delta.fragment
            continue
        new = _delta_item(delta)
        if new is None:
            continue
        existing = items.get(new["index"])
        if existing is None:
            items[new["index"]] = new
        else:
            _merge_into(existing, new)
    if not items and not calls:
        return None
    for index, block_pieces in pieces.items():
        items[index]["text"] = "".join(block_pieces)
    chunk = AIMessageChunk(
        content=list(items.values()),
        tool_call_chunks=[
            tool_call_chunk(name=c["name"], args=c["args"], id=c["id"], index=index)
            for index, c in calls.items()
        ],
        response_metadata={"model_provider": MODEL_PROVIDER},
    )
    return chunk, "".join(texts)


def _unparseable_tail(raw: str) -> str:
    """A suffix after which ``raw`` can no longer be completed into JSON.

    langchain-core's partial-JSON parser (``parse_partial_json``, run when chunks are
    added) closes open strings and brackets, so a tool input cut by ``max_tokens`` would
    parse into a dict with half its arguments. It gives up on a closing bracket that
    matches nothing open; this suffix ends any open string (completing a pending escape
    first) and adds such a bracket.
    """
    in_string = escaped = False
    open_brackets: list[str] = []
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            open_brackets.append(char)
        elif char in "}]" and open_brackets:
            open_brackets.pop()
    innermost = open_brackets[-1] if open_brackets else ""
    tail = ("n" if escaped else "") + '"' if in_string else ""
    return tail + ("}" if innermost == "[" else "]")


def _poisoned_calls(response: StreamResponse) -> list[Any]:
    """Tool call chunks that keep summed chunks from running a call whose input is invalid.

    Streamed chunks carry a call's input fragments; added up, langchain-core completes a
    truncated input into a runnable call. One more fragment, under the same index, makes
    the merged input unparseable, so the sum lists the call in ``invalid_tool_calls``, as
    the final message does.
    """
    chunks = []
    for position, bad in response.invalid_tool_inputs.items():
        use = response.content[position].get("toolUse") or {}
        if bad.index is None or use.get("type") == "server_tool_use":
            continue
        chunks.append(
            tool_call_chunk(name=None, args=_unparseable_tail(bad.raw), id=None, index=bad.index)
        )
    return chunks


def final_chunk(response: StreamResponse, **args: Unpack[MetadataArgs]) -> AIMessageChunk:
    """The closing chunk: no content, usage and response metadata, ``chunk_position="last"``.

    For a tool call whose input did not parse (cut by ``max_tokens``), it also carries a
    last input fragment that keeps the summed chunks from making it a runnable call.
    """
    return AIMessageChunk(
        content=[],
        tool_call_chunks=_poisoned_calls(response),
        chunk_position="last",
        **_summary(response, args),
    )


def _summary(response: StreamResponse, args: MetadataArgs) -> dict[str, Any]:
    """An answer's usage and response metadata (its last chunk and its message carry them)."""
    return {
        "usage_metadata": usage_metadata(response.usage, response.additional_model_response_fields),
        "response_metadata": response_metadata(response, **args),
    }


# --- the final message ---------------------------------------------------------------------


def _content_items(block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One Converse content block -> native LangChain content items."""
    if "text" in block:
        return [{"type": "text", "text": block["text"]}] if block["text"] else []
    if "citationsContent" in block:
        cited = block["citationsContent"]
        citations = _snake(cited.get("citations") or [])
        items = []
        for part in cited.get("content") or []:
            item: dict[str, Any] = {"type": "text", "text": part.get("text", "")}
            if citations:
                item["citations"] = citations
            items.append(item)
        return items
    if "reasoningContent" in block:
        reasoning = block["reasoningContent"]
        if "redactedContent" in reasoning:
            return [
                {
                    "type": "reasoning_content",
                    "reasoning_content": {"redacted_content": reasoning["redactedContent"]},
                }
            ]
        text = reasoning.get("reasoningText") or {}
        value: dict[str, Any] = {"text": text.get("text", "")}
        if text.get("signature") is not None:
            value["signature"] = text["signature"]
        return [{"type": "reasoning_content", "reasoning_content": value}]
    if "toolUse" in block:
        use = block["toolUse"]
        kind = "server_tool_use" if use.get("type") == "server_tool_use" else "tool_use"
        return [
            {
                "type": kind,
                "id": use.get("toolUseId"),
                "name": use.get("name"),
                "input": use.get("input"),
            }
        ]
    if "toolResult" in block:
        result = block["toolResult"]
        item = {
            "type": "server_tool_result",
            "tool_use_id": result.get("toolUseId"),
            "content": result.get("content", []),
        }
        if result.get("status"):
            item["status"] = result["status"]
        if result.get("type"):
            item["result_type"] = result["type"]
        return [item]
    if "image" in block:
        image = block["image"]
        item = {"type": "image", "format": image.get("format")}
        if "source" in image:
            item["source"] = {k: _b64(v) for k, v in image["source"].items()}
        return [item]
    return [{"type": "non_standard", "value": dict(block)}]


_INLINE_THINKING = re.compile(r"\s*<thinking>(.*?)</thinking>\s*", re.DOTALL)


def _inline_reasoning(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Text items with ``<thinking>...</thinking>`` inside split into a reasoning item and
    the answer text (Amazon Nova writes its reasoning inline)."""
    out: list[dict[str, Any]] = []
    for item in items:
        text = item.get("text") if item.get("type") == "text" else None
        if not isinstance(text, str) or "<thinking>" not in text or "citations" in item:
            out.append(item)
            continue
        thoughts = [m.strip() for m in _INLINE_THINKING.findall(text)]
        answer = _INLINE_THINKING.sub("\n", text).strip()
        if thoughts:
            reasoning = {"text": "\n".join(thoughts)}
            out.append({"type": "reasoning_content", "reasoning_content": reasoning})
        if answer:
            out.append({**item, "text": answer})
    return out


def message_from_response(
    response: StreamResponse, *, inline_thinking: bool = False, **args: Unpack[MetadataArgs]
) -> AIMessage:
    """The final ``AIMessage``: content, tool calls (invalid ones kept apart), usage, metadata.

    ``inline_thinking`` (families that write ``<thinking>`` in their text, see
    ``models.FamilyProfile.inline_thinking``) moves that reasoning into a reasoning block.
    """
    content: list[dict[str, Any]] = []
    calls = []
    invalid = []
    for position, block in enumerate(response.content):
        items = _content_items(block)
        if inline_thinking:
            items = _inline_reasoning(items)
        content.extend(items)
        use = block.get("toolUse")
        if use is None or use.get("type") == "server_tool_use":
            continue
        bad = response.invalid_tool_inputs.get(position)
        if bad is not None:
            invalid.append(
                invalid_tool_call(name=bad.name, args=bad.raw, id=bad.tool_use_id, error=bad.error)
            )
            content.remove(items[0])
        else:
            calls.append(
                tool_call(name=use.get("name") or "", args=use["input"], id=use.get("toolUseId"))
            )
    body: str | list[Any] = content
    if len(content) == 1 and content[0]["type"] == "text" and "citations" not in content[0]:
        body = content[0]["text"]
    elif not content:
        body = ""
    return AIMessage(
        content=body,
        tool_calls=calls,
        invalid_tool_calls=invalid,
        **_summary(response, args),
    )


# --- standard content blocks ---------------------------------------------------------------


def _server_tool_block(value: dict[str, Any]) -> dict[str, Any] | None:
    """A native server tool item -> its standard block, or None for anything else."""
    kind = value.get("type")
    if kind == "server_tool_use":
        args = value.get("input")
        if isinstance(args, str):
            with contextlib.suppress(ValueError):  # unparsable input stays text
                args = json.loads(args) if args.strip() else {}
        return {
            "type": "server_tool_call",
            "id": value.get("id") or "",
            "name": value.get("name") or "",
            "args": args if isinstance(args, dict) else {"input": args},
        }
    if kind == "server_tool_result":
        return {
            "type": "server_tool_result",
            "tool_call_id": value.get("tool_use_id") or "",
            "status": "error" if value.get("status") == "error" else "success",
            "output": value.get("content"),
        }
    return None


def _standardize_server_tools(blocks: list[types.ContentBlock]) -> list[types.ContentBlock]:
    """The core translator leaves server tool items as ``non_standard``; make them standard."""
    out: list[types.ContentBlock] = []
    for block in blocks:
        raw = cast("dict[str, Any]", block)
        value = raw.get("value") if raw.get("type") == "non_standard" else None
        standard = _server_tool_block(value) if isinstance(value, dict) else None
        if standard is None:
            out.append(block)
            continue
        if "index" in raw:
            standard["index"] = raw["index"]
        out.append(cast("types.ContentBlock", standard))
    return out


def _translate(message: AIMessage) -> list[types.ContentBlock]:
    return _standardize_server_tools(_converse_translate(message))


def _translate_chunk(message: AIMessageChunk) -> list[types.ContentBlock]:
    return _standardize_server_tools(_converse_translate_chunk(message))


register_translator(MODEL_PROVIDER, _translate, _translate_chunk)
