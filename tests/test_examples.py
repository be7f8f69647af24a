"""The examples run offline: each as a subprocess on the local simulator, with no AWS
credentials in its environment, exits 0 and prints what it promises.

A few runs take the Amazon Bedrock path instead (fake credentials in the environment) with
boto3's ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` pointing at a local server in this process, to
check what the examples send and how they report an error."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    ErrorReply,
    RecordedRequest,
    make_simulator_responder,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SIMULATOR = "running against the local Bedrock-wire simulator; answers are scripted."
NOTICE = f"No AWS credentials found: {SIMULATOR}"
FORCED = f"--simulator given: {SIMULATOR}"
Runs = dict[str, Future[subprocess.CompletedProcess[str]]]
REQUEST_ID = re.compile(r"request id \(final answer\): [0-9a-f-]{36}")


def offline_env(tmp_path: Path) -> dict[str, str]:
    """This environment without AWS credentials, profiles, config or instance metadata."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_") and key not in ("BEDROCK_MODEL", "BEDROCK_CLAUDE_MODEL")
    }
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_CONFIG_FILE"] = str(tmp_path / "no-aws-config")
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-aws-credentials")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def run(
    tmp_path: Path,
    *args: str,
    code: str | None = None,
    env: dict[str, str] | None = None,
    exit_code: int = 0,
) -> subprocess.CompletedProcess[str]:
    """Run an example (or ``python -c code``) from the repository root; check its exit code."""
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, *args]
    done = subprocess.run(
        command,
        cwd=EXAMPLES.parent,
        env={**offline_env(tmp_path), **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert done.returncode == exit_code, (
        f"exit code {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


DEMO_WITHOUT_RICH = (
    "import runpy, sys; sys.modules['rich'] = None; sys.path.insert(0, 'examples'); "
    "sys.argv[0] = 'examples/demo.py'; runpy.run_path(sys.argv[0], run_name='__main__')"
)
OFFLINE_RUNS: dict[str, tuple[list[str], str | None]] = {
    "demo": (["examples/demo.py"], None),  # no --simulator: it must find no credentials
    "demo without rich": (["--simulator"], DEMO_WITHOUT_RICH),
    "streaming_chat": (["examples/streaming_chat.py", "--simulator"], None),
    "async_many_streams": (["examples/async_many_streams.py", "--simulator"], None),
    "agent": (["examples/agent.py", "--simulator"], None),
    "structured_output": (["examples/structured_output.py", "--simulator"], None),
    "citations": (["examples/citations.py", "--simulator"], None),
    "reasoning": (["examples/reasoning.py", "--simulator"], None),
    "cost_totals": (["examples/cost_totals.py", "--simulator"], None),
    "boto3_only": (["examples/boto3_only.py", "--simulator"], None),
    "multiprocess_streams": (
        ["examples/multiprocess_streams.py", "--simulator", "--workers", "2", "--streams", "6"],
        None,
    ),
}

#: Examples whose offline run is checked in another test file (they need an optional extra).
CHECKED_ELSEWHERE = {"ray_batch": "tests/test_ray_batch.py"}


@pytest.fixture(scope="module")
def offline_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Runs]:
    """Every offline run, started together on first use (a few at a time) to save time."""
    tmp_path = tmp_path_factory.mktemp("examples")
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield {
            name: pool.submit(run, tmp_path, *args, code=code)
            for name, (args, code) in OFFLINE_RUNS.items()
        }


def example(runs: Runs, name: str) -> str:
    """The output of an example run with ``--simulator``, which must say so first."""
    output = runs[name].result().stdout
    assert output.splitlines()[0] == FORCED
    return output


def check_demo_output(output: str) -> None:
    assert "Q: Why is the sky blue?" in output
    assert "-> get_weather(city='Paris')" in output
    assert "<- Paris: light rain, 14 °C (stub data)" in output
    assert "A: Here is what I found: Paris: light rain, 14 °C (stub data)." in output
    for step in ("answer", "tool call", "final answer"):
        assert re.search(rf"^{step} +\d+ +\d+ +0/0 +\$0\.\d{{6}} +\d+ ms", output, re.M), step
    assert REQUEST_ID.search(output)
    total = r"^Total: 3 calls, \d+ input \+ \d+ output tokens, cost \$0\.\d+"
    assert re.search(total, output, re.M)


def test_demo_picks_the_simulator_without_credentials(
    offline_runs: Runs,
) -> None:
    output = offline_runs["demo"].result().stdout
    assert output.splitlines()[0] == NOTICE
    check_demo_output(output)


def test_demo_without_rich(
    offline_runs: Runs,
) -> None:
    output = example(offline_runs, "demo without rich")
    assert "== Summary ==" in output
    check_demo_output(output)


def live_env(server: BedrockWireServer) -> dict[str, str]:
    """Credentials in the environment (so the examples take the Amazon Bedrock path), and
    boto3's endpoint override sending that path to a local server instead."""
    return {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLETESTONLY",
        "AWS_SECRET_ACCESS_KEY": "test-secret-not-real",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": server.endpoint_url,
    }


def test_demo_takes_the_bedrock_path_with_credentials(tmp_path: Path) -> None:
    with BedrockWireServer(responder=make_simulator_responder()) as server:
        output = run(tmp_path, "examples/demo.py", env=live_env(server)).stdout
        requests = server.requests
    assert output.splitlines()[0] == (
        "Calling Amazon Bedrock: us.amazon.nova-micro-v1:0 in us-east-1 (AWS credentials from env)."
    )
    check_demo_output(output)
    assert [r.operation for r in requests] == ["converse-stream"] * 3
    assert {r.model_id for r in requests} == {"us.amazon.nova-micro-v1:0"}
    tools = requests[1].body["toolConfig"]["tools"]
    assert [t["toolSpec"]["name"] for t in tools] == ["get_weather"]
    result = requests[2].body["messages"][-1]["content"][0]["toolResult"]
    assert result["content"] == [{"text": "Paris: light rain, 14 °C (stub data)"}]


def test_demo_reports_a_bedrock_error_briefly(tmp_path: Path) -> None:
    def deny(request: RecordedRequest) -> ErrorReply:
        return ErrorReply(403, "AccessDeniedException", "You don't have access to the model.")

    with BedrockWireServer(responder=deny) as server:
        done = run(tmp_path, "examples/demo.py", env=live_env(server), exit_code=1)
    assert "Traceback" not in done.stderr
    assert "Bedrock call failed: AccessDeniedException (HTTP 403)" in done.stderr
    assert "or run with --simulator" in done.stderr


def test_model_and_region_from_env_and_flags(tmp_path: Path) -> None:
    with BedrockWireServer(responder=make_simulator_responder()) as server:
        env = {**live_env(server), "BEDROCK_MODEL": "us.amazon.nova-lite-v1:0"}
        output = run(tmp_path, "examples/structured_output.py", "--region", "eu-west-1", env=env)
        (request,) = server.requests
    assert "us.amazon.nova-lite-v1:0 in eu-west-1" in output.stdout.splitlines()[0]
    assert request.model_id == "us.amazon.nova-lite-v1:0"
    assert "/eu-west-1/bedrock/aws4_request" in request.headers["authorization"]


def test_reasoning_and_citations_requests(tmp_path: Path) -> None:
    with BedrockWireServer(responder=make_simulator_responder()) as server:
        run(tmp_path, "examples/reasoning.py", env=live_env(server))
        sonnet = "us.anthropic.claude-sonnet-4-20250514-v1:0"
        run(tmp_path, "examples/citations.py", "--model", sonnet, env=live_env(server))
        reasoning, citations = server.requests
    assert reasoning.model_id == "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    assert citations.model_id == sonnet
    assert reasoning.body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 1024}
    }
    assert reasoning.body["inferenceConfig"]["maxTokens"] > 1024
    document = citations.body["messages"][0]["content"][0]["document"]
    assert document["citations"] == {"enabled": True}
    assert document["source"]["text"].startswith("The Lisbon tram line 28")


