"""Offline test kit: a Bedrock runtime endpoint that speaks the real wire format.

Test your own chains and agents without AWS credentials or network access, while
still exercising everything between your code and the service: boto3's request
serialization, botocore's HTTP layer, its event-stream decoder (CRCs included)
and its error parsing.

* :class:`BedrockWireServer` listens on 127.0.0.1 and answers
  ``converse`` / ``converse-stream`` with scripted replies
  (:class:`StreamReply`, :class:`JsonReply`, :class:`ErrorReply`,
  :class:`DropConnection`), records every request, and counts clients that hang up
  mid-stream.
* :func:`simulated_events` / :func:`simulated_converse_response` build plausible
  model answers (text, tool calls with schema-conforming input, usage), and
  :func:`make_simulator_responder` serves them for any request.
* :func:`text_answer`, :func:`tool_call_answer`, :func:`reasoning_answer` and
  :func:`error_reply` script the answers your own agent should meet, and :func:`script`
  serves them in turn, to Converse or ConverseStream calls alike (:class:`Answer`).
* :func:`encode_event` and friends encode the ``application/vnd.amazon.eventstream``
  frames directly, for tests of a decoder.

Field conditions (what a loopback never shows, but a wide-area network does):

* :func:`make_certificate` and :func:`server_ssl_context` serve HTTPS with a
  certificate made at test time (clients trust it through ``AWS_CA_BUNDLE``).
* :class:`TcpRelay` splits every TLS record over several TCP segments, trickles bytes,
  stalls a connection or slows the uplink; :class:`ConnectProxy` is an HTTP or HTTPS
  ``CONNECT`` proxy.
* ``StreamReply(head_delay=...)`` delays the response headers and
  ``StreamReply(stall_after=n)`` goes silent after ``n`` events; :class:`RawReply`
  sends any status, headers and body.
* :class:`LoopLagTicker` measures how late the event loop runs;
  :class:`ReaderlessEventLoop` has no ``add_reader``, like Windows' Proactor loop.

Example::

    import boto3
    from langchain_bedrock_stream.testing import BedrockWireServer, StreamReply

    events = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hi"}}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
    ]
    with BedrockWireServer([StreamReply(events)]) as server:
        client = boto3.client(
            "bedrock-runtime",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        response = client.converse_stream(
            modelId="us.amazon.nova-micro-v1:0",
            messages=[{"role": "user", "content": [{"text": "Hello"}]}],
        )
        assert [next(iter(e)) for e in response["stream"]][1] == "contentBlockDelta"
        assert server.requests[0].model_id == "us.amazon.nova-micro-v1:0"

The kit depends only on the standard library (and the ``openssl`` tool for
:func:`make_certificate`).
"""

from ._eventstream import (
    ExceptionFrame,
    encode_event,
    encode_events,
    encode_exception,
    encode_frame,
)
from ._loops import LoopLagTicker, ReaderlessEventLoop
from ._proxy import ConnectProxy
from ._relay import TcpRelay
from ._replies import (
    DropConnection,
    ErrorReply,
    JsonReply,
    Operation,
    RawReply,
    RecordedRequest,
    Reply,
    Responder,
    StreamReply,
)
from ._scripted import (
    Answer,
    error_reply,
    reasoning_answer,
    script,
    text_answer,
    tool_call_answer,
)
from ._server import BedrockWireServer
from ._simulator import (
    make_simulator_responder,
    simulated_converse_response,
    simulated_events,
)
from ._tls import client_ssl_context, make_certificate, server_ssl_context

__all__ = [
    "Answer",
    "BedrockWireServer",
    "ConnectProxy",
    "DropConnection",
    "ErrorReply",
    "ExceptionFrame",
    "JsonReply",
    "LoopLagTicker",
    "Operation",
    "RawReply",
    "ReaderlessEventLoop",
    "RecordedRequest",
    "Reply",
    "Responder",
    "StreamReply",
    "TcpRelay",
    "client_ssl_context",
    "encode_event",
    "encode_events",
    "encode_exception",
    "encode_frame",
    "error_reply",
    "make_certificate",
    "make_simulator_responder",
    "reasoning_answer",
    "script",
    "server_ssl_context",
    "simulated_converse_response",
    "simulated_events",
    "text_answer",
    "tool_call_answer",
]
