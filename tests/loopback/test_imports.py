"""Importing the package: no dependence on langchain-core's private modules, no change to
langchain-core's own tables; what those used to provide still works."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest
from langchain_core.load import dumpd, load
from langchain_core.runnables import RunnableConfig, RunnableLambda

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer, StreamReply
from tests.support.events import text_events
from tests.support.loopback import model_on


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


def test_importing_leaves_langchain_cores_loading_tables_alone() -> None:
    python(
        "import copy, importlib\n"
        "from langchain_core.load import mapping\n"
        "loading = importlib.import_module('langchain_core.load.load')\n"
        "loading._get_default_allowed_class_paths('all')\n"
        "tables = lambda: copy.deepcopy([mapping.SERIALIZABLE_MAPPING,\n"
        "    loading.ALL_SERIALIZABLE_MAPPINGS, loading._default_class_paths_cache])\n"
        "before = tables()\n"
        "from langchain_bedrock_stream import ChatBedrockStream\n"
        "assert tables() == before\n"
    )


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_a_serialized_model_loads_when_its_class_is_allowed() -> None:
    model = ChatBedrockStream(
        model="us.amazon.nova-micro-v1:0", region_name="eu-west-1", temperature=0.2
    )
    loaded = load(
        dumpd(model),
        allowed_objects=[ChatBedrockStream],
        valid_namespaces=["langchain_bedrock_stream"],
        secrets_from_env=True,
    )
    assert isinstance(loaded, ChatBedrockStream)
    assert (loaded.model_id, loaded.region_name, loaded.temperature) == (
        "us.amazon.nova-micro-v1:0",
        "eu-west-1",
        0.2,
    )


def test_boto3_only_streaming_loads_nothing_of_langchain(tmp_path: Any) -> None:
    """A boto3-only program (``converse_stream`` with tools, a throttled attempt retried, a
    ``converse`` call, a failure) runs on the core alone: no ``langchain_core`` module is
    loaded, and its errors are the package's typed errors without LangChain's types."""
    from langchain_bedrock_stream.testing import BedrockWireServer
    from langchain_bedrock_stream.testing._scripted import (
        error_reply,
        text_answer,
        tool_call_answer,
    )

    script = tmp_path / "boto3_only.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys
            os.environ.update(AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b")
            import boto3
            from botocore.config import Config
            from langchain_bedrock_stream import (
                BedrockRateLimitError, RetryPolicy, BedrockToolCall, converse, converse_stream,
            )
            client = boto3.client("bedrock-runtime", region_name="us-east-1",
                                  endpoint_url=sys.argv[1],
                                  config=Config(retries={"total_max_attempts": 1}))
            tools = {"tools": [{"toolSpec": {"name": "get_weather",
                     "inputSchema": {"json": {"type": "object"}}}}]}
            messages = [{"role": "user", "content": [{"text": "Weather?"}]}]
            policy = RetryPolicy(max_retries=2, initial_delay=0.01, max_delay=0.02)
            stream = converse_stream(client, modelId="us.amazon.nova-micro-v1:0",
                                     messages=messages, toolConfig=tools, retry_policy=policy)
            calls = [item for item in stream if isinstance(item, BedrockToolCall)]
            assert [c.name for c in calls] == ["get_weather"], calls
            answer = converse(client, modelId="us.amazon.nova-micro-v1:0", messages=messages)
            assert answer.text == "Sunny."
            try:
                converse(client, modelId="us.amazon.nova-micro-v1:0", messages=messages,
                         retry_policy=RetryPolicy(max_retries=0))
            except BedrockRateLimitError as error:
                assert not any(c.__module__.startswith("langchain_core")
                               for c in type(error).__mro__), type(error).__mro__
            else:
                raise AssertionError("no error")
            print(sorted(m for m in sys.modules if m.startswith("langchain_core")))
            """
        )
    )
    replies = [
        error_reply("throttling"),
        tool_call_answer("get_weather", {"city": "Oslo"}).stream_reply(),
        text_answer("Sunny.").json_reply(),
        error_reply("throttling"),
    ]
    with BedrockWireServer(replies) as server:
        result = subprocess.run(
            [sys.executable, str(script), server.endpoint_url],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
