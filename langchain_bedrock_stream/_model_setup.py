"""What ``ChatBedrockStream`` derives at construction, and the checks of inference values.

At construction, as ``ChatBedrockConverse`` does, the chat model reads its model description
(:mod:`.models`) once for: ``provider``, ``region_name`` (the ARN's, ``AWS_REGION`` /
``AWS_DEFAULT_REGION``, the client's), ``disable_streaming`` (``"tool_calling"`` for families
that cannot stream tool use), ``supports_tool_choice_values``, ``profile`` and the request
fields ``reasoning_effort`` stands for. Settings the user gives always win.
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import warnings
from collections.abc import Mapping
from typing import Any, Literal

from .models import (
    FamilyProfile,
    ModelDescription,
    ModelId,
    describe,
    langchain_profile,
    parse_model_id,
    profile_facts,
)

__all__ = [
    "base_of_inference_profile",
    "check_inference_value",
    "check_nova_reasoning",
    "derive_settings",
    "description_with",
    "prepare_inputs",
    "region_of",
    "streaming_switch",
    "thinking_on",
    "tool_choice_kinds",
]


def streaming_switch(profile: FamilyProfile) -> bool | Literal["tool_calling"]:
    """``disable_streaming`` for a family: ``False`` when it streams tool use,
    ``"tool_calling"`` when tool calls must go through Converse, ``True`` for Converse only."""
    if profile.streaming == "full":
        return False
    return True if profile.streaming == "none" else "tool_calling"


def region_of(model: ModelId, client: Any = None) -> str | None:
    """The Region an ARN names, else ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, else a ready
    client's."""
    region = model.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region is None and client is not None:
        region = getattr(getattr(client, "meta", None), "region_name", None)
        region = region if isinstance(region, str) else None
    return region


def _apply_gateway(values: dict[str, Any], cls: type) -> None:
    """Route through the LangSmith gateway when ``LANGSMITH_GATEWAY`` asks for it.

    langchain-core's helper is private; without it (another langchain-core version) the
    gateway settings are not applied and the model talks to Bedrock directly.
    """
    try:
        from langchain_core.utils._gateway import _apply_gateway_config
    except ImportError:  # pragma: no cover - depends on the installed langchain-core
        return
    _apply_gateway_config(
        values,
        cls,
        base_url_field="endpoint_url",
        api_key_field="bedrock_api_key",
        provider_path="bedrock",
        api_key_env="AWS_BEARER_TOKEN_BEDROCK",
    )
    if values.get("endpoint_url") is None:
        values.pop("endpoint_url")


def prepare_inputs(values: dict[str, Any], cls: type) -> dict[str, Any]:
    """Constructor input with the derived settings filled in (see the module docstring).

    ``model_kwargs`` (a ``ChatBedrockConverse`` name) moves into
    ``additional_model_request_fields`` with a warning.
    """
    values = dict(values)
    _apply_gateway(values, cls)
    model_kwargs = values.pop("model_kwargs", None)
    if model_kwargs:
        warnings.warn(
            "ChatBedrockStream uses 'additional_model_request_fields' instead of "
            "'model_kwargs'; your values were moved there",
            UserWarning,
            stacklevel=4,
        )
        values["additional_model_request_fields"] = {
            **model_kwargs,
            **(values.get("additional_model_request_fields") or {}),
        }
    model_id = values.get("model_id", values.get("model"))
    if not isinstance(model_id, str):
        return values  # field validation names what is missing
    base = values.get("base_model_id", values.get("base_model"))
    described = describe(model_id, base if isinstance(base, str) else None)
    if not values.get("provider"):
        values["provider"] = described.provider
    if "disable_streaming" not in values:
        values["disable_streaming"] = streaming_switch(described.profile)
    if values.get("region_name") is None:
        region = region_of(described.id, values.get("client"))
        if region is not None:
            values["region_name"] = region
    return values


def thinking_on(model: ModelDescription, fields: Mapping[str, Any] | None) -> bool:
    """Whether ``fields`` (``additionalModelRequestFields``) leave the model thinking."""
    fields = fields or {}
    if model.family == "deepseek-v3":
        effort = fields.get("reasoning_effort")
        return bool(effort) and str(effort).lower() not in ("none", "low", "medium")
    thinking = fields.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, Mapping) else None
    if kind in ("enabled", "adaptive"):
        return True
    return model.profile.thinking_by_default and kind != "disabled"


