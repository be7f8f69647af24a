"""Datadog's botocore integration (``ddtrace``) sees every call, as with ChatBedrockConverse.

``ddtrace`` patches botocore process-wide, so the calls run in a fresh interpreter: it
patches botocore, keeps every finished span through ddtrace's public ``TraceFilter`` (no
agent), and makes the same calls through both classes against the loopback server; the
spans of the two must say the same.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from langchain_bedrock_stream.testing import BedrockWireServer
from langchain_bedrock_stream.testing._scripted import error_reply, text_answer

# Looked up, not imported: ddtrace runs only in the fresh interpreters below.
if importlib.util.find_spec("ddtrace") is None:
    pytest.skip("needs the telemetry test extra", allow_module_level=True)
pytest.importorskip("langchain_aws")

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys
    os.environ.update(
        AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b",
        DD_TRACE_AGENT_URL="http://127.0.0.1:9", DD_INSTRUMENTATION_TELEMETRY_ENABLED="false",
        DD_REMOTE_CONFIGURATION_ENABLED="false", DD_TRACE_STARTUP_LOGS="false",
    )
    from ddtrace import patch
    patch(botocore=True)
    from ddtrace.trace import TraceFilter, tracer

    seen = []

    class Keep(TraceFilter):
        def process_trace(self, trace):
            seen.extend(trace)
            return None  # kept here, sent nowhere

    tracer.configure(trace_processors=[Keep()])
    from botocore.config import Config
    from langchain_aws import ChatBedrockConverse
    from langchain_bedrock_stream import ChatBedrockStream

    endpoint, name, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    cls = {"ChatBedrockConverse": ChatBedrockConverse, "ChatBedrockStream": ChatBedrockStream}
    model = cls[name](
        model="us.amazon.nova-micro-v1:0", region_name="us-east-1", endpoint_url=endpoint,
        config=Config(retries={"total_max_attempts": 1}),
    )

    async def consume(path):
        if path == "astream":
            return "".join([c.text async for c in model.astream("hi")])
        return (await model.ainvoke("hi")).text

    out = []
    for path in cases:
        seen.clear()
        try:
            if path == "stream":
                text = "".join(c.text for c in model.stream("hi"))
            elif path == "invoke":
                text = model.invoke("hi").text
            else:
                text = asyncio.run(consume(path))
        except Exception as exc:
            text = type(exc).__name__
        tracer.flush()
        keep = ("bedrock", "aws.operation", "error.type")
        spans = [
            {
                "name": s.name, "resource": s.resource, "error": s.error,
                "tags": {k: v for k, v in s.get_tags().items() if k.startswith(keep)},
                "metrics": {k: v for k, v in s.get_metrics().items() if k != "process_id"},
            }
            for s in seen
        ]
        out.append({"text": text, "spans": spans})
    print(json.dumps(out))
    """
)


PATHS = ["invoke", "stream", "ainvoke", "astream"]
CASES = [(path, failing) for failing in (False, True) for path in PATHS]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, list[dict[str, Any]]]:
    """Every case through each class, in one fresh interpreter per class."""
    seen = {}
    with BedrockWireServer() as server:
        for name in ("ChatBedrockConverse", "ChatBedrockStream"):
            for path, failing in CASES:
                if failing:
                    server.enqueue(error_reply("validation", "The model rejected the request."))
                else:
                    operation = "converse-stream" if "stream" in path else "converse"
                    server.enqueue(text_answer("Hello from the loopback.").reply_for(operation))
            paths = json.dumps([path for path, _ in CASES])
            result = subprocess.run(
                [sys.executable, "-c", SCRIPT, server.endpoint_url, name, paths],
                capture_output=True,
                text=True,
                timeout=240,
            )
            assert result.returncode == 0, result.stderr
            seen[name] = json.loads(result.stdout.strip().splitlines()[-1])
    return seen


@pytest.mark.parametrize(
    ("path", "failing"), CASES, ids=[f"{p}-{'error' if f else 'answer'}" for p, f in CASES]
)
def test_datadog_records_the_same_span_as_for_chat_bedrock_converse(
    outcomes: dict[str, list[dict[str, Any]]], path: str, failing: bool
) -> None:
    case = CASES.index((path, failing))
    ours, theirs = outcomes["ChatBedrockStream"][case], outcomes["ChatBedrockConverse"][case]
    if not failing:
        assert ours["text"] == "Hello from the loopback."
    spans = ours["spans"]
    assert len(spans) == 1, spans
    assert spans[0]["resource"] == ("ConverseStream" if "stream" in path else "Converse")
    assert spans[0]["error"] == (1 if failing else 0)
    assert ours["spans"] == theirs["spans"]
