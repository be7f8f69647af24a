"""Agents: ``langchain.agents.create_agent`` runs the recorded agent loop, and a streamed
agent run on the loopback server streams the tool call and the answer."""

from __future__ import annotations

import json

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langchain_core.tools import tool

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer, make_simulator_responder
from tests.conftest import replayer
from tests.loopback.test_recordings_replay import model_for
from tests.support.recordings import RECORDINGS, load, requires_recordings


@tool
def get_weather(location: str) -> str:
    """Get the weather for a location."""
    return "It's sunny."


@requires_recordings
def test_create_agent_runs_the_recorded_agent_loop() -> None:
    name = "test_agent_loop[v0].yaml"
    interactions = load(name)["interactions"]
    recorded_answer = json.loads(interactions[1]["response"]["body"]["string"])
    model = model_for(interactions[0]["request"]["uri"])
    agent = create_agent(model, tools=[get_weather])
    with replayer().use_cassette(str(RECORDINGS / name)) as cassette:
        state = agent.invoke(
            {"messages": [{"role": "user", "content": "What is the weather in San Francisco, CA?"}]}
        )
        assert cassette.play_count == 2
    messages = state["messages"]
    call = messages[1]
    assert isinstance(call, AIMessage)
    assert call.tool_calls[0]["name"] == "get_weather"
    assert call.tool_calls[0]["args"] == {"location": "San Francisco, CA"}
    assert isinstance(messages[2], ToolMessage)
    assert messages[2].content == "It's sunny."
    final = messages[-1]
    assert final.text == recorded_answer["output"]["message"]["content"][0]["text"]
    assert final.usage_metadata["output_tokens"] == recorded_answer["usage"]["outputTokens"]


def test_streamed_agent_run_streams_tool_call_and_answer() -> None:
    @tool
    def get_weather_city(city: str) -> str:
        """Get the weather for a city."""
        return f"Sunny and 22C in {city}."

    with BedrockWireServer(responder=make_simulator_responder(delay=0.002)) as server:
        model = ChatBedrockStream(
            model="us.amazon.nova-micro-v1:0",
            region_name="us-east-1",
            endpoint_url=server.endpoint_url,
        )
        agent = create_agent(model, tools=[get_weather_city])
        streamed = list(
            agent.stream(
                {"messages": [{"role": "user", "content": "What is the weather in Paris?"}]},
                stream_mode="messages",
            )
        )
    chunks = [m for m, meta in streamed if isinstance(m, AIMessageChunk)]
    tool_chunks = [c for c in chunks if c.tool_call_chunks]
    assert tool_chunks, "the tool call was not streamed"
    assert tool_chunks[0].tool_call_chunks[0]["name"] == "get_weather_city"
    tool_results = [m for m, meta in streamed if isinstance(m, ToolMessage)]
    assert tool_results[0].content == "Sunny and 22C in Paris."
    answer_text = "".join(c.text for c in chunks if not c.tool_call_chunks)
    assert "Sunny and 22C in Paris." in answer_text
    # both model calls went over ConverseStream
    assert [r.operation for r in server.requests] == ["converse-stream", "converse-stream"]


def test_streamed_agent_chunks_share_their_run_id_and_are_not_repeated() -> None:
    @tool
    def get_weather_city(city: str) -> str:
        """Get the weather for a city."""
        return f"Sunny in {city}."

    with BedrockWireServer(responder=make_simulator_responder()) as server:
        model = ChatBedrockStream(
            model="us.amazon.nova-micro-v1:0",
            region_name="us-east-1",
            endpoint_url=server.endpoint_url,
        )
        agent = create_agent(model, tools=[get_weather_city])
        streamed = [
            message
            for message, _ in agent.stream(
                {"messages": [{"role": "user", "content": "What is the weather in Paris?"}]},
                stream_mode="messages",
            )
            if isinstance(message, AIMessage)
        ]
    # one id per model call, the same on every chunk of that call
    ids = [m.id for m in streamed]
    assert all(i and i.startswith("lc_run-") for i in ids)
    assert len(set(ids)) == 2
    # the finished answer is not sent again as a whole message after its chunks
    assert all(isinstance(m, AIMessageChunk) for m in streamed)
