"""LangChain's own unit-test suite for chat models."""

from __future__ import annotations

import importlib

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_bedrock_stream import ChatBedrockStream


class TestChatBedrockStreamUnit(ChatModelUnitTests):
    """Runs every standard unit test; none is skipped."""

    @pytest.fixture(autouse=True)
    def _loadable_with_allowed_objects_all(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """``test_serdes`` loads with ``allowed_objects="all"``, which admits the classes in
        langchain-core's table of integrations; importing this package does not add itself
        there, so the class joins the table for the test only."""
        loading = importlib.import_module("langchain_core.load.load")
        path = (*ChatBedrockStream.get_lc_namespace(), ChatBedrockStream.__name__)
        monkeypatch.setitem(loading.ALL_SERIALIZABLE_MAPPINGS, path, path)
        monkeypatch.setattr(loading, "_default_class_paths_cache", {})

    @property
    def chat_model_class(self) -> type[ChatBedrockStream]:
        return ChatBedrockStream

    @property
    def chat_model_params(self) -> dict:
        return {"model": "us.anthropic.claude-sonnet-4-20250514-v1:0", "region_name": "us-east-1"}

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
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @property
    def init_from_env_params(self) -> tuple[dict, dict, dict]:
        return (
            {
                "AWS_ACCESS_KEY_ID": "AKIDENVONLY",
                "AWS_SECRET_ACCESS_KEY": "env-secret",
                "AWS_SESSION_TOKEN": "env-token",
                "AWS_REGION": "eu-west-2",
            },
            {"model": "us.amazon.nova-micro-v1:0"},
            {
                "aws_access_key_id": "AKIDENVONLY",
                "aws_secret_access_key": "env-secret",
                "aws_session_token": "env-token",
                "region_name": "eu-west-2",
            },
        )
