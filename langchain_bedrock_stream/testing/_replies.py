"""What :class:`~langchain_bedrock_stream.testing.BedrockWireServer` can be scripted to
answer, and what it records of each request.

Replies are plain frozen data; a :class:`StreamReply`'s frames are encoded once (its plan)
and reused every time it is served.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._eventstream import ExceptionFrame, _encode_item

__all__ = [
    "DropConnection",
    "ErrorReply",
    "JsonReply",
    "Operation",
    "RawReply",
    "RecordedRequest",
    "Reply",
    "Responder",
    "StreamReply",
]

Operation = Literal["converse", "converse-stream", "count-tokens"]
"""The Bedrock runtime operations the server routes."""

_BLOCK_BYTES = 64 * 1024
EVENT_STREAM = "application/vnd.amazon.eventstream"


@dataclass(frozen=True)
class StreamReply:
    """A scripted ConverseStream answer: event frames sent over chunked HTTP.

    ``events`` are botocore-shaped events (one-key mappings) or
    :class:`~langchain_bedrock_stream.testing._eventstream.ExceptionFrame` markers.
    ``batch`` frames go in each HTTP chunk; ``first_delay`` seconds pass before the
    first chunk and ``delay`` seconds between chunks.  Pacing follows an absolute
    schedule (chunk ``k`` is due ``first_delay + k * delay`` after the headers), so
    the stream keeps its rate even with coarse timers or hundreds of concurrent
    streams: chunks that fall due together are written together.  ``drop_after=n`` closes the
    connection after ``n`` frames without the terminating chunk (a connection lost
    mid-stream); ``corrupt_crc_at=n`` flips a bit in the message CRC of frame ``n``
    (0-based).  ``headers`` are added to (or override) the HTTP response headers.

    Field conditions: ``head_delay`` seconds pass before the response headers are sent
    (a slow service, or time to cancel before headers); ``stall_after=n`` sends ``n``
    frames, then goes silent with the connection open until the client gives up (a
    stalled stream, for read timeouts).

    Frames are encoded once per reply object and reused each time it is served; call
    :meth:`prepare` to pay that cost up front rather than on first use.
    """

    events: Sequence[Mapping[str, Any] | ExceptionFrame]
    delay: float = 0.0
    first_delay: float = 0.0
    drop_after: int | None = None
    corrupt_crc_at: int | None = None
    batch: int = 1
    headers: Mapping[str, str] = field(default_factory=dict)
    head_delay: float = 0.0
    stall_after: int | None = None

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise ValueError("batch must be at least 1")
        if self.delay < 0 or self.first_delay < 0 or self.head_delay < 0:
            raise ValueError("delays must not be negative")
        for name in ("drop_after", "stall_after"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative")
        if self.drop_after is not None and self.stall_after is not None:
            raise ValueError("drop_after and stall_after exclude each other")

    def prepare(self) -> StreamReply:
        """Encode the frames now (otherwise done when first served); returns ``self``."""
        self._plan()
        return self

    def _plan(self) -> _StreamPlan:
        cached = self.__dict__.get("_cached_plan")
        if cached is None:
            cached = _StreamPlan.build(self)
            object.__setattr__(self, "_cached_plan", cached)
        return cached


@dataclass(frozen=True)
class JsonReply:
    """A scripted JSON answer, normally the body of a Converse response.

    ``bytes`` values inside ``body`` are sent as base64 text, like AWS blob members.
    """

    body: Mapping[str, Any]
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawReply:
    """A scripted response sent byte for byte: ``status``, ``headers`` and ``body``.

    For answers the service should not give but a network might, such as an empty ``200``
    where a stream was expected, or a damaged body. :class:`BedrockWireServer` adds the
    body's ``Content-Length`` and keeps the connection alive, unless ``headers`` give a
    ``Transfer-Encoding`` (then ``body`` is sent already coded, see :meth:`chunked`).
    """

    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def chunked(
        cls, body: bytes, size: int = 4096, headers: Mapping[str, str] | None = None
    ) -> RawReply:
        """``body`` in HTTP/1.1 chunked coding (``size`` bytes a chunk), with the header
        that says so; ``headers`` default to an event stream's ``Content-Type``."""
        coded = b"".join(
            http_chunk(body[i : i + size]) for i in range(0, len(body), size)
        ) + http_chunk(b"")
        kind = {"Content-Type": EVENT_STREAM} if headers is None else dict(headers)
        return cls(200, coded, {**kind, "Transfer-Encoding": "chunked"})

    @property
    def coded(self) -> bool:
        """Whether ``headers`` say how the body is framed (``Transfer-Encoding``)."""
        return any(name.lower() == "transfer-encoding" for name in self.headers)


