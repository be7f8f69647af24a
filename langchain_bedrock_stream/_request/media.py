"""Image, document, video and audio blocks -> Converse ``image`` / ``document`` / ``video`` /
``audio``: where the data lives, its format, the converters.

Accepted: LangChain ``image`` / ``file`` / ``text-plain`` / ``video`` / ``audio`` blocks, OpenAI
``image_url`` / ``input_audio`` / ``file``, Anthropic ``image`` / ``document`` with a ``source``,
and blocks that already hold the Converse member.

Sources: LangChain data blocks (v1 keys, or v0 ``source_type`` keys) give ``base64``, a base64
``data:`` or ``s3://`` ``url``, or an ``s3://`` ``file_id``; Anthropic blocks give a ``source``
dict. http(s) URLs are an error: Bedrock cannot read them and nothing is fetched.

Formats: read from a MIME type, else from a file-name extension, and for images from the
leading bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .blocks import Block, Ctx, Unconvertible, b64decode, citations_config, extras, first, raw_block

# --- where the data lives -------------------------------------------------------------------

_DATA_URL = re.compile(r"^data:(?P<mime>[^;,]+)?(?P<params>(;[^,]*)*),(?P<data>.*)$", re.DOTALL)


def _parse_data_url(url: str, block: Any) -> tuple[bytes, str | None]:
    match = _DATA_URL.match(url)
    if match is None or ";base64" not in match.group("params"):
        raise Unconvertible("only base64 data: URLs are supported", block)
    return b64decode(match.group("data"), block), match.group("mime")


def _s3_location(uri: str, more: Mapping[str, Any]) -> Block:
    location: Block = {"uri": uri}
    owner = more.get("bucket_owner") or more.get("bucketOwner")
    if owner:
        location["bucketOwner"] = owner
    return location


@dataclass
class Source:
    """Where a media block's data lives: bytes, an S3 URI, plain text or text chunks."""

    data: bytes | None = None
    s3_uri: str | None = None
    text: str | None = None
    chunks: list[str] | None = None
    mime_type: str | None = None

    @property
    def textual(self) -> bool:
        return self.text is not None or self.chunks is not None

    def converse(self, more: Mapping[str, Any]) -> Block:
        if self.data is not None:
            return {"bytes": self.data}
        if self.s3_uri is not None:
            return {"s3Location": _s3_location(self.s3_uri, more)}
        if self.chunks is not None:
            return {"content": [{"text": chunk} for chunk in self.chunks]}
        return {"text": self.text}


def _url_source(url: str, block: Any) -> Source:
    if url.startswith("data:"):
        data, mime = _parse_data_url(url, block)
        return Source(data=data, mime_type=mime)
    if url.startswith("s3://"):
        return Source(s3_uri=url)
    if url.startswith(("http://", "https://")):
        raise Unconvertible(
            "Bedrock cannot read http(s) URLs and this package never fetches them; "
            "pass base64 data, a base64 data: URL or an s3:// URI",
            block,
        )
    raise Unconvertible(f"unsupported URL scheme in {url[:40]!r}", block)


def _standard_source(block: Mapping[str, Any]) -> Source:
    """The data of a LangChain data block (v1 keys, or v0 ``source_type`` keys)."""
    source_type = block.get("source_type")
    data = block.get("base64")
    if data is None and source_type == "base64":
        data = block.get("data")
    if data is not None:
        return Source(data=b64decode(data, block))
    url = block.get("url")
    if url is None and source_type == "url":
        url = block.get("data")
    if isinstance(url, str):
        return _url_source(url, block)
    if source_type == "text" and isinstance(block.get("text"), str):
        return Source(text=block["text"])
    file_id = block.get("file_id") or (block.get("id") if source_type == "id" else None)
    if isinstance(file_id, str):
        if file_id.startswith("s3://"):
            return Source(s3_uri=file_id)
        raise Unconvertible("Bedrock has no file store: a file_id must be an s3:// URI", block)
    raise Unconvertible("no data: expected 'base64', 'url' or 'file_id'", block)


def _anthropic_source(block: Mapping[str, Any]) -> tuple[Source, Any]:
    """The ``source`` of an Anthropic-style image/document/video block, and its MIME type."""
    source = block["source"]
    kind = source.get("type")
    mime = source.get("media_type") or source.get("mediaType")
    if kind == "base64":
        return Source(data=b64decode(source.get("data"), block)), mime
    if kind == "text":
        return Source(text=str(source.get("data", ""))), mime or "text/plain"
    if kind == "content":
        content = source.get("content")
        items = [content] if isinstance(content, str) else list(content or [])
        chunks = [item if isinstance(item, str) else str(item.get("text", "")) for item in items]
        return Source(chunks=[chunk for chunk in chunks if chunk]), mime or "text/plain"
    if kind == "url":
        return _url_source(str(source.get("url", "")), block), mime
    if kind in ("s3Location", "s3_location", "s3"):
        location = source.get("data") or source.get("uri") or source.get("url")
        if isinstance(location, Mapping):
            return Source(s3_uri=str(location.get("uri", ""))), mime
        return Source(s3_uri=str(location)), mime
    raise Unconvertible(f"unsupported source type {kind!r}", block)


# --- formats --------------------------------------------------------------------------------


def _extension(name: Any) -> str | None:
    if isinstance(name, str) and "." in name.rsplit("/", 1)[-1]:
        return name.rsplit(".", 1)[-1].lower()
    return None


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
        raise Unconvertible(f"unsupported {kind} MIME type {mime!r}", block)
    for hint in hints:
        ext = _extension(hint)
        if ext and ext in extensions:
            return extensions[ext]
    raise Unconvertible(f"cannot tell the {kind} format: give 'mime_type'", block)


