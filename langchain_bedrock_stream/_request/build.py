"""Request assembly: :func:`build_request` makes the kwargs of ``converse`` / ``converse_stream``
from the converted messages, the call parameters, cache points and reasoning fields.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from .caching import apply_cache_plan, check_cache_points, place_after_media, plan_from
from .family import description, known_profile
from .messages import has_tool_blocks, to_converse_messages, tool_history_as_text
from .reasoning import THINKING_HEADROOM, reasoning_fields, thinking_enabled
from .schemas import check_union_limit, simplify_schemas

_INFERENCE_KEYS = {
    "max_tokens": "maxTokens",
    "temperature": "temperature",
    "top_p": "topP",
    "stop_sequences": "stopSequences",
    "stop": "stopSequences",
}
_GUARDRAIL_KEYS = {
    "guardrail_identifier": "guardrailIdentifier",
    "guardrail_version": "guardrailVersion",
    "stream_processing_mode": "streamProcessingMode",
}


def _renamed(config: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    """``config`` with snake_case aliases renamed and ``None`` / empty-list values dropped."""
    return {
        names.get(key, key): value
        for key, value in config.items()
        if value is not None and value != []
    }


def _service_tier(value: str | Mapping[str, Any]) -> dict[str, Any]:
    return {"type": value} if isinstance(value, str) else dict(value)


def _performance(value: str | Mapping[str, Any]) -> dict[str, Any]:
    return {"latency": value} if isinstance(value, str) else dict(value)


def _prompt_variables(value: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: {"text": item} if isinstance(item, str) else dict(item)
        for name, item in value.items()
    }


def _output_config(value: Mapping[str, Any]) -> dict[str, Any]:
    """``outputConfig`` with a dict JSON schema serialised: Converse wants it as a string."""
    config = dict(value)
    text_format = config.get("textFormat")
    if not isinstance(text_format, Mapping):
        return config
    structure = text_format.get("structure")
    if not isinstance(structure, Mapping):
        return config
    spec = structure.get("jsonSchema")
    if not (isinstance(spec, Mapping) and isinstance(spec.get("schema"), Mapping)):
        return config
    spec = {**spec, "schema": json.dumps(spec["schema"])}
    config["textFormat"] = {**text_format, "structure": {**structure, "jsonSchema": spec}}
    return config


def _forces_tool_use(tool_config: Mapping[str, Any] | None) -> bool:
    choice = (tool_config or {}).get("toolChoice")
    return isinstance(choice, Mapping) and bool({"any", "tool"} & set(choice))


NO_TOOL_CHOICE: Mapping[str, Any] = {"none": {}}
"""The ``toolChoice`` that stands for LangChain's ``tool_choice="none"``. Converse has no such
choice, so :func:`build_request` sends no tools at all for it (see there)."""


def _offered_tools(tool_config: Mapping[str, Any] | None) -> tuple[Mapping[str, Any] | None, bool]:
    """The ``toolConfig`` to send, and whether tools were withheld by ``tool_choice="none"``."""
    if tool_config and tool_config.get("toolChoice") == NO_TOOL_CHOICE:
        return None, True
    return tool_config, False


def _inference(config: Mapping[str, Any] | None) -> dict[str, Any]:
    inference = _renamed(config or {}, _INFERENCE_KEYS)
    stops = inference.get("stopSequences")
    if isinstance(stops, str):  # stop="END" is one sequence, not three
        inference["stopSequences"] = [stops]
    return inference


def _history_without_tools(turns: list[Any], *, withheld: bool) -> list[Any]:
    """Tool blocks in a request without ``toolConfig`` written as text (Bedrock rejects them
    there); a warning tells the caller, unless ``tool_choice="none"`` asked for it."""
    if not has_tool_blocks(turns):
        return turns
    if not withheld:
        warnings.warn(
            "Tool messages were passed without toolConfig (no tools bound): the tool calls and "
            "results in the history are sent as text, since Bedrock rejects tool blocks "
            "without tools. Bind the tools to keep them as tool blocks.",
            RuntimeWarning,
            stacklevel=3,
        )
    return tool_history_as_text(turns)


def build_request(
    messages: Sequence[BaseMessage],
    *,
    model_id: str,
    inference_config: Mapping[str, Any] | None = None,
    tool_config: Mapping[str, Any] | None = None,
    additional_model_request_fields: Mapping[str, Any] | None = None,
    additional_model_response_field_paths: Sequence[str] | None = None,
    guardrail_config: Mapping[str, Any] | None = None,
    performance_config: str | Mapping[str, Any] | None = None,
    service_tier: str | Mapping[str, Any] | None = None,
    request_metadata: Mapping[str, str] | None = None,
    prompt_variables: Mapping[str, Any] | None = None,
    output_config: Mapping[str, Any] | None = None,
    cache_system: bool = False,
    cache_tools: bool = False,
    cache_messages: bool = False,
    cache_ttl: str | None = None,
    cache_control: Mapping[str, Any] | None = None,
    reasoning_effort: str | None = None,
    thinking_budget: int | None = None,
    base_model_id: str | None = None,
) -> dict[str, Any]:
    """Build the kwargs of ``client.converse(**req)`` / ``client.converse_stream(**req)``.

    ``system`` and ``inferenceConfig`` are always sent (``[]`` and ``{}`` when empty, as
    ChatBedrockConverse sends them, so a request captured from it matches and code reading
    ``request["inferenceConfig"]`` finds it); every other member is omitted when not
    given. ``inference_config`` and ``guardrail_config`` take Converse (camelCase) keys or
    their snake_case names (a single stop sequence may be a string); ``service_tier`` and
    ``performance_config`` take a plain string (``"flex"``, ``"optimized"``) too.
    ``guardrailConfig.streamProcessingMode`` exists only for ConverseStream.

    Tools: a ``tool_config`` whose ``toolChoice`` is :data:`NO_TOOL_CHOICE` sends no
    ``toolConfig``: Converse has no "none" choice, and tools sent without a choice can still
    be called. Without ``toolConfig`` (none bound, or withheld) tool calls and results in
    the history are sent as text (Bedrock rejects tool blocks without ``toolConfig``; this
    also guarantees the model calls no tool), with a ``RuntimeWarning`` when no tools were
    bound.

    Caching (see :mod:`.caching`): ``cache_system`` / ``cache_tools`` put a cache point after
    the system prompt / the tools, ``cache_messages`` keeps a growing conversation cached,
    all with ``cache_ttl`` (``"5m"`` or ``"1h"``); a call's ``cache_control`` asks for all
    three where room is left. More than :data:`MAX_CACHE_POINTS` cache points, or a ``1h``
    point after a shorter one, raises ``ValueError``.

    Reasoning: ``reasoning_effort`` / ``thinking_budget`` add the model family's reasoning
    fields (see :func:`reasoning_fields`; the family is read from ``base_model_id`` when
    given, else from ``model_id``) under ``additionalModelRequestFields``, whose own keys
    win. With a thinking budget and no ``maxTokens``, ``maxTokens`` becomes the budget plus
    4096 (Anthropic requires it above the budget); a ``maxTokens`` at or below the budget
    raises ``ValueError``. Forced tool choice (``any`` or a named tool) with Claude thinking
    on raises ``ValueError``: Anthropic models reject that combination.

    Raises ``ValueError`` for an empty message list and ``InputConversionError`` for content
    that cannot be converted or breaks Bedrock's input limits (see :mod:`.limits`).
    """
    if not messages:
        raise ValueError("build_request needs at least one message; the message list is empty")
    family = base_model_id or model_id
    system, turns = to_converse_messages(messages, model_id=model_id, base_model_id=base_model_id)
    tool_config, withheld = _offered_tools(tool_config)
    if not (tool_config and tool_config.get("tools")):
        turns = _history_without_tools(turns, withheld=withheld)
    # ``system`` always, ``[]`` without a system prompt: what ChatBedrockConverse sends, so a
    # botocore Stubber's expected_params captured from it match (Bedrock reads both alike).
    request: dict[str, Any] = {"modelId": model_id, "messages": turns, "system": system}
    inference = _inference(inference_config)
    derived = reasoning_fields(family, effort=reasoning_effort, budget=thinking_budget)
    if derived:
        additional_model_request_fields = {**derived, **(additional_model_request_fields or {})}
    thinking = (additional_model_request_fields or {}).get("thinking")
    if derived.get("thinking") is thinking and isinstance(thinking, Mapping):
        budget = thinking.get("budget_tokens")
        if isinstance(budget, int):
            max_tokens = inference.get("maxTokens")
            if max_tokens is None:
                inference["maxTokens"] = budget + THINKING_HEADROOM
            elif max_tokens <= budget:
                raise ValueError(
                    f"max_tokens={max_tokens} must be greater than the thinking budget of "
                    f"{budget} tokens (the budget is part of max_tokens): raise max_tokens or "
                    "lower thinking_budget / reasoning_effort"
                )
    request["inferenceConfig"] = inference
    if _forces_tool_use(tool_config) and thinking_enabled(family, additional_model_request_fields):
        raise ValueError(
            f"tool_choice {dict((tool_config or {})['toolChoice'])!r} forces tool use, which "
            f"{family} rejects while extended thinking is on: use tool_choice='auto' (or "
            "none), or turn thinking off"
        )
    optional: tuple[tuple[str, Any, Callable[[Any], Any]], ...] = (
        ("toolConfig", tool_config, dict),
        ("additionalModelRequestFields", additional_model_request_fields, dict),
        ("additionalModelResponseFieldPaths", additional_model_response_field_paths, list),
        ("guardrailConfig", guardrail_config, lambda v: _renamed(v, _GUARDRAIL_KEYS)),
        ("performanceConfig", performance_config, _performance),
        ("serviceTier", service_tier, _service_tier),
        ("requestMetadata", request_metadata, dict),
        ("promptVariables", prompt_variables, _prompt_variables),
        ("outputConfig", output_config, _output_config),
    )
    for member, value, normalise in optional:
        if value:
            request[member] = normalise(value)
    simplify_schemas(request)
    check_union_limit(request)
    plan = plan_from(
        cache_control,
        system=cache_system,
        tools=cache_tools,
        messages=cache_messages,
        ttl=cache_ttl,
    )
    apply_cache_plan(request, plan, known_profile(description(model_id, base_model_id)))
    place_after_media(request)
    check_cache_points(request)
    return request
