"""LangChain messages and call parameters -> the kwargs of ``converse`` / ``converse_stream``.

The shapes are botocore's ``bedrock-runtime`` service model (``ConverseRequest`` /
``ConverseStreamRequest``). Blob members (image, document, video and audio bytes, redacted
reasoning) are ``bytes`` here: boto3 base64-encodes them on the wire.

Conversation rules applied by :func:`to_converse_messages`:

- ``SystemMessage`` content, wherever it appears, goes to ``system`` in order.
- ``HumanMessage`` is a ``user`` turn, ``AIMessage`` an ``assistant`` turn, ``ToolMessage`` a
  ``toolResult`` block in a ``user`` turn. Consecutive turns of one role are merged into one
  Converse message (Bedrock requires alternation), so tool results that answer one assistant
  turn end up in one user message; ``toolResult`` blocks are moved to the front of a user
  message (Anthropic models reject text before tool results).
- Empty text blocks are dropped. A message left with no content is dropped too (its
  neighbours then merge); Bedrock rejects empty content lists, and dropping invents nothing.
- The placeholder text ``"."`` is added only where Bedrock would reject the request
  otherwise: a ``toolResult`` with no content (rejected for ``status="error"`` and by several
  models for success), a history whose first turn is the assistant's (Bedrock requires the
  conversation to start with a user turn, so a ``"."`` user turn is prepended), and a
  history that has no user or assistant turn at all (one ``"."`` user turn is sent).

Content forms (``_CONVERTERS`` maps each block ``type`` to a small converter; ``index`` keys
are ignored everywhere):

- Assistant turns in this package's native format (the one ``ChatBedrockConverse`` uses):
  ``text`` (with snake_case Bedrock ``citations`` -> ``citationsContent``),
  ``reasoning_content`` (``text``/``signature`` or ``redacted_content``; pieces a streamed
  ``+`` left apart are joined), ``tool_use``, ``server_tool_use``, ``server_tool_result``
  (Bedrock's result ``type`` read from ``result_type``); the same content as LangChain v1
  standard blocks (``reasoning``, ``tool_call``, ``server_tool_call``, ``server_tool_result``,
  ``text`` with ``citation`` annotations); Anthropic ``thinking`` / ``redacted_thinking``.
  Reasoning goes back as ``reasoningContent``, except to DeepSeek-R1 (as ``<think>`` text,
  which it accepts) and without a signature to Anthropic models (left out: rejected).
  ``AIMessage.tool_calls`` are the authority on tool arguments (one ``toolUse`` per id);
  ``invalid_tool_calls`` are replayed with ``{}`` input so their error results still match.
- Media: LangChain ``image`` / ``file`` / ``text-plain`` / ``video`` / ``audio`` blocks
  (``base64``, base64 ``data:`` or ``s3://`` ``url``, ``s3://`` ``file_id``; http(s) URLs are
  an error, nothing is fetched), OpenAI ``image_url`` / ``input_audio`` / ``file``, Anthropic
  ``image`` / ``document`` with a ``source``. Document names follow Bedrock's rules; unnamed
  documents are called ``Document 1``, ``Document 2``, ... and duplicates get `` (2)``.
- Raw Converse blocks (one camelCase member, e.g. ``{"cachePoint": {...}}``) pass untouched,
  except that base64-string media bytes are decoded.
- ``cache_control`` on a block (or in its ``extras``) adds ``{"cachePoint": {"type":
  "default"}}`` after it, with its ``ttl``.
- ``ToolMessage`` content: strings and known blocks are converted; any other dict is tool
  output data and is sent as ``{"json": value}`` exactly as given (keys are never renamed).

Anything that cannot be converted raises :class:`~langchain_bedrock_stream.errors.
InputConversionError` naming the message index and the block type, before any request is sent.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from langchain_bedrock_stream.errors import InputConversionError

__all__ = [
    "MAX_CACHE_POINTS",
    "PLACEHOLDER_TEXT",
    "REASONING_EFFORTS",
    "base_model_name",
    "build_request",
    "check_cache_points",
    "reasoning_fields",
    "thinking_enabled",
    "to_converse_messages",
]

PLACEHOLDER_TEXT = "."
"""Text sent where Bedrock rejects emptiness (see the module docstring for where)."""

_Role = Literal["user", "assistant", "system"]
_Block = dict[str, Any]

# --- errors ---------------------------------------------------------------------------------


class _Unconvertible(Exception):
    """Raised by block converters; the message loop adds the message index."""

    def __init__(self, reason: str, block: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.block = block


def _block_kind(block: Any) -> str:
    if isinstance(block, Mapping):
        kind = block.get("type")
        if isinstance(kind, str):
            return f"{kind!r} block"
        keys = ", ".join(repr(key) for key in list(block)[:3])
        return f"untyped block with keys {keys}" if keys else "empty block"
    return f"{type(block).__name__} content item"


# --- small helpers --------------------------------------------------------------------------


def _b64decode(data: Any, block: Any) -> bytes:
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if not isinstance(data, str) or not data:
        raise _Unconvertible("expected base64 data as a non-empty string or bytes", block)
    try:
        return base64.b64decode("".join(data.split()), validate=True)  # line breaks allowed
    except (binascii.Error, ValueError):
        raise _Unconvertible("data is not valid base64", block) from None


_DATA_URL = re.compile(r"^data:(?P<mime>[^;,]+)?(?P<params>(;[^,]*)*),(?P<data>.*)$", re.DOTALL)


def _parse_data_url(url: str, block: Any) -> tuple[bytes, str | None]:
    match = _DATA_URL.match(url)
    if match is None or ";base64" not in match.group("params"):
        raise _Unconvertible("only base64 data: URLs are supported", block)
    return _b64decode(match.group("data"), block), match.group("mime")


def _s3_location(uri: str, extras: Mapping[str, Any]) -> _Block:
    location: _Block = {"uri": uri}
    owner = extras.get("bucket_owner") or extras.get("bucketOwner")
    if owner:
        location["bucketOwner"] = owner
    return location


def _extras(block: Mapping[str, Any]) -> Mapping[str, Any]:
    extras = block.get("extras")
    return extras if isinstance(extras, Mapping) else {}


def _first(block: Mapping[str, Any], *keys: str) -> Any:
    """The first present, non-empty value of ``keys`` in ``block`` or its ``extras``."""
    for source in (block, _extras(block)):
        for key in keys:
            value = source.get(key)
            if value not in (None, ""):
                return value
    return None


@dataclass
class _Source:
    """Where a media block's data lives: bytes, an S3 URI, plain text or text chunks."""

    data: bytes | None = None
    s3_uri: str | None = None
    text: str | None = None
    chunks: list[str] | None = None
    mime_type: str | None = None

    @property
    def textual(self) -> bool:
        return self.text is not None or self.chunks is not None

    def converse(self, extras: Mapping[str, Any]) -> _Block:
        if self.data is not None:
            return {"bytes": self.data}
        if self.s3_uri is not None:
            return {"s3Location": _s3_location(self.s3_uri, extras)}
        if self.chunks is not None:
            return {"content": [{"text": chunk} for chunk in self.chunks]}
        return {"text": self.text}