def tool_choice_kinds(model: ModelDescription, fields: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The ``toolChoice`` kinds the model takes with these request fields: only ``auto``
    while thinking is on for families that refuse forced tool use then. A model the data
    does not know is refused nothing: Bedrock decides."""
    kinds = model.profile.tool_choices if model.known else ("auto", "any", "tool")
    if not model.profile.forced_choice_with_thinking and thinking_on(model, fields):
        return tuple(k for k in kinds if k == "auto")
    return kinds


_NOVA_EFFORTS = ("low", "medium", "high")


def check_nova_reasoning(model: ModelDescription, fields: Mapping[str, Any] | None) -> None:
    """Refuse a Nova 2 ``reasoningConfig`` Bedrock would reject (checked at construction)."""
    if model.profile.reasoning != "nova":
        return
    config = (fields or {}).get("reasoningConfig")
    if not isinstance(config, Mapping) or config.get("type") != "enabled":
        return
    if "maxReasoningEffort" not in config:
        raise ValueError(
            "When reasoningConfig type is 'enabled', 'maxReasoningEffort' must be "
            f"specified. Valid values: {list(_NOVA_EFFORTS)}"
        )
    effort = config["maxReasoningEffort"]
    if not isinstance(effort, str):
        raise ValueError(
            f"Invalid maxReasoningEffort type: {type(effort).__name__}. Must be a string, "
            f"one of: {list(_NOVA_EFFORTS)}"
        )
    if effort not in _NOVA_EFFORTS:
        raise ValueError(
            f"Invalid maxReasoningEffort: {effort!r}. Must be one of: {list(_NOVA_EFFORTS)}"
        )


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def check_inference_value(name: str, value: Any) -> None:
    """Refuse an inference value Bedrock would reject, naming the parameter (used for
    constructor and per-call values alike)."""
    if value is None:
        return
    if name == "max_tokens":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"max_tokens must be a positive integer, got {value!r}")
    elif name in ("temperature", "top_p"):
        number = _number(name, value)
        if not 0 <= number <= 1:
            raise ValueError(f"{name} must be between 0 and 1, got {value!r}")


_profile_bases: dict[str, str | None] = {}
_profile_lock = threading.Lock()


def base_of_inference_profile(arn: str, control_client: Any) -> str | None:
    """The foundation model id an application inference profile routes to, asked of
    Bedrock once per ARN in the process (``GetInferenceProfile``; blocking: call it off the
    event loop). ``None`` when the profile names no foundation model; errors propagate
    (and are not cached)."""
    with _profile_lock:
        if arn in _profile_bases:
            return _profile_bases[arn]
    answer = control_client.get_inference_profile(inferenceProfileIdentifier=arn)
    base = None
    for model in answer.get("models") or ():
        parsed = parse_model_id(str((model or {}).get("modelArn") or ""))
        if parsed.base:
            base = parsed.base
            break
    with _profile_lock:
        _profile_bases[arn] = base
    return base


def description_with(
    model_id: str, base_model_id: str | None, user_profile: Mapping[str, Any] | None
) -> ModelDescription:
    """The model's description, with the facts of a ``profile`` given to the constructor
    over it."""
    described = describe(model_id, base_model_id)
    facts = profile_facts(user_profile) if user_profile else None
    if facts:
        profile = dataclasses.replace(described.profile, **facts)
        described = dataclasses.replace(described, profile=profile)
    return described


def derive_settings(model: Any) -> None:
    """After field validation, on a ``ChatBedrockStream``: check the settings that go
    together, fill in ``profile`` and ``supports_tool_choice_values`` when not given, and
    fold the request fields ``reasoning_effort`` stands for into
    ``additional_model_request_fields`` (its own keys win)."""
    from ._request import reasoning_fields

    if model.guard_last_turn_only and not model.guardrail_config:
        raise ValueError(
            "guard_last_turn_only=True needs guardrail_config (the guardrail that "
            "assesses the last turn)"
        )
    for name in ("max_tokens", "temperature", "top_p"):
        check_inference_value(name, getattr(model, name))
    if model.profile is None:
        model.profile = langchain_profile(model.description)
    else:
        model._user_profile = dict(model.profile)
    described = model.description
    explicit = model.additional_model_request_fields
    model._explicit_fields = explicit
    if model.reasoning_effort is not None:
        derived = reasoning_fields(
            model.base_model_id or model.model_id,
            effort=model.reasoning_effort,
            levels=(model.profile or {}).get("reasoning_effort_levels"),
        )
        if derived:
            model.additional_model_request_fields = {**derived, **(explicit or {})}
            model._folded_fields = model.additional_model_request_fields
    if model.supports_tool_choice_values is None:
        model._derived_choices = True
        model.supports_tool_choice_values = tool_choice_kinds(described, model._effective_fields())
    check_nova_reasoning(described, model.additional_model_request_fields)
