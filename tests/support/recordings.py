"""Access to the real Bedrock recordings kept outside the repository.

They live in ``../shared/recordings/`` next to the checkout (override with
``BEDROCK_RECORDINGS_DIR``); tests that use them skip when the folder is absent.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

RECORDINGS = Path(
    os.environ.get("BEDROCK_RECORDINGS_DIR")
    or Path(__file__).resolve().parents[3] / "shared" / "recordings"
)


def available() -> bool:
    """True when the recordings folder is present."""
    return RECORDINGS.is_dir()


MISSING = f"real Bedrock recordings not found at {RECORDINGS} (set BEDROCK_RECORDINGS_DIR)"

requires_recordings = pytest.mark.skipif(not available(), reason=MISSING)


def cases(values: Sequence[Any], width: int = 1) -> list[Any]:
    """Parameters for ``pytest.mark.parametrize`` drawn from the recordings: ``values``, or,
    when the folder is absent, one case (of ``width`` arguments) skipped with the reason, so
    that the test shows in the report instead of vanishing from it."""
    if available():
        return list(values)
    return [pytest.param(*[None] * width, marks=pytest.mark.skip(reason=MISSING), id="absent")]


def names() -> list[str]:
    """Every recording file name (empty when the folder is absent)."""
    return sorted(p.name for p in RECORDINGS.glob("*.yaml")) if available() else []


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed cassette."""
    with (RECORDINGS / name).open() as handle:
        return yaml.load(
            handle, Loader=yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader
        )


def is_stream(interaction: dict[str, Any]) -> bool:
    """True for a converse-stream interaction."""
    return str(interaction["request"]["uri"]).endswith("/converse-stream")


def body_bytes(interaction: dict[str, Any]) -> bytes:
    """The response body as bytes."""
    body = interaction["response"]["body"]["string"]
    return body if isinstance(body, bytes) else body.encode()


def stream_bodies() -> list[tuple[str, bytes]]:
    """(name, body) of every successful converse-stream response."""
    out = []
    for name in names():
        for number, interaction in enumerate(load(name)["interactions"]):
            if is_stream(interaction) and interaction["response"]["status"]["code"] == 200:
                out.append((f"{name}#{number}", body_bytes(interaction)))
    return out
