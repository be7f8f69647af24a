"""Bedrock's documented input limits, checked on converted content before any request.

From the Converse API reference (``Message``): up to 20 images per message, each at most
3.75 MB and 8000 x 8000 px; up to 5 documents per message, each at most 4.5 MB; a message
with a document also needs a text block; images and documents only in user messages. Text
must be valid Unicode (no lone surrogates) without NUL characters. Audio only for model
families that take it.

Per item (:func:`check_blocks`) the error names the block; per Converse message
(:func:`check_turn`, after consecutive LangChain messages merged) it names the messages that
make the turn. Sizes are checked for inline bytes; S3 sources are Bedrock's to check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .._images import image_size
from ..models import FamilyProfile
from .blocks import Block, Role, Unconvertible

MAX_IMAGES = 20
MAX_IMAGE_BYTES = int(3.75 * 1024 * 1024)
MAX_IMAGE_PIXELS = 8000
MAX_DOCUMENTS = 5
MAX_DOCUMENT_BYTES = int(4.5 * 1024 * 1024)

_MEDIA_KINDS = ("image", "document", "video", "audio")
_FAMILY_CHECKED = {"audio": "audio_input"}
"""Media kinds refused before sending for a known family whose profile says it does not take
them. Only audio: Converse rejects it for most families. Image, document and video support
is left to Bedrock, since a profile row that lags behind a model must not refuse valid input
(recorded traffic shows Claude 2 reading documents, for one)."""


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.2f} MB"


# --- per item -------------------------------------------------------------------------------


def _inline_bytes(media: Any) -> bytes | None:
    source = media.get("source") if isinstance(media, Mapping) else None
    data = source.get("bytes") if isinstance(source, Mapping) else None
    return bytes(data) if isinstance(data, (bytes, bytearray)) else None


def _check_image(image: Any, block: Any) -> None:
    data = _inline_bytes(image)
    if data is None:
        return
    if len(data) > MAX_IMAGE_BYTES:
        raise Unconvertible(
            f"the image is {_megabytes(len(data))}; Bedrock takes images of at most "
            f"{_megabytes(MAX_IMAGE_BYTES)}",
            block,
        )
    size = image_size(bytes(data[:65536]))
    if size is not None and max(size) > MAX_IMAGE_PIXELS:
        raise Unconvertible(
            f"the image is {size[0]}x{size[1]} px; Bedrock takes images of at most "
            f"{MAX_IMAGE_PIXELS}x{MAX_IMAGE_PIXELS} px",
            block,
        )


def _check_document(document: Any, block: Any) -> None:
    data = _inline_bytes(document)
    if data is not None and len(data) > MAX_DOCUMENT_BYTES:
        raise Unconvertible(
            f"the document is {_megabytes(len(data))}; Bedrock takes documents of at most "
            f"{_megabytes(MAX_DOCUMENT_BYTES)}",
            block,
        )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


_INVALID_TEXT = re.compile("[\x00\ud800-\udfff]")
"""NUL, and surrogate code points: text holding one cannot be encoded as UTF-8 (a lone
surrogate from broken input, typically)."""


def _check_text(block: Block, named: Any) -> None:
    for text in _strings(block):
        found = _INVALID_TEXT.search(text)
        if found is None:
            continue
        at, char = found.start(), found.group()
        if char == "\x00":
            raise Unconvertible(
                f"text holds a NUL character at offset {at}; Bedrock takes text without NUL",
                named,
            )
        raise Unconvertible(
            f"text holds a lone surrogate {char!r} at offset {at}; Bedrock takes valid Unicode "
            "only",
            named,
        )


def _media_in(block: Block) -> Iterator[tuple[str, Any]]:
    """Media members of a block, and those inside a tool result."""
    for key, value in block.items():
        if key in _MEDIA_KINDS:
            yield key, value
        elif key == "toolResult" and isinstance(value, Mapping):
            for item in value.get("content") or ():
                if isinstance(item, Mapping):
                    yield from _media_in(dict(item))


def check_blocks(
    blocks: list[Block], role: Role, profile: FamilyProfile | None, item: Any = None
) -> None:
    """Raise ``Unconvertible`` naming ``item`` (the content item converted, else the block)
    when a block of one message breaks a per-item limit.

    ``profile`` (the profile of a model the data knows) adds the family checks of
    :data:`_FAMILY_CHECKED`; ``None`` (no model, or one the data does not know) skips them.
    """
    for block in blocks:
        named = block if item is None else item
        _check_text(block, named)
        for kind, media in _media_in(block):
            if role != "user" and kind in ("image", "document"):
                raise Unconvertible(
                    f"Bedrock takes {kind}s in user messages only (here: an {role} message)",
                    named,
                )
            support = _FAMILY_CHECKED.get(kind)
            if profile is not None and support is not None and not getattr(profile, support):
                raise Unconvertible(
                    f"{profile.family} models do not take {kind} input (set base_model_id if "
                    "the model id hides the model)",
                    named,
                )
            if kind == "image":
                _check_image(media, named)
            elif kind == "document":
                _check_document(media, named)


# --- per Converse message -------------------------------------------------------------------


def check_turn(turn: Block) -> str | None:
    """The first per-message limit a merged Converse message breaks, as a reason, or ``None``.

    Counted: the message's own image and document blocks (the documented rule); media inside
    tool results are checked per item only.
    """
    kinds = [next(iter(block)) for block in turn["content"]]
    images, documents = kinds.count("image"), kinds.count("document")
    if images > MAX_IMAGES:
        return f"{images} images in one message; Bedrock takes at most {MAX_IMAGES}"
    if documents > MAX_DOCUMENTS:
        return f"{documents} documents in one message; Bedrock takes at most {MAX_DOCUMENTS}"
    if documents and not any("text" in block for block in turn["content"]):
        return "a message with a document needs a text block too (Bedrock requires one)"
    return None
