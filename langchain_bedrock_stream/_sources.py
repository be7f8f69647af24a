"""Where a ``BedrockStream``'s deltas come from: the package's transport, a boto3 response,
an event-stream body (bytes, a file, an iterable of bytes) or botocore-shaped events.

No LangChain and no boto3 at import: the transport is imported when a live source is read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._accumulate import Delta
from ._folding import Folder
from ._response import METADATA_MEMBERS

if TYPE_CHECKING:
    from ._bedrock_stream import BedrockStream
    from ._retry import RetryPolicy
    from ._transport import StreamHandle

__all__ = ["Live", "Source", "client_region", "converse_events", "source_of"]

_BYTES = (bytes, bytearray, memoryview)
_READ_SIZE = 65536


def client_region(client: Any) -> str | None:
    """The Region a boto3 client was made for, when it says."""
    return getattr(getattr(client, "meta", None), "region_name", None)


class Source:
    """Where a stream's deltas come from."""

    live = False
    """True for a call the stream makes itself (its clock starts with the request, and its
    errors are typed already)."""

    @property
    def request_id(self) -> str | None:
        """Bedrock's request id, once known."""
        return None

    def batches(self, stream: BedrockStream) -> Generator[list[Delta], None, None]:
        """The delta batches of one answer, folded by ``stream``'s accumulator (``for``)."""
        raise NotImplementedError

    def abatches(self, stream: BedrockStream) -> AsyncGenerator[list[Delta], None]:
        """``batches`` under ``async for``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds open (nothing, by default)."""


class Items(Source):
    """An iterable (or async iterable) of ``bytes`` or of events."""

    def __init__(self, items: Any) -> None:
        self.items = items

    def batches(self, stream: BedrockStream) -> Generator[list[Delta], None, None]:
        if not isinstance(self.items, Iterable):
            raise TypeError("an async source is read with 'async for', not 'for'")
        folder = Folder(stream._acc.apply)
        for item in self.items:
            yield from folder.fold(item)
            folder.check()
        folder.finish()

    async def abatches(self, stream: BedrockStream) -> AsyncGenerator[list[Delta], None]:
        if not isinstance(self.items, AsyncIterable):
            for batch in self.batches(stream):  # in memory: never waits
                yield batch
            return
        folder = Folder(stream._acc.apply)
        async for item in self.items:
            for batch in folder.fold(item):
                yield batch
            folder.check()
        folder.finish()


class File(Items):
    """A binary file-like object holding an event-stream body."""

    def __init__(self, file: Any) -> None:
        read = getattr(file, "read1", None) or file.read
        super().__init__(iter(lambda: read(_READ_SIZE), b""))
        self.file = file


class Boto3Response(Items):
    """The dict ``client.converse_stream(...)`` returned; its body is decoded here."""

    def __init__(self, response: Mapping[str, Any]) -> None:
        events = response["stream"]
        self._request_id = (response.get("ResponseMetadata") or {}).get("RequestId")
        # botocore's EventStream keeps the undecoded body in a private attribute; decoding
        # it here costs a few microseconds an event instead of botocore's ~29 (see wire).
        # Without it, botocore's parsed events serve.
        self.raw = getattr(events, "_raw_stream", None)
        read1 = getattr(self.raw, "read1", None)
        if read1 is None:
            self.raw = None
            super().__init__(events)
            return
        super().__init__(iter(lambda: read1(_READ_SIZE), b""))

    @property
    def request_id(self) -> str | None:
        return self._request_id

    async def abatches(self, stream: BedrockStream) -> AsyncGenerator[list[Delta], None]:
        raise TypeError(
            "a boto3 response is read with a blocking socket: iterate it with 'for', or use "
            "converse_stream(client, ...) with 'async for'"
        )
        yield []  # pragma: no cover - makes this an async generator

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()


