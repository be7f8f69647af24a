"""Input token counts: a local estimate, or Bedrock's CountTokens API on request.

Both count the request exactly as ``ChatBedrockStream`` would send it (system prompt,
messages, tools, cache points and reasoning fields applied), so the number answers "does
this fit the context window" for the call about to be made.

The local estimate needs no network and no tokenizer download. It is a heuristic tuned to
err slightly high: one token per short English word, about four characters per token in
longer ones, one per punctuation mark and per non-ASCII character (CJK), and per-block
rules for the rest:

- images: Anthropic's rule, ``width * height / 750`` after scaling the long edge down to
  1568 pixels, at most 1600 (dimensions read from PNG, JPEG, GIF and WebP headers; 1600
  when unknown);
- documents: text formats as text, PDFs 1500 tokens per page, other formats one token per
  eight bytes;
- tool definitions as their JSON text, plus the tool-use system prompt Anthropic adds
  (346 tokens with automatic choice, 313 when a tool is forced);
- a few tokens of framing per message; video and audio blocks are not counted.

``count_tokens_via_api=True`` asks ``CountTokens`` instead (exact, a network call, offered
for Anthropic Claude models), with the foundation model id (a cross-region prefix such as
``us.`` is dropped; application inference profiles need ``base_model_id``). Its failures
raise the package's ``BedrockError`` types; nothing falls back silently.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._error_boundary import map_errors
from ._images import image_size
from ._request import base_model_name
from .models import describe

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage

    from ._retry import RetryPolicy
    from .chat_model import ChatBedrockStream

__all__ = [
    "count_message_tokens",
    "count_tokens_api",
    "count_tokens_input",
    "estimate_request_tokens",
    "estimate_text_tokens",
    "image_size",
]

_PIECE = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_CHARS_PER_TOKEN = 4
_SHORT_WORD = 6
_MESSAGE_FRAMING = 3
_REQUEST_FRAMING = 1
_TOOL_PROMPT_AUTO = 346
_TOOL_PROMPT_FORCED = 313
_IMAGE_UNKNOWN = 1600
_IMAGE_MAX_EDGE = 1568
_IMAGE_PIXELS_PER_TOKEN = 750
_PDF_PAGE = 1500
_BYTES_PER_TOKEN = 8
_TEXT_DOCUMENTS = frozenset({"txt", "md", "csv", "html"})
_PDF_PAGES = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def estimate_text_tokens(text: str) -> int:
    """Estimated tokens of ``text``: one per word of up to six characters, longer words at
    four characters a token, each punctuation mark one, each non-ASCII character one."""
    total = 0
    for piece in _PIECE.findall(text):
        ascii_chars = sum(1 for char in piece if ord(char) < 128)
        total += len(piece) - ascii_chars
        if ascii_chars:
            short = ascii_chars <= _SHORT_WORD
            total += 1 if short else math.ceil(ascii_chars / _CHARS_PER_TOKEN)
    return total


# --- media ------------------------------------------------------------------------------------


def _image_tokens(image: Mapping[str, Any]) -> int:
    data = (image.get("source") or {}).get("bytes")
    size = image_size(bytes(data)) if isinstance(data, (bytes, bytearray)) else None
    if size is None or not all(size):
        return _IMAGE_UNKNOWN
    width, height = size
    scale = min(1.0, _IMAGE_MAX_EDGE / max(width, height))
    tokens = math.ceil(width * scale * height * scale / _IMAGE_PIXELS_PER_TOKEN)
    return max(1, min(tokens, _IMAGE_UNKNOWN))


def _document_tokens(document: Mapping[str, Any]) -> int:
    source = document.get("source") or {}
    name_tokens = estimate_text_tokens(str(document.get("name") or ""))
    if isinstance(source.get("text"), str):
        return name_tokens + estimate_text_tokens(source["text"])
    if isinstance(source.get("content"), list):
        return name_tokens + sum(_block_tokens(item) for item in source["content"])
    data = source.get("bytes")
    if not isinstance(data, (bytes, bytearray)):
        return name_tokens + _PDF_PAGE  # an S3 object: one page's worth
    fmt = document.get("format")
    if fmt in _TEXT_DOCUMENTS:
        return name_tokens + estimate_text_tokens(bytes(data).decode("utf-8", "replace"))
    if fmt == "pdf":
        return name_tokens + _PDF_PAGE * max(1, len(_PDF_PAGES.findall(data)))
    return name_tokens + math.ceil(len(data) / _BYTES_PER_TOKEN)


# --- blocks, messages, requests -----------------------------------------------------------------


def _json_tokens(value: Any) -> int:
    return estimate_text_tokens(json.dumps(value, ensure_ascii=False, default=str))


def _block_tokens(block: Any) -> int:
    if not isinstance(block, Mapping) or not block:
        return 0
    kind, value = next(iter(block.items()))
    if kind == "text":
        return estimate_text_tokens(str(value))
    if kind == "image":
        return _image_tokens(value)
    if kind == "document":
        return _document_tokens(value)
    if kind == "toolUse":
        return estimate_text_tokens(str(value.get("name") or "")) + _json_tokens(value.get("input"))
    if kind == "toolResult":
        return _MESSAGE_FRAMING + sum(_block_tokens(item) for item in value.get("content") or ())
    if kind == "json":
        return _json_tokens(value)
    if kind == "reasoningContent":
        return estimate_text_tokens(str((value.get("reasoningText") or {}).get("text") or ""))
    if kind == "guardContent":
        return estimate_text_tokens(str((value.get("text") or {}).get("text") or ""))
    if kind == "citationsContent":
        return sum(_block_tokens(item) for item in value.get("content") or ())
    if kind == "searchResult":
        return sum(_block_tokens(item) for item in value.get("content") or ()) + (
            estimate_text_tokens(f"{value.get('title') or ''} {value.get('source') or ''}")
        )
    return 0  # cachePoint, video, audio and blocks the estimate does not know


def _tools_tokens(tool_config: Mapping[str, Any] | None, model_id: str) -> int:
    tools = [tool for tool in (tool_config or {}).get("tools") or () if "cachePoint" not in tool]
    if not tools:
        return 0
    total = _json_tokens(tools)
    if describe(model_id).provider == "anthropic":
        choice = (tool_config or {}).get("toolChoice") or {}
        forced = bool({"any", "tool"} & set(choice))
        total += _TOOL_PROMPT_FORCED if forced else _TOOL_PROMPT_AUTO
    return total


def estimate_request_tokens(request: Mapping[str, Any]) -> int:
    """Estimated input tokens of a Converse request (``system``, ``messages``, tools)."""
    total = _REQUEST_FRAMING
    total += sum(_block_tokens(block) for block in request.get("system") or ())
    for message in request.get("messages") or ():
        total += _MESSAGE_FRAMING + sum(_block_tokens(b) for b in message.get("content") or ())
    total += _tools_tokens(request.get("toolConfig"), str(request.get("modelId") or ""))
    return total


# --- the CountTokens API ------------------------------------------------------------------------

_COUNTED_MEMBERS = ("messages", "system", "toolConfig", "additionalModelRequestFields")


def count_tokens_input(request: Mapping[str, Any]) -> dict[str, Any]:
    """The ``input`` of ``CountTokens`` for a Converse request: ``{"converse": {...}}``
    with the members ``ConverseTokensRequest`` takes."""
    return {"converse": {key: request[key] for key in _COUNTED_MEMBERS if request.get(key)}}


def count_tokens_api(
    client: Any,
    request: Mapping[str, Any],
    *,
    model_id: str,
    policy: RetryPolicy,
    region: str | None = None,
) -> int:
    """Input tokens of ``request`` from Bedrock's CountTokens API (one network call, with the
    retry ``policy``). ``model_id`` is reduced to its foundation model id."""
    foundation = base_model_name(model_id)

    def call() -> int:
        with map_errors(model_id=foundation, region=region):
            response = client.count_tokens(modelId=foundation, input=count_tokens_input(request))
            return int(response["inputTokens"])

    return policy.call(f"CountTokens {foundation}", call)


def count_message_tokens(
    model: ChatBedrockStream,
    messages: Sequence[BaseMessage],
    tools: Sequence[Any] | None = None,
) -> int:
    """Input tokens ``model`` would send for ``messages`` and ``tools``: estimated locally,
    or counted by the CountTokens API when ``model.count_tokens_via_api`` is set."""
    if not messages:
        return 0
    request = model.converse_request(list(messages), **({"tools": list(tools)} if tools else {}))
    if model.count_tokens_via_api:
        return count_tokens_api(
            model.client,
            request,
            model_id=model.base_model_id or request["modelId"],
            policy=model.effective_retry_policy,
            region=model.client.meta.region_name,
        )
    return estimate_request_tokens(request)
