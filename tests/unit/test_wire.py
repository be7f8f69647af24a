"""The frame decoder against botocore's own decoder, on real recorded bodies and on frames
split at every byte, with corrupt CRCs and truncation."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.eventstream import EventStreamBuffer

from langchain_bedrock_stream._wire import (
    ExceptionFrameError,
    FrameDecoder,
    FrameError,
    decode_event,
    iter_events,
)
from langchain_bedrock_stream.testing import encode_event, encode_events, encode_exception
from tests.support.recordings import cases, stream_bodies


def botocore_events(body: bytes) -> list[tuple[str, dict]]:
    """The oracle: botocore's decoder plus plain JSON (padding dropped)."""
    out = []
    buffer = EventStreamBuffer()
    buffer.add_data(body)
    for message in buffer:
        payload = json.loads(message.payload)
        payload.pop("p", None)
        out.append((message.headers[":event-type"], payload))
    return out


def ours(body: bytes, step: int | None = None) -> list[tuple[str, dict]]:
    decoder = FrameDecoder()
    pieces = [body] if step is None else [body[i : i + step] for i in range(0, len(body), step)]
    events = []
    for piece in pieces:
        events.extend(iter_events(decoder, piece))
    assert decoder.pending_bytes == 0
    return events


def _unblob(events: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Our decoder turns blob members into bytes, as botocore's parser does; undo for compare."""
    for _, body in events:
        reasoning = body.get("delta", {}).get("reasoningContent", {})
        if isinstance(reasoning.get("redactedContent"), bytes):
            reasoning["redactedContent"] = base64.b64encode(reasoning["redactedContent"]).decode()
    return events


@pytest.mark.parametrize(
    ("name", "body"), cases(stream_bodies(), width=2), ids=lambda v: v if isinstance(v, str) else ""
)
def test_recorded_bodies_decode_like_botocore(name: str, body: bytes) -> None:
    expected = botocore_events(body)
    assert expected, name
    assert _unblob(ours(body)) == expected
    assert _unblob(ours(body, step=7)) == expected


def test_every_split_point_gives_the_same_events() -> None:
    body = encode_events(
        [
            {"messageStart": {"role": "assistant"}},
            {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "héllo 🌍 мир"}}},
            {"contentBlockStop": {"contentBlockIndex": 0}},
            {"messageStop": {"stopReason": "end_turn"}},
        ]
    )
    whole = ours(body)
    for cut in range(1, len(body)):
        decoder = FrameDecoder()
        events = list(iter_events(decoder, body[:cut])) + list(iter_events(decoder, body[cut:]))
        assert events == whole, cut
    assert whole[1] == (
        "contentBlockDelta",
        {"contentBlockIndex": 0, "delta": {"text": "héllo 🌍 мир"}},
    )


def test_padding_is_dropped_and_blobs_become_bytes() -> None:
    frame = encode_event(
        {
            "contentBlockDelta": {
                "contentBlockIndex": 2,
                "delta": {"reasoningContent": {"redactedContent": b"\x01\x02"}},
            }
        }
    )
    [(kind, body)] = ours(frame)
    assert kind == "contentBlockDelta"
    assert "p" not in body
    assert body["delta"]["reasoningContent"]["redactedContent"] == b"\x01\x02"


def test_image_delta_bytes_are_decoded() -> None:
    body = decode_event(
        "contentBlockDelta",
        json.dumps(
            {
                "contentBlockIndex": 0,
                "delta": {"image": {"source": {"bytes": base64.b64encode(b"PNG").decode()}}},
            }
        ).encode(),
    )
    assert body["delta"]["image"]["source"]["bytes"] == b"PNG"


def test_corrupt_message_crc_is_an_error_naming_the_values() -> None:
    frame = bytearray(encode_event({"messageStart": {"role": "assistant"}}))
    frame[-1] ^= 0x01
    with pytest.raises(FrameError, match="message CRC mismatch at byte 0: expected 0x"):
        FrameDecoder().feed(bytes(frame))


def test_corrupt_prelude_crc_is_an_error() -> None:
    frame = bytearray(encode_event({"messageStart": {"role": "assistant"}}))
    frame[9] ^= 0x10
    with pytest.raises(FrameError, match="prelude CRC mismatch"):
        FrameDecoder().feed(bytes(frame))


def test_implausible_length_is_an_error() -> None:
    with pytest.raises(FrameError, match="implausible frame"):
        FrameDecoder().feed(b"\xff\xff\xff\xff" + b"\x00" * 12)


def test_truncated_frame_stays_pending() -> None:
    frame = encode_event({"messageStop": {"stopReason": "end_turn"}})
    decoder = FrameDecoder()
    assert decoder.feed(frame[:-3]) == []
    assert decoder.pending_bytes == len(frame) - 3


def test_exception_frame_raises_with_type_and_message() -> None:
    body = encode_event({"messageStart": {"role": "assistant"}}) + encode_exception(
        "throttlingException", "Too many tokens, please wait."
    )
    decoder = FrameDecoder()
    events = iter_events(decoder, body)
    assert next(events)[0] == "messageStart"
    with pytest.raises(ExceptionFrameError) as caught:
        next(events)
    assert caught.value.exception_type == "throttlingException"
    assert caught.value.message == "Too many tokens, please wait."


def test_intact_frames_before_a_corrupt_one_are_returned_then_the_error() -> None:
    good = encode_event({"messageStart": {"role": "assistant"}})
    bad = bytearray(encode_event({"messageStop": {"stopReason": "end_turn"}}))
    bad[-1] ^= 0x01
    decoder = FrameDecoder()
    frames = decoder.feed(good + bytes(bad))
    assert [kind for _, kind, _ in frames] == ["messageStart"]
    with pytest.raises(FrameError, match="message CRC mismatch"):
        decoder.close()
    with pytest.raises(FrameError, match="message CRC mismatch"):
        decoder.feed(good)


def test_close_reports_a_truncated_frame() -> None:
    frame = encode_event({"messageStop": {"stopReason": "end_turn"}})
    decoder = FrameDecoder()
    decoder.feed(frame[:-1])
    with pytest.raises(FrameError, match=r"stream ended inside a frame \(.* bytes left over\)"):
        decoder.close()
    FrameDecoder().close()  # a clean end raises nothing