class Live(Source):
    """A ConverseStream call made by the package's transport when iteration starts."""

    live = True

    def __init__(
        self, client: Any, request: dict[str, Any], policy: RetryPolicy, resume: bool
    ) -> None:
        from ._transport import StreamHandle

        self.client = client
        self.request = request
        self.handle: StreamHandle = StreamHandle()
        self.options: dict[str, Any] = {
            "policy": policy,
            "region": client_region(client),
            "handle": self.handle,
            "resume": resume,
        }
        """The transport's keyword arguments, the same for ``for`` and ``async for``."""

    @property
    def request_id(self) -> str | None:
        return self.handle.request_id

    def batches(self, stream: BedrockStream) -> Generator[list[Delta], None, None]:
        from ._transport import converse_stream as transport_stream

        for batch, accumulator in transport_stream(self.client, self.request, **self.options):
            stream._acc = accumulator  # a retry or resume folds on the transport's own
            yield batch

    async def abatches(self, stream: BedrockStream) -> AsyncGenerator[list[Delta], None]:
        from ._transport import aconverse_stream

        async for batch, accumulator in aconverse_stream(self.client, self.request, **self.options):
            stream._acc = accumulator
            yield batch

    def close(self) -> None:
        self.handle.cancel()


def source_of(source: Any) -> Source | None:
    """The ``Source`` that reads ``source`` (``None`` for none: a stream fed by hand)."""
    if source is None or isinstance(source, Source):
        return source
    if isinstance(source, Mapping):
        if "stream" not in source:
            raise TypeError(
                "a mapping source must be a boto3 converse_stream() response (with 'stream'); "
                "wrap single events in a list"
            )
        return Boto3Response(source)
    if isinstance(source, _BYTES):
        return Items([bytes(source)])
    if hasattr(source, "read1") or hasattr(source, "read"):
        return File(source)
    if isinstance(source, (Iterable, AsyncIterable)) and not isinstance(source, str):
        return Items(source)
    raise TypeError(
        "BedrockStream reads a boto3 converse_stream() response, event-stream bytes, a binary "
        f"file, or an (async) iterable of bytes or events; not {type(source).__name__}"
    )


def _block_events(index: int, block: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stream events that carry one Converse content block."""

    def delta(value: Mapping[str, Any]) -> dict[str, Any]:
        return {"contentBlockDelta": {"contentBlockIndex": index, "delta": value}}

    def start(value: Mapping[str, Any]) -> dict[str, Any]:
        return {"contentBlockStart": {"contentBlockIndex": index, "start": value}}

    if "text" in block:
        return [delta({"text": block["text"]})]
    if "citationsContent" in block:
        cited = block["citationsContent"]
        events = [delta({"text": part.get("text", "")}) for part in cited.get("content") or []]
        return events + [delta({"citation": c}) for c in cited.get("citations") or []]
    if "toolUse" in block:
        use = block["toolUse"]
        head = {k: use[k] for k in ("toolUseId", "name", "type") if k in use}
        args = use.get("input")
        raw = args if isinstance(args, str) else json.dumps(args) if args else ""
        return [start({"toolUse": head}), *([delta({"toolUse": {"input": raw}})] if raw else [])]
    if "reasoningContent" in block:
        reasoning = block["reasoningContent"]
        if "redactedContent" in reasoning:
            return [delta({"reasoningContent": {"redactedContent": reasoning["redactedContent"]}})]
        text = reasoning.get("reasoningText") or {}
        events = [delta({"reasoningContent": {"text": text.get("text", "")}})]
        if text.get("signature") is not None:
            events.append(delta({"reasoningContent": {"signature": text["signature"]}}))
        return events
    if "toolResult" in block:
        result = block["toolResult"]
        head = {k: result[k] for k in ("toolUseId", "status", "type") if k in result}
        return [start({"toolResult": head}), delta({"toolResult": result.get("content") or []})]
    if "image" in block:
        image = block["image"]
        rest = {k: v for k, v in image.items() if k != "format"}
        return [start({"image": {"format": image.get("format")}}), delta({"image": rest})]
    return [delta(block)]  # kept as an unknown member, as a streamed one would be


def converse_events(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A Converse response as the ConverseStream events that would have carried it."""
    message = (body.get("output") or {}).get("message") or {}
    events: list[dict[str, Any]] = [{"messageStart": {"role": message.get("role", "assistant")}}]
    for index, block in enumerate(message.get("content") or []):
        events += _block_events(index, block)
        events.append({"contentBlockStop": {"contentBlockIndex": index}})
    stop: dict[str, Any] = {"stopReason": body.get("stopReason")}
    if body.get("additionalModelResponseFields") is not None:
        stop["additionalModelResponseFields"] = body["additionalModelResponseFields"]
    events.append({"messageStop": stop})
    metadata = {key: body[key] for key in METADATA_MEMBERS if body.get(key) is not None}
    if metadata:
        events.append({"metadata": metadata})
    return events
