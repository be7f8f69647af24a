"""What the request builder needs to know about a model family, read from the model id.

Each answer is a small function of the foundation model name (:func:`base_model_name`), so a
fuller model description can replace this module without touching the converters.
"""

from __future__ import annotations

from typing import Literal

ReasoningMode = Literal["native", "think_tags", "signed_only"]

_GEO_PREFIXES = frozenset(
    {"us", "eu", "apac", "ap", "global", "us-gov", "jp", "au", "ca", "sa", "amer", "in"}
)


def base_model_name(model_id: str) -> str:
    """The foundation model name inside ``model_id``.

    A model or inference-profile ARN gives its resource name, and a cross-region or global
    profile prefix (``us.``, ``eu.``, ``global.``, ...) is dropped:
    ``us.anthropic.claude-sonnet-4-6`` -> ``anthropic.claude-sonnet-4-6``. An application
    inference profile ARN names no model; pass ``base_model_id`` for those.
    """
    name = model_id.rsplit("/", 1)[-1] if model_id.startswith("arn:") else model_id
    head, sep, rest = name.partition(".")
    if sep and head.lower() in _GEO_PREFIXES and "." in rest:
        return rest
    return name


def reasoning_mode(model_id: str | None) -> ReasoningMode:
    """How earlier reasoning goes back to ``model_id``.

    DeepSeek-R1 rejects ``reasoningContent`` in history: its reasoning is sent as
    ``<think>...</think>`` text (the form Bedrock accepted in recorded traffic). Anthropic
    models reject reasoning without a signature: unsigned reasoning is left out. Other
    models get ``reasoningContent`` as it is.
    """
    model = (model_id or "").lower()
    if "deepseek.r1" in model:
        return "think_tags"
    if "anthropic." in model or "claude" in model:
        return "signed_only"
    return "native"
