"""A chat model pointed at a loopback Bedrock-wire server, shared by the tests."""

from __future__ import annotations

from typing import Any

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer

MODEL = "us.amazon.nova-micro-v1:0"
REGION = "us-east-1"


def model_on(server: BedrockWireServer, model: str = MODEL, **kwargs: Any) -> ChatBedrockStream:
    """``ChatBedrockStream`` for ``model`` whose requests go to ``server``."""
    kwargs.setdefault("region_name", REGION)
    return ChatBedrockStream(model=model, endpoint_url=server.endpoint_url, **kwargs)


def regroups(texts: list[str], pieces: list[str]) -> bool:
    """True when ``texts`` are ``pieces`` in order, each text a run of whole pieces.

    What a burst-chunked stream promises whatever the timing: nothing lost, duplicated,
    reordered or split, however many events a read happened to take in (empty texts, from
    chunks without text, are ignored).
    """
    position = 0
    for text in texts:
        if not text:
            continue
        run = ""
        while position < len(pieces) and len(run) < len(text):
            run += pieces[position]
            position += 1
        if run != text:
            return False
    return position == len(pieces)