def _url_source(url: str, block: Any) -> _Source:
    if url.startswith("data:"):
        data, mime = _parse_data_url(url, block)
        return _Source(data=data, mime_type=mime)
    if url.startswith("s3://"):
        return _Source(s3_uri=url)
    if url.startswith(("http://", "https://")):
        raise _Unconvertible(
            "Bedrock cannot read http(s) URLs and this package never fetches them; "
            "pass base64 data, a base64 data: URL or an s3:// URI",
            block,
        )
    raise _Unconvertible(f"unsupported URL scheme in {url[:40]!r}", block)


def _standard_source(block: Mapping[str, Any]) -> _Source:
    """The data of a LangChain data block (v1 keys, or v0 ``source_type`` keys)."""
    source_type = block.get("source_type")
    data = block.get("base64")
    if data is None and source_type == "base64":
        data = block.get("data")
    if data is not None:
        return _Source(data=_b64decode(data, block))
    url = block.get("url")
    if url is None and source_type == "url":
        url = block.get("data")
    if isinstance(url, str):
        return _url_source(url, block)
    if source_type == "text" and isinstance(block.get("text"), str):
        return _Source(text=block["text"])
    file_id = block.get("file_id") or (block.get("id") if source_type == "id" else None)
    if isinstance(file_id, str):
        if file_id.startswith("s3://"):
            return _Source(s3_uri=file_id)
        raise _Unconvertible("Bedrock has no file store: a file_id must be an s3:// URI", block)
    raise _Unconvertible("no data: expected 'base64', 'url' or 'file_id'", block)


def _extension(name: Any) -> str | None:
    if isinstance(name, str) and "." in name.rsplit("/", 1)[-1]:
        return name.rsplit(".", 1)[-1].lower()
    return None


# --- media formats --------------------------------------------------------------------------

_IMAGE_FORMATS = {
    "image/png": "png",
    "image/jpeg": "jpeg",
    "image/jpg": "jpeg",
    "image/pjpeg": "jpeg",
    "image/gif": "gif",
    "image/webp": "webp",
}
_IMAGE_EXTENSIONS = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "gif": "gif", "webp": "webp"}
_IMAGE_MAGIC = ((b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpeg"), (b"GIF8", "gif"))

_DOCUMENT_FORMATS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
    "text/x-markdown": "md",
}
_DOCUMENT_EXTENSIONS = {
    ext: ext for ext in ("pdf", "csv", "doc", "docx", "xls", "xlsx", "html", "txt", "md")
}

_VIDEO_FORMATS = {
    "video/x-matroska": "mkv",
    "video/quicktime": "mov",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "video/x-flv": "flv",
    "video/mpeg": "mpeg",
    "video/mpg": "mpg",
    "video/x-ms-wmv": "wmv",
    "video/3gpp": "three_gp",
}
_VIDEO_EXTENSIONS = {
    **{ext: ext for ext in ("mkv", "mov", "mp4", "webm", "flv", "mpeg", "mpg", "wmv")},
    "3gp": "three_gp",
}

_AUDIO_FORMATS = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mpga": "mpga",
    "audio/opus": "opus",
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/aac": "aac",
    "audio/x-aac": "x-aac",
    "audio/flac": "flac",
    "audio/x-flac": "flac",
    "audio/mp4": "mp4",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
    "audio/ogg": "ogg",
    "audio/webm": "webm",
    "audio/x-matroska": "mka",
    "audio/pcm": "pcm",
    "audio/l16": "pcm",
}
_AUDIO_EXTENSIONS = {
    ext: ext
    for ext in (
        "mp3", "opus", "wav", "aac", "flac", "mp4", "ogg", "mkv", "mka", "m4a", "mpeg", "mpga",
        "pcm", "webm",
    )
}  # fmt: skip


def _sniff_image(data: bytes | None) -> str | None:
    if data is None:
        return None
    for magic, fmt in _IMAGE_MAGIC:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _format(
    kind: str,
    mime: Any,
    table: Mapping[str, str],
    extensions: Mapping[str, str],
    hints: Sequence[Any],
    block: Any,
) -> str:
    """A Converse format from a MIME type, else from a file-name extension in ``hints``."""
    if isinstance(mime, str) and mime:
        base = mime.split(";", 1)[0].strip().lower()
        if base in table:
            return table[base]
        subtype = base.rsplit("/", 1)[-1]
        if subtype in extensions:
            return extensions[subtype]
        if kind == "document" and base.startswith("text/"):
            return "txt"
        raise _Unconvertible(f"unsupported {kind} MIME type {mime!r}", block)
    for hint in hints:
        ext = _extension(hint)
        if ext and ext in extensions:
            return extensions[ext]
    raise _Unconvertible(f"cannot tell the {kind} format: give 'mime_type'", block)


