"""The VCR setup of the standard integration tests, and the authoring of their cassettes.

``cassettes/standard_integration/*.yaml`` are vcrpy cassettes that
``tests/compat/test_integration_standard.py`` replays (pytest-recording's ``vcr`` marker). Nobody
recorded them against AWS: they were **authored** by this module, which runs the same
tests against :class:`~langchain_bedrock_stream.testing.BedrockWireServer` (so the bytes
are the project's own event-stream encoder, through the real boto3 and HTTP stack) with
:class:`AuthoredBedrock` answering each request the way Claude on Bedrock would answer
that prompt, while vcrpy records the traffic. Requests are recorded exactly as boto3 sent
them (minus headers, see below) under the real host
``bedrock-runtime.us-east-1.amazonaws.com``; responses carry the headers AWS sends. The
media the image and PDF tests download are authored placeholders too (a small PNG with a
purple rectangle, a one-page PDF reading "Dummy PDF file"), not the files at those URLs.
Every authored cassette says so in its top-level ``comment``.

Regenerate them (deterministic: same inputs, same bytes)::

    .venv/bin/python -m tests.support.cassette_authoring

Re-record them for real, with AWS credentials in the environment and Bedrock model access
(this replaces the authored cassettes with real traffic)::

    .venv/bin/python -m pytest tests/compat/test_integration_standard.py --record-mode=rewrite

``--record-mode=once`` records only cassettes that are missing. Recording keeps no secret:
:func:`scrub_request` drops every request header except ``Content-Type`` (so
``Authorization``, ``X-Amz-Security-Token``, ``X-Amz-Date``, ``X-Amz-Content-SHA256`` and
the SDK's ids never reach a cassette) and blanks anything shaped like an AWS access key id
in a body; :func:`scrub_response` keeps only the headers replay needs.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import uuid
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcr.serializers import yamlserializer
from vcr.util import read_body

from langchain_bedrock_stream._tokens import estimate_request_tokens, estimate_text_tokens
from langchain_bedrock_stream.testing import JsonReply, RecordedRequest, Reply, StreamReply

ROOT = Path(__file__).resolve().parents[2]
CASSETTE_DIR = ROOT / "cassettes" / "standard_integration"
AUTHORING_ENV = "BEDROCK_CASSETTE_AUTHORING"
"""Set (to ``1``) while authoring: the tests then talk to a loopback server."""
HOST = "https://bedrock-runtime.us-east-1.amazonaws.com"
AUTHORED_COMMENT = (
    "AUTHORED, NOT RECORDED: written by tests/support/cassette_authoring.py with the project's "
    "own event-stream encoder and scripted Claude-like answers (media downloads are placeholders). "
    "Regenerate: python -m tests.support.cassette_authoring. Re-record against AWS: pytest "
    "tests/compat/test_integration_standard.py --record-mode=rewrite (needs AWS credentials)."
)
AUTHORED_DATE = "Mon, 02 Jun 2025 12:00:00 GMT"

# --- scrubbing (live recording and authoring alike) -------------------------------------------

_KEEP_REQUEST_HEADERS = frozenset({"content-type"})
_KEEP_RESPONSE_HEADERS = frozenset(
    {"content-type", "content-length", "date", "x-amzn-requestid", "connection"}
)
_ACCESS_KEY = re.compile(rb"\b(AKIA|ASIA)[A-Z0-9]{16}\b")
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _number_uuids(body: bytes) -> bytes:
    """Random UUIDs (tool call ids of ``tool_example_to_messages``) numbered by appearance,
    so a request matches its cassette whatever ids a run drew."""
    seen: dict[bytes, bytes] = {}

    def stable(match: re.Match[bytes]) -> bytes:
        found = match.group(0)
        if found not in seen:
            seen[found] = b"00000000-0000-4000-8000-%012d" % (len(seen) + 1)
        return seen[found]

    return _UUID.sub(stable, body)


@dataclass
class _Authoring:
    """State of an authoring run: the loopback endpoint and the test being recorded."""

    endpoint: str | None = None
    test: str = ""
    responses: int = 0


AUTHORING = _Authoring()


def authoring() -> bool:
    """True when this process authors cassettes (``BEDROCK_CASSETTE_AUTHORING=1``)."""
    return os.environ.get(AUTHORING_ENV) == "1"


def scrub_request(request: Any) -> Any:
    """The request as a cassette keeps it (and as replay matches it): only the
    ``Content-Type`` header, no access key ids, random UUIDs numbered, and while authoring
    the loopback endpoint replaced by the real AWS host."""
    request = copy.deepcopy(request)
    request.headers = {
        name: value.decode() if isinstance(value, bytes) else value
        for name, value in request.headers.items()
        if name.lower() in _KEEP_REQUEST_HEADERS
    }
    body = request.body
    if isinstance(body, str):
        body = body.encode()
    if isinstance(body, bytes) and body:
        request.body = _number_uuids(_ACCESS_KEY.sub(b"AKIDSCRUBBED00000000", body))
    if AUTHORING.endpoint and request.uri.startswith(AUTHORING.endpoint):
        request.uri = HOST + request.uri[len(AUTHORING.endpoint) :]
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """Only the response headers replay needs (and, while authoring, stable ones)."""
    response = copy.deepcopy(response)
    headers = {
        name: value
        for name, value in response.get("headers", {}).items()
        if name.lower() in _KEEP_RESPONSE_HEADERS
    }
    if authoring() and AUTHORING.test:
        AUTHORING.responses += 1
        seed = f"{AUTHORING.test}#{AUTHORING.responses}"
        for name in list(headers):
            if name.lower() == "date":
                headers[name] = [AUTHORED_DATE]
            elif name.lower() == "x-amzn-requestid":
                headers[name] = [str(uuid.uuid5(uuid.NAMESPACE_URL, seed))]
    response["headers"] = headers
    return response


def vcr_config() -> dict[str, Any]:
    """The ``vcr_config`` of the integration tests (pytest-recording passes it to vcrpy).

    Requests match on method, full URI and JSON body (parsed, see ``same_body``, which
    ``conftest.py`` registers as ``bedrock_body``); answers may repeat (the streaming
    benchmark replays one answer many times).
    """
    return {
        "match_on": ["method", "scheme", "host", "port", "path", "query", "bedrock_body"],
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        "allow_playback_repeats": True,
        "decode_compressed_response": True,
    }


def same_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: equal JSON bodies, every ``description`` compared as ``inspect.cleandoc``
    leaves it. Python 3.13 strips docstring indentation when it compiles them, so a tool or a
    schema described by a docstring is sent indented from 3.11 and 3.12 and not from 3.13.
    Nullable unions (``anyOf: [X, {"type": "null"}]``, ``type: [X, "null"]``) compare as
    ``X``: recordings made before schemas were sent collapsed still match."""
    assert _comparable(r1) == _comparable(r2)


