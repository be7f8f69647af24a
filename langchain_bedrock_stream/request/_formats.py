"""Converse media formats (image, document, video, audio): read from a MIME type, else from a
file-name extension, and for images from the leading bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._blocks import _Unconvertible


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
        raise _Unconvertible(f"unsupported {kind} MIME type {mime!r}", block)
    for hint in hints:
        ext = _extension(hint)
        if ext and ext in extensions:
            return extensions[ext]
    raise _Unconvertible(f"cannot tell the {kind} format: give 'mime_type'", block)
