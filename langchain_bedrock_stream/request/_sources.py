"""Where a media block's data lives: bytes, an ``s3://`` URI, plain text or text chunks.

LangChain data blocks (v1 keys, or v0 ``source_type`` keys) give ``base64``, a base64 ``data:``
or ``s3://`` ``url``, or an ``s3://`` ``file_id``; Anthropic blocks give a ``source`` dict.
http(s) URLs are an error: Bedrock cannot read them and nothing is fetched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._blocks import _b64decode, _Block, _Unconvertible

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
