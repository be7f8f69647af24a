"""Credentials never leak: not in repr/str, serialization, callbacks, logs, errors or cassettes.

The keys used here are generated at run time in the shape of real ones (``AKIA`` + 16, a
40-character secret, a long session token), so the checks that look for key-shaped
strings are meaningful. The loopback server records the request headers, which shows the
credentials do go on the wire (signed ``Authorization``, ``X-Amz-Security-Token``) while
never showing up anywhere a person or a log pipeline would read them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import string
import traceback
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

from langchain_bedrock_stream import BedrockAuthenticationError, BedrockError, ChatBedrockStream
from langchain_bedrock_stream._redaction import redact
from langchain_bedrock_stream._retry import RetryPolicy
from langchain_bedrock_stream.testing import (
    BedrockWireServer,
    ErrorReply,
    ExceptionFrame,
    JsonReply,
    RecordedRequest,
    StreamReply,
    simulated_converse_response,
)
from tests.support import events
from tests.support.recordings import RECORDINGS

MODEL = "us.amazon.nova-micro-v1:0"
CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"

KEY_SHAPED = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
SECRET_NEAR_NAME = re.compile(
    r"(?i)aws_secret\w*['\"]?\s*[:=]\s*['\"]?(?![A-Za-z0-9/+]*redacted)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
)
HEADER_NAMES = re.compile(r"(?i)\b(authorization|x-amz-security-token)\b")
SIGNATURE_VALUE = re.compile(r"AWS4-HMAC-SHA256\s+Credential=")


def findings(text: str) -> list[str]:
    """Everything in ``text`` that looks like a credential or a credential header."""
    found = [f"header {m.group(1)!r}" for m in HEADER_NAMES.finditer(text)]
    found += [f"key-shaped {m.group(0)[:8]}..." for m in KEY_SHAPED.finditer(text)]
    found += ["secret next to aws_secret" for _ in SECRET_NEAR_NAME.finditer(text)]
    found += ["SigV4 Authorization value" for _ in SIGNATURE_VALUE.finditer(text)]
    return found


def _random(alphabet: str, size: int) -> str:
    rng = random.SystemRandom()
    return "".join(rng.choice(alphabet) for _ in range(size))


class Credentials:
    """Credentials shaped like real AWS ones, different on every run."""

    def __init__(self) -> None:
        self.key_id = "ASIA" + _random(string.ascii_uppercase + string.digits, 16)
        self.secret = _random(string.ascii_letters + string.digits + "+/", 40)
        self.token = "IQoJb3JpZ2luX2Vj" + _random(string.ascii_letters + string.digits + "+/", 300)

    @property
    def values(self) -> tuple[str, str, str]:
        return self.key_id, self.secret, self.token

    def leaked_in(self, text: str) -> list[str]:
        names = ("access key id", "secret access key", "session token")
        found = [name for name, value in zip(names, self.values, strict=True) if value in text]
        # Also any long piece of the secret or the token (a truncated or wrapped copy).
        for name, value in zip(names[1:], self.values[1:], strict=True):
            if name not in found and any(
                value[i : i + 20] in text for i in range(0, len(value) - 20, 10)
            ):
                found.append(f"part of the {name}")
        return found


@pytest.fixture
def creds() -> Credentials:
    return Credentials()


def text_events(pieces: list[str]) -> list[dict[str, Any]]:
    return events.text_events(pieces, input_tokens=1, latency_ms=None)


def model_with(creds: Credentials, server: BedrockWireServer, **kwargs: Any) -> ChatBedrockStream:
    return ChatBedrockStream(
        model=MODEL,
        region_name="us-east-1",
        endpoint_url=server.endpoint_url,
        aws_access_key_id=creds.key_id,
        aws_secret_access_key=creds.secret,
        aws_session_token=creds.token,
        retry_policy=RetryPolicy(max_retries=1, sleep=lambda _: None),
        **kwargs,
    )


def echoing_auth_error(creds: Credentials) -> ErrorReply:
    """An error whose message quotes the signed request, as AWS signature errors do."""
    canonical = (
        "POST\n/model/m/converse-stream\n\ncontent-type:application/json\n"
        f"x-amz-security-token:{creds.token}\n\n"
    )
    return ErrorReply(
        403,
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. "
        f"The Canonical String for this request should have been '{canonical}' "
        f"Authorization: AWS4-HMAC-SHA256 Credential={creds.key_id}/20260101/us-east-1/"
        "bedrock/aws4_request, SignedHeaders=host, Signature=abc",
    )


# --- the model object ---------------------------------------------------------------------------


def test_repr_str_and_serialization_hide_credentials(
    creds: Credentials, server: BedrockWireServer
) -> None:
    model = model_with(creds, server)
    model._get_client()  # a built client must not change any of this
    views = {
        "repr": repr(model),
        "str": str(model),
        "dumps": dumps(model),
        "dumpd": json.dumps(dumpd(model), default=str),
        "model_dump_json": model.model_dump_json(),
        "model_dump": str(model.model_dump()),
        "identifying params": str(model._identifying_params),
        "invocation params": str(model._get_invocation_params()),
        "ls params": str(model._get_ls_params()),
    }
    for name, text in views.items():
        assert creds.leaked_in(text) == [], name
        assert KEY_SHAPED.search(text) is None, name
    secrets = dumpd(model)["kwargs"]
    assert secrets["aws_access_key_id"] == {"lc": 1, "type": "secret", "id": ["AWS_ACCESS_KEY_ID"]}
    assert secrets["aws_secret_access_key"]["type"] == "secret"
    assert secrets["aws_session_token"]["type"] == "secret"


class Seen(BaseCallbackHandler):
    """Everything callbacks (and so tracers) receive about the model."""

    def __init__(self) -> None:
        self.payloads: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.payloads.append(json.dumps([serialized, kwargs], default=str))

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.payloads.append(json.dumps([response.model_dump(), kwargs], default=str))

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.payloads.append(json.dumps([repr(error), str(error), kwargs], default=str))


# --- a call: logs, wire, errors -------------------------------------------------------------------


def test_credentials_go_on_the_wire_but_never_into_logs(
    creds: Credentials, server: BedrockWireServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    request = {"messages": [{"role": "user", "content": [{"text": "hi"}]}]}
    server.enqueue(
        StreamReply(text_events(["fine"])),
        JsonReply(simulated_converse_response(request)),
        echoing_auth_error(creds),
    )
    seen = Seen()
    model = model_with(creds, server)
    assert "".join(c.text for c in model.stream("hi", config={"callbacks": [seen]})) == "fine"
    model.invoke("hi", config={"callbacks": [seen]})
    with pytest.raises(BedrockError):
        list(model.stream("hi", config={"callbacks": [seen]}))

    # On the wire: signed with these credentials.
    headers = server.requests[0].headers
    assert f"Credential={creds.key_id}/" in headers["authorization"]
    assert headers["x-amz-security-token"] == creds.token
    assert creds.secret not in json.dumps([r.headers for r in server.requests])

    # botocore logged requests at DEBUG, masked.
    assert any(r.name.startswith("botocore") for r in caplog.records)
    assert any("Sending http request" in r.getMessage() for r in caplog.records)
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert creds.leaked_in(logged) == []
    assert KEY_SHAPED.search(logged) is None
    assert SIGNATURE_VALUE.search(logged) is None
    for payload in seen.payloads:
        assert creds.leaked_in(payload) == []


def test_error_messages_and_causes_never_carry_credentials(
    creds: Credentials, server: BedrockWireServer
) -> None:
    server.enqueue(echoing_auth_error(creds), echoing_auth_error(creds))
    model = model_with(creds, server)
    for call in (lambda: list(model.stream("hi")), lambda: model.invoke("hi")):
        with pytest.raises(BedrockError) as caught:
            call()
        error = caught.value
        assert isinstance(error, BedrockAuthenticationError)
        assert "signature we calculated does not match" in str(error)
        assert error.__cause__ is not None
        texts = [
            str(error),
            repr(error),
            str(error.args),
            json.dumps(error.response),
            str(error.__cause__),
            repr(error.__cause__),
            json.dumps(getattr(error.__cause__, "response", {}), default=str),
            "".join(traceback.format_exception(error)),
        ]
        for text in texts:
            assert creds.leaked_in(text) == [], text
            assert KEY_SHAPED.search(text) is None, text


def test_redact_masks_every_form_seen_in_practice(creds: Credentials) -> None:
    samples = [
        f"headers={{'X-Amz-Security-Token': b'{creds.token}', 'Authorization': "
        f"b'AWS4-HMAC-SHA256 Credential={creds.key_id}/20260101/us-east-1/bedrock/aws4_request"
        ", SignedHeaders=host, Signature=0a1b'}}",
        f"x-amz-security-token:{creds.token}\nhost:example",
        f"?X-Amz-Credential={creds.key_id}%2F20260101&X-Amz-Security-Token={creds.token}&x=1",
        f"aws_secret_access_key = {creds.secret}",
        f"the key {creds.key_id} is unknown",
    ]
    for sample in samples:
        masked = redact(sample)
        assert creds.leaked_in(masked) == [], masked
        assert "<redacted>" in masked
    assert redact("Authorization header missing; see the docs") == (
        "Authorization header missing; see the docs"
    )


# --- cassettes ---------------------------------------------------------------------------------


def cassette_files() -> list[Path]:
    files = [p for p in CASSETTES.rglob("*") if p.is_file()] if CASSETTES.is_dir() else []
    if RECORDINGS.is_dir():
        files += [p for p in RECORDINGS.rglob("*") if p.is_file()]
    return sorted(files)


@pytest.mark.parametrize(
    "path",
    cassette_files()
    or [pytest.param(None, marks=pytest.mark.skip(reason="no cassette files yet"))],
    ids=lambda p: p.name if isinstance(p, Path) else "none",
)
def test_cassette_files_hold_no_credentials(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", "replace")
    assert findings(text) == [], path


def test_cassette_scan_catches_credentials_and_scrubbing_removes_them(
    creds: Credentials, server: BedrockWireServer, tmp_path: Path
) -> None:
    """Record real loopback traffic with vcrpy, raw and scrubbed, and scan both."""
    server.enqueue(StreamReply(text_events(["one"])), StreamReply(text_events(["two"])))
    model = model_with(creds, server)
    raw_file, scrubbed_file = tmp_path / "raw.yaml", tmp_path / "scrubbed.yaml"
    with vcr.VCR(record_mode="all").use_cassette(str(raw_file)):
        list(model.stream("hi"))
    scrubbing = vcr.VCR(
        record_mode="all",
        filter_headers=["authorization", "x-amz-security-token", "amz-sdk-invocation-id"],
    )
    with scrubbing.use_cassette(str(scrubbed_file)):
        list(model.stream("hi"))

    raw = raw_file.read_text()
    assert findings(raw), "the scanner must flag an unscrubbed recording"
    # The raw recording really did capture the credentials (YAML may fold long values).
    assert creds.token in json.dumps(yaml.safe_load(raw), default=str)
    scrubbed = scrubbed_file.read_text()
    assert findings(scrubbed) == []
    assert creds.leaked_in(scrubbed) == []
    interaction = yaml.safe_load(scrubbed)["interactions"][0]
    assert interaction["request"]["uri"].endswith("/converse-stream")


# --- a service that echoes the credentials back -------------------------------------------------


class Runs(BaseTracer):
    """A LangChain tracer that keeps every finished run (``run.error`` holds the trace)."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[Run] = []

    def _persist_run(self, run: Run) -> None:
        self.runs.append(run)


