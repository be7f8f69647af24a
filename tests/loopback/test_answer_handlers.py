"""botocore's own event system sees the real answer on every path.

A handler the caller registers on an event that carries the answer (``after-call``,
``response-received``, ``needs-retry``...) sees the status, headers and parsed body Bedrock
sent, on the event-loop path as on the blocking one; a client nothing watches keeps the
event-loop transport.
"""

from __future__ import annotations

from typing import Any

import pytest

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer
from langchain_bedrock_stream.testing._scripted import text_answer
from tests.loopback.test_telemetry_stacks import PATHS, _call
from tests.support.loopback import MODEL, REGION


@pytest.mark.parametrize("path", PATHS)
def test_handlers_of_the_answer_see_the_real_answer(server: BedrockWireServer, path: str) -> None:
    """``after-call`` and ``response-received`` handlers see the status, headers and
    parsed body Bedrock sent, on the event-loop path as on the blocking one."""
    seen: list[dict[str, Any]] = []

    def after_call(http_response: Any, parsed: Any, **_: Any) -> None:
        seen.append({"status": http_response.status_code, "parsed": dict(parsed)})

    model = ChatBedrockStream(
        model=MODEL, region_name=REGION, endpoint_url=server.endpoint_url, max_retries=0
    )
    model.client.meta.events.register("after-call.bedrock-runtime", after_call)
    answer = text_answer(
        "Seen by the handler.", usage={"inputTokens": 3, "outputTokens": 4, "totalTokens": 3 + 4}
    )
    server.enqueue(answer.reply_for("converse-stream" if "stream" in path else "converse"))
    outcome = _call(model, path, tools=False)
    assert not isinstance(outcome, BaseException), outcome
    assert len(seen) == 1
    assert seen[0]["status"] == 200
    headers = seen[0]["parsed"]["ResponseMetadata"]["HTTPHeaders"]
    assert headers.get("x-amzn-requestid"), headers
    assert "x-langchain-bedrock-stream-captured" not in headers
    if path in {"invoke", "ainvoke"}:
        assert seen[0]["parsed"]["usage"]["outputTokens"] == 4


def test_an_uninstrumented_client_keeps_the_fast_path(server: BedrockWireServer) -> None:
    """Without any of these stacks, nothing is seen as watching the client."""
    from langchain_bedrock_stream._capture import watcher

    model = ChatBedrockStream(model=MODEL, region_name=REGION, endpoint_url=server.endpoint_url)
    assert watcher(model.client) is None
