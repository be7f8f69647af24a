"""Reasoning options: ``reasoning_effort`` / ``thinking_budget`` -> the model family's
``additionalModelRequestFields`` (:func:`reasoning_fields`), and whether thinking is on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..models import describe
from .family import base_model_name

REASONING_EFFORTS = ("none", "low", "medium", "high", "xhigh", "max")
"""Values of ``reasoning_effort``; each family accepts the subset listed in
:func:`reasoning_fields`."""

_THINKING_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384, "xhigh": 24576, "max": 32000}
"""``reasoning_effort`` -> ``budget_tokens`` for Claude models that take a thinking budget."""
THINKING_HEADROOM = 4096
"""Answer tokens added to a thinking budget when ``max_tokens`` is not set."""
_MIN_THINKING_BUDGET = 1024
_THREE_LEVELS = ("low", "medium", "high")


def _budget_thinking(budget: int) -> dict[str, Any]:
    return {"thinking": {"type": "enabled", "budget_tokens": budget}}


def _unsupported_effort(model: str, effort: str, levels: Sequence[str]) -> ValueError:
    return ValueError(
        f"reasoning_effort={effort!r} is not supported for {model}; use one of {list(levels)}"
    )


def reasoning_fields(
    model_id: str,
    *,
    effort: str | None = None,
    budget: int | None = None,
    levels: Sequence[str] | None = None,
) -> dict[str, Any]:
    """``additionalModelRequestFields`` members that turn reasoning on for ``model_id``.

    - ``budget`` (``thinking_budget``): Anthropic Claude only,
      ``{"thinking": {"type": "enabled", "budget_tokens": budget}}`` (at least 1024).
    - ``effort`` (``reasoning_effort``), by family:

      - Claude 4.6 and later (adaptive thinking):
        ``{"thinking": {"type": "adaptive"}, "output_config": {"effort": effort}}`` for
        ``low``/``medium``/``high``/``xhigh``/``max``; ``none`` sends
        ``{"thinking": {"type": "disabled"}}``.
      - Claude 3.7 to 4.5 (budgeted thinking): a budget of 1024 / 4096 / 16384 / 24576 /
        32000 tokens for ``low`` / ``medium`` / ``high`` / ``xhigh`` / ``max``; ``none``
        sends nothing (thinking is off by default).
      - Amazon Nova 2: ``{"reasoningConfig": {"type": "enabled", "maxReasoningEffort":
        effort}}`` for ``low``/``medium``/``high``; ``none`` sends nothing.
      - OpenAI gpt-oss, DeepSeek V3, Kimi, GLM: ``{"reasoning_effort": effort}``.
      - OpenAI GPT-5 and later: ``{"reasoning": {"effort": effort}}``.

    The request style (``reasoning`` in the model's profile) and the levels a model takes
    come from its profile (:mod:`..models`), or the levels from ``levels``
    when given (a ``profile={"reasoning_effort_levels": [...]}`` set on the chat model).

    Raises ``ValueError`` for other families and for values a family does not take (set
    ``additional_model_request_fields`` directly for those), and when both are given.
    """
    if effort is None and budget is None:
        return {}
    if effort is not None and budget is not None:
        raise ValueError(
            "set either reasoning_effort or thinking_budget, not both "
            f"(got reasoning_effort={effort!r}, thinking_budget={budget!r})"
        )
    model = base_model_name(model_id).lower()
    if budget is not None:
        if "anthropic." not in model and "claude" not in model:
            raise ValueError(
                f"thinking_budget is an Anthropic Claude setting; {model_id!r} is not a Claude "
                "model (use reasoning_effort or additional_model_request_fields)"
            )
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < _MIN_THINKING_BUDGET:
            raise ValueError(
                f"thinking_budget must be an integer of at least {_MIN_THINKING_BUDGET} tokens, "
                f"got {budget!r}"
            )
        return _budget_thinking(budget)
    assert effort is not None
    if effort not in REASONING_EFFORTS:
        raise ValueError(
            f"reasoning_effort must be one of {list(REASONING_EFFORTS)}, got {effort!r}"
        )
    profile = describe(model_id).profile
    accepted = tuple(levels) if levels else profile.reasoning_efforts
    if profile.reasoning == "adaptive":
        if effort == "none":
            return {"thinking": {"type": "disabled"}}
        _check_level(model_id, effort, accepted)
        return {"thinking": {"type": "adaptive"}, "output_config": {"effort": effort}}
    if profile.reasoning == "budget":
        return {} if effort == "none" else _budget_thinking(_THINKING_BUDGETS[effort])
    if profile.reasoning == "nova":
        if effort == "none":
            return {}
        _check_level(model_id, effort, accepted or _THREE_LEVELS)
        return {"reasoningConfig": {"type": "enabled", "maxReasoningEffort": effort}}
    if profile.reasoning == "effort_field":
        _check_level(model_id, effort, accepted)
        return {"reasoning_effort": effort}
    if profile.reasoning == "effort_object":
        _check_level(model_id, effort, accepted)
        return {"reasoning": {"effort": effort}}
    raise ValueError(
        f"reasoning_effort is not supported for {model_id!r}: it is mapped for Anthropic "
        "Claude 3.7 and later, Amazon Nova 2, OpenAI GPT-5 and gpt-oss, DeepSeek V3, Kimi "
        "and GLM models (for an application inference profile ARN, set base_model_id); for "
        "other models put the model's own reasoning setting in additional_model_request_fields"
    )


def _check_level(model_id: str, effort: str, accepted: Sequence[str]) -> None:
    """Refuse a level the model does not list (any level passes when none are listed)."""
    if accepted and effort not in accepted:
        raise _unsupported_effort(model_id, effort, accepted)


def thinking_enabled(model_id: str, fields: Mapping[str, Any] | None) -> bool:
    """Whether ``fields`` (``additionalModelRequestFields``) turn Claude thinking on."""
    model = base_model_name(model_id).lower()
    if "anthropic." not in model and "claude" not in model:
        return False
    thinking = (fields or {}).get("thinking")
    return isinstance(thinking, Mapping) and thinking.get("type") in ("enabled", "adaptive")