def _echo(request: RecordedRequest) -> str:
    """What a careless service says back: the signed headers and the bare token."""
    headers = request.headers
    token = headers.get("x-amz-security-token")
    return (
        f"The security token {token} is invalid. "
        f"The request signature we calculated does not match.\n"
        f"Authorization: {headers.get('authorization')}\n"
        f"The canonical string should have been 'x-amz-security-token:{token}\nhost:x'"
    )


def _echoing_responder(kind: str) -> Any:
    def respond(request: RecordedRequest) -> Any:
        message = _echo(request)
        if kind == "http":
            return ErrorReply(403, "InvalidSignatureException", message)
        frames: list[Any] = [{"messageStart": {"role": "assistant"}}]
        if kind == "frame-after-text":
            frames.append({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "so"}}})
        return StreamReply([*frames, ExceptionFrame("validationException", message)])

    return respond


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or any(current is s for s in seen):
            continue
        seen.append(current)
        pending += [current.__cause__, current.__context__]
    return seen


def _everything_reachable(error: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(error))]
    for link in _chain(error):
        texts += [str(link), repr(link), repr(link.args)]
        texts.append(json.dumps(vars(link), default=repr))
    return texts


@pytest.fixture
def profile_creds(creds: Credentials, tmp_path: Path) -> Credentials:
    """The same kind of credentials, but from a profile: boto3 resolves them, not us."""
    (tmp_path / "no-credentials").write_text(
        "[leaky]\n"
        f"aws_access_key_id = {creds.key_id}\n"
        f"aws_secret_access_key = {creds.secret}\n"
        f"aws_session_token = {creds.token}\n"
    )
    return creds