def _comparable(request: Any) -> Any:
    body = read_body(request)
    if not body:
        return body
    try:
        return _cleaned(json.loads(body))
    except ValueError:
        return body


_NULL = {"type": "null"}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with a nullable union written as its one other member."""
    kind = schema.get("type")
    if isinstance(kind, list) and "null" in kind and len(kind) == 2:
        schema = {**schema, "type": next(k for k in kind if k != "null")}
    members = schema.get("anyOf")
    if isinstance(members, list) and _NULL in members and len(members) == 2:
        (other,) = [m for m in members if m != _NULL]
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        if rest.get("default", 0) is None:
            rest.pop("default")
        if isinstance(other, dict) and not set(other) & set(rest):
            schema = {**other, **rest}
    if schema.get("default", 0) is None and "type" in schema and schema["type"] != "null":
        schema = {k: v for k, v in schema.items() if k != "default"}
    return schema


def _cleaned(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return _without_null({k: _cleaned(v, k) for k, v in value.items()})
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    if isinstance(value, str):
        if key == "description":
            return inspect.cleandoc(value)
        if key in ("schema", "json") and value.startswith("{"):  # a schema sent as text
            try:
                return _cleaned(json.loads(value))
            except ValueError:
                return value
    return value


# --- placeholder media ------------------------------------------------------------------------


def placeholder_png(width: int = 320, height: int = 200) -> bytes:
    """A white PNG with a purple rectangle in the middle."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")
        for x in range(width):
            inside = width // 4 <= x < 3 * width // 4 and height // 4 <= y < 3 * height // 4
            row += b"\x80\x30\xa0" if inside else b"\xff\xff\xff"
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(b"".join(rows), 9)),
            chunk(b"IEND", b""),
        )
    )


