"""An agent (``langchain.agents.create_agent``) on ChatBedrockStream, streaming its steps.

    .venv/bin/pip install langchain        # create_agent lives in the langchain package
    .venv/bin/python examples/agent.py               # Amazon Bedrock or simulator
    .venv/bin/python examples/agent.py --simulator   # offline

The agent has one tool, ``get_weather(city)``. ``agent.stream(..., stream_mode=["messages",
"updates"])`` delivers both the model's tokens as they arrive (``messages``) and each
finished step (``updates``): the model asking for the tool, the tool's answer, the final
answer.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import _common
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langchain_core.tools import tool


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    # A local stub with made-up numbers, so the example needs no weather service.
    return f"{city}: sunny, 21 °C, light breeze (stub data)"


QUESTION = "What is the weather like in Lisbon today? Do I need an umbrella?"


def main(argv: Sequence[str] | None = None) -> int:
    args = _common.parser(__doc__).parse_args(argv)
    with _common.bedrock(args, delay=0.01) as target:
        agent = create_agent(
            target.chat_model(max_tokens=400),
            tools=[get_weather],
            system_prompt="You are a helpful assistant. Use tools for live data. Be brief.",
        )
        print(f"user: {QUESTION}")
        streaming_line = False
        final: AIMessage | None = None
        for mode, data in agent.stream(
            {"messages": [("user", QUESTION)]}, stream_mode=["messages", "updates"]
        ):
            if mode == "messages":
                chunk, _metadata = data
                # Tokens only; whole messages are reported below as steps.
                if isinstance(chunk, AIMessageChunk) and chunk.text:
                    if not streaming_line:
                        print("  model (streaming): ", end="")
                        streaming_line = True
                    print(chunk.text, end="", flush=True)
                continue
            if streaming_line:
                print()
                streaming_line = False
            for node, update in data.items():
                for message in (update or {}).get("messages", []):
                    if isinstance(message, AIMessage):
                        final = message
                        for call in message.tool_calls:
                            shown = ", ".join(f"{k}={v!r}" for k, v in call["args"].items())
                            print(f"[step {node}] asks for {call['name']}({shown})")
                        if not message.tool_calls:
                            stop = message.response_metadata.get("stopReason")
                            print(f"[step {node}] answers (stop reason: {stop})")
                    elif isinstance(message, ToolMessage):
                        print(f"[step {node}] {message.name} returned: {message.content}")
        if final is None:
            print("The agent produced no answer.")
            return 1
        print(f"assistant: {final.text}")
    return 0


if __name__ == "__main__":
    sys.exit(_common.run(main))
