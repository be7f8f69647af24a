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

import time
from typing import TYPE_CHECKING, Any

from . import _accumulate
from ._accumulate import *  # noqa: F403 - the deltas iteration yields
from ._bedrock_stream import (
    BedrockInvalidToolCall,
    BedrockStream,
    BedrockToolCall,
    StreamItem,
)
from ._response import StreamResponse
from ._sources import Live, client_region

if TYPE_CHECKING:
    from ._retry import RetryPolicy

__all__ = [
    "BedrockInvalidToolCall",
    "BedrockStream",
    "BedrockToolCall",
    "StreamItem",
    "StreamResponse",
    "converse",
    "converse_stream",
]
__all__ += _accumulate.__all__


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
    from ._retry import resolve_policy

    policy = resolve_policy(retry_policy, client=client)
    model_id = request.get("modelId")
    source = Live(client, request, policy, resume)
    return BedrockStream(source, model_id=model_id)


def converse(
    client: Any, *, retry_policy: RetryPolicy | None = None, **request: Any
) -> BedrockStream:
    """One Converse (not streamed) call, with retries and typed errors, as a consumed
    ``BedrockStream``: the same results as a streamed answer (``BedrockStream.from_converse``).
    ``time_to_first_token`` and ``duration`` are both the time the whole call took."""
    from ._retry import resolve_policy
    from ._transport import converse as transport_converse

    policy = resolve_policy(retry_policy, client=client)
    region = client_region(client)
    started = time.perf_counter()
    response, request_id = transport_converse(client, request, policy=policy, region=region)
    stream = BedrockStream.from_converse(
        response, model_id=request.get("modelId"), request_id=request_id
    )
    stream._timing.started = started
    stream._timing.first = stream._timing.ended = time.perf_counter()
    return stream


def __getattr__(name: str) -> Any:
    """``ToolCall`` / ``InvalidToolCall``: the 0.1.0 names (deprecated; removed in 0.3.0)."""
    from . import _deprecated

    return _deprecated.attribute(__name__, name)
