"""The chat model's boto3 clients and the Region they talk to.

- The ``bedrock-runtime`` client: the one given, else built once per model on first use
  (under the model's lock) and again in a forked child, whose parent's pooled connections
  and held locks are not its own (``client.forks`` counts forks, ``os.register_at_fork``).
- The ``bedrock`` control-plane client and the application-inference-profile lookup
  (``resolve_inference_profile``), once per ARN in the process.
- The Region: the configured one, the ARN's, the environment's, a given client's, else the
  AWS profile's.

Each function takes the chat model, reads its settings and keeps what it builds in the
model's private attributes (``_client_cache``, ``_client_forks``, ``_client_lock``,
``bedrock_client`` / ``_control_built``), which pickling leaves behind.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from . import _client as client_module
from ._client import ClientSettings, build_client, build_control_client
from ._error_boundary import map_errors
from ._model_setup import base_of_inference_profile, region_of, tool_choice_kinds
from ._redaction import register_request_secrets
from ._threads import run_blocking
from .models import langchain_profile

if TYPE_CHECKING:
    from .chat_model import ChatBedrockStream

__all__ = [
    "aget_client",
    "aresolve_profile",
    "control_client",
    "get_client",
    "known_region",
    "profile_region",
    "region",
    "resolve_profile",
    "without_clients",
]


def region(model: ChatBedrockStream) -> str | None:
    """The configured Region, else the ARN's, the environment's or a given client's."""
    return model.region_name or region_of(model.description.id, model.user_client)


def known_region(model: ChatBedrockStream) -> str | None:
    """The Region requests go to, without building a client: the configured one, a
    built client's, else the AWS profile's."""
    found = region(model)
    if found is None and model._client_cache is not None:
        found = getattr(getattr(model._client_cache, "meta", None), "region_name", None)
        found = found if isinstance(found, str) else None
    return found or profile_region(model.credentials_profile_name)


def profile_region(profile_name: str | None) -> str | None:
    """The Region of the AWS profile in use (config file), if it sets one."""
    import botocore.exceptions
    import botocore.session

    try:
        session = botocore.session.Session(profile=profile_name)
        found = session.get_config_variable("region")
    except botocore.exceptions.BotoCoreError:
        return None
    return found if isinstance(found, str) and found else None


Builder = Callable[[ClientSettings], Any]
"""What builds a runtime client from its settings (``client.build_client``)."""


def get_client(model: ChatBedrockStream, build: Builder = build_client) -> Any:
    """The runtime client: the given one, else the model's own, made by ``build`` once (and
    once more in a forked child)."""
    if model.user_client is not None:
        return model.user_client
    if model._client_cache is None or model._client_forks != client_module.forks:
        if model._client_forks != client_module.forks:
            # A forked child: its own client (the parent's pooled connections are the
            # parent's), and its own lock (one held at the fork stays held).
            model._client_lock = threading.Lock()
            model._client_cache, model._client_forks = None, client_module.forks
        with model._client_lock:
            if model._client_cache is None:
                model._client_cache = _new_client(model, build)
    return model._client_cache


async def aget_client(model: ChatBedrockStream, build: Builder = build_client) -> Any:
    """``get_client`` for the event loop: a first build (credentials, config files)
    runs in the bounded pool (botocore resolves credentials when it builds a client:
    a ``credential_process`` runs then)."""
    if model.user_client is not None:
        return model.user_client
    if model._client_cache is not None and model._client_forks == client_module.forks:
        return model._client_cache
    return await run_blocking(functools.partial(get_client, model, build))


def _reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None