# --- converters -----------------------------------------------------------------------------


def _image_from_source(source: Source, mime: Any, block: Mapping[str, Any]) -> list[Block]:
    if source.textual:
        raise Unconvertible("image data cannot be text", block)
    mime = mime or source.mime_type
    hints = (source.s3_uri, first(block, "name", "filename"))
    fmt = (None if mime else _sniff_image(source.data)) or _format(
        "image", mime, _IMAGE_FORMATS, _IMAGE_EXTENSIONS, hints, block
    )
    return [{"image": {"format": fmt, "source": source.converse(extras(block))}}]


def image(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    if isinstance(block.get("image"), Mapping):
        return raw_block({"image": block["image"]})
    source = block.get("source")
    if isinstance(source, Mapping) and "type" not in source and "format" in block:
        # an image the model generated: {"type": "image", "format", "source": {"bytes"}}
        return raw_block({"image": {"format": block["format"], "source": dict(source)}})
    if isinstance(source, Mapping):
        found, mime = _anthropic_source(block)
        return _image_from_source(found, mime, block)
    return _image_from_source(_standard_source(block), block.get("mime_type"), block)


def image_url(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    value = block.get("image_url")
    url = value.get("url") if isinstance(value, Mapping) else value
    if not isinstance(url, str):
        raise Unconvertible("'image_url' must hold a 'url' string", block)
    return _image_from_source(_url_source(url, block), None, block)


def _document(
    source: Source, mime: Any, block: Mapping[str, Any], ctx: Ctx, *, name: Any = None
) -> list[Block]:
    wanted = name or first(block, "name", "filename", "title")
    hints = (wanted, source.s3_uri)
    fmt = _format(
        "document", mime or source.mime_type, _DOCUMENT_FORMATS, _DOCUMENT_EXTENSIONS, hints, block
    )
    if isinstance(wanted, str) and _extension(wanted) in _DOCUMENT_EXTENSIONS:
        wanted = wanted.rsplit(".", 1)[0]  # "report.pdf" -> "report": the format says pdf
    document: Block = {
        "format": fmt,
        "name": ctx.names.claim(wanted),
        "source": source.converse(extras(block)),
    }
    context = first(block, "context")
    if context is not None:
        document["context"] = str(context)
    citations = citations_config(first(block, "citations"))
    if citations is not None:
        document["citations"] = citations
    return [{"document": document}]


def file(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    openai_file = block.get("file")
    if isinstance(openai_file, Mapping):  # OpenAI chat style: {"file": {"file_data", ...}}
        url = openai_file.get("file_data")
        if not isinstance(url, str):
            raise Unconvertible("OpenAI-style 'file' needs base64 'file_data'", block)
        source = (
            _url_source(url, block)
            if url.startswith("data:")
            else Source(data=b64decode(url, block))
        )
        return _document(source, None, block, ctx, name=openai_file.get("filename"))
    return _document(_standard_source(block), block.get("mime_type"), block, ctx)


def text_plain(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    value = block.get("text")
    source = Source(text=value) if isinstance(value, str) else _standard_source(block)
    return _document(source, block.get("mime_type") or "text/plain", block, ctx)


def document(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    if isinstance(block.get("document"), Mapping):  # {"type": "document", "document": {...}}
        ctx.names.note(block["document"].get("name"))
        return raw_block({"document": block["document"]})
    if isinstance(block.get("source"), Mapping):
        source, mime = _anthropic_source(block)
        return _document(source, mime, block, ctx)
    return _document(_standard_source(block), block.get("mime_type"), block, ctx)


def _media(
    key: Literal["video", "audio"], table: Mapping[str, str], extensions: Mapping[str, str]
) -> Callable[[Mapping[str, Any], Ctx], list[Block]]:
    def convert(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
        if isinstance(block.get(key), Mapping):
            return raw_block({key: block[key]})
        if isinstance(block.get("source"), Mapping):
            source, mime = _anthropic_source(block)
        else:
            source, mime = _standard_source(block), block.get("mime_type")
        if source.textual:
            raise Unconvertible(f"{key} data cannot be text", block)
        hints = (source.s3_uri, first(block, "name", "filename"))
        fmt = _format(key, mime or source.mime_type, table, extensions, hints, block)
        return [{key: {"format": fmt, "source": source.converse(extras(block))}}]

    return convert


video = _media("video", _VIDEO_FORMATS, _VIDEO_EXTENSIONS)
audio = _media("audio", _AUDIO_FORMATS, _AUDIO_EXTENSIONS)


def video_url(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    value = block.get("video_url")
    url = value.get("url") if isinstance(value, Mapping) else value
    if not isinstance(url, str):
        raise Unconvertible("'video_url' must hold a 'url' string", block)
    return video({"url": url, **block}, ctx)


def input_audio(block: Mapping[str, Any], ctx: Ctx) -> list[Block]:
    value = block.get("input_audio")
    if not isinstance(value, Mapping):
        raise Unconvertible("'input_audio' must be a dict with 'data' and 'format'", block)
    fmt = str(value.get("format", "")).lower()
    if fmt not in _AUDIO_EXTENSIONS:
        raise Unconvertible(f"unsupported audio format {fmt!r}", block)
    return [{"audio": {"format": fmt, "source": {"bytes": b64decode(value.get("data"), block)}}}]
