"""The accumulator on event lists: interleaving, odd indices, unicode, tools, reasoning,
citations, server tools, unknown events, metadata, and truncated answers."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langchain_bedrock_stream._accumulator import (
    Accumulator,
    BlockStopped,
    CitationDelta,
    MessageStopped,
    MetadataReceived,
    ReasoningDelta,
    StreamResponse,
    TextDelta,
    ToolInputDelta,
    ToolUseStarted,
    UnknownDelta,
    UnknownEvent,
)


def start(index: int, **member: dict) -> dict:
    return {"contentBlockStart": {"contentBlockIndex": index, "start": member}}


def delta(index: int, **member: object) -> dict:
    return {"contentBlockDelta": {"contentBlockIndex": index, "delta": member}}


def stop(index: int) -> dict:
    return {"contentBlockStop": {"contentBlockIndex": index}}


MESSAGE_START = {"messageStart": {"role": "assistant"}}


def message_stop(reason: str = "end_turn") -> dict:
    return {"messageStop": {"stopReason": reason}}


def metadata(**extra: object) -> dict:
    body = {
        "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
        "metrics": {"latencyMs": 120},
    }
    body.update(extra)
    return {"metadata": body}


def fold(events: list[dict]) -> tuple[Accumulator, list]:
    stream = Accumulator()
    deltas = []
    for event in events:
        deltas.extend(stream.feed(event))
    return stream, deltas


def test_text_answer_is_joined_and_deltas_are_typed() -> None:
    events = [
        MESSAGE_START,
        delta(0, text="Hel"),
        delta(0, text="lo, "),
        delta(0, text="wörld 🌍"),
        stop(0),
        message_stop(),
        metadata(),
    ]
    stream, deltas = fold(events)
    texts = [d for d in deltas if isinstance(d, TextDelta)]
    assert [d.text for d in texts] == ["Hel", "lo, ", "wörld 🌍"]
    assert stream.complete
    response = stream.response()
    assert response.content == [{"text": "Hello, wörld 🌍"}]
    assert response.stop_reason == "end_turn"
    assert response.usage == {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}
    assert response.metrics == {"latencyMs": 120}
    assert response.complete is True


def test_interleaved_tool_blocks_keep_their_own_inputs() -> None:
    # Two tool calls whose fragments interleave, as recorded from Claude (index 1 first).
    events = [
        MESSAGE_START,
        start(1, toolUse={"toolUseId": "t-b", "name": "weather", "type": "tool_use"}),
        start(0, toolUse={"toolUseId": "t-a", "name": "weather", "type": "tool_use"}),
        delta(1, toolUse={"input": '{"loca'}),
        delta(0, toolUse={"input": '{"locat'}),
        delta(1, toolUse={"input": 'tion": "Oslo"}'}),
        delta(0, toolUse={"input": 'ion": "Lima"}'}),
        stop(1),
        stop(0),
        message_stop("tool_use"),
        metadata(),
    ]
    stream, deltas = fold(events)
    starts = [d for d in deltas if isinstance(d, ToolUseStarted)]
    assert [(d.index, d.tool_use_id, d.server) for d in starts] == [
        (1, "t-b", False),
        (0, "t-a", False),
    ]
    fragments = [d.fragment for d in deltas if isinstance(d, ToolInputDelta) and d.index == 0]
    assert "".join(fragments) == '{"location": "Lima"}'
    content = stream.response().content
    assert content == [
        {
            "toolUse": {
                "toolUseId": "t-a",
                "name": "weather",
                "input": {"location": "Lima"},
                "type": "tool_use",
            }
        },
        {
            "toolUse": {
                "toolUseId": "t-b",
                "name": "weather",
                "input": {"location": "Oslo"},
                "type": "tool_use",
            }
        },
    ]


def test_indices_need_not_start_at_zero_or_be_contiguous() -> None:
    events = [
        MESSAGE_START,
        delta(7, text="second"),
        delta(3, text="first"),
        stop(3),
        stop(7),
        message_stop(),
    ]
    stream, _ = fold(events)
    assert stream.response().content == [{"text": "first"}, {"text": "second"}]


def test_tool_without_input_deltas_has_empty_object_args() -> None:
    events = [
        MESSAGE_START,
        start(0, toolUse={"toolUseId": "t1", "name": "get_time"}),
        stop(0),
        message_stop("tool_use"),
    ]
    stream, _ = fold(events)
    response = stream.response()
    assert response.content == [{"toolUse": {"toolUseId": "t1", "name": "get_time", "input": {}}}]
    assert response.invalid_tool_inputs == {}


def test_tool_input_cut_by_max_tokens_is_an_invalid_call_with_reason() -> None:
    events = [
        MESSAGE_START,
        delta(0, text="Calling."),
        stop(0),
        start(1, toolUse={"toolUseId": "t1", "name": "search"}),
        delta(1, toolUse={"input": '{"query": "long que'}),
        stop(1),
        message_stop("max_tokens"),
    ]
    stream, _ = fold(events)
    response = stream.response()
    bad = response.invalid_tool_inputs[1]
    assert bad.tool_use_id == "t1"
    assert bad.name == "search"
    assert bad.raw == '{"query": "long que'
    assert "not valid JSON" in bad.error
    assert "max_tokens" in bad.error
    assert response.content[1]["toolUse"]["input"] == '{"query": "long que'


def test_tool_input_that_is_json_but_not_an_object_is_invalid() -> None:
    events = [
        start(0, toolUse={"toolUseId": "t1", "name": "f"}),
        delta(0, toolUse={"input": "[1, 2]"}),
        stop(0),
        message_stop("tool_use"),
    ]
    bad = fold(events)[0].response().invalid_tool_inputs[0]
    assert "not an object" in bad.error and "list" in bad.error


def test_unfinished_tool_block_says_the_stream_was_cut() -> None:
    events = [
        start(0, toolUse={"toolUseId": "t1", "name": "f"}),
        delta(0, toolUse={"input": '{"a": '}),
    ]
    stream, _ = fold(events)
    response = stream.response()
    assert response.complete is False
    assert "cut short" in response.invalid_tool_inputs[0].error


def test_reasoning_text_signature_and_redacted_blocks() -> None:
    events = [
        MESSAGE_START,
        delta(0, reasoningContent={"text": "Let me "}),
        delta(0, reasoningContent={"text": "think."}),
        delta(0, reasoningContent={"signature": "sig-part-1"}),
        delta(0, reasoningContent={"signature": "-part-2"}),
        stop(0),
        delta(1, reasoningContent={"redactedContent": b"\x00secret\xff"}),
        stop(1),
        delta(2, text="Answer."),
        stop(2),
        message_stop(),
    ]
    stream, deltas = fold(events)
    reasoning = [d for d in deltas if isinstance(d, ReasoningDelta)]
    assert reasoning[0].text == "Let me " and reasoning[2].signature == "sig-part-1"
    assert reasoning[4].redacted == b"\x00secret\xff"
    assert stream.response().content == [
        {
            "reasoningContent": {
                "reasoningText": {"text": "Let me think.", "signature": "sig-part-1-part-2"}
            }
        },
        {"reasoningContent": {"redactedContent": b"\x00secret\xff"}},
        {"text": "Answer."},
    ]


def test_citation_deltas_attach_to_the_text_of_their_block() -> None:
    citation = {
        "title": "policy",
        "sourceContent": [{"text": "Employees get 20 days."}],
        "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 22}},
    }
    events = [
        MESSAGE_START,
        delta(0, text="They get "),
        stop(0),
        delta(1, citation=citation),
        delta(1, text="20 days"),
        delta(1, text=" of leave."),
        stop(1),
        message_stop(),
    ]
    stream, deltas = fold(events)
    assert [d.citation for d in deltas if isinstance(d, CitationDelta)] == [citation]
    assert stream.response().content == [
        {"text": "They get "},
        {"citationsContent": {"content": [{"text": "20 days of leave."}], "citations": [citation]}},
    ]


def test_server_tool_use_and_result_are_kept_apart_from_client_calls() -> None:
    events = [
        MESSAGE_START,
        start(
            0,
            toolUse={"toolUseId": "s1", "name": "nova_code_interpreter", "type": "server_tool_use"},
        ),
        delta(0, toolUse={"input": '{"code": "print(1+1)"}'}),
        stop(0),
        start(
            1,
            toolResult={
                "toolUseId": "s1",
                "type": "nova_code_interpreter_result",
                "status": "success",
            },
        ),
        delta(1, toolResult=[{"text": "2"}]),
        delta(1, toolResult=[{"text": "\n"}, {"json": {"exit": 0}}]),
        stop(1),
        delta(2, text="It prints 2."),
        stop(2),
        message_stop(),
    ]
    stream, deltas = fold(events)
    started = [d for d in deltas if isinstance(d, ToolUseStarted)]
    assert started[0].server is True
    assert all(d.server for d in deltas if isinstance(d, ToolInputDelta))
    assert stream.response().content == [
        {
            "toolUse": {
                "toolUseId": "s1",
                "name": "nova_code_interpreter",
                "input": {"code": "print(1+1)"},
                "type": "server_tool_use",
            }
        },
        {
            "toolResult": {
                "toolUseId": "s1",
                "content": [{"text": "2\n"}, {"json": {"exit": 0}}],
                "status": "success",
                "type": "nova_code_interpreter_result",
            }
        },
        {"text": "It prints 2."},
    ]


def test_image_blocks() -> None:
    events = [
        start(0, image={"format": "png"}),
        {
            "contentBlockDelta": {
                "contentBlockIndex": 0,
                "delta": {"image": {"source": {"bytes": b"\x89PNG"}}},
            }
        },
        stop(0),
        message_stop(),
    ]
    assert fold(events)[0].response().content == [
        {"image": {"format": "png", "source": {"bytes": b"\x89PNG"}}}
    ]


def test_unknown_events_and_members_are_kept_not_fatal() -> None:
    events = [
        MESSAGE_START,
        {"futureEvent": {"x": 1}},
        start(0, hologram={"shape": "cube"}),
        delta(0, hologram={"frame": 1}),
        delta(1, text="ok"),
        delta(1, sparkle="✨"),
        stop(1),
        message_stop(),
        metadata(newMetric={"joules": 3}),
    ]
    stream, deltas = fold(events)
    assert any(isinstance(d, UnknownEvent) and d.kind == "futureEvent" for d in deltas)
    unknown = [(d.index, d.member, d.value) for d in deltas if isinstance(d, UnknownDelta)]
    assert unknown == [
        (0, "hologram", {"shape": "cube"}),
        (0, "hologram", {"frame": 1}),
        (1, "sparkle", "✨"),
    ]
    response = stream.response()
    assert response.content == [
        {"hologram": [{"shape": "cube"}, {"frame": 1}]},
        {"text": "ok"},
        {"sparkle": "✨"},
    ]
    assert response.extras["unknown_events"] == [{"futureEvent": {"x": 1}}]
    assert response.extras["newMetric"] == {"joules": 3}


def test_metadata_members_are_all_kept() -> None:
    usage = {
        "inputTokens": 13,
        "outputTokens": 5,
        "totalTokens": 1522,
        "cacheReadInputTokens": 1504,
        "cacheWriteInputTokens": 0,
        "cacheDetails": [{"ttl": "5m", "inputTokens": 0}],
    }
    trace = {"promptRouter": {"invokedModelId": "arn:aws:bedrock:::foundation-model/x"}}
    events = [
        MESSAGE_START,
        delta(0, text="5"),
        stop(0),
        {
            "messageStop": {
                "stopReason": "end_turn",
                "additionalModelResponseFields": {"stop_sequence": None},
            }
        },
        {
            "metadata": {
                "usage": usage,
                "metrics": {"latencyMs": 9},
                "trace": trace,
                "performanceConfig": {"latency": "optimized"},
                "serviceTier": {"type": "flex"},
            }
        },
    ]
    stream, deltas = fold(events)
    assert isinstance(deltas[-1], MetadataReceived)
    assert isinstance(deltas[-2], MessageStopped)
    response = stream.response()
    assert response.usage == usage
    assert response.trace == trace
    assert response.performance_config == {"latency": "optimized"}
    assert response.service_tier == {"type": "flex"}
    assert response.additional_model_response_fields == {"stop_sequence": None}
    converse = response.to_converse()
    assert converse["output"]["message"] == {"role": "assistant", "content": [{"text": "5"}]}
    assert converse["stopReason"] == "end_turn"
    assert converse["serviceTier"] == {"type": "flex"}


def test_converse_dict_round_trip() -> None:
    events = [MESSAGE_START, delta(0, text="hi"), stop(0), message_stop(), metadata()]
    response = fold(events)[0].response()
    again = StreamResponse.from_converse(response.to_converse())
    assert again.content == response.content
    assert again.usage == response.usage
    assert again.stop_reason == response.stop_reason


def test_empty_text_delta_still_opens_a_block() -> None:
    events = [
        MESSAGE_START,
        delta(0, text=""),
        stop(0),
        delta(1, text="Hi"),
        stop(1),
        message_stop(),
    ]
    stream, deltas = fold(events)
    assert [d.index for d in deltas if isinstance(d, BlockStopped)] == [0, 1]
    assert stream.response().content == [{"text": ""}, {"text": "Hi"}]


def test_incomplete_stream_is_marked() -> None:
    stream, _ = fold([MESSAGE_START, delta(0, text="par")])
    assert not stream.complete
    response = stream.response()
    assert response.complete is False
    assert response.content == [{"text": "par"}]


@settings(max_examples=200, deadline=None)
@given(
    texts=st.lists(st.text(min_size=0, max_size=12), min_size=1, max_size=6),
    args=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=8), max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_interleaving_of_two_blocks_gives_the_same_answer(
    texts: list[str], args: dict, seed: int
) -> None:
    """Property: however deltas of a text block and a tool block interleave, the result is
    the concatenation per block."""
    raw = json.dumps(args, ensure_ascii=False)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(len(raw) + 1), k=min(3, len(raw) + 1)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    text_events = [delta(4, text=t) for t in texts]
    tool_events = [delta(9, toolUse={"input": p}) for p in pieces]
    merged: list[dict] = []
    while text_events or tool_events:
        source = (
            text_events
            if (text_events and (not tool_events or rng.random() < 0.5))
            else (tool_events)
        )
        merged.append(source.pop(0))
    events = [
        MESSAGE_START,
        start(9, toolUse={"toolUseId": "t", "name": "f"}),
        *merged,
        stop(4),
        stop(9),
        message_stop("tool_use"),
    ]
    content = fold(events)[0].response().content
    assert content[0] == {"text": "".join(texts)}
    assert content[1]["toolUse"]["input"] == args


@pytest.mark.parametrize("kind", ["messageStart", "contentBlockStop", "messageStop", "metadata"])
def test_minimal_bodies_do_not_crash(kind: str) -> None:
    body = {"contentBlockIndex": 0} if kind == "contentBlockStop" else {}
    stream = Accumulator()
    assert len(stream.feed({kind: body})) == 1


def test_the_accumulator_imports_without_langchain_or_boto3() -> None:
    import subprocess
    import sys

    code = (
        "import sys, langchain_bedrock_stream._accumulator as s; s.Accumulator();"
        "loaded = {'boto3', 'botocore', 'langchain_core'} & set(sys.modules);"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_long_answer_of_small_deltas_costs_about_its_own_size() -> None:
    """Deterministic (allocations, not timing): pieces are joined into runs as they come,
    so the accumulator does not keep an object per delta (about 4.5x the text for
    16-character deltas)."""
    import tracemalloc

    count = 64_000  # about 1 MB of text, in pieces made (and dropped) as they arrive
    size = 16 * count
    stream = Accumulator()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(count):
            stream.feed(
                {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": f"{i:016d}"}}}
            )
        held = tracemalloc.get_traced_memory()[0] - base
        response = stream.response()
    finally:
        tracemalloc.stop()
    assert response.content == [{"text": "".join(f"{i:016d}" for i in range(count))}]
    assert held < 1.5 * size, f"{held / size:.2f}x the text held while streaming"


def test_an_unfinished_tool_call_is_never_runnable_even_when_its_part_parses() -> None:
    """``{"city": "Paris"}`` may be the start of ``{"city": "Paris", "days": 3}``: a client
    call whose block never ended is invalid whatever arrived; a server tool's is Bedrock's."""
    events = [
        start(0, toolUse={"toolUseId": "t1", "name": "f"}),
        delta(0, toolUse={"input": '{"city": "Paris"}'}),
        start(1, toolUse={"toolUseId": "s1", "name": "nova_grounding", "type": "server_tool_use"}),
        delta(1, toolUse={"input": '{"q": "x"}'}),
    ]
    stream, _ = fold(events)
    response = stream.response()
    assert list(response.invalid_tool_inputs) == [0]
    bad = response.invalid_tool_inputs[0]
    assert (bad.tool_use_id, bad.raw) == ("t1", '{"city": "Paris"}')
    assert "cut short" in bad.error
    assert response.content[1]["toolUse"]["input"] == {"q": "x"}


def test_a_failure_keeps_the_answer_received_so_far_once() -> None:
    """Both faces give a failure its partial answer by this one rule."""
    from langchain_bedrock_stream.errors import BedrockAPIError

    acc = Accumulator()
    acc.feed({"messageStart": {"role": "assistant"}})
    nothing = BedrockAPIError("boom")
    assert acc.keep_partial(nothing) is None and nothing.partial_response is None

    acc.feed({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hel"}}})
    error = BedrockAPIError("cut")
    partial = acc.keep_partial(error)
    assert partial is error.partial_response
    assert partial is not None and partial.content == [{"text": "Hel"}]

    carried = BedrockAPIError("own")
    carried.partial_response = own = acc.response(text=False)
    assert acc.keep_partial(carried) is own  # what a failure already carries wins

    foreign = ValueError("not ours")
    assert acc.keep_partial(foreign) is None and not hasattr(foreign, "partial_response")
