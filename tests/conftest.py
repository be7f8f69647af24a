"""Shared fixtures: fake AWS credentials, no AWS config files, and vcrpy replay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import vcr

CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"


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
