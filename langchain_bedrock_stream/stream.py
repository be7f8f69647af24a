"""``BedrockStream``: iterate one ConverseStream answer, then read everything about it.

No LangChain here: importing this module loads neither langchain-core nor boto3. Wrap any
source of one answer and iterate it (``for`` or ``async for``)::

    stream = converse_stream(client, modelId=model, messages=messages, toolConfig=tools)
    for item in stream:
        if isinstance(item, TextDelta):
            print(item.text, end="")
        elif isinstance(item, BedrockToolCall):  # as soon as its block ended
            outputs[item.id] = run(item.name, item.args)
    messages.append(stream.message_param)
    messages += stream.tool_message_params(outputs)

Sources: ``converse_stream(client, **request)`` (the package's transport: retries before the
first content, typed errors, a non-blocking reader under ``async for``); a boto3
``client.converse_stream(...)`` response; a raw event-stream body (``bytes``, a binary file,
an iterable or async iterable of ``bytes``); an iterable or async iterable of botocore-shaped
events. ``BedrockStream()`` with no source is fed by hand with ``feed(event)``, as in 0.1.0.
Under ``async for`` a synchronous source (bytes, a file, a list) is read as it is: give an
async iterable for input that must be waited for; a boto3 response (a blocking socket) is
refused there, ``converse_stream()`` is the way.
A Converse (not streamed) answer has the same results: ``converse(client, **request)``, or
``BedrockStream.from_converse(response)`` for the dict ``client.converse(...)`` returned.

Iteration yields the accumulator's typed deltas (``TextDelta``, ``ReasoningDelta``,
``ToolInputDelta``, ``BlockStopped``, ``MetadataReceived``...) and, right after the
``BlockStopped`` of a client tool call, a ``BedrockToolCall`` (arguments parsed) or an
``BedrockInvalidToolCall`` (arguments that are not a JSON object). After consumption: ``text``,
``tool_calls`` / ``invalid_tool_calls``, ``reasoning``, ``citations``, ``stop_reason``,
``usage`` (with cache counts), ``cost``, ``time_to_first_token`` / ``duration``,
``message_param``, ``tool_message_params(outputs)`` and ``response()``.

Mirascope v1 names: ``for chunk, tool in stream`` -> ``for item in stream`` (a ``BedrockToolCall``
item is the ``tool``); ``content`` -> ``text`` (also ``content``); ``construct_call_response()``
-> ``response()`` (a ``StreamResponse``; ``.to_converse()`` is the Converse dict);
``message_param`` and ``tool_message_params`` keep their names; ``cost`` keeps its name
(``cost_breakdown`` splits it); ``finish_reasons`` -> ``stop_reason``; ``input_tokens`` /
``output_tokens`` keep their names (``cache_read_tokens`` / ``cache_write_tokens`` added).
"""

from __future__ import annotations

import json
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeAlias

from . import pricing
from ._folding import Folder
from ._timing import Timing
from .accumulator import (
    CONTENT_DELTAS,
    Accumulator,
    BlockStopped,
    CitationDelta,
    Delta,
    ImageDelta,
    ImageStarted,
    MessageStarted,
    MessageStopped,
    MetadataReceived,
    ReasoningDelta,
    StreamResponse,
    TextDelta,
    ToolInputDelta,
    ToolResultDelta,
    ToolResultStarted,
    ToolUseStarted,
    UnknownDelta,
    UnknownEvent,
    parse_tool_input,
)

if TYPE_CHECKING:
    from .retry import RetryPolicy
    from .transport import StreamHandle

__all__ = [
    "BedrockInvalidToolCall",
    "BedrockStream",
    "BedrockToolCall",
    "BlockStopped",
    "CitationDelta",
    "Delta",
    "ImageDelta",
    "ImageStarted",
    "MessageStarted",
    "MessageStopped",
    "MetadataReceived",
    "ReasoningDelta",
    "StreamItem",
    "StreamResponse",
    "TextDelta",
    "ToolInputDelta",
    "ToolResultDelta",
    "ToolResultStarted",
    "ToolUseStarted",
    "UnknownDelta",
    "UnknownEvent",
    "converse",
    "converse_stream",
]