# --- document names -------------------------------------------------------------------------

_NAME_DISALLOWED = re.compile(r"[^A-Za-z0-9_\s\-()\[\]]+")
_WHITESPACE_RUN = re.compile(r"\s+")
_NAME_MAX = 200


def _document_name(name: str) -> str:
    """Make ``name`` acceptable as a Converse document name.

    Bedrock allows alphanumerics, single whitespace characters, hyphens, parentheses and
    square brackets (and, as recorded traffic shows, underscores). Other runs of characters
    become a hyphen, whitespace runs one space, and the result is cut to 200 characters.
    Returns ``""`` when nothing usable is left.
    """
    cleaned = _NAME_DISALLOWED.sub("-", name)
    cleaned = _WHITESPACE_RUN.sub(" ", cleaned).strip()
    return cleaned[:_NAME_MAX].strip()


@dataclass
class _DocumentNames:
    """Document names used so far in one request: Bedrock rejects duplicates.

    Unnamed documents get ``Document 1``, ``Document 2``, ... in order of appearance, so the
    same history always serialises the same way (prompt caching matches on it).
    """

    used: set[str] = field(default_factory=set)
    generated: int = 0

    def claim(self, wanted: Any) -> str:
        name = _document_name(wanted) if isinstance(wanted, str) else ""
        if not name:
            return self._generate()
        unique, n = name, 1
        while unique in self.used:
            n += 1
            unique = f"{name} ({n})"
        self.used.add(unique)
        return unique

    def note(self, name: Any) -> None:
        if isinstance(name, str):
            self.used.add(name)

    def _generate(self) -> str:
        while True:
            self.generated += 1
            name = f"Document {self.generated}"
            if name not in self.used:
                self.used.add(name)
                return name


_ReasoningMode = Literal["native", "think_tags", "signed_only"]


@dataclass
class _Ctx:
    role: _Role
    names: _DocumentNames
    reasoning: _ReasoningMode = "native"


def _reasoning_mode(model_id: str | None) -> _ReasoningMode:
    """How earlier reasoning goes back to ``model_id``.

    DeepSeek-R1 rejects ``reasoningContent`` in history: its reasoning is sent as
    ``<think>...</think>`` text (the form Bedrock accepted in recorded traffic). Anthropic
    models reject reasoning without a signature: unsigned reasoning is left out. Other
    models get ``reasoningContent`` as it is.
    """
    model = (model_id or "").lower()
    if "deepseek.r1" in model:
        return "think_tags"
    if "anthropic." in model or "claude" in model:
        return "signed_only"
    return "native"


# --- cache points ---------------------------------------------------------------------------

_CACHE_TTLS = ("5m", "1h")


def _cache_point(marker: Any, block: Any) -> _Block:
    point: _Block = {"type": "default"}
    ttl = marker.get("ttl") if isinstance(marker, Mapping) else None
    if ttl is not None:
        if ttl not in _CACHE_TTLS:
            raise _Unconvertible(f"cache ttl must be one of {_CACHE_TTLS}, got {ttl!r}", block)
        point["ttl"] = ttl
    return {"cachePoint": point}


def _cache_marker(block: Mapping[str, Any]) -> list[_Block]:
    marker = block.get("cache_control")
    if marker is None:
        marker = _extras(block).get("cache_control")
    return [_cache_point(marker, block)] if marker else []


# --- raw Converse blocks --------------------------------------------------------------------

_CONTENT_KEYS = frozenset(
    {
        "text", "image", "document", "video", "audio", "toolUse", "toolResult", "guardContent",
        "cachePoint", "reasoningContent", "citationsContent", "searchResult", "toolAddition",
        "toolRemoval", "json",
    }
)  # fmt: skip
_MEDIA_KEYS = ("image", "document", "video", "audio")


def _with_decoded_bytes(block: _Block) -> _Block:
    """A copy of a raw media block whose base64-string ``source.bytes`` is decoded."""
    key = next(iter(block))
    if key in _MEDIA_KEYS:
        media = block[key]
        source = media.get("source") if isinstance(media, Mapping) else None
        if isinstance(source, Mapping) and isinstance(source.get("bytes"), str):
            data = _b64decode(source["bytes"], block)
            return {key: {**media, "source": {**source, "bytes": data}}}
    if key == "toolResult" and isinstance(block[key], Mapping):
        result = block[key]
        content = result.get("content")
        if isinstance(content, list):
            decoded = [_with_decoded_bytes(item) if _is_raw(item) else item for item in content]
            return {key: {**result, "content": decoded}}
    if key == "reasoningContent" and isinstance(block[key], Mapping):
        redacted = block[key].get("redactedContent")
        if isinstance(redacted, str):
            return {key: {**block[key], "redactedContent": _b64decode(redacted, block)}}
    return block


def _is_raw(block: Any) -> bool:
    return isinstance(block, Mapping) and len(block) == 1 and next(iter(block)) in _CONTENT_KEYS


def _raw_block(block: Mapping[str, Any]) -> list[_Block]:
    body = {key: value for key, value in block.items() if key not in ("cache_control", "index")}
    if not _is_raw(body):
        raise _Unconvertible(
            "an untyped block must be a Converse content block with exactly one member "
            f"of {sorted(_CONTENT_KEYS)}",
            block,
        )
    if body.get("text") == "":
        return []
    return [_with_decoded_bytes(dict(body))]