@pytest.mark.parametrize("kind", ["http", "frame-at-start", "frame-after-text"])
@pytest.mark.parametrize("consume", ["stream", "astream", "invoke"])
@pytest.mark.parametrize("source", ["explicit", "profile"])
def test_echoed_credentials_survive_nowhere(
    kind: str,
    consume: str,
    source: str,
    profile_creds: Credentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    creds = profile_creds
    caplog.set_level(logging.DEBUG)
    tracer = Runs()
    with BedrockWireServer(responder=_echoing_responder(kind)) as server:
        if source == "explicit":
            model = model_with(creds, server)
        else:
            model = ChatBedrockStream(
                model=MODEL,
                region_name="us-east-1",
                endpoint_url=server.endpoint_url,
                credentials_profile_name="leaky",
                retry_policy=RetryPolicy(max_retries=1, sleep=lambda _: None),
            )
        config: Any = {"callbacks": [tracer]}
        with pytest.raises(BedrockError) as caught:
            if consume == "stream":
                list(model.stream("hi", config=config))
            elif consume == "astream":

                async def drain() -> None:
                    async for _ in model.astream("hi", config=config):
                        pass

                asyncio.run(drain())
            elif kind == "http":
                model.invoke("hi", config=config)  # Converse, not streamed
            else:
                model.invoke("hi", config=config, stream=True)  # frames need ConverseStream
        # The credentials did go on the wire, so there was something to leak.
        assert server.requests[0].headers["x-amz-security-token"] == creds.token
    error = caught.value
    assert "does not match" in str(error)
    if kind == "frame-after-text":
        assert error.partial_message is not None and error.partial_message.text == "so"
    texts = _everything_reachable(error)
    texts += [run.error or "" for run in tracer.runs]
    texts.append(caplog.text)
    texts += [record.getMessage() for record in caplog.records]
    assert any(run.error for run in tracer.runs)
    for text in texts:
        assert creds.leaked_in(text) == [], text[:2000]
        assert KEY_SHAPED.search(text) is None, text[:2000]
