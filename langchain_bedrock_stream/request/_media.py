"""Image, document, video and audio blocks -> Converse ``image`` / ``document`` / ``video`` /
``audio``.

Accepted: LangChain ``image`` / ``file`` / ``text-plain`` / ``video`` / ``audio`` blocks, OpenAI
``image_url`` / ``input_audio`` / ``file``, Anthropic ``image`` / ``document`` with a ``source``,
and blocks that already hold the Converse member. Where the data lives is read by ``_sources``,
the format by ``_formats``; document names follow ``_document_names``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from ._blocks import _b64decode, _Block, _extras, _first, _Unconvertible
from ._context import _Ctx
from ._formats import (
    _AUDIO_EXTENSIONS,
    _DOCUMENT_EXTENSIONS,
    _DOCUMENT_FORMATS,
    _IMAGE_EXTENSIONS,
    _IMAGE_FORMATS,
    _VIDEO_EXTENSIONS,
    _VIDEO_FORMATS,
    _extension,
    _format,
    _sniff_image,
)
from ._raw import _raw_block
from ._sources import _anthropic_source, _Source, _standard_source, _url_source
from ._text import _citations_config


def _image_from_source(source: _Source, mime: Any, block: Mapping[str, Any]) -> list[_Block]:
    if source.textual:
        raise _Unconvertible("image data cannot be text", block)
    mime = mime or source.mime_type
    hints = (source.s3_uri, _first(block, "name", "filename"))
    fmt = (None if mime else _sniff_image(source.data)) or _format(
        "image", mime, _IMAGE_FORMATS, _IMAGE_EXTENSIONS, hints, block
    )
    return [{"image": {"format": fmt, "source": source.converse(_extras(block))}}]


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