def placeholder_pdf(text: str = "Dummy PDF file") -> bytes:
    """A valid one-page PDF showing ``text``."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%b\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


IMAGE_URL = (
    "https://raw.githubusercontent.com/langchain-ai/docs/"
    "4d11d08b6b0e210bd456943f7a22febbd168b543/src/images/agentic-rag-output.png"
)
PDF_URL = "https://www.w3.org/WAI/ER/tests/xhtml/testfiles/resources/pdf/dummy.pdf"
MEDIA: dict[str, tuple[str, Callable[[], bytes]]] = {
    IMAGE_URL: ("image/png", placeholder_png),
    PDF_URL: ("application/pdf", placeholder_pdf),
}
"""The downloads the standard tests make -> content type and placeholder content."""


def serve_placeholder_media(monkeypatch: Any) -> None:
    """While authoring, answer the tests' media downloads (httpx) with the placeholders, in
    httpcore's connection pool: below vcrpy, which records them like any download."""
    import httpcore

    def handle_request(self: Any, request: httpcore.Request) -> httpcore.Response:
        url = request.url
        address = f"{url.scheme.decode()}://{url.host.decode()}{url.target.decode()}"
        if address not in MEDIA:
            raise RuntimeError(f"authoring has no placeholder for a download of {address}")
        content_type, make = MEDIA[address]
        return httpcore.Response(
            200, headers=[(b"Content-Type", content_type.encode())], content=make()
        )

    monkeypatch.setattr(httpcore.ConnectionPool, "handle_request", handle_request)


def serialize_calls(monkeypatch: Any) -> None:
    """While recording, one Bedrock call at a time: vcrpy briefly unpatches the HTTP classes
    around each real request, so a connection another thread opens meanwhile would bypass
    the cassette (concurrent tests like ``test_batch`` lost interactions)."""
    import botocore.client

    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def one_at_a_time(self: Any, operation_name: str, api_params: Any) -> Any:
        with lock:
            return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", one_at_a_time)


# --- the scripted model -----------------------------------------------------------------------

JOKE = {
    "setup": "Why was the cat sitting on the computer?",
    "punchline": "To keep an eye on the mouse!",
}
HAIKUS = (
    "Soft paws on the sill,\nwatching the slow rain gather—\ntea cooling nearby.\n\n"
    "Morning fog lifting,\na heron stands in the reeds,\npatient as the stone."
)
STORY = (
    "Mochi was a small grey cat who believed the sunbeam on the kitchen floor belonged to "
    "her. Every morning she followed it across the tiles, moving whenever it moved. One "
    "cloudy day the sunbeam never came, so she curled up on the warm laptop instead and "
    "decided that was even better."
)
IMAGE_DESCRIPTION = "A plain white image with a single purple rectangle in its center."
PDF_SUMMARY = (
    'The document is a one-page PDF whose only content is the heading "Dummy PDF file"; '
    "it is a placeholder with nothing else to summarize."
)
CACHE_QUESTIONS = {
    "Warm-up: reply with OK.": "OK.",
    "What does a cache point do?": (
        "It marks the end of a prompt prefix that Bedrock may cache, so later requests with "
        "the same prefix read it from the cache instead of processing it again."
    ),
    "In one sentence, what is prompt caching?": (
        "Prompt caching stores a processed prompt prefix so that repeated requests can reuse "
        "it, cutting latency and input cost."
    ),
}
TEXT_ANSWERS: dict[str, str] = {
    "Hello": "Hello! How can I help you today?",
    "hello": "Hello! How can I help you today?",
    "Hey": "Hey there! What can I do for you?",
    "hi": "Hi there! How can I help you today?",
    "how are you": "I'm doing well, thanks for asking! How can I help you today?",
    "Well, thanks.": "Glad to hear it! Is there anything I can help you with today?",
    "Write me 2 haikus. Only include the haikus.": HAIKUS,
    "Write a story about a cat.": STORY,
    "Give a concise description of this image.": IMAGE_DESCRIPTION,
    "Summarize this document:": PDF_SUMMARY,
    "Tell me a joke about cats. Return the result as a JSON with 'setup' and 'punchline' "
    "keys. Return nothing other than JSON.": json.dumps(JOKE),
    **CACHE_QUESTIONS,
}
"""The last user text -> the answer (exact match)."""
TOOL_RESULT_ANSWERS: dict[str, str] = {
    "It's sunny.": "It's currently sunny in San Francisco, CA.",
    '{"result": 3}': "1 + 2 = 3.",
    "Error: Missing required argument 'b'.": (
        "The tool call failed because the second number was missing. Adding 1 and 2 gives "
        "3, so 1 + 2 = 3."
    ),
    "That's a great pick!": "Thank you! Purple is my favorite color in this image.",
    "<image>": "The tool returned " + IMAGE_DESCRIPTION[0].lower() + IMAGE_DESCRIPTION[1:],
    "<document>": "Dummy PDF file",
}
"""The text of the tool result in the last user turn -> the answer."""


