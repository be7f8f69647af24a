"""Encoder for the AWS event-stream wire format used by Bedrock ConverseStream.

The body of a ConverseStream HTTP response (``application/vnd.amazon.eventstream``)
is a sequence of binary frames::

    total_len:u32 | headers_len:u32 | prelude_crc:u32 | headers | payload | message_crc:u32

All integers are big-endian, ``prelude_crc`` is the CRC32 of the first 8 bytes and
``message_crc`` the CRC32 of everything before it.  Each header is
``name_len:u8 | name | type:u8 | value_len:u16 | value``; only the string type (7) is
needed here.

The functions in this module turn botocore-shaped events (the dictionaries that
``client.converse_stream(...)["stream"]`` yields) back into those bytes, so a test
server can replay them to a real botocore client.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ExceptionFrame",
    "encode_event",
    "encode_events",
    "encode_exception",
    "encode_frame",
]

_HEADER_TYPE_STRING = 7
_PRELUDE = struct.Struct(">II")
_CRC = struct.Struct(">I")
_U16 = struct.Struct(">H")
_MAX_HEADER_VALUE_LEN = 0xFFFF
_MAX_HEADER_NAME_LEN = 0xFF
# Bedrock pads each payload with a prefix of this alphabet under the key "p", so that
# the size of an encrypted frame does not reveal the size of the generated text.
_PADDING_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True)
class ExceptionFrame:
    """A marker, placed in an event list, meaning "send an exception frame here".

    Bedrock reports errors that happen after the stream started (throttling, a model
    failure, ...) as an in-stream frame with ``:message-type`` ``exception``; botocore
    raises ``EventStreamError`` when it reads one.  ``type`` is the exception member
    name as it appears on the wire, e.g. ``"throttlingException"`` or
    ``"modelStreamErrorException"``.
    """

    type: str
    message: str


def _encode_headers(headers: Mapping[str, str]) -> bytes:
    parts: list[bytes] = []
    for name, value in headers.items():
        raw_name = name.encode("utf-8")
        raw_value = value.encode("utf-8")
        if len(raw_name) > _MAX_HEADER_NAME_LEN:
            raise ValueError(f"header name too long for an event-stream frame: {name!r}")
        if len(raw_value) > _MAX_HEADER_VALUE_LEN:
            raise ValueError(f"header value too long for an event-stream frame: {name!r}")
        parts.append(bytes((len(raw_name),)))
        parts.append(raw_name)
        parts.append(bytes((_HEADER_TYPE_STRING,)))
        parts.append(_U16.pack(len(raw_value)))
        parts.append(raw_value)
    return b"".join(parts)


def encode_frame(headers: Mapping[str, str], payload: bytes) -> bytes:
    """Encode one event-stream frame with string-typed ``headers`` and a raw ``payload``.

    This is the low-level building block; most callers want :func:`encode_event` or
    :func:`encode_exception`, which set the headers Bedrock uses.
    """
    raw_headers = _encode_headers(headers)
    total_len = _PRELUDE.size + _CRC.size + len(raw_headers) + len(payload) + _CRC.size
    prelude = _PRELUDE.pack(total_len, len(raw_headers))
    prelude_crc = binascii.crc32(prelude)
    head = prelude + _CRC.pack(prelude_crc)
    message_crc = binascii.crc32(payload, binascii.crc32(raw_headers, binascii.crc32(head)))
    return b"".join((head, raw_headers, payload, _CRC.pack(message_crc)))


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        # AWS JSON protocols carry blob members as base64 text.
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"cannot encode {type(value).__name__} in an event payload")


def _dumps(value: Any) -> bytes:
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode("utf-8")


def encode_event(event: Mapping[str, Any], *, padding: bool = True) -> bytes:
    """Encode one botocore-shaped event as a Bedrock event frame.

    ``event`` is a one-key mapping such as
    ``{"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hi"}}}``: the
    key becomes the ``:event-type`` header and the value the JSON payload.  ``bytes``
    values anywhere in the payload are written as base64 text, as AWS does for blob
    members (e.g. ``reasoningContent.redactedContent``).  With ``padding`` (the
    default) a ``"p"`` key is added to the payload the way real Bedrock frames carry
    one, so clients are exercised against the keys they must ignore.
    """
    if len(event) != 1:
        raise ValueError(
            f"an event must have exactly one key (the event type), got {sorted(event)!r}"
        )
    ((event_type, body),) = event.items()
    if padding and isinstance(body, Mapping) and "p" not in body:
        # The padding length varies from frame to frame as on the real service, but is
        # derived from the content so that encoding stays deterministic.
        size = 1 + binascii.crc32(_dumps(body)) % len(_PADDING_ALPHABET)
        body = {**body, "p": _PADDING_ALPHABET[:size]}
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode_frame(headers, _dumps(body))


def encode_exception(exception_type: str, message: str) -> bytes:
    """Encode an in-stream exception frame, e.g. ``("throttlingException", "slow down")``.

    botocore turns it into ``EventStreamError`` whose ``response["Error"]["Code"]`` is
    ``exception_type`` (when the type is one the ConverseStream model declares).
    """
    headers = {
        ":exception-type": exception_type,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode_frame(headers, _dumps({"message": message}))


def encode_events(
    events: Iterable[Mapping[str, Any] | ExceptionFrame], *, padding: bool = True
) -> bytes:
    """Encode a whole event list (events and :class:`ExceptionFrame` markers) as one body."""
    return b"".join(_encode_item(item, padding=padding) for item in events)


def _encode_item(item: Mapping[str, Any] | ExceptionFrame, *, padding: bool = True) -> bytes:
    if isinstance(item, ExceptionFrame):
        return encode_exception(item.type, item.message)
    return encode_event(item, padding=padding)
