"""``BedrockStream``: one ConverseStream answer, iterated once, then read (see ``stream``).

No LangChain and no boto3 at import; the sources are in ``_sources``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, overload

from . import pricing
from ._accumulate import CONTENT_DELTAS, Accumulator, BlockStopped, Delta
from ._response import StreamResponse, parse_tool_input
from ._sources import Source, converse_events, source_of
from ._timing import Timing

__all__ = ["BedrockInvalidToolCall", "BedrockStream", "BedrockToolCall", "StreamItem"]


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


class _TokenCount:
    """A count from a stream's ``usage``, read as an attribute: ``None`` without usage, ``0``
    when Bedrock left that count out."""

    def __init__(self, key: str, doc: str) -> None:
        self.key = key
        self.__doc__ = doc

    @overload
    def __get__(self, stream: None, owner: type) -> _TokenCount: ...

    @overload
    def __get__(self, stream: BedrockStream, owner: type) -> int | None: ...

    def __get__(self, stream: BedrockStream | None, owner: type) -> _TokenCount | int | None:
        if stream is None:
            return self
        usage = stream.usage
        return None if usage is None else int(usage.get(self.key) or 0)

    def __set__(self, stream: BedrockStream, value: object) -> None:
        raise AttributeError("the token counts of a BedrockStream are read from its usage")


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
        self._source = source_of(source)
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
        stream = cls(converse_events(body), model_id=model_id, request_id=request_id)
        stream.consume()
        stream._timing.first = stream._timing.ended = None
        return stream

    # -- iterating --

    def __iter__(self) -> Iterator[StreamItem]:
        """Read the stream once: its deltas, and each tool call right after its block."""
        source = self._claim()
        with self._reading(source), contextlib.closing(source.batches(self)) as batches:
            for batch in batches:
                yield from self._items(batch)

    async def __aiter__(self) -> AsyncIterator[StreamItem]:
        """``__iter__`` under ``async for``: socket reads wait on the event loop."""
        source = self._claim()
        with self._reading(source):
            async with contextlib.aclosing(source.abatches(self)) as batches:
                async for batch in batches:
                    for item in self._items(batch):
                        yield item

    @contextlib.contextmanager
    def _reading(self, source: Source) -> Iterator[None]:
        """Around one reading of ``source`` (``for`` or ``async for``): a failure leaves as a
        typed error carrying the partial answer, leaving early or failing lets the
        connection go, and the clock stops."""
        finished = False
        try:
            yield
            finished = True
        except Exception as exc:
            error = self._failure(exc, source)
            if error is exc:
                raise
            raise error from exc
        finally:
            if not finished:  # left early or failed: let the connection go
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

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _claim(self) -> Source:
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

    def _failure(self, exc: Exception, source: Source) -> Exception:
        """The error to raise for ``exc``: a typed ``BedrockError`` with the partial answer."""
        error = exc if source.live else _typed_error(exc, self.model_id, self.request_id)
        self._acc.keep_partial(error, self.response)
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

    input_tokens = _TokenCount(
        "inputTokens", "Input tokens as Bedrock counts them: cache reads and writes not included."
    )
    output_tokens = _TokenCount("outputTokens", "Output tokens (reasoning included).")
    cache_read_tokens = _TokenCount(
        "cacheReadInputTokens", "Input tokens read from the prompt cache."
    )
    cache_write_tokens = _TokenCount(
        "cacheWriteInputTokens", "Input tokens written to the prompt cache."
    )

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
    """A wire or connection failure as the package's typed error."""
    from ._error_boundary import typed_error

    mapped = typed_error(exc, model_id=model_id, request_id=request_id)
    return mapped if isinstance(mapped, Exception) else exc