def test_streaming_chat(offline_runs: Runs) -> None:
    output = example(offline_runs, "streaming_chat")
    assert output.count("you> ") == 2
    assert 'bot> Hello! You asked: "Why did you pick that name? One sentence."' in output
    assert "Chat over after 2 turns; the history holds 5 messages." in output


def test_async_many_streams(offline_runs: Runs) -> None:
    output = example(offline_runs, "async_many_streams")
    assert re.search(r"^50 concurrent streams finished in \d+\.\d\d s of wall time", output, re.M)
    assert re.search(r"tokens: [\d,]+ input \+ [\d,]+ output = [\d,]+ total; cost \$", output)


def test_agent(offline_runs: Runs) -> None:
    output = example(offline_runs, "agent")
    assert "[step model] asks for get_weather(city='Lisbon')" in output
    assert "[step tools] get_weather returned: Lisbon: sunny, 21 °C" in output
    assert "assistant: Here is what I found: Lisbon: sunny" in output


def test_structured_output(offline_runs: Runs) -> None:
    output = example(offline_runs, "structured_output")
    assert "Parsed CityFacts:" in output
    assert "  name: 'Lisbon'" in output
    assert "  population_millions: 1.0" in output
    assert "  landmarks: ['Lisbon']" in output


def test_citations(offline_runs: Runs) -> None:
    output = example(offline_runs, "citations")
    assert "content_blocks:\n  [1] text: 'Hello! You asked:" in output
    assert "No citations: the local simulator does not produce them" in output


def test_reasoning(offline_runs: Runs) -> None:
    output = example(offline_runs, "reasoning")
    assert "[answer] Hello! You asked:" in output
    assert "No reasoning blocks: the local simulator does not produce reasoning" in output


def test_cost_totals(offline_runs: Runs) -> None:
    output = example(offline_runs, "cost_totals")
    assert re.search(r"^Bedrock usage: 7 calls, [\d,]+ tokens, \$0\.\d{6}$", output, re.M)
    assert re.search(r"^  us\.amazon\.nova-micro-v1:0: 6 calls, in \d+, out \d+, \$", output, re.M)
    assert re.search(r"^  us\.amazon\.nova-lite-v1:0: 1 call, in \d+, out \d+, \$", output, re.M)


def test_multiprocess_streams(offline_runs: Runs) -> None:
    output = example(offline_runs, "multiprocess_streams")
    assert re.search(r"The model pickles to [\d,]+ bytes", output)
    assert re.search(r"^6 streams over [12] worker processes", output, re.M)
    assert re.search(r"^Totals: \d+ chunks, [\d,]+ tokens, \$0\.\d+", output, re.M)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("[!_]*.py")), ids=lambda p: p.name)
def test_every_example_has_a_docstring_and_main(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree)
    assert docstring and f"examples/{path.name}" in docstring, "say how to run it"
    assert any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body)
    checked = path.stem in OFFLINE_RUNS or path.stem in CHECKED_ELSEWHERE
    assert checked, "add it to OFFLINE_RUNS and check its output"
