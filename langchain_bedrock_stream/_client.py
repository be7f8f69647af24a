"""The boto3 ``bedrock-runtime`` client: built from the model's settings, sized for concurrency.

botocore's own retries are switched off on the clients built here (``retry.RetryPolicy`` is the
one retry layer unless the caller configures botocore's); credentials given explicitly are
registered for redaction.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import InvalidEndpointConfigurationError

from ._redaction import install_log_redaction, register_secrets

__all__ = ["ClientSettings", "build_client"]


@dataclass(frozen=True)
class ClientSettings:
    """What a boto3 ``bedrock-runtime`` client is built from (no secrets in ``repr``)."""

    region_name: str | None = None
    profile_name: str | None = None
    aws_access_key_id: str | None = field(default=None, repr=False)
    aws_secret_access_key: str | None = field(default=None, repr=False)
    aws_session_token: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None
    config: Config | None = None
    timeout: float | None = None
    max_pool_connections: int = 256
    bearer_token: str | None = field(default=None, repr=False)
    """A Bedrock API key: requests carry it as a bearer token instead of a SigV4 signature."""


class _StaticToken:
    """botocore token provider handing out one fixed bearer token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def load_token(self, **_: Any) -> Any:
        from botocore.tokens import FrozenAuthToken

        return FrozenAuthToken(self._token)


_loader_lock = threading.Lock()


forks = 0
"""Forks this process has been through. A client built before a fork is not used after it:
its pooled connections (socket and TLS state) are the parent's too."""


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's threads: a lock one held stays held."""
    global _loader_lock, forks
    _loader_lock = threading.Lock()
    forks += 1


os.register_at_fork(after_in_child=_after_fork_in_child)


@cache
def _shared_loader(data_path: str | None) -> Any:
    """One botocore data loader for the process: every client built here reads the service
    model and endpoint rules parsed once, not again per model (tens of ms of JSON each)."""
    return botocore.loaders.create_loader(data_path)


def _session(settings: ClientSettings) -> boto3.Session:
    """A boto3 session of its own (credentials are per model) over the shared data loader."""
    core = botocore.session.get_session()
    loader = _shared_loader(core.get_config_variable("data_path"))
    core.register_component("data_loader", loader)
    if settings.bearer_token:
        core.register_component("token_provider", _StaticToken(settings.bearer_token))
    with _loader_lock:  # boto3 appends its data folder to the loader's search paths
        paths = list(loader.search_paths)
        session = boto3.Session(
            profile_name=settings.profile_name,
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=settings.aws_secret_access_key,
            aws_session_token=settings.aws_session_token,
            botocore_session=core,
        )
        added = [path for path in loader.search_paths[len(paths) :] if path not in paths]
        loader.search_paths[:] = paths + added
    return session


def build_client(settings: ClientSettings) -> Any:
    """A ``bedrock-runtime`` client; botocore's own retries off unless ``config`` sets them.

    Sized for concurrent use (one connection pool shared by every call of a model). Also
    installs the log redaction (see ``install_log_redaction``). Only touches the network
    when a request is made.
    """
    install_log_redaction()
    register_secrets(
        [
            settings.aws_access_key_id,
            settings.aws_secret_access_key,
            settings.aws_session_token,
            settings.bearer_token,
        ]
    )
    session = _session(settings)
    ours: dict[str, Any] = {
        "max_pool_connections": settings.max_pool_connections,
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "user_agent_extra": "langchain-bedrock-stream",
    }
    if settings.bearer_token:
        ours["auth_scheme_preference"] = "httpBearerAuth"
    if settings.timeout is not None:
        ours["read_timeout"] = settings.timeout
        ours["connect_timeout"] = min(settings.timeout, 60)
    config = Config(**ours)
    if settings.config is not None:
        config = config.merge(settings.config)
    region = settings.region_name or session.region_name or "us-east-1"
    client = session.client(
        "bedrock-runtime", region_name=region, endpoint_url=settings.endpoint_url, config=config
    )
    client.meta.events.register(
        "before-send.bedrock-runtime", _refuse_bearer_over_http, unique_id=_BEARER_GUARD
    )
    return client


def build_control_client(settings: ClientSettings) -> Any:
    """A ``bedrock`` (control plane) client with the same credentials and Region, for the
    few control-plane lookups a model may make (``GetInferenceProfile``). The runtime's
    ``endpoint_url`` is not used: it names a runtime endpoint."""
    session = _session(settings)
    config = Config(retries={"total_max_attempts": 3, "mode": "standard"})
    if settings.config is not None:
        config = config.merge(settings.config)
    region = settings.region_name or session.region_name or "us-east-1"
    return session.client("bedrock", region_name=region, config=config)


_BEARER_GUARD = "langchain-bedrock-stream-bearer-over-http"


def _refuse_bearer_over_http(request: Any, **_: Any) -> None:
    """A Bedrock API key travels as a bearer token, readable by anyone on the path unless the
    endpoint is HTTPS. botocore refuses it from 1.44 on; this refuses it with every botocore
    our range admits, on either path (the event loop's sends what botocore prepared)."""
    authorization = request.headers.get("Authorization") or b""
    if isinstance(authorization, str):
        authorization = authorization.encode("latin-1", "replace")
    if authorization.startswith(b"Bearer ") and not request.url.lower().startswith("https://"):
        raise InvalidEndpointConfigurationError(
            msg="Bearer authorization requires an HTTPS endpoint."
        )
