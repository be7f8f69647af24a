"""``examples/boto3_only.py``: a multi-turn tool conversation with boto3 and ``BedrockStream``
alone, run in-process on the simulator; every request it sends must satisfy botocore's
service model for ConverseStream."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.validate import ParamValidator

from langchain_bedrock_stream.testing import BedrockWireServer, make_simulator_responder

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "boto3_only.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("boto3_only_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check_against_service_model(request: dict[str, Any]) -> None:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    shape = model.operation_model("ConverseStream").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()


def test_the_example_runs_a_two_question_tool_conversation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert load_example().main(["--simulator"]) == 0
    output = capsys.readouterr().out
    lines = output.splitlines()
    assert lines[0].startswith("--simulator given: running against the local")
    for expected in (
        "Q: What is the weather in Paris?",
        "  -> get_weather({'city': 'Paris'})",
        "  <- Paris: light rain, 14 °C (stub data)",
        "A: Here is what I found: Paris: light rain, 14 °C (stub data).",
        "Q: And in Rome?",
        "  -> get_weather({'city': 'Rome'})",
        "A: Here is what I found: Rome: sunny, 24 °C (stub data).",
        "The conversation holds 8 messages.",
    ):
        assert expected in lines, expected
    assert output.count("[tool_use; ") == 2 and output.count("[end_turn; ") == 2
    assert "cost $0.0000" in output  # priced: the simulator's counts at Nova Micro's prices


def test_every_request_of_the_conversation_is_valid_for_botocore() -> None:
    example = load_example()
    with BedrockWireServer(responder=make_simulator_responder()) as server:
        client = boto3.client(
            "bedrock-runtime",
            endpoint_url=server.endpoint_url,
            region_name="us-east-1",
            config=Config(retries={"total_max_attempts": 1}),
        )
        messages = example.conversation(client, "us.amazon.nova-micro-v1:0", say=lambda _: None)
        requests = server.requests
    assert [r.operation for r in requests] == ["converse-stream"] * 4
    for request in requests:
        check_against_service_model({"modelId": request.model_id, **request.body})
    check_against_service_model({"modelId": "m", "messages": messages, "toolConfig": example.TOOLS})
    # Roles alternate, and every tool call is answered by its result in the next message.
    assert [m["role"] for m in messages] == ["user", "assistant"] * 4
    for asked, answered in zip(messages[1::2], messages[2::2], strict=False):
        calls = [b["toolUse"]["toolUseId"] for b in asked["content"] if "toolUse" in b]
        results = [b["toolResult"]["toolUseId"] for b in answered["content"] if "toolResult" in b]
        assert calls == results
    # The last request carried the whole history but its final answer.
    assert requests[-1].body["messages"] == messages[:-1]
