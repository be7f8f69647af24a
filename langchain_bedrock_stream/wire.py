"""AWS event-stream frames -> botocore-shaped ConverseStream events.

botocore parses each frame through its generic shape machinery; ConverseStream frames are
small JSON documents, so decoding them here with ``struct``, ``binascii.crc32`` and
``json.loads`` costs a small fraction of that (``benchmarks/bench.py`` measures both) and
keeps every field, including members botocore's model does not know yet. Both CRCs are
checked.
"""

from __future__ import annotations

import base64
import json
from binascii import crc32
from collections.abc import Iterator
from struct import Struct
from typing import Any

__all__ = ["ExceptionFrameError", "FrameDecoder", "FrameError", "decode_event", "iter_events"]

_PRELUDE = Struct(">III")
_U16 = Struct(">H")
_U32 = Struct(">I")
_MAX_FRAME = 24 * 1024 * 1024  # botocore's own limit for a single message
_json = json.JSONDecoder().decode  # skips json.loads' per-call encoding sniffing


class FrameError(ValueError):
    """A frame that cannot be trusted: bad length, bad CRC, or bad headers."""


class ExceptionFrameError(Exception):
    """An exception frame (``:message-type: exception``) from the event stream."""

    def __init__(self, exception_type: str, message: str, payload: dict[str, Any]):
        super().__init__(f"{exception_type}: {message}")
        self.exception_type = exception_type
        self.message = message
        self.payload = payload


def _parse_headers(raw: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    pos, end = 0, len(raw)
    while pos < end:
        name_len = raw[pos]
        name = raw[pos + 1 : pos + 1 + name_len].decode("utf-8")
        pos += 1 + name_len
        kind = raw[pos]
        pos += 1
        if kind in (6, 7):  # bytes, string
            (size,) = _U16.unpack_from(raw, pos)
            value: Any = raw[pos + 2 : pos + 2 + size]
            pos += 2 + size
            if kind == 7:
                value = value.decode("utf-8")
        elif kind in (0, 1):  # bool true / false
            value = kind == 0
        elif kind == 2:
            value, pos = raw[pos], pos + 1
        elif kind == 3:
            value, pos = int.from_bytes(raw[pos : pos + 2], "big", signed=True), pos + 2
        elif kind == 4:
            value, pos = int.from_bytes(raw[pos : pos + 4], "big", signed=True), pos + 4
        elif kind in (5, 8):  # int64, timestamp
            value, pos = int.from_bytes(raw[pos : pos + 8], "big", signed=True), pos + 8
        elif kind == 9:  # uuid
            value, pos = raw[pos : pos + 16], pos + 16
        else:
            raise FrameError(f"unknown header value type {kind} for header {name!r}")
        headers[name] = value
    return headers


class FrameDecoder:
    """Incremental decoder: ``feed(bytes)`` returns the complete frames received so far.

    A frame is ``(message_type, event_or_exception_type, payload_bytes)``. Partial frames
    stay buffered until the rest arrives, so the caller may feed any split of the body.
    A corrupt frame never costs the intact frames before it: they are returned, and the
    error is raised by the next ``feed`` or by ``close``.
    """

    def __init__(self) -> None:
        self._pending = b""
        self._headers_cache: dict[bytes, tuple[str, str]] = {}
        self._error: FrameError | None = None

    def close(self) -> None:
        """At the end of the body: raise a held-back error, or one for a truncated frame."""
        if self._error is not None:
            raise self._error
        if self._pending:
            raise FrameError(f"stream ended inside a frame ({len(self._pending)} bytes left over)")

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete frame still buffered (non-zero at EOF means truncation)."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[tuple[str, str, bytes]]:
        """Add ``data`` and return every frame it completes, in order."""
        if self._error is not None:
            raise self._error
        frames: list[tuple[str, str, bytes]] = []
        try:
            self._decode(data, frames)
        except FrameError as exc:
            if not frames:
                raise
            self._error = exc
        return frames

    def _decode(self, data: bytes, frames: list[tuple[str, str, bytes]]) -> None:
        buf = self._pending + data if self._pending else data
        pos, size = 0, len(buf)
        cache = self._headers_cache
        while size - pos >= 12:
            total, headers_len, prelude_crc = _PRELUDE.unpack_from(buf, pos)
            if total > _MAX_FRAME or total < 16 or headers_len > total - 16:
                raise FrameError(
                    f"implausible frame: total length {total}, headers length {headers_len}"
                )
            if crc32(buf[pos : pos + 8]) != prelude_crc:
                raise FrameError(
                    f"prelude CRC mismatch at byte {pos}: expected {prelude_crc:#010x}, "
                    f"computed {crc32(buf[pos : pos + 8]):#010x}"
                )
            if size - pos < total:
                break
            end = pos + total
            (message_crc,) = _U32.unpack_from(buf, end - 4)
            computed = crc32(buf[pos : end - 4])
            if computed != message_crc:
                raise FrameError(
                    f"message CRC mismatch at byte {pos}: expected {message_crc:#010x}, "
                    f"computed {computed:#010x}"
                )
            raw_headers = buf[pos + 12 : pos + 12 + headers_len]
            kinds = cache.get(raw_headers)
            if kinds is None:
                kinds = self._kinds(raw_headers)
                if len(cache) < 64:
                    cache[raw_headers] = kinds
            frames.append((kinds[0], kinds[1], buf[pos + 12 + headers_len : end - 4]))
            pos = end
        self._pending = buf[pos:] if pos < size else b""

    @staticmethod
    def _kinds(raw_headers: bytes) -> tuple[str, str]:
        headers = _parse_headers(raw_headers)
        message_type = str(headers.get(":message-type", "event"))
        if message_type == "exception":
            return message_type, str(headers.get(":exception-type", "unknownException"))
        if message_type == "error":
            return message_type, str(headers.get(":error-code", "unknownError"))
        return message_type, str(headers.get(":event-type", ""))


def _b64(value: Any) -> Any:
    return base64.b64decode(value) if isinstance(value, str) else value


def decode_event(event_type: str, payload: bytes) -> dict[str, Any]:
    """JSON payload -> the event body botocore would give (padding dropped, blobs as bytes)."""
    body: dict[str, Any] = _json(payload.decode("utf-8")) if payload else {}
    body.pop("p", None)
    if event_type == "contentBlockDelta":
        delta = body.get("delta")
        if delta is not None and "text" not in delta:
            reasoning = delta.get("reasoningContent")
            if reasoning is not None and "redactedContent" in reasoning:
                reasoning["redactedContent"] = _b64(reasoning["redactedContent"])
            image = delta.get("image")
            if image is not None and "bytes" in image.get("source", {}):
                image["source"]["bytes"] = _b64(image["source"]["bytes"])
    return body


def iter_events(decoder: FrameDecoder, data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    """Decode ``data`` into ``(event_type, body)`` pairs; exception frames raise."""
    for message_type, kind, payload in decoder.feed(data):
        if message_type == "event":
            yield kind, decode_event(kind, payload)
        else:
            try:
                body = json.loads(payload) if payload else {}
            except ValueError:
                body = {"message": payload.decode("utf-8", "replace")}
            message = str(body.get("message") or body.get("Message") or "")
            raise ExceptionFrameError(kind, message, body)
