"""Replayed requests match recorded ones on every Python the package supports."""

from __future__ import annotations

import json
from typing import Any

import pytest
from vcr.request import Request

from tests.support.cassette_authoring import same_body

URI = "https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse"


def request(description: str, text: str = "hi") -> Request:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": [{"text": text}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": "add", "description": description}}]},
        "outputConfig": {"schema": json.dumps({"description": description})},
    }
    return Request("POST", URI, json.dumps(body).encode(), {})


INDENTED = "Add two integers.\n\n    Takes a and b.\n    "  # a docstring before Python 3.13
DEDENTED = "Add two integers.\n\nTakes a and b.\n"  # the same docstring from 3.13 on


def test_a_docstring_matches_however_python_indented_it() -> None:
    same_body(request(INDENTED), request(DEDENTED))


@pytest.mark.parametrize(
    ("recorded", "sent"),
    [
        (request(INDENTED), request(INDENTED, text="other")),
        (request(INDENTED), request("Multiply two integers.")),
    ],
    ids=["message", "description"],
)
def test_any_other_difference_is_no_match(recorded: Request, sent: Request) -> None:
    with pytest.raises(AssertionError):
        same_body(recorded, sent)
