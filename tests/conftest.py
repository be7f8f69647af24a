"""Shared fixtures: fake AWS credentials, no AWS config files, vcrpy replay, a loopback
Bedrock-wire server, and ``--cpu-load N`` to run the session beside N busy processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import vcr

from langchain_bedrock_stream import pricing
from langchain_bedrock_stream.testing import BedrockWireServer

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"

_SPIN = "while True: pass"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-load",
        type=int,
        default=0,
        metavar="N",
        help="keep N busy processes running during the session, to check that no test "
        "depends on how fast the machine is",
    )


@pytest.fixture(scope="session", autouse=True)
def _cpu_load(request: pytest.FixtureRequest) -> Iterator[None]:
    """``--cpu-load N``: N processes spinning on the CPU until the session ends."""
    count = int(request.config.getoption("--cpu-load"))
    busy = [
        subprocess.Popen([sys.executable, "-c", _SPIN], stdin=subprocess.DEVNULL)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for process in busy:
            process.kill()
        for process in busy:
            process.wait()


def pytest_report_header(config: pytest.Config) -> str | None:
    count = config.getoption("--cpu-load")
    return f"cpu load: {count} busy processes" if count else None


@pytest.fixture(autouse=True)
def _offline_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials only; never a real profile, config file or instance metadata."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_BEARER_TOKEN_BEDROCK",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLETESTONLY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret-not-real")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def replayer() -> vcr.VCR:
    """vcrpy in replay-only mode, matching as the recordings README says."""
    return vcr.VCR(
        record_mode="none",
        match_on=["method", "host", "path"],
        decode_compressed_response=False,
    )


@pytest.fixture
def replay() -> Iterator[vcr.VCR]:
    """A replay-only VCR."""
    yield replayer()


@pytest.fixture
def server() -> Iterator[BedrockWireServer]:
    """A loopback Bedrock-wire server on 127.0.0.1 with nothing queued."""
    with BedrockWireServer() as running:
        yield running


@pytest.fixture
def fresh_pricing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Prices as at start-up for one test: no registered prices, no warnings issued yet, the
    bundled genai-prices data; the process-wide state is put back afterwards."""
    monkeypatch.setattr(pricing, "_registry", {})
    monkeypatch.setattr(pricing, "_tier_registry", {})
    monkeypatch.setattr(pricing, "_registry_version", pricing._registry_version + 1)
    monkeypatch.setattr(pricing, "_warned", set())
    monkeypatch.setattr(pricing, "_genai_live", False)
    pricing._resolve.cache_clear()
    yield
    pricing._resolve.cache_clear()


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording's VCR matches request bodies as ``cassette_authoring.same_body``."""
    from tests.support.cassette_authoring import same_body

    vcr.register_matcher("bedrock_body", same_body)
