"""The bridge: deltas -> chunks, final response -> AIMessage, usage, standard blocks.

A streamed answer summed with ``+`` and the final message built from the same events must
agree in text, tool calls, reasoning, citations and usage."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk

from langchain_bedrock_stream._accumulator import Accumulator
from langchain_bedrock_stream._bridge import (
    chunk_from_deltas,
    final_chunk,
    message_from_response,
    usage_metadata,
)

MODEL = "us.anthropic.claude-sonnet-4-20250514-v1:0"

CITATION = {
    "title": "policy",
    "sourceContent": [{"text": "Employees get 20 days."}],
    "location": {"documentChar": {"documentIndex": 0, "start": 0, "end": 22}},
}

EVENTS = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "Hm"}}}},
    {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "m."}}}},
    {
        "contentBlockDelta": {
            "contentBlockIndex": 0,
            "delta": {"reasoningContent": {"signature": "SIG"}},
        }
    },
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"contentBlockDelta": {"contentBlockIndex": 1, "delta": {"text": "They get "}}},
    {"contentBlockStop": {"contentBlockIndex": 1}},
    {"contentBlockDelta": {"contentBlockIndex": 2, "delta": {"citation": CITATION}}},
    {"contentBlockDelta": {"contentBlockIndex": 2, "delta": {"text": "20 days"}}},
    {"contentBlockStop": {"contentBlockIndex": 2}},
    {
        "contentBlockStart": {
            "contentBlockIndex": 3,
            "start": {"toolUse": {"toolUseId": "t1", "name": "lookup", "type": "tool_use"}},
        }
    },
    {"contentBlockDelta": {"contentBlockIndex": 3, "delta": {"toolUse": {"input": '{"q": '}}}},
    {"contentBlockDelta": {"contentBlockIndex": 3, "delta": {"toolUse": {"input": '"leave"}'}}}},
    {"contentBlockStop": {"contentBlockIndex": 3}},
    {
        "contentBlockStart": {
            "contentBlockIndex": 4,
            "start": {
                "toolUse": {
                    "toolUseId": "s1",
                    "name": "nova_code_interpreter",
                    "type": "server_tool_use",
                }
            },
        }
    },
    {
        "contentBlockDelta": {
            "contentBlockIndex": 4,
            "delta": {"toolUse": {"input": '{"code": "1+1"}'}},
        }
    },
    {"contentBlockStop": {"contentBlockIndex": 4}},
    {
        "contentBlockStart": {
            "contentBlockIndex": 5,
            "start": {"toolResult": {"toolUseId": "s1", "status": "success"}},
        }
    },
    {"contentBlockDelta": {"contentBlockIndex": 5, "delta": {"toolResult": [{"text": "2"}]}}},
    {"contentBlockStop": {"contentBlockIndex": 5}},
    {"messageStop": {"stopReason": "tool_use"}},
    {
        "metadata": {
            "usage": {
                "inputTokens": 10,
                "outputTokens": 20,
                "totalTokens": 1530,
                "cacheReadInputTokens": 1000,
                "cacheWriteInputTokens": 500,
            },
            "metrics": {"latencyMs": 77},
        }
    },
]


def streamed(events: list[dict], per_event: bool) -> AIMessageChunk:
    """Sum the chunks the bridge makes, one per event or one for the whole burst."""
    stream = Accumulator()
    batches = [stream.feed(e) for e in events]
    if not per_event:
        batches = [[d for batch in batches for d in batch]]
    chunks = [made[0] for batch in batches if (made := chunk_from_deltas(batch))]
    chunks.append(final_chunk(stream.response(), model_id=MODEL))
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def invoked(events: list[dict]) -> AIMessage:
    stream = Accumulator()
    for event in events:
        stream.feed(event)
    return message_from_response(stream.response(), model_id=MODEL)


def summary(message: AIMessage) -> dict:
    blocks = message.content_blocks
    return {
        "text": message.text,
        "tool_calls": [(c["id"], c["name"], c["args"]) for c in message.tool_calls],
        "reasoning": [
            (b.get("reasoning"), b.get("extras", {}).get("signature"))
            for b in blocks
            if b["type"] == "reasoning"
        ],
        "citations": [
            (a.get("title"), a.get("cited_text"))
            for b in blocks
            if b["type"] == "text"
            for a in b.get("annotations", [])
        ],
        "server": [
            (
                b["type"],
                b.get("name"),
                b.get("args"),
                b.get("tool_call_id"),
                b.get("output"),
                b.get("status"),
            )
            for b in blocks
            if b["type"].startswith("server_tool")
        ],
        "usage": message.usage_metadata,
        "stop": message.response_metadata["stopReason"],
    }


EXPECTED = {
    "text": "They get 20 days",
    "tool_calls": [("t1", "lookup", {"q": "leave"})],
    "reasoning": [("Hmm.", "SIG")],
    "citations": [("policy", "Employees get 20 days.")],
    "server": [
        ("server_tool_call", "nova_code_interpreter", {"code": "1+1"}, None, None, None),
        ("server_tool_result", None, None, "s1", [{"text": "2"}], "success"),
    ],
    "usage": {
        "input_tokens": 1510,
        "output_tokens": 20,
        "total_tokens": 1530,
        "input_token_details": {"cache_read": 1000, "cache_creation": 500},
    },
    "stop": "tool_use",
}


def test_final_message_has_every_kind_of_content() -> None:
    assert summary(invoked(EVENTS)) == EXPECTED


@pytest.mark.parametrize("per_event", [True, False])
def test_streamed_sum_equals_final_message(per_event: bool) -> None:
    assert summary(streamed(EVENTS, per_event)) == EXPECTED


def test_client_tool_input_goes_to_tool_call_chunks_not_content() -> None:
    stream = Accumulator()
    deltas = [d for e in EVENTS[10:13] for d in stream.feed(e)]
    chunk, text = chunk_from_deltas(deltas)
    assert text == ""
    assert chunk.tool_call_chunks == [
        {
            "name": "lookup",
            "args": '{"q": "leave"}',
            "id": "t1",
            "index": 3,
            "type": "tool_call_chunk",
        }
    ]
    assert chunk.content == [{"type": "tool_use", "id": "t1", "name": "lookup", "index": 3}]


def test_one_text_block_is_a_plain_string() -> None:
    events = [
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hi"}}},
        {"messageStop": {"stopReason": "end_turn"}},
    ]
    message = invoked(events)
    assert message.content == "Hi"
    assert message.usage_metadata is None


def test_invalid_tool_input_becomes_an_invalid_tool_call() -> None:
    events = [
        {
            "contentBlockStart": {
                "contentBlockIndex": 0,
                "start": {"toolUse": {"toolUseId": "t9", "name": "f"}},
            }
        },
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"a": 1'}}}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "max_tokens"}},
    ]
    message = invoked(events)
    assert message.tool_calls == []
    [bad] = message.invalid_tool_calls
    assert (bad["id"], bad["name"], bad["args"]) == ("t9", "f", '{"a": 1')
    assert "max_tokens" in bad["error"]
    assert not any(isinstance(b, dict) and b.get("type") == "tool_use" for b in message.content)


def test_redacted_reasoning_is_kept_as_bytes() -> None:
    events = [
        {
            "contentBlockDelta": {
                "contentBlockIndex": 0,
                "delta": {"reasoningContent": {"redactedContent": b"\x00\x01"}},
            }
        },
        {"messageStop": {"stopReason": "end_turn"}},
    ]
    message = invoked(events)
    assert message.content == [
        {"type": "reasoning_content", "reasoning_content": {"redacted_content": b"\x00\x01"}}
    ]
    [block] = message.content_blocks
    assert block["type"] == "reasoning"
    assert block["extras"]["redacted_content"] == b"\x00\x01"


def test_usage_splits_cache_writes_by_ttl() -> None:
    usage = usage_metadata(
        {
            "inputTokens": 5,
            "outputTokens": 7,
            "cacheWriteInputTokens": 300,
            "cacheDetails": [{"ttl": "5m", "inputTokens": 100}, {"ttl": "1h", "inputTokens": 200}],
        }
    )
    assert usage == {
        "input_tokens": 305,
        "output_tokens": 7,
        "total_tokens": 312,
        "input_token_details": {
            "cache_read": 0,
            "cache_creation": 300,
            "ephemeral_5m_input_tokens": 100,
            "ephemeral_1h_input_tokens": 200,
        },
    }


@pytest.mark.parametrize("how", ["invoked", "streamed per event", "streamed in one burst"])
def test_answer_sent_back_is_what_bedrock_returned(how: str) -> None:
    """Round trip: the assistant turn built from our message equals Converse's own content."""
    from langchain_core.messages import HumanMessage

    from langchain_bedrock_stream._request import to_converse_messages

    stream = Accumulator()
    for event in EVENTS:
        stream.feed(event)
    converse_content = stream.response().content
    # Client tool calls go back without Bedrock's default "type": "tool_use" marker (as every
    # recorded follow-up request has them); server tool blocks keep their types.
    del converse_content[3]["toolUse"]["type"]
    message = {
        "invoked": lambda: invoked(EVENTS),
        "streamed per event": lambda: streamed(EVENTS, per_event=True),
        "streamed in one burst": lambda: streamed(EVENTS, per_event=False),
    }[how]()
    _, turns = to_converse_messages([HumanMessage("q"), message], model_id=MODEL)
    assert turns[1]["role"] == "assistant"
    assert turns[1]["content"] == converse_content
