"""langchain-tests' ``ChatModelIntegrationTests`` for ``ChatBedrockStream``, replayed from
vcrpy cassettes in ``cassettes/standard_integration/``.

Offline (the default, ``--record-mode`` unset = ``none``) every Bedrock call and media
download is answered from the test's cassette and the network is blocked. The cassettes
in the repository were authored, not recorded (see ``cassettes/README.md`` and
``tests/support/cassette_authoring.py``). With AWS credentials,
``pytest tests/compat/test_integration_standard.py --record-mode=rewrite`` re-records them against
Bedrock (real credentials are used only in a recording mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_tests.integration_tests import ChatModelIntegrationTests

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.testing import BedrockWireServer
from tests.support import cassette_authoring
from tests.support.cassette_authoring import AUTHORING, CASSETTE_DIR, AuthoredBedrock, authoring

pytestmark = [
    pytest.mark.vcr,
    pytest.mark.block_network(allowed_hosts=["127.0.0.1"]),
]

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
OVERRIDE_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
_AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_BEARER_TOKEN_BEDROCK",
)
_REAL_AWS_ENV = {name: os.environ.get(name) for name in _AWS_VARIABLES}
"""The environment before any fixture faked credentials (used only to record live)."""


def _rules(topic: str, count: int) -> str:
    """A long, deterministic system prompt (prompt caching needs 1024 tokens or more)."""
    lines = [f"You answer questions about {topic}. Follow these house rules:"]
    lines += [
        f"Rule {n}: when a question touches {topic} aspect number {n}, answer plainly, cite "
        f"no sources, avoid speculation, prefer short sentences and keep numbers exact."
        for n in range(1, count + 1)
    ]
    return "\n".join(lines)


CACHE_READ_SYSTEM = _rules("Amazon Bedrock prompt caching", 60)
CACHE_CREATION_SYSTEM = _rules("LangChain chat models", 60)


# --- VCR set-up ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    """All cassettes of this module live in ``cassettes/standard_integration``."""
    return str(CASSETTE_DIR)


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    """Scrubbing, body matching and repeat playback (see
    ``tests/support/cassette_authoring.py``)."""
    return cassette_authoring.vcr_config()


@pytest.fixture(autouse=True)
def _offline_aws(
    _offline_aws: None, monkeypatch: pytest.MonkeyPatch, record_mode: str
) -> Iterator[None]:
    """Fake credentials (conftest) while replaying or authoring; the real ones to record."""
    if record_mode != "none" and not authoring():
        for name, value in _REAL_AWS_ENV.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
    yield


@pytest.fixture(autouse=True)
def _one_call_at_a_time_while_recording(record_mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """vcrpy records concurrent requests unreliably: serialize them while recording."""
    if record_mode != "none":
        cassette_authoring.serialize_calls(monkeypatch)


@pytest.fixture(scope="module")
def _authored_bedrock() -> Iterator[AuthoredBedrock | None]:
    """While authoring: the loopback Bedrock that answers (see ``AuthoredBedrock``)."""
    if not authoring():
        yield None
        return
    responder = AuthoredBedrock()
    with BedrockWireServer(responder=responder) as server:
        AUTHORING.endpoint = server.endpoint_url
        yield responder
        AUTHORING.endpoint = None


@pytest.fixture(autouse=True)
def _authoring_test(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    _authored_bedrock: AuthoredBedrock | None,
) -> None:
    """While authoring: a cold prompt cache, stable response ids, placeholder downloads."""
    if _authored_bedrock is None:
        return
    _authored_bedrock.reset()
    AUTHORING.test, AUTHORING.responses = request.node.name, 0
    cassette_authoring.serve_placeholder_media(monkeypatch)


# --- the suite -------------------------------------------------------------------------------


class TestChatBedrockStreamIntegration(ChatModelIntegrationTests):
    """Every standard integration test that applies to Bedrock Converse runs; the two
    features left off are explained next to their flags."""

    @property
    def chat_model_class(self) -> type[ChatBedrockStream]:
        return ChatBedrockStream

    @property
    def chat_model_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"model": MODEL, "region_name": "us-east-1"}
        if AUTHORING.endpoint:
            params["endpoint_url"] = AUTHORING.endpoint
        return params

    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        # Off: Bedrock cannot read http(s) URLs and this package never downloads on the
        # caller's behalf (images go as bytes or s3:// locations); such a block raises
        # InputConversionError, which test_request.py covers.
        return False

    @property
    def supports_image_tool_message(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_pdf_tool_message(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:
        # Off: Claude, the model this suite runs against, takes no audio on Bedrock.
        # Converse audio blocks (for the models that accept them) are converted and
        # checked in test_request.py.
        return False

    @property
    def supports_anthropic_inputs(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def supported_usage_metadata_details(self) -> dict[Any, list[Any]]:
        # reasoning_output is left out: Bedrock's usage has no separate reasoning token
        # count (reasoning is part of outputTokens); audio does not apply (see above).
        cache = ["cache_read_input", "cache_creation_input"]
        return {"invoke": cache, "stream": cache}

    @property
    def supports_model_override(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return OVERRIDE_MODEL

    @property
    def enable_vcr_tests(self) -> bool:
        return True

    # --- prompt caching for the usage-metadata tests ---

    def _cached_call(self, system: str, question: str, *, stream: bool) -> AIMessage:
        model = self.chat_model_class(
            **{**self.standard_chat_model_params, **self.chat_model_params, "cache_system": True}
        )
        messages = [SystemMessage(system), HumanMessage(question)]
        if not stream:
            return model.invoke(messages)
        full: AIMessageChunk | None = None
        for chunk in model.stream(messages):
            full = chunk if full is None else full + chunk
        assert full is not None
        return full

    def invoke_with_cache_creation_input(self, *, stream: bool = False) -> AIMessage:
        """A long cached system prompt, sent once: Bedrock writes it to the cache."""
        return self._cached_call(
            CACHE_CREATION_SYSTEM, "In one sentence, what is prompt caching?", stream=stream
        )

    def invoke_with_cache_read_input(self, *, stream: bool = False) -> AIMessage:
        """The same cached system prompt twice: the second request reads the cache."""
        self._cached_call(CACHE_READ_SYSTEM, "Warm-up: reply with OK.", stream=stream)
        message = self._cached_call(CACHE_READ_SYSTEM, "What does a cache point do?", stream=stream)
        usage: dict[str, Any] = dict(message.usage_metadata or {})
        details: dict[str, Any] = dict(usage.get("input_token_details") or {})
        assert details.get("cache_read", 0) > 0, details
        return message
