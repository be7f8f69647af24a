"""Bytes of an event-stream body, or events already parsed, folded into delta batches.

The one place where a body becomes deltas, for the transport (``_session.Session``) and for
``BedrockStream``'s in-memory sources alike. A failure part-way through (an exception frame, a
corrupt frame, a malformed event) does not cost the events before it: their batches are
returned, and the failure is kept for :meth:`Folder.check`, which the caller runs right after
handing them on. Pure: no I/O, no boto3, no LangChain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ._accumulator import Delta
from ._wire import FrameDecoder, iter_events

__all__ = ["Apply", "Folder", "Splicer"]

Apply = Callable[[str, Any, list[Delta]], None]
"""Fold one ``(event type, body)`` pair, appending its deltas (``Accumulator.apply``)."""

Splicer = Callable[[str, Any], "tuple[str, Any] | None"]
"""Rewrites (or drops, with ``None``) each event before it is folded: a resumed answer's."""

_BYTES = (bytes, bytearray, memoryview)


class Folder:
    """One body's bytes or events -> delta batches, per burst (or, ``per_event``, per event)."""

    __slots__ = ("apply", "decoder", "error", "per_event", "splice")

    def __init__(
        self, apply: Apply, *, per_event: bool = False, splice: Splicer | None = None
    ) -> None:
        self.apply = apply
        self.per_event = per_event
        self.splice = splice
        self.decoder: FrameDecoder | None = None
        self.error: BaseException | None = None

    def fold(self, data: Any) -> list[list[Delta]]:
        """Fold ``data``: event-stream bytes, one event (a mapping), or a list of
        ``(event type, body)`` pairs; the batches of deltas it produced."""
        events: Any
        if isinstance(data, _BYTES):
            if self.decoder is None:
                self.decoder = FrameDecoder()
            events = iter_events(self.decoder, bytes(data))
        elif isinstance(data, Mapping):
            events = data.items()
        elif isinstance(data, list):
            events = data
        else:
            raise TypeError(
                f"a stream source yields bytes or events (dicts), not {type(data).__name__}"
            )
        batches: list[list[Delta]] = []
        out: list[Delta] = []
        apply, splice, per_event = self.apply, self.splice, self.per_event
        try:
            for kind, body in events:
                if splice is not None:
                    spliced = splice(kind, body)
                    if spliced is None:
                        continue
                    kind, body = spliced
                apply(kind, body, out)
                if per_event and out:
                    batches.append(out)
                    out = []
        except Exception as exc:
            self.error = exc
        if out:
            batches.append(out)
        return batches

    def check(self) -> None:
        """Raise the failure met while folding, if any."""
        if self.error is not None:
            raise self.error

    def finish(self) -> None:
        """At the end of the body: a held-back failure, or a frame cut short, is raised."""
        self.check()
        if self.decoder is not None:
            self.decoder.close()
