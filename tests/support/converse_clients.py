"""Clients for ``ChatBedrockConverse`` made from one botocore session.

langchain-aws starts a new boto3 session for each client it makes (the runtime client and
the control-plane one), reading botocore's data files again every time: a few tenths of a
second per model. Tests that build many ``ChatBedrockConverse`` models pass these clients
instead; they are made the way boto3 makes them (``Session.create_client``), at the time
the model is built, so anything that hooks client creation still sees them.
"""

from __future__ import annotations

from typing import Any

import botocore.session
from botocore.config import Config

_SESSION = botocore.session.get_session()


def converse_clients(
    endpoint_url: str, region_name: str, config: Config | None = None
) -> dict[str, Any]:
    """``client`` and ``bedrock_client`` keyword arguments for ``ChatBedrockConverse``."""
    return {
        key: _SESSION.create_client(
            service, region_name=region_name, endpoint_url=endpoint_url, config=config
        )
        for key, service in (("client", "bedrock-runtime"), ("bedrock_client", "bedrock"))
    }