def _settings(model: ChatBedrockStream, **more: Any) -> ClientSettings:
    """The model's Region, profile, ``config`` and credentials, ``more`` over them.

    Explicit keys (or the AWS_* variables) unless a named profile was asked for;
    otherwise none, and boto3's own chain (profiles, SSO, container and instance roles)."""
    key_id = _reveal(model.aws_access_key_id)
    secret = _reveal(model.aws_secret_access_key)
    explicit = bool(key_id and secret and not model.credentials_profile_name)
    return ClientSettings(
        region_name=region(model),
        profile_name=model.credentials_profile_name,
        config=model.config,
        aws_access_key_id=key_id if explicit else None,
        aws_secret_access_key=secret if explicit else None,
        aws_session_token=_reveal(model.aws_session_token) if explicit else None,
        **more,
    )


def control_client(model: ChatBedrockStream) -> Any:
    """The ``bedrock`` control-plane client: the given one, else one built (once) from the
    model's credentials and Region."""
    if model.bedrock_client is None:
        settings = _settings(model)
        model._control_built = True
        model.bedrock_client = build_control_client(settings)
    return model.bedrock_client


def _new_client(model: ChatBedrockStream, build: Builder) -> Any:
    if (
        region(model) is None
        and model.endpoint_url is None
        and not profile_region(model.credentials_profile_name)
    ):
        raise ValueError(
            "no AWS Region configured for Bedrock: pass region_name=..., set AWS_REGION "
            "or AWS_DEFAULT_REGION, or set a region in the AWS profile"
            + (
                f" {model.credentials_profile_name!r}"
                if model.credentials_profile_name
                else " (AWS_PROFILE or default)"
            )
        )
    client = build(
        _settings(
            model,
            endpoint_url=model.endpoint_url,
            timeout=model.timeout,
            bearer_token=_reveal(model.bedrock_api_key),
        )
    )
    # Credentials resolved by boto3 itself (profiles, SSO, roles) are learnt for redaction
    # from the first request that carries them.
    client.meta.events.register("before-send.bedrock-runtime.*", register_request_secrets)
    if model.default_headers:
        headers = dict(model.default_headers)

        def add_headers(request: Any, **_: Any) -> None:
            for name, value in headers.items():
                request.headers[name] = value

        client.meta.events.register_first("before-sign.bedrock-runtime.*", add_headers)
    return client


def _needs_profile_lookup(model: ChatBedrockStream) -> bool:
    return (
        model.resolve_inference_profile
        and model.base_model_id is None
        and model.description.id.arn_kind == "application-inference-profile"
    )


def resolve_profile(model: ChatBedrockStream) -> None:
    """With ``resolve_inference_profile``: learn the foundation model behind an
    application inference profile (once per ARN) and derive what depends on it."""
    if not _needs_profile_lookup(model):
        return
    with map_errors(model_id=model.model_id, region=region(model), langchain=True):
        base = base_of_inference_profile(model.model_id, control_client(model))
    if base is None or model.base_model_id is not None:
        return
    model.base_model_id = base
    described = model.description
    if not model._user_profile:
        model.profile = langchain_profile(described)  # type: ignore[assignment]
    if not model.provider:
        model.provider = described.provider
    if model._derived_choices:
        model.supports_tool_choice_values = tool_choice_kinds(  # type: ignore[assignment]
            described, model._effective_fields()
        )


async def aresolve_profile(model: ChatBedrockStream) -> None:
    """``resolve_profile`` for the event loop: the lookup runs in the bounded pool."""
    if _needs_profile_lookup(model):
        await run_blocking(functools.partial(resolve_profile, model))


def without_clients(state: dict[Any, Any]) -> dict[Any, Any]:
    """A model's pickled ``state`` without the clients it built (rebuilt on demand after
    unpickling) and without its lock (``__setstate__`` makes a new one)."""
    private = dict(state.get("__pydantic_private__") or {})
    private["_client_cache"] = None
    if private.get("_control_built"):  # our own control-plane client: rebuilt on demand
        state["__dict__"] = {**state["__dict__"], "bedrock_client": None}
        private["_control_built"] = False
    private.pop("_client_lock", None)
    state["__pydantic_private__"] = private
    return state