# --- text and citations ---------------------------------------------------------------------

_CITATION_MEMBERS = ("title", "source", "sourceContent", "location")


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(value: Any) -> Any:
    """Citation dicts only: every key of a citation is a schema member name."""
    if isinstance(value, Mapping):
        return {_camel(str(key)): _camel_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel_keys(item) for item in value]
    return value


def _annotation_citation(annotation: Mapping[str, Any]) -> dict[str, Any]:
    """A LangChain ``citation`` annotation as a Bedrock citation (snake_case keys)."""
    citation: dict[str, Any] = dict(_extras(annotation))
    if "title" in annotation:
        citation["title"] = annotation["title"]
    if "cited_text" in annotation:
        citation["source_content"] = [{"text": annotation["cited_text"]}]
    if "url" in annotation and "location" not in citation:
        citation["location"] = {"web": {"url": annotation["url"]}}
    return citation


def _citation(item: Any, block: Any) -> _Block:
    if not isinstance(item, Mapping):
        raise _Unconvertible("a citation must be a dict", block)
    if item.get("type") == "citation":
        item = _annotation_citation(item)
    elif item.get("type") == "non_standard_annotation":
        item = item.get("value") or {}
    camel = _camel_keys(item)
    return {key: camel[key] for key in _CITATION_MEMBERS if key in camel}


