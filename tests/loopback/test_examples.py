"""The examples run offline: each ``main(argv)`` called in this process on the local
simulator, with no AWS credentials in the environment, returns 0 and prints what it promises.
One run goes through ``python examples/demo.py`` itself, as the README's first command does;
it and the multiprocess example start fresh interpreters, so they are marked ``slow``
(deselected by default, run by CI with ``-m slow``).

A few runs take the Amazon Bedrock path instead (fake credentials in the environment) with
boto3's ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` pointing at a local server in this process, to
check what the examples send and how they report an error."""

from __future__ import annotations

import ast
import importlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_bedrock_stream import testing
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    ErrorReply,
    RecordedRequest,
    make_simulator_responder,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SIMULATOR = "running against the local Bedrock-wire simulator; answers are scripted."
NOTICE = f"No AWS credentials found: {SIMULATOR}"
FORCED = f"--simulator given: {SIMULATOR}"
REQUEST_ID = re.compile(r"request id \(final answer\): [0-9a-f-]{36}")

OFFLINE_RUNS: dict[str, list[str]] = {
    "demo": [],  # no --simulator: it must find no credentials
    "streaming_chat": ["--simulator"],
    "async_many_streams": ["--simulator"],
    "agent": ["--simulator"],
    "structured_output": ["--simulator"],
    "citations": ["--simulator"],
    "reasoning": ["--simulator"],
    "cost_totals": ["--simulator"],
    "multiprocess_streams": ["--simulator", "--workers", "2", "--streams", "6"],
}


