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
from collections.abc import Callable, Iterator
from struct import Struct
from typing import Any, TypeVar

__all__ = ["ExceptionFrameError", "FrameDecoder", "FrameError", "decode_event", "iter_events"]

_PRELUDE = Struct(">III")
_U16 = Struct(">H")
_U32 = Struct(">I")
_MAX_FRAME = 24 * 1024 * 1024  # botocore's own limit for a single message
_json = json.JSONDecoder().decode  # skips json.loads' per-call encoding sniffing


class FrameError(ValueError):
    """A frame that cannot be trusted: bad length, bad CRC, bad headers, or a payload that
    is not a JSON object (or a blob in it that is not base64)."""


class ExceptionFrameError(Exception):
    """An exception frame (``:message-type: exception``) from the event stream."""

    def __init__(self, exception_type: str, message: str, payload: dict[str, Any]):
        super().__init__(f"{exception_type}: {message}")
        self.exception_type = exception_type
        self.message = message
        self.payload = payload


_Out = TypeVar("_Out")
_Error = TypeVar("_Error", bound=FrameError)


def held_back(
    step: Callable[[bytes, list[_Out]], None], data: bytes, kind: type[_Error]
) -> tuple[list[_Out], _Error | None]:
    """Run a decoder's ``step`` over ``data``. An error of ``kind`` met after some output
    is returned beside that output, for the decoder to raise on its next call (what came
    before a corrupt spot is still delivered); one met before any output is raised."""
    out: list[_Out] = []
    try:
        step(data, out)
    except kind as exc:
        if not out:
            raise
        return out, exc
    return out, None


_FIXED_SIZES = {2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}  # byte, short, int, long, timestamp, uuid


def _parse_headers(raw: bytes) -> dict[str, Any]:
    """Decode a frame's headers; anything that runs past the end or is not UTF-8 is a
    ``FrameError`` naming the header."""
    headers: dict[str, Any] = {}
    pos, end = 0, len(raw)
    while pos < end:
        name_len = raw[pos]
        if pos + 2 + name_len > end:
            raise FrameError(f"header name of {name_len} bytes runs past the headers' end")
        name = _utf8(raw[pos + 1 : pos + 1 + name_len], "header name")
        pos += 1 + name_len
        kind = raw[pos]
        pos += 1
        value: Any
        if kind in (6, 7):  # bytes, string
            if pos + 2 > end:
                raise FrameError(f"header {name!r}: value length runs past the headers' end")
            (size,) = _U16.unpack_from(raw, pos)
            if pos + 2 + size > end:
                raise FrameError(f"header {name!r}: a {size}-byte value runs past the headers' end")
            value = raw[pos + 2 : pos + 2 + size]
            pos += 2 + size
            if kind == 7:
                value = _utf8(value, f"header {name!r}")
        elif kind in (0, 1):  # bool true / false
            value = kind == 0
        elif kind in _FIXED_SIZES:
            size = _FIXED_SIZES[kind]
            value = raw[pos : pos + size]
            if kind != 9:  # integers and timestamps; a uuid stays bytes
                value = int.from_bytes(value, "big", signed=True)
            pos += size
        else:
            raise FrameError(f"unknown header value type {kind} for header {name!r}")
        if pos > end:
            raise FrameError(f"header {name!r} (type {kind}) runs past the headers' end")
        headers[name] = value
    return headers


def _utf8(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError(f"{what} is not UTF-8 ({exc.reason} at byte {exc.start})") from None


class FrameDecoder:
    """Incremental decoder: ``feed(bytes)`` returns the complete frames received so far.

    A frame is ``(message_type, event_or_exception_type, payload_bytes)``. Partial frames
    stay buffered until the rest arrives, so the caller may feed any split of the body.
    A corrupt frame never costs the intact frames before it: they are returned, and the
    error is raised by the next ``feed`` or by ``close``.

    Public: decode a ConverseStream body you read yourself (``iter_events`` turns the frames
    into botocore-shaped ``(event type, body)`` pairs and raises ``ExceptionFrameError`` for
    an exception frame; ``decode_event`` does one payload)::

        decoder = FrameDecoder()
        for chunk in body_chunks:
            for kind, body in iter_events(decoder, chunk):
                print(kind, body)
        decoder.close()  # a frame cut short raises FrameError

    ``langchain_bedrock_stream.BedrockStream(body)`` does this and folds the events.
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
        frames, self._error = held_back(self._decode, data, FrameError)
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
        message_type = headers.get(":message-type", "event")
        if message_type == "exception":
            return message_type, _text_header(headers, ":exception-type", "unknownException")
        if message_type == "error":
            return message_type, _text_header(headers, ":error-code", "unknownError")
        if message_type != "event":
            raise FrameError(f"unknown :message-type {_clip(message_type)}")
        return message_type, _text_header(headers, ":event-type", "")


def _text_header(headers: dict[str, Any], name: str, default: str) -> str:
    value = headers.get(name, default)
    if not isinstance(value, str):
        raise FrameError(f"header {name} is not a string: {_clip(value)}")
    return value


def _clip(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _b64(value: Any, event_type: str, field: str) -> Any:
    if not isinstance(value, str):
        return value  # not a blob: the accumulator judges the shape
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:  # binascii.Error
        raise FrameError(f"{event_type} event: {field} is not base64: {_clip(value)}") from None


def decode_event(event_type: str, payload: bytes) -> dict[str, Any]:
    """JSON payload -> the event body botocore would give (padding dropped, blobs as bytes).

    A payload that is not UTF-8 JSON holding an object, or a blob that is not base64, is a
    ``FrameError``; other shapes are left to the accumulator, which knows the events.
    """
    if not payload:
        return {}
    try:
        body = _json(payload.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError alike
        raise FrameError(f"{event_type or 'event'} payload is not UTF-8 JSON: {exc}") from None
    if type(body) is not dict:
        raise FrameError(
            f"{event_type or 'event'} payload is JSON but not an object: {_clip(body)}"
        )
    body.pop("p", None)
    if event_type == "contentBlockDelta":
        delta = body.get("delta")
        if type(delta) is dict and "text" not in delta:
            reasoning = delta.get("reasoningContent")
            if type(reasoning) is dict and "redactedContent" in reasoning:
                reasoning["redactedContent"] = _b64(
                    reasoning["redactedContent"],
                    event_type,
                    "delta.reasoningContent.redactedContent",
                )
            image = delta.get("image")
            source = image.get("source") if type(image) is dict else None
            if type(source) is dict and "bytes" in source:
                source["bytes"] = _b64(source["bytes"], event_type, "delta.image.source.bytes")
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
                body = None
            if type(body) is not dict:  # an error is reported whatever its payload holds
                body = {"message": payload.decode("utf-8", "replace")}
            message = str(body.get("message") or body.get("Message") or "")
            raise ExceptionFrameError(kind, message, body)