def _text(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    text = block.get("text")
    if not isinstance(text, str):
        raise _Unconvertible("'text' must be a string", block)
    if not text:
        return []
    citations = block.get("citations") or block.get("annotations")
    if not citations:
        return [{"text": text}]
    converted = [_citation(item, block) for item in citations]
    return [{"citationsContent": {"content": [{"text": text}], "citations": converted}}]


# --- images, documents, video, audio --------------------------------------------------------


def _image_from_source(source: _Source, mime: Any, block: Mapping[str, Any]) -> list[_Block]:
    if source.textual:
        raise _Unconvertible("image data cannot be text", block)
    mime = mime or source.mime_type
    hints = (source.s3_uri, _first(block, "name", "filename"))
    fmt = (None if mime else _sniff_image(source.data)) or _format(
        "image", mime, _IMAGE_FORMATS, _IMAGE_EXTENSIONS, hints, block
    )
    return [{"image": {"format": fmt, "source": source.converse(_extras(block))}}]


def _anthropic_source(block: Mapping[str, Any]) -> tuple[_Source, Any]:
    """The ``source`` of an Anthropic-style image/document/video block, and its MIME type."""
    source = block["source"]
    kind = source.get("type")
    mime = source.get("media_type") or source.get("mediaType")
    if kind == "base64":
        return _Source(data=_b64decode(source.get("data"), block)), mime
    if kind == "text":
        return _Source(text=str(source.get("data", ""))), mime or "text/plain"
    if kind == "content":
        content = source.get("content")
        items = [content] if isinstance(content, str) else list(content or [])
        chunks = [item if isinstance(item, str) else str(item.get("text", "")) for item in items]
        return _Source(chunks=[chunk for chunk in chunks if chunk]), mime or "text/plain"
    if kind == "url":
        return _url_source(str(source.get("url", "")), block), mime
    if kind in ("s3Location", "s3_location", "s3"):
        location = source.get("data") or source.get("uri") or source.get("url")
        if isinstance(location, Mapping):
            return _Source(s3_uri=str(location.get("uri", ""))), mime
        return _Source(s3_uri=str(location)), mime
    raise _Unconvertible(f"unsupported source type {kind!r}", block)


def _image(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    if isinstance(block.get("image"), Mapping):
        return _raw_block({"image": block["image"]})
    source = block.get("source")
    if isinstance(source, Mapping) and "type" not in source and "format" in block:
        # an image the model generated: {"type": "image", "format", "source": {"bytes"}}
        return _raw_block({"image": {"format": block["format"], "source": dict(source)}})
    if isinstance(source, Mapping):
        source, mime = _anthropic_source(block)
        return _image_from_source(source, mime, block)
    return _image_from_source(_standard_source(block), block.get("mime_type"), block)


def _image_url(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    image_url = block.get("image_url")
    url = image_url.get("url") if isinstance(image_url, Mapping) else image_url
    if not isinstance(url, str):
        raise _Unconvertible("'image_url' must hold a 'url' string", block)
    return _image_from_source(_url_source(url, block), None, block)


def _citations_config(value: Any) -> _Block | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {"enabled": bool(value.get("enabled", True))}
    return {"enabled": bool(value)}


def _document_format(source: _Source, mime: Any, name: Any, block: Mapping[str, Any]) -> str:
    hints = (name, source.s3_uri)
    return _format(
        "document", mime or source.mime_type, _DOCUMENT_FORMATS, _DOCUMENT_EXTENSIONS, hints, block
    )


def _document(
    source: _Source, mime: Any, block: Mapping[str, Any], ctx: _Ctx, *, name: Any = None
) -> list[_Block]:
    wanted = name or _first(block, "name", "filename", "title")
    fmt = _document_format(source, mime, wanted, block)
    if isinstance(wanted, str) and _extension(wanted) in _DOCUMENT_EXTENSIONS:
        wanted = wanted.rsplit(".", 1)[0]  # "report.pdf" -> "report": the format says pdf
    document: _Block = {
        "format": fmt,
        "name": ctx.names.claim(wanted),
        "source": source.converse(_extras(block)),
    }
    context = _first(block, "context")
    if context is not None:
        document["context"] = str(context)
    citations = _citations_config(_first(block, "citations"))
    if citations is not None:
        document["citations"] = citations
    return [{"document": document}]


def _file(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    openai_file = block.get("file")
    if isinstance(openai_file, Mapping):  # OpenAI chat style: {"file": {"file_data", ...}}
        url = openai_file.get("file_data")
        if not isinstance(url, str):
            raise _Unconvertible("OpenAI-style 'file' needs base64 'file_data'", block)
        source = (
            _url_source(url, block)
            if url.startswith("data:")
            else _Source(data=_b64decode(url, block))
        )
        return _document(source, None, block, ctx, name=openai_file.get("filename"))
    return _document(_standard_source(block), block.get("mime_type"), block, ctx)


def _text_plain(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    text = block.get("text")
    source = _Source(text=text) if isinstance(text, str) else _standard_source(block)
    mime = block.get("mime_type") or "text/plain"
    return _document(source, mime, block, ctx)


def _document_block(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    if isinstance(block.get("document"), Mapping):  # {"type": "document", "document": {...}}
        ctx.names.note(block["document"].get("name"))
        return _raw_block({"document": block["document"]})
    if isinstance(block.get("source"), Mapping):
        source, mime = _anthropic_source(block)
        return _document(source, mime, block, ctx)
    return _document(_standard_source(block), block.get("mime_type"), block, ctx)


def _media(
    key: Literal["video", "audio"],
    table: Mapping[str, str],
    extensions: Mapping[str, str],
) -> Callable[[Mapping[str, Any], _Ctx], list[_Block]]:
    def convert(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
        if isinstance(block.get(key), Mapping):
            return _raw_block({key: block[key]})
        if isinstance(block.get("source"), Mapping):
            source, mime = _anthropic_source(block)
        else:
            source, mime = _standard_source(block), block.get("mime_type")
        if source.textual:
            raise _Unconvertible(f"{key} data cannot be text", block)
        hints = (source.s3_uri, _first(block, "name", "filename"))
        fmt = _format(key, mime or source.mime_type, table, extensions, hints, block)
        return [{key: {"format": fmt, "source": source.converse(_extras(block))}}]

    return convert


def _video_url(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    video_url = block.get("video_url")
    url = video_url.get("url") if isinstance(video_url, Mapping) else video_url
    if not isinstance(url, str):
        raise _Unconvertible("'video_url' must hold a 'url' string", block)
    return _media("video", _VIDEO_FORMATS, _VIDEO_EXTENSIONS)({"url": url, **block}, ctx)


def _input_audio(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    audio = block.get("input_audio")
    if not isinstance(audio, Mapping):
        raise _Unconvertible("'input_audio' must be a dict with 'data' and 'format'", block)
    fmt = str(audio.get("format", "")).lower()
    if fmt not in _AUDIO_EXTENSIONS:
        raise _Unconvertible(f"unsupported audio format {fmt!r}", block)
    return [{"audio": {"format": fmt, "source": {"bytes": _b64decode(audio.get("data"), block)}}}]


# --- reasoning ------------------------------------------------------------------------------


@dataclass
class _Reasoning:
    text: str = ""
    signature: str | None = None
    redacted: Any = None


def _reasoning_parts(block: Mapping[str, Any]) -> _Reasoning:
    kind = block.get("type")
    if kind == "reasoning":  # LangChain v1 standard block
        extras = _extras(block)
        return _Reasoning(
            str(block.get("reasoning") or ""),
            extras.get("signature"),
            extras.get("redacted_content"),
        )
    if kind == "thinking":  # Anthropic style
        return _Reasoning(str(block.get("thinking") or ""), block.get("signature"))
    if kind == "redacted_thinking":
        return _Reasoning(redacted=block.get("data"))
    inner = block.get("reasoning_content") or block.get("reasoningContent") or {}
    if not isinstance(inner, Mapping):
        raise _Unconvertible("'reasoning_content' must be a dict", block)
    if isinstance(inner.get("reasoning_text"), Mapping):  # non-streamed camel->snake form
        inner = {**inner, **inner["reasoning_text"]}
    redacted = inner.get("redacted_content", inner.get("redactedContent"))
    return _Reasoning(str(inner.get("text") or ""), inner.get("signature"), redacted)


def _reasoning(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    parts = _reasoning_parts(block)
    if parts.redacted:
        if ctx.reasoning == "think_tags":
            return []
        return [{"reasoningContent": {"redactedContent": _b64decode(parts.redacted, block)}}]
    if ctx.reasoning == "think_tags":
        return [{"text": f"<think>\n{parts.text}\n</think>"}] if parts.text else []
    if not parts.signature and (ctx.reasoning == "signed_only" or not parts.text):
        return []
    reasoning_text: _Block = {"text": parts.text}
    if parts.signature:
        reasoning_text["signature"] = parts.signature
    return [{"reasoningContent": {"reasoningText": reasoning_text}}]


_REASONING_TYPES = frozenset({"reasoning_content", "reasoning", "thinking"})


def _mergeable(previous: Any, item: Any) -> bool:
    if not (isinstance(previous, Mapping) and isinstance(item, Mapping)):
        return False
    if previous.get("type") not in _REASONING_TYPES or item.get("type") not in _REASONING_TYPES:
        return False
    before, after = _reasoning_parts(previous), _reasoning_parts(item)
    if before.redacted or after.redacted or before.signature:
        return False
    same_index = previous.get("index") is not None and previous.get("index") == item.get("index")
    signature_only = not after.text and bool(after.signature)
    return same_index or signature_only


def _merge_split_reasoning(items: Sequence[Any]) -> list[Any]:
    """Join reasoning pieces a streamed ``+`` left apart (text parts, then the signature)."""
    merged: list[Any] = []
    for item in items:
        if merged and _mergeable(merged[-1], item):
            before, after = _reasoning_parts(merged[-1]), _reasoning_parts(item)
            joined: _Block = {"text": before.text + after.text}
            if after.signature:
                joined["signature"] = after.signature
            merged[-1] = {
                "type": "reasoning_content",
                "reasoning_content": joined,
                "index": merged[-1].get("index"),
            }
        else:
            merged.append(item)
    return merged


# --- tool use and tool results --------------------------------------------------------------


def _tool_input(value: Any) -> Any:
    """A tool input as Bedrock takes it: streamed JSON text parsed, broken text as ``{}``."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {} if value is None else value


def _tool_use(block: Mapping[str, Any], *, args_key: str, server: bool = False) -> list[_Block]:
    tool_id, name = block.get("id"), block.get("name")
    if not tool_id or not name:
        raise _Unconvertible("a tool call needs an 'id' and a 'name'", block)
    use: _Block = {"toolUseId": tool_id, "name": name, "input": _tool_input(block.get(args_key))}
    if server:
        use["type"] = "server_tool_use"
    return [{"toolUse": use}]


def _invalid_tool_call(block: Mapping[str, Any], ctx: _Ctx | None = None) -> list[_Block]:
    """A call whose arguments did not parse, replayed with ``{}`` so its result matches."""
    if not block.get("id") or not block.get("name"):
        return []
    return [{"toolUse": {"toolUseId": block["id"], "name": block["name"], "input": {}}}]


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


# --- other block kinds ----------------------------------------------------------------------


def _json(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    return [{"json": block.get("json")}]


def _guard_content(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    inner = block.get("guard_content")
    text = inner.get("text") if isinstance(inner, Mapping) else block.get("text")
    if not isinstance(text, str) or not text:
        raise _Unconvertible("guard content needs a non-empty 'text'", block)
    guarded: _Block = {"text": text}
    if block.get("qualifiers"):
        guarded["qualifiers"] = list(block["qualifiers"])
    return [{"guardContent": {"text": guarded}}]


def _search_result(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    items = block.get("content") or []
    texts = [item if isinstance(item, str) else item.get("text") for item in items]
    if any(not isinstance(text, str) for text in texts):
        raise _Unconvertible("search result content must be text blocks", block)
    result: _Block = {
        "source": block.get("source"),
        "title": block.get("title"),
        "content": [{"text": text} for text in texts],
    }
    citations = _citations_config(block.get("citations"))
    if citations is not None:
        result["citations"] = citations
    return [{"searchResult": result}]


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


# --- messages -------------------------------------------------------------------------------

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


# --- reasoning ------------------------------------------------------------------------------

REASONING_EFFORTS = ("none", "low", "medium", "high", "xhigh", "max")
"""Values of ``reasoning_effort``; each family accepts the subset listed in
:func:`reasoning_fields`."""

_GEO_PREFIXES = frozenset(
    {"us", "eu", "apac", "ap", "global", "us-gov", "jp", "au", "ca", "sa", "amer", "in"}
)
_CLAUDE_VERSION = re.compile(
    r"claude-(?:(?P<major>\d)-(?P<minor>\d)-[a-z]|"
    r"(?:sonnet|opus|haiku|fable)-(?P<major2>\d+)(?:-(?P<minor2>\d{1,2})(?!\d))?)"
)
_THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384, "xhigh": 24576, "max": 32000}
"""``reasoning_effort`` -> ``budget_tokens`` for Claude models that take a thinking budget."""
_THINKING_HEADROOM = 4096
"""Answer tokens added to a thinking budget when ``max_tokens`` is not set."""
_MIN_THINKING_BUDGET = 1024


def base_model_name(model_id: str) -> str:
    """The foundation model name inside ``model_id``.

    A model or inference-profile ARN gives its resource name, and a cross-region or global
    profile prefix (``us.``, ``eu.``, ``global.``, ...) is dropped:
    ``us.anthropic.claude-sonnet-4-6`` -> ``anthropic.claude-sonnet-4-6``. An application
    inference profile ARN names no model; pass ``base_model_id`` for those.
    """
    name = model_id.rsplit("/", 1)[-1] if model_id.startswith("arn:") else model_id
    head, sep, rest = name.partition(".")
    if sep and head.lower() in _GEO_PREFIXES and "." in rest:
        return rest
    return name


def _claude_version(model: str) -> tuple[int, int] | None:
    match = _CLAUDE_VERSION.search(model)
    if match is None:
        return None
    if match["major"] is not None:
        return int(match["major"]), int(match["minor"])
    return int(match["major2"]), int(match["minor2"] or 0)


def _budget_thinking(budget: int) -> dict[str, Any]:
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


def _unsupported_effort(model: str, effort: str, levels: Sequence[str]) -> ValueError:
    return ValueError(
        f"reasoning_effort={effort!r} is not supported for {model}; use one of {list(levels)}"
    )


def reasoning_fields(
    model_id: str, *, effort: str | None = None, budget: int | None = None
) -> dict[str, Any]:
    """``additionalModelRequestFields`` members that turn reasoning on for ``model_id``.

    - ``budget`` (``thinking_budget``): Anthropic Claude only,
      ``{"thinking": {"type": "enabled", "budget_tokens": budget}}`` (at least 1024).
    - ``effort`` (``reasoning_effort``), by family:

      - Claude 4.6 and later (adaptive thinking):
        ``{"thinking": {"type": "adaptive"}, "output_config": {"effort": effort}}`` for
        ``low``/``medium``/``high``/``xhigh``/``max``; ``none`` sends
        ``{"thinking": {"type": "disabled"}}``.
      - Claude 3.7 to 4.5 (budgeted thinking): a budget of 1024 / 4096 / 16384 / 24576 /
        32000 tokens for ``low`` / ``medium`` / ``high`` / ``xhigh`` / ``max``; ``none``
        sends nothing (thinking is off by default).
      - Amazon Nova 2: ``{"reasoningConfig": {"type": "enabled", "maxReasoningEffort":
        effort}}`` for ``low``/``medium``/``high``; ``none`` sends nothing.
      - OpenAI gpt-oss: ``{"reasoning_effort": effort}`` for ``low``/``medium``/``high``.

    Raises ``ValueError`` for other families and for values a family does not take (set
    ``additional_model_request_fields`` directly for those), and when both are given.
    """
    if effort is None and budget is None:
        return {}
    if effort is not None and budget is not None:
        raise ValueError(
            "set either reasoning_effort or thinking_budget, not both "
            f"(got reasoning_effort={effort!r}, thinking_budget={budget!r})"
        )
    model = base_model_name(model_id).lower()
    claude = _claude_version(model) if "claude" in model else None
    if budget is not None:
        if "anthropic." not in model and "claude" not in model:
            raise ValueError(
                f"thinking_budget is an Anthropic Claude setting; {model_id!r} is not a Claude "
                "model (use reasoning_effort or additional_model_request_fields)"
            )
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < _MIN_THINKING_BUDGET:
            raise ValueError(
                f"thinking_budget must be an integer of at least {_MIN_THINKING_BUDGET} tokens, "
                f"got {budget!r}"
            )
        return _budget_thinking(budget)
    assert effort is not None
    if effort not in REASONING_EFFORTS:
        raise ValueError(
            f"reasoning_effort must be one of {list(REASONING_EFFORTS)}, got {effort!r}"
        )
    if claude is not None and claude >= (4, 6):
        if effort == "none":
            return {"thinking": {"type": "disabled"}}
        return {"thinking": {"type": "adaptive"}, "output_config": {"effort": effort}}
    if claude is not None and claude >= (3, 7):
        return {} if effort == "none" else _budget_thinking(_THINKING_BUDGETS[effort])
    three_levels = ("none", "low", "medium", "high")
    if model.startswith("amazon.nova-2"):
        if effort not in three_levels:
            raise _unsupported_effort(model_id, effort, three_levels)
        if effort == "none":
            return {}
        return {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": effort}}
    if model.startswith("openai.gpt-oss"):
        if effort not in three_levels[1:]:
            raise _unsupported_effort(model_id, effort, three_levels[1:])
        return {"reasoning_effort": effort}
    raise ValueError(
        f"reasoning_effort is not supported for {model_id!r}: it is mapped for Anthropic "
        "Claude 3.7 and later, Amazon Nova 2 and OpenAI gpt-oss models (for an application "
        "inference profile ARN, set base_model_id); for other models put the model's own "
        "reasoning setting in additional_model_request_fields"
    )


def thinking_enabled(model_id: str, fields: Mapping[str, Any] | None) -> bool:
    """Whether ``fields`` (``additionalModelRequestFields``) turn Claude thinking on."""
    model = base_model_name(model_id).lower()
    if "anthropic." not in model and "claude" not in model:
        return False
    thinking = (fields or {}).get("thinking")
    return isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive")


def _forces_tool_use(tool_config: Mapping[str, Any] | None) -> bool:
    choice = (tool_config or {}).get("toolChoice")
    return isinstance(choice, Mapping) and bool({"any", "tool"} & set(choice))


# --- cache points -----------------------------------------------------------------------------

MAX_CACHE_POINTS = 4
"""Bedrock accepts at most this many ``cachePoint`` blocks in one request."""


def _cache_point_block(ttl: str | None) -> _Block:
    point: _Block = {"type": "default"}
    if ttl is not None:
        if ttl not in _CACHE_TTLS:
            raise ValueError(f"cache ttl must be one of {list(_CACHE_TTLS)}, got {ttl!r}")
        point["ttl"] = ttl
    return {"cachePoint": point}


def _count_cache_points(blocks: Any) -> int:
    return sum(1 for block in blocks or () if isinstance(block, Mapping) and "cachePoint" in block)


def check_cache_points(request: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` when ``request`` holds more cache points than Bedrock allows.

    Counted: ``cachePoint`` blocks in ``system``, in ``toolConfig.tools`` and in the content
    of every message.
    """
    counts = {
        "system": _count_cache_points(request.get("system")),
        "tools": _count_cache_points((request.get("toolConfig") or {}).get("tools")),
        "messages": sum(
            _count_cache_points(message.get("content")) for message in request.get("messages") or ()
        ),
    }
    total = sum(counts.values())
    if total > MAX_CACHE_POINTS:
        where = ", ".join(f"{name}: {count}" for name, count in counts.items() if count)
        raise ValueError(
            f"the request has {total} cache points ({where}); Bedrock allows at most "
            f"{MAX_CACHE_POINTS} per request: drop some cache_control markers or "
            "cache_system / cache_tools"
        )


# --- the request ----------------------------------------------------------------------------

_INFERENCE_KEYS = {
    "max_tokens": "maxTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "stop_sequences": "stopSequences",
    "stop": "stopSequences",
}
_GUARDRAIL_KEYS = {
    "guardrail_identifier": "guardrailIdentifier",
    "guardrail_version": "guardrailVersion",
    "stream_processing_mode": "streamProcessingMode",
}


def _renamed(config: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """``config`` with snake_case aliases renamed and ``None`` / empty-list values dropped."""
    return {
        names.get(key, key): value
        for key, value in config.items()
        if value is not None and value != []
    }


def _service_tier(value: str | Mapping[str, Any]) -> dict[str, Any]:
    return {"type": value} if isinstance(value, str) else dict(value)


def _performance(value: str | Mapping[str, Any]) -> dict[str, Any]:
    return {"latency": value} if isinstance(value, str) else dict(value)


def _prompt_variables(value: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: {"text": item} if isinstance(item, str) else dict(item)
        for name, item in value.items()
    }


def _output_config(value: Mapping[str, Any]) -> dict[str, Any]:
    """``outputConfig`` with a dict JSON schema serialised: Converse wants it as a string."""
    config = dict(value)
    text_format = config.get("textFormat")
    if not isinstance(text_format, Mapping):
        return config
    structure = text_format.get("structure")
    if not isinstance(structure, Mapping):
        return config
    spec = structure.get("jsonSchema")
    if not (isinstance(spec, Mapping) and isinstance(spec.get("schema"), Mapping)):
        return config
    spec = {**spec, "schema": json.dumps(spec["schema"])}
    config["textFormat"] = {**text_format, "structure": {**structure, "jsonSchema": spec}}
    return config


def build_request(
    messages: Sequence[BaseMessage],
    *,
    model_id: str,
    inference_config: Mapping[str, Any] | None = None,
    tool_config: Mapping[str, Any] | None = None,
    additional_model_request_fields: Mapping[str, Any] | None = None,
    additional_model_response_field_paths: Sequence[str] | None = None,
    guardrail_config: Mapping[str, Any] | None = None,
    performance_config: str | Mapping[str, Any] | None = None,
    service_tier: str | Mapping[str, Any] | None = None,
    request_metadata: Mapping[str, str] | None = None,
    prompt_variables: Mapping[str, Any] | None = None,
    output_config: Mapping[str, Any] | None = None,
    system_cache: bool = False,
    tools_cache: bool = False,
    cache_ttl: str | None = None,
    reasoning_effort: str | None = None,
    thinking_budget: int | None = None,
    base_model_id: str | None = None,
) -> dict[str, Any]:
    """Build the kwargs of ``client.converse(**req)`` / ``client.converse_stream(**req)``.

    ``system`` and ``inferenceConfig`` are omitted when empty, every other member when not
    given. ``inference_config`` and ``guardrail_config`` take Converse (camelCase) keys or
    their snake_case names; ``service_tier`` and ``performance_config`` take a plain string
    (``"flex"``, ``"optimized"``) too. ``guardrailConfig.streamProcessingMode`` exists only
    for ConverseStream.

    Caching: ``system_cache`` puts a cache point after the system prompt, ``tools_cache``
    one after the tools, both with ``cache_ttl`` (``"5m"`` or ``"1h"``) when given; a request
    with more than :data:`MAX_CACHE_POINTS` cache points raises ``ValueError`` naming the
    count.

    Reasoning: ``reasoning_effort`` / ``thinking_budget`` add the model family's reasoning
    fields (see :func:`reasoning_fields`; the family is read from ``base_model_id`` when
    given, else from ``model_id``) under ``additionalModelRequestFields``, whose own keys
    win. With a thinking budget and no ``maxTokens``, ``maxTokens`` becomes the budget plus
    4096 (Anthropic requires it above the budget); a ``maxTokens`` at or below the budget
    raises ``ValueError``. Forced tool choice (``any`` or a named tool) with Claude thinking
    on raises ``ValueError``: Anthropic models reject that combination.

    Raises ``ValueError`` for an empty message list and ``InputConversionError`` for content
    that cannot be converted.
    """
    if not messages:
        raise ValueError("build_request needs at least one message; the message list is empty")
    family = base_model_id or model_id
    system, turns = to_converse_messages(messages, model_id=model_id)
    if system_cache and system and "cachePoint" not in system[-1]:
        system.append(_cache_point_block(cache_ttl))
    if tools_cache and tool_config and tool_config.get("tools"):
        tools = list(tool_config["tools"])
        if "cachePoint" not in tools[-1]:
            tools.append(_cache_point_block(cache_ttl))
        tool_config = {**tool_config, "tools": tools}
    request: dict[str, Any] = {"modelId": model_id, "messages": turns}
    if system:
        request["system"] = system
    inference = _renamed(inference_config or {}, _INFERENCE_KEYS)
    derived = reasoning_fields(family, effort=reasoning_effort, budget=thinking_budget)
    if derived:
        additional_model_request_fields = {**derived, **(additional_model_request_fields or {})}
    thinking = (additional_model_request_fields or {}).get("thinking")
    if derived.get("thinking") is thinking and isinstance(thinking, Mapping):
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int):
            max_tokens = inference.get("maxTokens")
            if max_tokens is None:
                inference["maxTokens"] = budget + _THINKING_HEADROOM
            elif max_tokens <= budget:
                raise ValueError(
                    f"max_tokens={max_tokens} must be greater than the thinking budget of "
                    f"{budget} tokens (the budget is part of max_tokens): raise max_tokens or "
                    "lower thinking_budget / reasoning_effort"
                )
    if inference:
        request["inferenceConfig"] = inference
    if _forces_tool_use(tool_config) and thinking_enabled(family, additional_model_request_fields):
        raise ValueError(
            f"tool_choice {dict((tool_config or {})['toolChoice'])!r} forces tool use, which "
            f"{family} rejects while extended thinking is on: use tool_choice='auto' (or "
            "none), or turn thinking off"
        )
    optional: tuple[tuple[str, Any, Callable[[Any], Any]], ...] = (
        ("toolConfig", tool_config, dict),
        ("additionalModelRequestFields", additional_model_request_fields, dict),
        ("additionalModelResponseFieldPaths", additional_model_response_field_paths, list),
        ("guardrailConfig", guardrail_config, lambda v: _renamed(v, _GUARDRAIL_KEYS)),
        ("performanceConfig", performance_config, _performance),
        ("serviceTier", service_tier, _service_tier),
        ("requestMetadata", request_metadata, dict),
        ("promptVariables", prompt_variables, _prompt_variables),
        ("outputConfig", output_config, _output_config),
    )
    for member, value, normalise in optional:
        if value:
            request[member] = normalise(value)
    check_cache_points(request)
    return request
