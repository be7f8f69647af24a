"""Scripted answers that look like a real Bedrock model.

Given the JSON body of a Converse or ConverseStream request, these functions build
a plausible answer without any model:

* if tools are offered and the last user turn carries no ``toolResult``, a short
  text block followed by a ``toolUse`` call to the first (or the forced) tool, with
  an input synthesized from the tool's JSON schema (``stopReason`` ``tool_use``);
* if the last user turn carries a ``toolResult``, a text answer quoting it;
* otherwise a friendly text answer that echoes the question.

Text is split into small deltas and tool input into small JSON fragments, as real
models stream them, and the answer ends with ``messageStop`` and ``metadata``
(usage and latency).  The same answer is available as a non-streaming Converse
body, and :func:`make_simulator_responder` plugs both into
:class:`~langchain_bedrock_stream.testing._server.BedrockWireServer`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._replies import JsonReply, RecordedRequest, Reply, Responder, StreamReply

__all__ = [
    "make_simulator_responder",
    "simulated_converse_response",
    "simulated_events",
]

_TEXT_DELTA_SIZES = (3, 5, 2, 4, 6, 4)
_JSON_FRAGMENT_SIZES = (7, 4, 9, 5, 11, 6)
_TOOL_PREAMBLE = "Let me check that."
_STRING_FROM_QUESTION = frozenset(
    {"query", "q", "question", "prompt", "text", "input", "message", "search", "search_query"}
)
# Capitalized words that start questions rather than name things.
# fmt: off
_NOT_NAMES = frozenset({
    "a", "an", "and", "are", "can", "check", "could", "do", "does", "find", "get", "give",
    "hello", "hey", "hi", "how", "i", "i'd", "i'm", "is", "it", "look", "me", "my", "please",
    "search", "show", "tell", "that", "the", "this", "what", "what's", "whats", "when",
    "where", "which", "who", "why", "would", "you", "should", "shall", "will", "was",
    "were", "has", "have", "had", "did", "may", "might", "must", "let", "let's", "weather",
    "there", "today", "tomorrow", "now", "in", "on", "at", "for", "of",
})
# fmt: on
_WORD = re.compile(r"[^\W\d_][\w'’-]*")


@dataclass(frozen=True)
class _ToolCall:
    tool_use_id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class _Answer:
    text: str
    tool_call: _ToolCall | None
    stop_reason: str
    input_tokens: int
    output_tokens: int
    latency_ms: int

    @property
    def usage(self) -> dict[str, int]:
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.input_tokens + self.output_tokens,
        }


# -- reading the request -------------------------------------------------------------


def _content_text(content: Any) -> str:
    """All text carried by a list of content blocks (text, tool results, tool calls)."""
    if not isinstance(content, Sequence) or isinstance(content, str):
        return ""
    parts: list[str] = []
    for block in content:
        if not isinstance(block, Mapping):
            continue
        if isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif isinstance(block.get("toolResult"), Mapping):
            parts.append(_tool_result_text(block["toolResult"]))
        elif isinstance(block.get("toolUse"), Mapping):
            parts.append(json.dumps(block["toolUse"].get("input", {}), default=str))
    return "\n".join(parts)


def _tool_result_text(result: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for item in result.get("content") or ():
        if not isinstance(item, Mapping):
            continue
        if isinstance(item.get("text"), str):
            parts.append(item["text"])
        elif "json" in item:
            parts.append(json.dumps(item["json"], ensure_ascii=False, default=str))
    return " ".join(parts)


def _last_user_content(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for message in reversed(list(request.get("messages") or ())):
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content") or []
            return [block for block in content if isinstance(block, Mapping)]
    return []


def _request_text(request: Mapping[str, Any]) -> str:
    parts = [_content_text(request.get("system") or [])]
    for message in request.get("messages") or ():
        if isinstance(message, Mapping):
            parts.append(_content_text(message.get("content") or []))
    tool_config = request.get("toolConfig")
    if isinstance(tool_config, Mapping) and tool_config.get("tools"):
        parts.append(json.dumps(tool_config["tools"], default=str))
    return "\n".join(part for part in parts if part)


def _chosen_tool(request: Mapping[str, Any]) -> Mapping[str, Any] | None:
    tool_config = request.get("toolConfig")
    if not isinstance(tool_config, Mapping):
        return None
    specs = [
        tool["toolSpec"]
        for tool in tool_config.get("tools") or ()
        if isinstance(tool, Mapping) and isinstance(tool.get("toolSpec"), Mapping)
    ]
    if not specs:
        return None
    choice = tool_config.get("toolChoice")
    if isinstance(choice, Mapping) and isinstance(choice.get("tool"), Mapping):
        forced = choice["tool"].get("name")
        for spec in specs:
            if spec.get("name") == forced:
                return spec
    return specs[0]


# -- synthesizing tool input ---------------------------------------------------------------


def _proper_noun(question: str) -> str | None:
    """The first run of capitalized words that is not a question word, e.g. "New York"."""
    groups: list[list[str]] = []
    previous_end = -1
    for match in _WORD.finditer(question):
        word = match.group()
        capitalized = word[0].isupper()
        joined = (
            capitalized and previous_end >= 0 and question[previous_end : match.start()].isspace()
        )
        if capitalized:
            if joined:
                groups[-1].append(word)
            else:
                groups.append([word])
        previous_end = match.end() if capitalized else -1
    for group in groups:
        words = [w for w in group if w.lower().replace("’", "'") not in _NOT_NAMES]
        if words:
            return " ".join(words)
    return None


class _SchemaFiller:
    """Builds a value that satisfies a (simple) JSON schema, using the question's words."""

    def __init__(self, root: Mapping[str, Any], question: str) -> None:
        self._root = root
        self._question = question.strip()
        self._noun = _proper_noun(question)

    def value(self, schema: Any, name: str = "", depth: int = 0) -> Any:
        if not isinstance(schema, Mapping) or depth > 12:
            return None
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), Sequence) and schema["enum"]:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf", "allOf"):
            options = schema.get(key)
            if isinstance(options, Sequence) and options:
                non_null = [o for o in options if not _is_null_schema(self._resolve(o))]
                return self.value((non_null or list(options))[0], name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, Sequence) and not isinstance(kind, str):
            kinds = [k for k in kind if k != "null"]
            kind = kinds[0] if kinds else "null"
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            properties = schema.get("properties")
            if not isinstance(properties, Mapping):
                return {}
            return {key: self.value(sub, key, depth + 1) for key, sub in properties.items()}
        if kind == "array":
            return [self.value(schema.get("items", {}), name, depth + 1)]
        if kind == "integer":
            return int(_bounded(1, schema))
        if kind == "number":
            return _bounded(1, schema)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return self._string(schema, name)

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while isinstance(schema.get("$ref"), str) and seen < 16:
            target: Any = self._root
            for part in schema["$ref"].lstrip("#").split("/"):
                if part:
                    target = target.get(part, {}) if isinstance(target, Mapping) else {}
            schema = target if isinstance(target, Mapping) else {}
            seen += 1
        return schema

    def _string(self, schema: Mapping[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if fmt == "date":
            return "2025-01-01"
        if fmt == "date-time":
            return "2025-01-01T12:00:00Z"
        if fmt == "email":
            return "user@example.com"
        if fmt in ("uri", "url"):
            return "https://example.com"
        if name.lower() in _STRING_FROM_QUESTION and self._question:
            return self._question
        if self._noun:
            return self._noun
        return self._question[:60] or "example"


def _is_null_schema(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null"


def _bounded(value: float, schema: Mapping[str, Any]) -> float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if isinstance(low, (int, float)) and value < low:
        value = low if "minimum" in schema else low + 1
    if isinstance(high, (int, float)) and value > high:
        value = high if "maximum" in schema else high - 1
    return value


def _tool_use_id(request: Mapping[str, Any], name: str) -> str:
    seed = json.dumps(request, sort_keys=True, default=str) + "\0" + name
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return "tooluse_" + base64.urlsafe_b64encode(digest).decode("ascii")[:22]


# -- the answer -------------------------------------------------------------------------


def _answer(request: Mapping[str, Any]) -> _Answer:
    content = _last_user_content(request)
    question = "\n".join(b["text"] for b in content if isinstance(b.get("text"), str)).strip()
    results = [b["toolResult"] for b in content if isinstance(b.get("toolResult"), Mapping)]
    tool = None if results else _chosen_tool(request)
    tool_call: _ToolCall | None = None
    if results:
        texts = [_tool_result_text(r).strip() for r in results]
        summary = "; ".join(t for t in texts if t) or "no details"
        if any(r.get("status") == "error" for r in results):
            text = f"The tool reported a problem: {summary}. Could you try something else?"
        else:
            text = f"Here is what I found: {summary}."
    elif tool is not None:
        name = str(tool.get("name", "tool"))
        input_schema = tool.get("inputSchema")
        schema = input_schema.get("json", {}) if isinstance(input_schema, Mapping) else {}
        filler = _SchemaFiller(schema if isinstance(schema, Mapping) else {}, question)
        value = filler.value(schema if isinstance(schema, Mapping) else {})
        tool_call = _ToolCall(
            _tool_use_id(request, name), name, value if isinstance(value, dict) else {}
        )
        text = _TOOL_PREAMBLE
    elif question:
        text = f'Hello! You asked: "{question}". This is a simulated answer, so I can only echo it.'
    else:
        text = "Hello! How can I help you today?"
    answer_chars = len(text)
    if tool_call is not None:
        answer_chars += len(tool_call.name) + len(_input_json(tool_call.input))
    input_tokens = max(1, round(len(_request_text(request)) / 4))
    output_tokens = max(1, round(answer_chars / 4))
    return _Answer(
        text=text,
        tool_call=tool_call,
        stop_reason="tool_use" if tool_call is not None else "end_turn",
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=150 + 9 * output_tokens,
    )


def _input_json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)


def _split(text: str, sizes: Sequence[int]) -> list[str]:
    pieces: list[str] = []
    position = 0
    index = 0
    while position < len(text):
        size = sizes[index % len(sizes)]
        pieces.append(text[position : position + size])
        position += size
        index += 1
    return pieces


def simulated_events(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Build a plausible ConverseStream event list answering a Converse request body.

    ``request`` is the JSON boto3 sends (``messages``, ``system``, ``toolConfig``, ...).
    The events are botocore-shaped, ready for
    :class:`~langchain_bedrock_stream.testing.StreamReply` or
    :func:`~langchain_bedrock_stream.testing._eventstream.encode_events`.
    """
    answer = _answer(request)
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    for piece in _split(answer.text, _TEXT_DELTA_SIZES):
        events.append({"contentBlockDelta": {"delta": {"text": piece}, "contentBlockIndex": 0}})
    events.append({"contentBlockStop": {"contentBlockIndex": 0}})
    call = answer.tool_call
    if call is not None:
        start = {"toolUse": {"toolUseId": call.tool_use_id, "name": call.name}}
        events.append({"contentBlockStart": {"start": start, "contentBlockIndex": 1}})
        for fragment in _split(_input_json(call.input), _JSON_FRAGMENT_SIZES):
            events.append(
                {
                    "contentBlockDelta": {
                        "delta": {"toolUse": {"input": fragment}},
                        "contentBlockIndex": 1,
                    }
                }
            )
        events.append({"contentBlockStop": {"contentBlockIndex": 1}})
    events.append({"messageStop": {"stopReason": answer.stop_reason}})
    events.append(
        {"metadata": {"usage": answer.usage, "metrics": {"latencyMs": answer.latency_ms}}}
    )
    return events


def simulated_converse_response(request: Mapping[str, Any]) -> dict[str, Any]:
    """Build the non-streaming Converse response body for the same answer as
    :func:`simulated_events`."""
    answer = _answer(request)
    content: list[dict[str, Any]] = [{"text": answer.text}]
    call = answer.tool_call
    if call is not None:
        content.append(
            {"toolUse": {"toolUseId": call.tool_use_id, "name": call.name, "input": call.input}}
        )
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": answer.stop_reason,
        "usage": answer.usage,
        "metrics": {"latencyMs": answer.latency_ms},
    }


def make_simulator_responder(delay: float = 0.0) -> Responder:
    """A server responder answering every request with the simulator.

    ConverseStream requests get a :class:`StreamReply` paced ``delay`` seconds between
    events; Converse requests get a :class:`JsonReply`.
    """

    def respond(request: RecordedRequest) -> Reply:
        body = request.body if isinstance(request.body, Mapping) else {}
        if request.operation == "converse-stream":
            return StreamReply(simulated_events(body), delay=delay)
        return JsonReply(simulated_converse_response(body))

    return respond