@dataclass(frozen=True)
class ErrorReply:
    """A scripted AWS-style error response, raised by boto3 as ``ClientError``.

    ``error_type`` (e.g. ``"ThrottlingException"``) is sent in the ``x-amzn-ErrorType``
    header, where botocore reads the error code from; ``retry_after`` adds a
    ``Retry-After`` header.  Note that botocore retries throttling and 5xx errors by
    default, and each retry consumes the next scripted reply.
    """

    status: int
    error_type: str
    message: str
    retry_after: float | None = None


@dataclass(frozen=True)
class DropConnection:
    """A scripted failure: close the connection without sending any response.

    botocore treats this as a retryable connection error, so each retry consumes the
    next scripted reply.
    """


Reply = StreamReply | JsonReply | RawReply | ErrorReply | DropConnection
"""Anything the server can be scripted to answer."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received, for assertions in tests.

    ``headers`` has lowercase names; ``body`` is the parsed JSON request (``None`` if it
    was not JSON) and ``raw_body`` the bytes as received.
    """

    operation: Operation
    model_id: str
    path: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes = b""
    method: str = "POST"


Responder = Callable[[RecordedRequest], Reply]
"""Builds a reply for a request once the scripted list is exhausted."""


def http_chunk(data: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(data), data)


def fit(reply: Reply, operation: Operation) -> Reply:
    """``reply``, or an error saying why it cannot answer ``operation``.

    A stream scripted for a Converse call (or a JSON answer for a ConverseStream call)
    would otherwise reach botocore as bytes of the wrong kind, and fail there with an
    unrelated ``UnicodeDecodeError`` or a garbled event.
    """
    streamed = operation == "converse-stream"
    if isinstance(reply, StreamReply) and not streamed:
        wanted = "a JsonReply (the Converse body)"
    elif isinstance(reply, JsonReply) and streamed and reply.status < 300:
        wanted = "a StreamReply (ConverseStream events)"
    else:
        return reply
    return ErrorReply(
        400,
        "ValidationException",
        f"BedrockWireServer: the scripted reply is a {type(reply).__name__}, which cannot "
        f"answer a {operation} call; script {wanted} for it",
    )


@dataclass(frozen=True)
class _StreamPlan:
    """The pre-encoded bytes of a :class:`StreamReply`."""

    chunks: tuple[bytes, ...]
    """HTTP chunks (framing included), each holding ``batch`` frames."""
    truncated: bool
    """True when the connection must be dropped instead of ending the body."""
    stalled: bool = False
    """True when the server goes silent after the chunks instead of ending the body."""

    @classmethod
    def build(cls, reply: StreamReply) -> _StreamPlan:
        items = list(reply.events)
        truncated = reply.drop_after is not None
        if reply.drop_after is not None:
            items = items[: reply.drop_after]
        stalled = reply.stall_after is not None
        if reply.stall_after is not None:
            items = items[: reply.stall_after]
        frames = [_encode_item(item) for item in items]
        at = reply.corrupt_crc_at
        if at is not None and 0 <= at < len(frames):
            frame = bytearray(frames[at])
            frame[-1] ^= 0x01
            frames[at] = bytes(frame)
        chunks = [
            http_chunk(b"".join(frames[start : start + reply.batch]))
            for start in range(0, len(frames), reply.batch)
        ]
        if not reply.delay:
            # Unpaced: coalesce chunks into larger writes; the bytes are unchanged.
            chunks = _coalesce(chunks)
        return cls(tuple(chunks), truncated, stalled)


def _coalesce(chunks: list[bytes]) -> list[bytes]:
    blocks: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= _BLOCK_BYTES:
            blocks.append(b"".join(pending))
            pending, size = [], 0
    if pending:
        blocks.append(b"".join(pending))
    return blocks