@pytest.fixture(autouse=True)
def _examples(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The examples importable as they import each other (``import _common``); no AWS
    credentials or model choice in the environment; the simulator unpaced (its pacing
    only makes streaming visible to a person)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    for key in list(os.environ):
        if key.startswith("AWS_") or key in ("BEDROCK_MODEL", "BEDROCK_CLAUDE_MODEL"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)

    def unpaced(delay: float = 0.0, **kwargs: Any) -> Any:
        return make_simulator_responder(**kwargs)

    monkeypatch.setattr(testing, "make_simulator_responder", unpaced)
    yield


CHECKED_ELSEWHERE = {
    "boto3_only": "tests/loopback/test_standalone_example.py",  # no LangChain, so no _common.run
    "ray_batch": "tests/loopback/test_ray_batch.py",  # needs a Ray instance
}


def run(
    capsys: pytest.CaptureFixture[str], name: str, *argv: str, exit_code: int = 0
) -> tuple[str, str]:
    """Call ``examples/<name>.py``'s ``main(argv)`` as its ``__main__`` block does; check the
    exit code; its output and error output."""
    module = importlib.import_module(name)
    capsys.readouterr()
    code = module._common.run(module.main, list(argv))
    out, err = capsys.readouterr()
    assert code == exit_code, f"exit code {code}\n{out}\n{err}"
    assert "Traceback" not in err, err
    return out, err


def example(capsys: pytest.CaptureFixture[str], name: str) -> str:
    """The output of an example's offline run, which must say first that it is offline."""
    output, _ = run(capsys, name, *OFFLINE_RUNS[name])
    assert output.splitlines()[0] == (NOTICE if "--simulator" not in OFFLINE_RUNS[name] else FORCED)
    return output


def live_env(monkeypatch: pytest.MonkeyPatch, server: BedrockWireServer) -> None:
    """Credentials in the environment (so the examples take the Amazon Bedrock path), and
    boto3's endpoint override sending that path to a local server instead."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLETESTONLY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-not-real")
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", server.endpoint_url)


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
    capsys: pytest.CaptureFixture[str],
) -> None:
    check_demo_output(example(capsys, "demo"))


def test_demo_without_rich(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "rich" or m.startswith("rich.")] or ["rich"]:
        monkeypatch.setitem(sys.modules, name, None)  # an import of rich now fails
    output, _ = run(capsys, "demo", "--simulator")
    assert output.splitlines()[0] == FORCED
    assert "== Summary ==" in output
    check_demo_output(output)


@pytest.mark.slow
def test_demo_script_runs_as_the_readme_says() -> None:
    """``python examples/demo.py`` in a fresh process, with no AWS credentials."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_EC2_METADATA_DISABLED="true", PYTHONIOENCODING="utf-8")
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    done = subprocess.run(
        [sys.executable, "examples/demo.py"],
        cwd=EXAMPLES.parent,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.splitlines()[0] == NOTICE
    check_demo_output(done.stdout)


def test_demo_takes_the_bedrock_path_with_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with BedrockWireServer(responder=make_simulator_responder()) as server:
        live_env(monkeypatch, server)
        output, _ = run(capsys, "demo")
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


def test_demo_reports_a_bedrock_error_briefly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def deny(request: RecordedRequest) -> ErrorReply:
        return ErrorReply(403, "AccessDeniedException", "You don't have access to the model.")

    with BedrockWireServer(responder=deny) as server:
        live_env(monkeypatch, server)
        _, errors = run(capsys, "demo", exit_code=1)
    assert "Bedrock call failed: AccessDeniedException (HTTP 403)" in errors
    assert "or run with --simulator" in errors


def test_model_and_region_from_env_and_flags(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with BedrockWireServer(responder=make_simulator_responder()) as server:
        live_env(monkeypatch, server)
        monkeypatch.setenv("BEDROCK_MODEL", "us.amazon.nova-lite-v1:0")
        output, _ = run(capsys, "structured_output", "--region", "eu-west-1")
        (request,) = server.requests
    assert "us.amazon.nova-lite-v1:0 in eu-west-1" in output.splitlines()[0]
    assert request.model_id == "us.amazon.nova-lite-v1:0"
    assert "/eu-west-1/bedrock/aws4_request" in request.headers["authorization"]


def test_reasoning_and_citations_requests(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with BedrockWireServer(responder=make_simulator_responder()) as server:
        live_env(monkeypatch, server)
        run(capsys, "reasoning")
        sonnet = "us.anthropic.claude-sonnet-4-20250514-v1:0"
        run(capsys, "citations", "--model", sonnet)
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


def test_streaming_chat(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # not a terminal: the scripted turns
    output = example(capsys, "streaming_chat")
    assert output.count("you> ") == 2
    assert 'bot> Hello! You asked: "Why did you pick that name? One sentence."' in output
    assert "Chat over after 2 turns; the history holds 5 messages." in output


def test_async_many_streams(capsys: pytest.CaptureFixture[str]) -> None:
    output = example(capsys, "async_many_streams")
    assert re.search(r"^50 concurrent streams finished in \d+\.\d\d s of wall time", output, re.M)
    assert re.search(r"tokens: [\d,]+ input \+ [\d,]+ output = [\d,]+ total; cost \$", output)


def test_agent(capsys: pytest.CaptureFixture[str]) -> None:
    output = example(capsys, "agent")
    assert "[step model] asks for get_weather(city='Lisbon')" in output
    assert "[step tools] get_weather returned: Lisbon: sunny, 21 °C" in output
    assert "assistant: Here is what I found: Lisbon: sunny" in output


def test_structured_output(capsys: pytest.CaptureFixture[str]) -> None:
    output = example(capsys, "structured_output")
    assert "Parsed CityFacts:" in output
    assert "  name: 'Lisbon'" in output
    assert "  population_millions: 1.0" in output
    assert "  landmarks: ['Lisbon']" in output


def test_citations(capsys: pytest.CaptureFixture[str]) -> None:
    output = example(capsys, "citations")
    assert "content_blocks:\n  [1] text: 'Hello! You asked:" in output
    assert "No citations: the local simulator does not produce them" in output


def test_reasoning(capsys: pytest.CaptureFixture[str]) -> None:
    output = example(capsys, "reasoning")
    assert "[answer] Hello! You asked:" in output
    assert "No reasoning blocks: the local simulator does not produce reasoning" in output


def test_cost_totals(capsys: pytest.CaptureFixture[str]) -> None:
    output = example(capsys, "cost_totals")
    assert re.search(r"^Bedrock usage: 7 calls, [\d,]+ tokens, \$0\.\d{6}$", output, re.M)
    assert re.search(r"^  us\.amazon\.nova-micro-v1:0: 6 calls, in \d+, out \d+, \$", output, re.M)
    assert re.search(r"^  us\.amazon\.nova-lite-v1:0: 1 call, in \d+, out \d+, \$", output, re.M)


@pytest.mark.slow  # worker processes start afresh
def test_multiprocess_streams(capsys: pytest.CaptureFixture[str]) -> None:
    output = example(capsys, "multiprocess_streams")
    assert re.search(r"The model pickles to [\d,]+ bytes", output)
    assert re.search(r"^6 streams over [12] worker processes", output, re.M)
    assert re.search(r"^Totals: \d+ chunks, [\d,]+ tokens, \$0\.\d+", output, re.M)


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("[!_]*.py")), ids=lambda p: p.name)
def test_every_example_has_a_docstring_and_main(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstring = ast.get_docstring(tree)
    assert docstring and f"examples/{path.name}" in docstring, "say how to run it"
    (main,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert [a.arg for a in main.args.args] == ["argv"], "main(argv) runs it in-process"
    checked = path.stem in OFFLINE_RUNS or path.stem in CHECKED_ELSEWHERE
    assert checked, "add it to OFFLINE_RUNS and check its output"
