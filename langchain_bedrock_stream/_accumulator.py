"""The accumulator: ConverseStream events in, typed deltas out, final response at the end.

Pure: no boto3, no LangChain. ``Accumulator.feed`` takes botocore-shaped events
(``{"contentBlockDelta": {...}}``) one at a time, keeps state per ``contentBlockIndex``
(blocks may interleave, indices need not start at 0 or be contiguous) and returns the
deltas that event produced. ``Accumulator.response()`` builds, from a consumed stream, the
same answer Converse would have returned: ordered content blocks, parsed tool inputs,
stop reason, usage, metrics and trace. Unknown events and delta members are kept, never fatal;
a known member of the wrong shape (an index that is not a non-negative int, text that is
not a string, ...) raises ``MalformedEvent`` before it changes any state.

This module is the fold's public home; the code lives in ``_accumulate`` (the fold and its
deltas), ``_blocks`` (one content block) and ``_response`` (the answer in Converse's shape).
"""

from . import _accumulate
from ._accumulate import *  # noqa: F403 - the delta types
from ._accumulate import CONTENT_DELTAS, Accumulator
from ._blocks import MalformedEvent
from ._response import CONVERSE_OPTIONAL_MEMBERS as CONVERSE_OPTIONAL_MEMBERS
from ._response import SERVER_TOOL_USE as SERVER_TOOL_USE
from ._response import InvalidToolInput, StreamResponse
from ._response import parse_tool_input as parse_tool_input
from ._response import usable_usage as usable_usage

__all__ = [
    "CONTENT_DELTAS",
    "Accumulator",
    "InvalidToolInput",
    "MalformedEvent",
    "StreamResponse",
]
__all__ += _accumulate.__all__
