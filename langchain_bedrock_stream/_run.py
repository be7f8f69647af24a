"""One call of the chat model, from the transport's delta batches to LangChain's generations:
its clock, its error crossing, the chunks it streams, the closing chunk with usage, cost and
timing, the final ``ChatResult``, and the partial answer a failure carries.

:func:`chunks` and :func:`achunks` are the blocking and event-loop shells over the same
steps (:meth:`Run.reading`); only the waiting differs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from . import pricing
from ._accumulator import Accumulator, Delta, StreamResponse
from ._bridge import chunk_from_deltas, final_chunk, message_from_response
from ._error_boundary import map_errors
from ._timing import Timing
from ._transport import StreamHandle
from .errors import BedrockError

__all__ = ["Run", "achunks", "chunks"]

Made = tuple[ChatGenerationChunk, str]
"""A generation chunk and its text (what ``on_llm_new_token`` is given)."""
Batches = tuple[list[Delta], Accumulator]


@dataclass
class Run:
    """Timing and outcome of one call, shared by its chunks and final message."""

    model_id: str
    timing: Timing = field(default_factory=Timing)
    handle: StreamHandle = field(default_factory=StreamHandle)
    model_name: str = ""
    """The name answers carry as ``model_name``: the foundation model when
    ``base_model_id`` names it, else ``model_id``."""
    region: str | None = None
    priced_as: str | None = None
    """The model id prices are looked up for (``base_model_id``), else ``model_id``."""
    inline_thinking: bool = False
    """Whether the model writes its reasoning into the text (see ``message_from_response``)."""
    response: StreamResponse | None = None
    stream: Accumulator | None = None
    """A streamed answer's accumulator, until :meth:`result` builds the final message."""

    def boundary(self) -> contextlib.AbstractContextManager[None]:
        """The error crossing of the call: what leaves it is a ``BedrockError`` (or a
        documented pass-through; see ``_error_boundary.map_errors``)."""
        return map_errors(
            model_id=self.model_id,
            region=self.region,
            request_id=lambda: self.handle.request_id,
            langchain=True,
        )

    def extra(self, response: StreamResponse) -> dict[str, Any]:
        """Client-side timing and cost, added to ``response_metadata``."""
        extra: dict[str, Any] = {"timing": self.timing.metadata(response.usage)}
        if self.model_name and self.model_name != self.model_id:
            extra["model_id"] = self.model_id
        cost = pricing.response_cost(self.priced_as or self.model_id, response)
        if cost is not None:
            extra["cost"] = cost
        return extra

    def chunk(self, batch: list[Delta]) -> Made | None:
        """One generation chunk (and its text) for a batch of deltas, if it has content."""
        made = chunk_from_deltas(batch)
        if made is None:
            return None
        self.timing.content()
        return ChatGenerationChunk(message=made[0]), made[1]

    def last(self, stream: Accumulator) -> Made:
        """The closing chunk: usage, metadata, cost and timing (no second copy of the text,
        which the chunks before it carried)."""
        self.stream = stream
        summary = stream.response(text=False)
        last = final_chunk(
            summary,
            model_id=self.model_name or self.model_id,
            request_id=self.handle.request_id,
            extra=self.extra(summary),
        )
        return ChatGenerationChunk(message=last), ""

    def attach_partial(self, exc: BedrockError, stream: Accumulator | None) -> None:
        """Give a failure the answer received so far, as ``partial_message``."""
        partial = exc.partial_response if stream is None else stream.keep_partial(exc)
        if partial is not None:
            exc.partial_message = message_from_response(
                partial,
                model_id=self.model_name or self.model_id,
                request_id=self.handle.request_id,
            )

    def result(self, message_id: str | None = None) -> ChatResult:
        """The final ``ChatResult``, built once from the answer (streamed or not)."""
        if self.stream is not None:  # built once, then the accumulator's pieces can go
            self.response, self.stream = self.stream.response(), None
        response = self.response
        assert response is not None
        message = message_from_response(
            response,
            model_id=self.model_name or self.model_id,
            request_id=self.handle.request_id,
            extra=self.extra(response),
            inline_thinking=self.inline_thinking,
        )
        message.id = message_id
        return ChatResult(generations=[ChatGeneration(message=message)])

    @contextlib.contextmanager
    def reading(self) -> Iterator[_Reading]:
        """The steps of a streamed call around the loop over its batches: the crossing, the
        closing chunk once the loop ends, the partial answer on failure."""
        reading = _Reading(self)
        try:
            with self.boundary():
                yield reading
                reading.close()
        except BedrockError as exc:
            self.attach_partial(exc, reading.stream)
            raise


class _Reading:
    """What one streamed call has read: its accumulator and, once ended, the closing chunk."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.stream: Accumulator | None = None  # None: cancelled before the stream opened
        self.closing: list[Made] = []

    def take(self, batch: list[Delta], stream: Accumulator) -> list[Made]:
        self.stream = stream
        made = self.run.chunk(batch)
        return [] if made is None else [made]

    def close(self) -> None:
        if self.stream is not None:
            self.closing = [self.run.last(self.stream)]


def chunks(run: Run, batches: Iterable[Batches]) -> Iterator[Made]:
    """Generation chunks of one streamed call, the closing chunk last."""
    with run.reading() as reading:
        for batch, stream in batches:
            yield from reading.take(batch, stream)
    yield from reading.closing


async def achunks(run: Run, batches: AsyncIterable[Batches]) -> AsyncIterator[Made]:
    """:func:`chunks` on the event loop."""
    with run.reading() as reading:
        async for batch, stream in batches:
            for made in reading.take(batch, stream):
                yield made
    for made in reading.closing:
        yield made
