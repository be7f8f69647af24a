"""Auto-instrumentation that hooks botocore sees every failing or abandoned call as it does
with ``ChatBedrockConverse``: an HTTP error, an exception frame, a stall, a stream left early
(see ``test_telemetry_stacks`` for the stacks and how spans are compared)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from opentelemetry.trace import StatusCode

from langchain_bedrock_stream.testing import BedrockWireServer, Reply, StreamReply
from langchain_bedrock_stream.testing._scripted import text_answer
from tests.loopback import test_telemetry_stacks as stacks
from tests.loopback.test_telemetry_stacks import PATHS, Traced, _same_story, _spans_of

traced = stacks.traced  # the instrumented stacks, one after the other (module-scoped)

pytest.importorskip("opentelemetry.sdk.trace", reason="needs the telemetry extra")


def _head_error(operation: str) -> Reply:
    from langchain_bedrock_stream.testing._scripted import error_reply

    return error_reply("validation", "The model rejected the request.")


def _mid_stream_error(operation: str) -> Reply:
    return text_answer(
        "Partial answer.", usage={"inputTokens": 5, "outputTokens": 5, "totalTokens": 5 + 5}
    ).stream_reply(fail_after=3)


def _stall(operation: str) -> Reply:
    answer = text_answer(
        "Never finished.", usage={"inputTokens": 5, "outputTokens": 5, "totalTokens": 5 + 5}
    )
    return StreamReply(answer.events(), stall_after=3)


FAILURES: dict[str, tuple[Callable[[str], Reply], list[str]]] = {
    "http-error": (_head_error, PATHS),
    "exception-frame": (_mid_stream_error, ["stream", "astream"]),
    "timeout": (_stall, ["stream", "astream"]),
}

# Where a stack itself exports no span, with either class: OpenInference for a
# converse_stream call that raises; OpenLLMetry for a stream that fails after its head (it
# ends a stream's span on the ``metadata`` event only, and does not watch ``close()``).
_NO_SPAN = {
    ("openinference", "http-error", "stream"),
    ("openinference", "http-error", "astream"),
    *(
        ("openllmetry", failure, path)
        for failure in ("exception-frame", "timeout")
        for path in ("stream", "astream")
    ),
}


@pytest.mark.parametrize(
    ("failure", "path"),
    [(name, path) for name, (_, paths) in FAILURES.items() for path in paths],
)
def test_a_failing_call_is_one_finished_span_as_with_chat_bedrock_converse(
    traced: Traced, server: BedrockWireServer, failure: str, path: str
) -> None:
    reply, _ = FAILURES[failure]
    # A stall outlasts a short read timeout; every other call gets a generous one.
    read_timeout = 1 if failure == "timeout" else 10
    seen = _spans_of(traced, server, reply, path, read_timeout, tools=False)
    ours_outcome, ours = seen["ChatBedrockStream"]
    _, theirs = seen["ChatBedrockConverse"]
    assert isinstance(ours_outcome, Exception), ours_outcome
    _same_story(ours, theirs)
    if (traced.stack.name, failure, path) in _NO_SPAN:
        assert ours == []
        return
    assert len(ours) == 1, [span.name for span in ours]
    if failure != "timeout":  # a read timeout surfaces outside the wrappers of every stack
        assert ours[0].status.status_code == StatusCode.ERROR


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_leaving_a_stream_early_ends_its_span(
    traced: Traced, server: BedrockWireServer, path: str
) -> None:
    """Breaking out of ``stream()`` or cancelling ``astream()`` after the first chunk: the
    stack's span ends then (where the stack ends spans on close), never left open."""
    answer = text_answer(
        "One two three four five six.",
        usage={"inputTokens": 5, "outputTokens": 9, "totalTokens": 5 + 9},
    )

    def reply(operation: str) -> Reply:
        return StreamReply(answer.events(), delay=0.05)

    seen = _spans_of(traced, server, reply, path, tools=False, cancel=True)
    _, ours = seen["ChatBedrockStream"]
    _, theirs = seen["ChatBedrockConverse"]
    assert len(ours) == len(theirs)
    if traced.stack.name == "opentelemetry-botocore":  # it ends a stream's span on close
        assert len(ours) == 1
