"""Importing the package: no dependence on langchain-core's private modules, no change to
langchain-core's own tables; what those used to provide still works."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from langchain_core.runnables import RunnableConfig, RunnableLambda

from langchain_bedrock_stream.testing import BedrockWireServer, StreamReply

from .events import text_events
from .loopback import model_on


def python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter; it must exit 0."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_the_package_imports_without_langchain_cores_private_streaming_module() -> None:
    python(
        "import sys\n"
        "import langchain_core.language_models.chat_models, langchain_core.tracers.event_stream\n"
        # as if a later langchain-core had moved it
        "sys.modules['langchain_core.tracers._streaming'] = None\n"
        "from langchain_bedrock_stream import ChatBedrockStream\n"
    )


async def test_invoke_streams_for_langchains_streaming_tracers(server: BedrockWireServer) -> None:
    server.enqueue(StreamReply(text_events(["Hel", "lo"])))
    model = model_on(server)

    async def call(question: str, config: RunnableConfig) -> Any:
        return await model.ainvoke(question, config)  # invoke, not stream

    events = [
        event
        async for event in RunnableLambda(call).astream_events("hi", version="v2")
        if event["event"] == "on_chat_model_stream"
    ]
    assert "".join(event["data"]["chunk"].text for event in events) == "Hello"
    assert [request.operation for request in server.requests] == ["converse-stream"]