def _joke_args(prompt: str) -> dict[str, Any]:
    if "no punchline" in prompt:
        return {"setup": JOKE["setup"]}
    return dict(JOKE)


def _adder_args(prompt: str) -> dict[str, Any]:
    a, b = (int(n) for n in re.findall(r"\d+", prompt)[:2])
    return {"a": a, "b": b}


def _magic_args(prompt: str) -> dict[str, Any]:
    match = re.search(r"magic_function\((\d+)\)", prompt)
    return {"input": int(match.group(1)) if match else 1}


def _customer_args(prompt: str) -> dict[str, Any]:
    match = re.search(r"named '([^']+)' \(([^)]+)\) - (.+)", prompt)
    if match is None:
        raise KeyError(prompt)
    name, english, what = match.groups()
    return {"customer_name": name, "description": f"{what[0].upper()}{what[1:]} ({english})."}


TOOL_ARGS: dict[str, Callable[[str], dict[str, Any]]] = {
    "magic_function": _magic_args,
    "magic_function_no_args": lambda prompt: {},
    "get_weather": lambda prompt: {"location": "San Francisco, CA"},
    "greeting_generator": lambda prompt: {"answer_style": "pirate"},
    "my_adder_tool": _adder_args,
    "unicode_customer": lambda prompt: _customer_args(prompt),
    "Joke": _joke_args,
    "JokeDict": _joke_args,
}
"""Tool name -> the arguments Claude would pass for the prompt."""
TOOL_PREAMBLES = {"get_weather": "I'll check the current weather in San Francisco, CA for you."}
"""Text Claude writes before a tool call it was not forced to make."""


@dataclass
class Answer:
    """What the scripted model says: text, then optionally one tool call."""

    text: str = ""
    tool: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    stop_reason: str = "end_turn"