_BYTES = (bytes, bytearray, memoryview)
_READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class BedrockToolCall:
    """A complete tool call for the client to run: its id, name and parsed arguments."""

    id: str
    name: str
    args: dict[str, Any]
    index: int
    """The ``contentBlockIndex`` of its block."""


@dataclass(frozen=True, slots=True)
class BedrockInvalidToolCall:
    """A tool call that cannot run: its arguments are not a JSON object, or never ended.

    Send it back with an error result (``tool_message_params({call.id: error})``) so the
    model can try again.
    """

    id: str
    name: str
    raw: str
    """The argument text as received."""
    error: str
    index: int


StreamItem: TypeAlias = Delta | BedrockToolCall | BedrockInvalidToolCall
"""What iterating a ``BedrockStream`` yields."""


class BedrockStream:
    """One ConverseStream answer: iterate it once, then read its results (module docstring).

    ``model_id`` prices the answer (``cost``); ``converse_stream()`` sets it from the
    request. Results read before the stream is consumed describe what arrived so far.
    """

    def __init__(
        self,
        source: Any = None,
        *,
        model_id: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self._source = _source_of(source)
        self._acc = Accumulator()
        self.model_id = model_id
        self._request_id = request_id
        self._calls: dict[int, BedrockToolCall | BedrockInvalidToolCall] = {}
        self._cached: StreamResponse | None = None
        self._state = "new" if self._source is not None else "manual"
        self._timing = Timing()

    # -- feeding by hand (0.1.0) --

    def feed(self, event: Mapping[str, Any]) -> list[Delta]:
        """Fold one botocore-shaped event; the deltas it produced."""
        deltas = self._acc.feed(event)
        self._see(deltas)
        return deltas

    def apply(self, kind: str, body: Any, out: list[Delta]) -> None:
        """Fold one decoded ``(event type, body)`` pair, appending its deltas to ``out``."""
        start = len(out)
        self._acc.apply(kind, body, out)
        self._see(out[start:])

    @property
    def accumulator(self) -> Accumulator:
        """The pure fold underneath (``accumulator.Accumulator``)."""
        return self._acc

    @classmethod
    def from_converse(
        cls,
        response: Mapping[str, Any] | StreamResponse,
        *,
        model_id: str | None = None,
        request_id: str | None = None,
    ) -> BedrockStream:
        """A consumed stream holding a Converse (not streamed) answer, so that it has the
        same results (``text``, ``tool_calls``, ``message_param``, ``cost``...).

        ``response`` is the dict ``client.converse(...)`` returned, or a ``StreamResponse``.
        The answer is folded by the same accumulator, as the events that would have streamed
        it. Timing is unknown (``None``): nothing was streamed here.
        """
        body = response.to_converse() if isinstance(response, StreamResponse) else response
        if request_id is None:
            request_id = (body.get("ResponseMetadata") or {}).get("RequestId")
        stream = cls(_converse_events(body), model_id=model_id, request_id=request_id)
        stream.consume()
        stream._timing.first = stream._timing.ended = None
        return stream

    # -- iterating --

    def __iter__(self) -> Iterator[StreamItem]:
        """Read the stream once: its deltas, and each tool call right after its block."""
        source = self._claim()
        batches = source.batches(self)
        finished = False
        try:
            for batch in batches:
                yield from self._items(batch)
            finished = True
        except Exception as exc:
            error = self._failure(exc, source)
            if error is exc:
                raise
            raise error from exc
        finally:
            batches.close()
            if not finished:  # left early or failed: let the connection go
                source.close()
            self._end()

    async def __aiter__(self) -> AsyncIterator[StreamItem]:
        """``__iter__`` under ``async for``: socket reads wait on the event loop."""
        source = self._claim()
        batches = source.abatches(self)
        finished = False
        try:
            async for batch in batches:
                for item in self._items(batch):
                    yield item
            finished = True
        except Exception as exc:
            error = self._failure(exc, source)
            if error is exc:
                raise
            raise error from exc
        finally:
            await batches.aclose()
            if not finished:
                source.close()
            self._end()

    def consume(self) -> StreamResponse:
        """Read the rest of the stream; the final response."""
        for _ in self:
            pass
        return self.response()

    async def aconsume(self) -> StreamResponse:
        """``consume()`` under ``async for``."""
        async for _ in self:
            pass
        return self.response()

    def close(self) -> None:
        """Stop reading and release the connection (a no-op once consumed)."""
        if self._source is not None:
            self._source.close()

    def __enter__(self) -> BedrockStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _claim(self) -> _Source:
        if self._source is None:
            raise TypeError("this BedrockStream has no source: fold events with feed()")
        if self._state != "new":
            raise RuntimeError(
                "a BedrockStream is read once and this one was already iterated; "
                "read its results (text, tool_calls, response()) instead"
            )
        self._state = "reading"
        if self._source.live:
            self._timing.start()  # the request is sent now
        return self._source

    def _end(self) -> None:
        self._state = "done"
        self._timing.end()

    def _failure(self, exc: Exception, source: _Source) -> Exception:
        """The error to raise for ``exc``: a typed ``BedrockError`` with the partial answer."""
        error = exc if source.live else _typed_error(exc, self.model_id, self.request_id)
        if getattr(error, "partial_response", False) is None and self._acc.has_content:
            error.partial_response = self.response()  # type: ignore[attr-defined]
        return error

    def _items(self, batch: list[Delta]) -> list[StreamItem]:
        """The batch's deltas, each tool call it completed right after its ``BlockStopped``."""
        done = self._see(batch)
        if not done:
            return batch  # type: ignore[return-value]
        items: list[StreamItem] = []
        for delta in batch:
            items.append(delta)
            if type(delta) is BlockStopped and delta.index in done:
                items.append(self._calls[delta.index])
        return items

    def _see(self, batch: list[Delta]) -> set[int] | None:
        """Track client tool calls and the first content; the blocks whose call completed."""
        if not batch:
            return None
        self._cached = None
        if self._timing.first is None and any(isinstance(d, CONTENT_DELTAS) for d in batch):
            self._timing.content()
        done: set[int] | None = None
        for delta in batch:
            if type(delta) is BlockStopped:
                use = self._acc.tool_use(delta.index)
                if use is not None:
                    self._calls[delta.index] = _call(use, delta.index)
                    done = done or set()
                    done.add(delta.index)
        return done

    # -- results --

    def response(self) -> StreamResponse:
        """The final answer, shaped like a Converse response (partial if not ``complete``).

        Mirascope's ``construct_call_response()``; ``response().to_converse()`` is the dict
        ``client.converse(...)`` would have returned.
        """
        if self._cached is None:
            self._cached = self._acc.response()
        return self._cached

    @property
    def complete(self) -> bool:
        """True once ``messageStop`` arrived."""
        return self._acc.complete

    @property
    def has_content(self) -> bool:
        """True once any content block received something."""
        return self._acc.has_content

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The answer's Converse content blocks, in ``contentBlockIndex`` order."""
        return self.response().content

    @property
    def text(self) -> str:
        """The answer's text (cited text included), every text block joined."""
        parts: list[str] = []
        for block in self.blocks:
            if "text" in block:
                parts.append(block["text"])
            elif "citationsContent" in block:
                parts.extend(p.get("text", "") for p in block["citationsContent"]["content"])
        return "".join(parts)

    @property
    def content(self) -> str:
        """``text``, under Mirascope's name."""
        return self.text

    @property
    def reasoning(self) -> str:
        """The model's reasoning text (empty when none, or only redacted reasoning)."""
        return "".join(
            block["reasoningContent"].get("reasoningText", {}).get("text", "")
            for block in self.blocks
            if "reasoningContent" in block
        )

    @property
    def citations(self) -> list[dict[str, Any]]:
        """Every citation, in order (Bedrock's camelCase dicts)."""
        return [
            citation
            for block in self.blocks
            if "citationsContent" in block
            for citation in block["citationsContent"].get("citations") or []
        ]

    @property
    def tool_calls(self) -> list[BedrockToolCall]:
        """The tool calls to run, arguments parsed, in block order."""
        return [c for _, c in sorted(self._calls.items()) if isinstance(c, BedrockToolCall)]

    @property
    def invalid_tool_calls(self) -> list[BedrockInvalidToolCall]:
        """Tool calls that cannot run: arguments not a JSON object, or a block never ended."""
        calls = []
        for item in self.response().invalid_tool_inputs.values():
            index = item.index if item.index is not None else -1
            if self._acc.tool_use(index) is not None:  # a client call, not a server tool's
                name = item.name or ""
                calls.append(
                    BedrockInvalidToolCall(
                        item.tool_use_id or "", name, item.raw, item.error, index
                    )
                )
        return sorted(calls, key=lambda call: call.index)

    @property
    def stop_reason(self) -> str | None:
        """Why the model stopped: ``end_turn``, ``tool_use``, ``max_tokens``..."""
        return self._acc.stop_reason

    @property
    def usage(self) -> dict[str, Any] | None:
        """Bedrock's usage: ``inputTokens`` (uncached), ``outputTokens``, ``totalTokens``,
        ``cacheReadInputTokens``, ``cacheWriteInputTokens``, ``cacheDetails``."""
        return self.response().usage

    def _usage_count(self, key: str) -> int | None:
        usage = self.usage
        return None if usage is None else int(usage.get(key) or 0)

    @property
    def input_tokens(self) -> int | None:
        """Input tokens as Bedrock counts them: cache reads and writes not included."""
        return self._usage_count("inputTokens")

    @property
    def output_tokens(self) -> int | None:
        """Output tokens (reasoning included)."""
        return self._usage_count("outputTokens")

    @property
    def cache_read_tokens(self) -> int | None:
        """Input tokens read from the prompt cache."""
        return self._usage_count("cacheReadInputTokens")

    @property
    def cache_write_tokens(self) -> int | None:
        """Input tokens written to the prompt cache."""
        return self._usage_count("cacheWriteInputTokens")

    @property
    def cost_breakdown(self) -> pricing.CostBreakdown | None:
        """Cost in USD split by kind of token, priced as the chat model prices it.

        ``None`` without usage, without a ``model_id``, or when no price is known (logged).
        A prompt router's answer is priced at the model it routed to.
        """
        return pricing.response_cost(self.model_id, self.response())

    @property
    def cost(self) -> float | None:
        """Total cost in USD (``cost_breakdown["total"]``), or ``None`` when unknown."""
        breakdown = self.cost_breakdown
        return None if breakdown is None else breakdown["total"]

    @property
    def time_to_first_token(self) -> float | None:
        """Seconds from the start (the request, for ``converse_stream``) to the first content."""
        return self._timing.time_to_first_token

    @property
    def duration(self) -> float | None:
        """Seconds from the start until reading stopped (at the end, at a failure, or on
        leaving the loop); ``None`` before that."""
        return self._timing.duration

    @property
    def request_id(self) -> str | None:
        """Bedrock's request id, when the source carried one."""
        if self._request_id is None and self._source is not None:
            return self._source.request_id
        return self._request_id

    @property
    def message_param(self) -> dict[str, Any]:
        """The assistant message to append to ``messages`` for the next turn.

        Faithful to the answer (reasoning with its signature, redacted reasoning, citations,
        tool use with its parsed input), minus what Bedrock refuses in a request: blank text
        blocks are left out, and a tool call whose arguments did not parse is replayed with
        ``{}`` so that its error result still matches it.
        """
        response = self.response()
        content: list[dict[str, Any]] = []
        for position, block in enumerate(response.content):
            if "text" in block and not block["text"].strip():
                continue
            if "toolUse" in block:
                use = dict(block["toolUse"])
                if position in response.invalid_tool_inputs or not isinstance(
                    use.get("input"), dict
                ):
                    use["input"] = {}
                block = {"toolUse": use}
            content.append(block)
        return {"role": response.role, "content": content}

    def tool_message_params(
        self,
        outputs: Mapping[str, Any]
        | Sequence[tuple[BedrockToolCall | BedrockInvalidToolCall | str, Any]],
    ) -> list[dict[str, Any]]:
        """The user message carrying ``toolResult`` blocks, as a one-message list.

        ``outputs`` maps a tool call (its id, or the ``BedrockToolCall`` itself) to what the tool
        returned: a ``str`` becomes a text result, a mapping a JSON result, an exception an
        error result (``status: "error"``) with its message, anything else its JSON text.
        A list, so that ``messages += stream.tool_message_params(outputs)`` works as in
        Mirascope. An id that is no tool call of this answer is a ``ValueError``.
        """
        pairs = outputs.items() if isinstance(outputs, Mapping) else outputs
        known = {c.id for c in self.tool_calls} | {c.id for c in self.invalid_tool_calls}
        results: list[dict[str, Any]] = []
        for call, output in pairs:
            tool_use_id = call if isinstance(call, str) else call.id
            if tool_use_id not in known:
                raise ValueError(
                    f"{tool_use_id!r} is not a tool call of this answer "
                    f"(its tool calls: {sorted(known)})"
                )
            results.append({"toolResult": _tool_result(tool_use_id, output)})
        if not results:
            return []
        return [{"role": "user", "content": results}]


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


def _converse_events(body: Mapping[str, Any]) -> list[dict[str, Any]]:
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
    metadata = {
        key: body[key]
        for key in ("usage", "metrics", "trace", "performanceConfig", "serviceTier")
        if body.get(key) is not None
    }
    if metadata:
        events.append({"metadata": metadata})
    return events


def _call(
    use: tuple[str | None, str | None, str], index: int
) -> BedrockToolCall | BedrockInvalidToolCall:
    """The call of a client tool block that ended: its arguments parsed, or why not."""
    tool_use_id, name, raw = use
    args = parse_tool_input(raw)
    if isinstance(args, dict):
        return BedrockToolCall(tool_use_id or "", name or "", args, index)
    return BedrockInvalidToolCall(tool_use_id or "", name or "", raw, args.error, index)


def _tool_result(tool_use_id: str, output: Any) -> dict[str, Any]:
    if isinstance(output, BaseException):
        message = str(output) or type(output).__name__
        return {"toolUseId": tool_use_id, "content": [{"text": message}], "status": "error"}
    if isinstance(output, str):
        item: dict[str, Any] = {"text": output}
    elif isinstance(output, Mapping):
        item = {"json": dict(output)}
    else:
        item = {"text": json.dumps(output, ensure_ascii=False, default=str)}
    return {"toolUseId": tool_use_id, "content": [item]}


def _typed_error(exc: Exception, model_id: str | None, request_id: str | None) -> Exception:
    """A wire or connection failure as the package's typed error (LangChain loaded here)."""
    from ._error_boundary import typed_error

    mapped = typed_error(exc, model_id=model_id, request_id=request_id)
    return mapped if isinstance(mapped, Exception) else exc


# --- sources ---------------------------------------------------------------------------------


class _Source:
    """Where a stream's deltas come from."""

    live = False

    @property
    def request_id(self) -> str | None:
        """Bedrock's request id, once known."""
        return None

    def batches(self, stream: BedrockStream) -> Generator[list[Delta], None, None]:
        raise NotImplementedError

    def abatches(self, stream: BedrockStream) -> AsyncGenerator[list[Delta], None]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the source holds open (nothing, by default)."""


class _Items(_Source):
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


class _File(_Items):
    """A binary file-like object holding an event-stream body."""

    def __init__(self, file: Any) -> None:
        read = getattr(file, "read1", None) or file.read
        super().__init__(iter(lambda: read(_READ_SIZE), b""))
        self.file = file


class _Boto3Response(_Items):
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


class _Live(_Source):
    """A ConverseStream call made by the package's transport when iteration starts."""

    live = True

    def __init__(
        self, client: Any, request: dict[str, Any], policy: RetryPolicy, resume: bool
    ) -> None:
        from .transport import StreamHandle

        self.client = client
        self.request = request
        self.policy = policy
        self.resume = resume
        self.handle: StreamHandle = StreamHandle()
        self.region = getattr(getattr(client, "meta", None), "region_name", None)

    @property
    def request_id(self) -> str | None:
        return self.handle.request_id

    def _options(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "region": self.region,
            "handle": self.handle,
            "resume": self.resume,
        }

    def batches(self, stream: BedrockStream) -> Generator[list[Delta], None, None]:
        from .transport import converse_stream as transport_stream

        for batch, accumulator in transport_stream(self.client, self.request, **self._options()):
            stream._acc = accumulator  # a retry or resume folds on the transport's own
            yield batch

    async def abatches(self, stream: BedrockStream) -> AsyncGenerator[list[Delta], None]:
        from .transport import aconverse_stream

        async for batch, accumulator in aconverse_stream(
            self.client, self.request, **self._options()
        ):
            stream._acc = accumulator
            yield batch

    def close(self) -> None:
        self.handle.cancel()


def _source_of(source: Any) -> _Source | None:
    if source is None or isinstance(source, _Source):
        return source
    if isinstance(source, Mapping):
        if "stream" not in source:
            raise TypeError(
                "a mapping source must be a boto3 converse_stream() response (with 'stream'); "
                "wrap single events in a list"
            )
        return _Boto3Response(source)
    if isinstance(source, _BYTES):
        return _Items([bytes(source)])
    if hasattr(source, "read1") or hasattr(source, "read"):
        return _File(source)
    if isinstance(source, (Iterable, AsyncIterable)) and not isinstance(source, str):
        return _Items(source)
    raise TypeError(
        "BedrockStream reads a boto3 converse_stream() response, event-stream bytes, a binary "
        f"file, or an (async) iterable of bytes or events; not {type(source).__name__}"
    )


def converse_stream(
    client: Any,
    *,
    retry_policy: RetryPolicy | None = None,
    resume: bool = False,
    **request: Any,
) -> BedrockStream:
    """A ``BedrockStream`` for ``client.converse_stream(**request)``, sent when iterated.

    Iterate it with ``for`` (blocking reads) or ``async for`` (the event loop reads the
    socket; no thread per stream). Failures before the first content are retried by
    ``retry_policy`` (botocore's own retries, when the client has them on, take its place);
    every failure is a typed ``BedrockError`` carrying the partial answer. ``resume``
    continues a text answer cut short by a transient failure. ``request`` holds Converse's
    own parameters (``modelId``, ``messages``, ``system``, ``toolConfig``...).
    """
    from .retry import resolve_policy

    policy = resolve_policy(retry_policy, client=client)
    model_id = request.get("modelId")
    source = _Live(client, request, policy, resume)
    return BedrockStream(source, model_id=model_id)


def converse(
    client: Any, *, retry_policy: RetryPolicy | None = None, **request: Any
) -> BedrockStream:
    """One Converse (not streamed) call, with retries and typed errors, as a consumed
    ``BedrockStream``: the same results as a streamed answer (``BedrockStream.from_converse``).
    ``time_to_first_token`` and ``duration`` are both the time the whole call took."""
    from .retry import resolve_policy
    from .transport import converse as transport_converse

    policy = resolve_policy(retry_policy, client=client)
    region = getattr(getattr(client, "meta", None), "region_name", None)
    started = time.perf_counter()
    response, request_id = transport_converse(client, request, policy=policy, region=region)
    stream = BedrockStream.from_converse(
        response, model_id=request.get("modelId"), request_id=request_id
    )
    stream._timing.started = started
    stream._timing.first = stream._timing.ended = time.perf_counter()
    return stream


_RENAMED = {"ToolCall": "BedrockToolCall", "InvalidToolCall": "BedrockInvalidToolCall"}


def renamed(module: str, name: str) -> Any:
    """``ToolCall`` / ``InvalidToolCall``: the 0.1.0 names, which LangChain's messages use for
    types of their own (deprecated; removed in 0.3.0). ``AttributeError`` for any other."""
    new = _RENAMED.get(name)
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    import warnings

    warnings.warn(
        f"langchain_bedrock_stream's {name} is now {new} (the old name collides with "
        f"LangChain's own {name}); it will be removed in 0.3.0",
        DeprecationWarning,
        stacklevel=3,
    )
    return globals()[new]


def __getattr__(name: str) -> Any:
    return renamed(__name__, name)
