"""``accumulator`` and ``stream`` keep every name they exported in 0.1, whichever module
defines it now; the fold imports nothing but the standard library."""

from __future__ import annotations

import subprocess
import sys

import pytest

from langchain_bedrock_stream import BedrockStream, stream
from langchain_bedrock_stream import _accumulator as accumulator
from tests.support.events import text_events

DELTAS = {
    "BlockStopped",
    "CitationDelta",
    "Delta",
    "ImageDelta",
    "ImageStarted",
    "MessageStarted",
    "MessageStopped",
    "MetadataReceived",
    "ReasoningDelta",
    "TextDelta",
    "ToolInputDelta",
    "ToolResultDelta",
    "ToolResultStarted",
    "ToolUseStarted",
    "UnknownDelta",
    "UnknownEvent",
}
"""The delta types the 0.1 ``accumulator`` and ``stream`` both listed in ``__all__``."""


def test_accumulator_lists_what_it_listed_in_0_1() -> None:
    listed = {"CONTENT_DELTAS", "Accumulator", "InvalidToolInput", "MalformedEvent"}
    assert set(accumulator.__all__) == DELTAS | listed | {"StreamResponse"}
    assert len(accumulator.__all__) == len(set(accumulator.__all__))


@pytest.mark.parametrize(
    "name",
    ["CONVERSE_OPTIONAL_MEMBERS", "SERVER_TOOL_USE", "parse_tool_input", "usable_usage"],
)
def test_accumulators_unlisted_helpers_still_import(name: str) -> None:
    """Public names of the 0.1 module outside its ``__all__`` (other modules import them)."""
    assert getattr(accumulator, name) is not None


def test_stream_lists_what_it_listed_in_0_1_as_the_same_objects() -> None:
    own = {
        "BedrockInvalidToolCall",
        "BedrockStream",
        "BedrockToolCall",
        "StreamItem",
        "StreamResponse",
        "converse",
        "converse_stream",
    }
    assert set(stream.__all__) == DELTAS | own
    assert len(stream.__all__) == len(set(stream.__all__))
    for name in DELTAS | {"StreamResponse"}:
        assert getattr(stream, name) is getattr(accumulator, name), name


def test_star_imports_give_the_listed_names() -> None:
    for module in (accumulator, stream):
        space: dict[str, object] = {}
        exec(f"from {module.__name__} import *", space)
        assert set(space) - {"__builtins__"} == set(module.__all__)


def test_the_fold_loads_no_langchain_no_boto3_no_socket() -> None:
    code = (
        "import sys\n"
        "import langchain_bedrock_stream._accumulator as a\n"
        "a.Accumulator().feed({'messageStart': {'role': 'assistant'}})\n"
        "bad = [m for m in ('langchain_core', 'boto3', 'botocore', 'socket', 'asyncio')"
        " if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_token_counts_read_usage_and_cannot_be_set() -> None:
    events = text_events(["Hi"])
    events[-1]["metadata"]["usage"] = {
        "inputTokens": 3,
        "outputTokens": 2,
        "totalTokens": 12,
        "cacheReadInputTokens": 7,
    }
    answer = BedrockStream(events)
    assert answer.input_tokens is None  # nothing read yet: no usage
    answer.consume()
    counts = (
        answer.input_tokens,
        answer.output_tokens,
        answer.cache_read_tokens,
        answer.cache_write_tokens,
    )
    assert counts == (3, 2, 7, 0)
    with pytest.raises(AttributeError):
        answer.input_tokens = 5  # type: ignore[misc]
    assert answer.input_tokens == 3