def _last_user(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    for message in reversed(request.get("messages") or []):
        if message.get("role") == "user":
            return list(message.get("content") or [])
    return []


def _tool_result_key(result: Mapping[str, Any]) -> str:
    for item in result.get("content") or []:
        if "text" in item:
            return str(item["text"])
        if "json" in item:
            return json.dumps(item["json"])
        if "image" in item:
            return "<image>"
        if "document" in item:
            return "<document>"
    return ""


def scripted_answer(request: Mapping[str, Any]) -> Answer:
    """The answer to one Converse request (``KeyError`` when no rule covers it: authoring
    never invents an answer for a prompt it does not know)."""
    content = _last_user(request)
    results = [block["toolResult"] for block in content if "toolResult" in block]
    if results:
        return Answer(TOOL_RESULT_ANSWERS[_tool_result_key(results[-1])])
    prompt = "\n".join(block["text"] for block in content if "text" in block).strip()
    tool_config = request.get("toolConfig") or {}
    names = [
        tool["toolSpec"]["name"] for tool in tool_config.get("tools", []) if "toolSpec" in tool
    ]
    choice = tool_config.get("toolChoice") or {}
    if "tool" in choice:
        name = choice["tool"]["name"]
        return Answer(tool=name, args=TOOL_ARGS[name](prompt), stop_reason="tool_use")
    if "any" in choice:
        name = next((n for n in names if n in prompt), names[0])
        return Answer(tool=name, args=TOOL_ARGS[name](prompt), stop_reason="tool_use")
    if "get_weather" in names and "weather" in prompt:
        preamble = TOOL_PREAMBLES["get_weather"]
        return Answer(preamble, "get_weather", TOOL_ARGS["get_weather"](prompt), "tool_use")
    return Answer(TEXT_ANSWERS[prompt])


def _pieces(text: str) -> list[str]:
    """Text deltas of two to four words, as Claude streams them."""
    words = re.findall(r"\S+\s*|\s+", text)
    sizes = (2, 3, 1, 4)
    out, at, turn = [], 0, 0
    while at < len(words):
        size = sizes[turn % len(sizes)]
        out.append("".join(words[at : at + size]))
        at += size
        turn += 1
    return out


def _fragments(data: str) -> list[str]:
    sizes = (5, 9, 12, 7)
    out, at, turn = [""], 0, 0
    while at < len(data):
        out.append(data[at : at + sizes[turn % len(sizes)]])
        at += sizes[turn % len(sizes)]
        turn += 1
    return out


def _tool_use_id(request: Mapping[str, Any], name: str) -> str:
    digest = hashlib.sha256(json.dumps([request, name], sort_keys=True).encode()).digest()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return "tooluse_" + "".join(alphabet[byte % 64] for byte in digest[:22])


class AuthoredBedrock:
    """A scripted Claude on Bedrock for the loopback server: answers with
    :func:`scripted_answer`, honours stop sequences, counts tokens with the local estimate,
    and reports prompt-cache writes then reads for a repeated system prefix (Anthropic
    caches prefixes of 1024 tokens or more)."""

    def __init__(self) -> None:
        self._cached: set[str] = set()
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Forget cached prefixes (each test starts with a cold cache)."""
        with self._lock:
            self._cached.clear()

    def _usage(self, request: Mapping[str, Any], output: int) -> dict[str, int]:
        total_input = estimate_request_tokens(request)
        read = write = 0
        system = request.get("system") or []
        if any("cachePoint" in block for block in system):
            prefix = system[: next(i for i, b in enumerate(system) if "cachePoint" in b)]
            cached = estimate_request_tokens({"system": prefix})
            if cached >= 1024:
                key = json.dumps(prefix, sort_keys=True)
                with self._lock:
                    hit = key in self._cached
                    self._cached.add(key)
                read, write = (cached, 0) if hit else (0, cached)
        uncached = total_input - read - write
        return {
            "cacheReadInputTokens": read,
            "cacheWriteInputTokens": write,
            "inputTokens": uncached,
            "outputTokens": output,
            "totalTokens": total_input + output,
        }

    def __call__(self, recorded: RecordedRequest) -> Reply:
        request = json.loads(_number_uuids(recorded.raw_body))
        answer = scripted_answer(request)
        stops = (request.get("inferenceConfig") or {}).get("stopSequences") or []
        text, stop_reason = answer.text, answer.stop_reason
        for stop in stops:
            if stop in text:
                text, stop_reason = text[: text.index(stop)], "stop_sequence"
        tool_json = json.dumps(answer.args, ensure_ascii=False) if answer.tool else ""
        output = estimate_text_tokens(text) + (estimate_text_tokens(tool_json) + 20) * bool(
            answer.tool
        )
        max_tokens = (request.get("inferenceConfig") or {}).get("maxTokens")
        if max_tokens is not None and output > max_tokens:
            raise ValueError(f"scripted answer of {output} tokens exceeds maxTokens={max_tokens}")
        usage = self._usage(request, output)
        metrics = {"latencyMs": 300 + 9 * output}
        tool_id = _tool_use_id(request, answer.tool) if answer.tool else ""
        if recorded.operation == "converse":
            return JsonReply(_converse_body(text, answer, tool_id, stop_reason, usage, metrics))
        return StreamReply(_events(text, answer, tool_json, tool_id, stop_reason, usage, metrics))


def _converse_body(
    text: str,
    answer: Answer,
    tool_id: str,
    stop_reason: str,
    usage: Mapping[str, int],
    metrics: Mapping[str, int],
) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"text": text}] if text else []
    if answer.tool:
        use = {"input": answer.args, "name": answer.tool, "toolUseId": tool_id, "type": "tool_use"}
        content.append({"toolUse": use})
    full_usage = {
        "cacheReadInputTokenCount": usage["cacheReadInputTokens"],
        "cacheReadInputTokens": usage["cacheReadInputTokens"],
        "cacheWriteInputTokenCount": usage["cacheWriteInputTokens"],
        "cacheWriteInputTokens": usage["cacheWriteInputTokens"],
        "inputTokens": usage["inputTokens"],
        "outputTokens": usage["outputTokens"],
        "serverToolUsage": {},
        "totalTokens": usage["totalTokens"],
    }
    return {
        "metrics": dict(metrics),
        "output": {"message": {"content": content, "role": "assistant"}},
        "stopReason": stop_reason,
        "usage": full_usage,
    }


def _events(
    text: str,
    answer: Answer,
    tool_json: str,
    tool_id: str,
    stop_reason: str,
    usage: Mapping[str, int],
    metrics: Mapping[str, int],
) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    index = 0
    if text:
        for piece in _pieces(text):
            events.append({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": piece}}})
        events.append({"contentBlockStop": {"contentBlockIndex": 0}})
        index = 1
    if answer.tool:
        start = {"toolUse": {"name": answer.tool, "toolUseId": tool_id, "type": "tool_use"}}
        events.append({"contentBlockStart": {"contentBlockIndex": index, "start": start}})
        for fragment in _fragments(tool_json if answer.args else ""):
            delta = {"toolUse": {"input": fragment}}
            events.append({"contentBlockDelta": {"contentBlockIndex": index, "delta": delta}})
        events.append({"contentBlockStop": {"contentBlockIndex": index}})
    events.append({"messageStop": {"stopReason": stop_reason}})
    stream_usage = {key: value for key, value in usage.items() if value or "cache" not in key}
    stream_usage["serverToolUsage"] = {}  # type: ignore[assignment]
    events.append({"metadata": {"metrics": dict(metrics), "usage": stream_usage}})
    return events


# --- finishing the files ------------------------------------------------------------------------

CONCURRENT_TESTS = ("test_batch", "test_abatch")
"""Tests whose requests race: their interactions are sorted by request body."""


def finish_cassette(path: Path) -> None:
    """Mark ``path`` as authored and give concurrent requests a stable order."""
    data = yamlserializer.deserialize(path.read_text(encoding="utf-8"))
    interactions: Sequence[dict[str, Any]] = data["interactions"]
    if any(f".{name}" in path.name for name in CONCURRENT_TESTS):
        interactions = sorted(interactions, key=lambda i: str(i["request"]["body"]))
    finished = {"comment": AUTHORED_COMMENT, "interactions": interactions, "version": 1}
    path.write_text(yamlserializer.serialize(finished), encoding="utf-8")


def main(argv: Sequence[str] = ()) -> int:
    """Regenerate every authored cassette: clear the folder, run the integration tests in
    authoring mode with ``--record-mode=rewrite``, then mark each file as authored."""
    if CASSETTE_DIR.exists():
        shutil.rmtree(CASSETTE_DIR)
    env = {**os.environ, AUTHORING_ENV: "1", "PYTHONHASHSEED": "0"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(ROOT / "tests" / "compat" / "test_integration_standard.py"),
        "--record-mode=rewrite",
        "-p",
        "no:cacheprovider",
        "-q",
        *argv,
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    for path in sorted(CASSETTE_DIR.glob("*.yaml")):
        finish_cassette(path)
    print(f"{len(list(CASSETTE_DIR.glob('*.yaml')))} cassettes in {CASSETTE_DIR}")
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
