"""One call's request: the chat model's settings and a call's keyword arguments -> the kwargs
of ``converse`` / ``converse_stream``.

:data:`PER_CALL` is the table of per-call parameters: each keyword a call (``invoke``,
``stream``, ``bind``) may pass, the constructor field it overrides for that call, and the
route by which it reaches the request. Everything else here reads that table.
:class:`CallSettings` is the chat model's configuration as plain data, so the assembly
(:func:`call_request`) runs and is tested without a chat model.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import BaseMessage, SystemMessage

from .._model_setup import check_inference_value, thinking_on
from .._tools import call_tool_config, resolve_tool_choice
from ..models import ModelDescription
from .build import build_request
from .reasoning import reasoning_fields

__all__ = [
    "PER_CALL",
    "PER_CALL_NAMES",
    "CallParameter",
    "CallSettings",
    "call_request",
    "effective_fields",
    "for_converse",
    "guard_last_user_turn",
    "resolve_choice",
]

Route = Literal["inference", "stop", "build", "reasoning", "tools", "response_format", "streaming"]


@dataclass(frozen=True)
class CallParameter:
    """A keyword argument a call may pass.

    ``route`` says how it reaches the request:

    - ``inference``: ``inferenceConfig[target]``; the call's value, when not ``None``,
      replaces ``field``'s.
    - ``stop``: ``inferenceConfig.stopSequences``: the first non-empty of LangChain's
      ``stop`` argument, these keywords in table order, then ``field``.
    - ``build``: the :func:`build_request` keyword ``target``; the first of the keywords
      sharing a target that is not ``None`` wins, else ``field``'s value.
    - ``reasoning``: like ``build``, but a call giving either reasoning keyword replaces both
      constructor values (an effort and a budget exclude each other).
    - ``tools``: ``toolConfig``, from these keywords together (``tools.call_tool_config``).
    - ``response_format``: ``outputConfig`` from an OpenAI-style ``response_format`` when
      the call gives no ``output_config``.
    - ``streaming``: not part of the request; decides whether the call streams.
    """

    name: str
    field: str | None
    route: Route
    target: str | None = None
    listed: bool = True
    """Named in the error for an unknown keyword (``stream`` is LangChain's own)."""


def _built(*names: str) -> tuple[CallParameter, ...]:
    """Parameters whose field, keyword and ``build_request`` keyword share one name."""
    return tuple(CallParameter(name, name, "build", name) for name in names)


PER_CALL: tuple[CallParameter, ...] = (
    CallParameter("max_tokens", "max_tokens", "inference", "maxTokens"),
    CallParameter("temperature", "temperature", "inference", "temperature"),
    CallParameter("top_p", "top_p", "inference", "topP"),
    CallParameter("stop", "stop_sequences", "stop", "stopSequences"),
    CallParameter("stop_sequences", "stop_sequences", "stop", "stopSequences"),
    CallParameter("model", "model_id", "build", "model_id"),
    CallParameter("model_id", "model_id", "build", "model_id"),
    *_built(
        "additional_model_request_fields",
        "additional_model_response_field_paths",
        "guardrail_config",
        "performance_config",
        "service_tier",
        "request_metadata",
        "prompt_variables",
        "output_config",
        "cache_system",
        "cache_tools",
        "cache_messages",
        "cache_ttl",
    ),
    CallParameter("cache_control", None, "build", "cache_control"),
    CallParameter("reasoning_effort", "reasoning_effort", "reasoning", "reasoning_effort"),
    CallParameter("thinking_budget", "thinking_budget", "reasoning", "thinking_budget"),
    CallParameter("tools", None, "tools"),
    CallParameter("tool_choice", None, "tools"),
    CallParameter("tool_config", None, "tools"),
    CallParameter("toolConfig", None, "tools"),
    CallParameter("response_format", None, "response_format", "output_config"),
    CallParameter("disable_streaming", "disable_streaming", "streaming"),
    CallParameter("stream", None, "streaming", listed=False),
)
"""Every per-call parameter, once (see :class:`CallParameter`)."""

PER_CALL_NAMES = frozenset(parameter.name for parameter in PER_CALL)
"""The keyword arguments a call may pass."""


def _targets(route: Route) -> tuple[tuple[str, tuple[str, ...], str | None], ...]:
    """``(target, keywords in table order, field of the first)`` for the rows of ``route``."""
    rows = [p for p in PER_CALL if p.route == route and p.target is not None]
    targets = dict.fromkeys(p.target for p in rows if p.target)
    return tuple(
        (
            target,
            tuple(p.name for p in rows if p.target == target),
            next(p.field for p in rows if p.target == target),
        )
        for target in targets
    )


_ROUTES: dict[Route, tuple[tuple[str, tuple[str, ...], str | None], ...]] = {
    route: _targets(route) for route in ("inference", "stop", "build", "reasoning")
}


@dataclass(slots=True)
class CallSettings:
    """The chat model's configuration a request is assembled from, as plain data.

    Attributes carry the chat model's field names and values, except
    ``additional_model_request_fields``: the fields as the request builder starts from them
    (without what ``reasoning_effort`` folded in at construction, since the builder adds
    the call's own reasoning fields), while ``fields_with_reasoning`` is the model's
    ``additional_model_request_fields`` as it reads (what decides whether it thinks).
    """

    model_id: str
    description: ModelDescription
    owner: str = "ChatBedrockStream"
    """The class name unknown keyword arguments are reported against."""
    base_model_id: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop_sequences: Sequence[str] | None = None
    system: Sequence[str | dict[str, Any]] | None = None
    additional_model_request_fields: Mapping[str, Any] | None = None
    fields_with_reasoning: Mapping[str, Any] | None = None
    additional_model_response_field_paths: Sequence[str] | None = None
    guardrail_config: Mapping[str, Any] | None = None
    performance_config: Mapping[str, Any] | str | None = None
    service_tier: str | None = None
    request_metadata: Mapping[str, str] | None = None
    prompt_variables: Mapping[str, Any] | None = None
    output_config: Mapping[str, Any] | None = None
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    cache_system: bool = False
    cache_tools: bool = False
    cache_messages: bool = False
    cache_ttl: str | None = None
    disable_streaming: bool | str = False
    raw_blocks: Sequence[dict[str, Any]] | None = None
    guard_last_turn_only: bool = False
    profile: Mapping[str, Any] | None = None
    supports_tool_choice_values: Sequence[str] | None = None

    @classmethod
    def of(cls, model: Any, **given: Any) -> CallSettings:
        """The settings of ``model`` (an object whose instance attributes, such as a pydantic
        model's fields, carry these names), ``given`` over them."""
        own = vars(model)
        values = {name: own[name] for name in _SETTINGS if name in own and name not in given}
        return cls(**values, **given)


_SETTINGS = tuple(field.name for field in dataclasses.fields(CallSettings))


def effective_fields(settings: CallSettings) -> dict[str, Any]:
    """The request fields with what ``reasoning_effort`` / ``thinking_budget`` add."""
    derived = reasoning_fields(
        settings.base_model_id or settings.model_id,
        effort=settings.reasoning_effort,
        budget=settings.thinking_budget,
    )
    return {**derived, **(settings.fields_with_reasoning or {})}


def resolve_choice(
    choice: Mapping[str, Any] | None, settings: CallSettings
) -> dict[str, Any] | None:
    """``choice`` if the model takes it, ``auto`` (with a warning) when thinking forbids
    it, else ``ValueError`` (see ``tools.resolve_tool_choice``)."""
    described = settings.description
    return resolve_tool_choice(
        choice,
        tuple(settings.supports_tool_choice_values or ()),
        model=described.name or settings.model_id,
        thinking=thinking_on(described, effective_fields(settings)),
    )


def _check_names(kwargs: Mapping[str, Any], owner: str) -> None:
    unknown = set(kwargs) - PER_CALL_NAMES
    if unknown:
        listed = sorted(p.name for p in PER_CALL if p.listed)
        raise TypeError(
            f"unsupported argument(s) for {owner}: {sorted(unknown)}; per-call options are {listed}"
        )


def _routed(route: Route, kwargs: Mapping[str, Any], settings: CallSettings) -> dict[str, Any]:
    """``target -> value`` for the parameters of ``route``: per target, the first keyword
    given (not ``None``) in table order, else the field of the first parameter naming it."""
    values: dict[str, Any] = {}
    for target, names, field in _ROUTES[route]:
        for name in names:
            value = kwargs.get(name)
            if value is not None:
                break
        else:
            value = getattr(settings, field) if field else None
        values[target] = value
    return values


def _reasoning(kwargs: Mapping[str, Any], settings: CallSettings) -> dict[str, Any]:
    """``reasoning_effort`` / ``thinking_budget`` for one call: a call's own value
    replaces both constructor values."""
    rows = _ROUTES["reasoning"]
    if any(kwargs.get(name) is not None for _target, names, _field in rows for name in names):
        return {target: kwargs.get(names[0]) for target, names, _field in rows}
    return {target: getattr(settings, field) if field else None for target, _n, field in rows}


def _stop_sequences(
    stop: Sequence[str] | str | None, kwargs: Mapping[str, Any], settings: CallSettings
) -> Any:
    """The first non-empty of LangChain's ``stop``, the call's keywords, the setting."""
    if stop:
        return stop
    ((_target, names, field),) = _ROUTES["stop"]
    for name in names:
        if kwargs.get(name):
            return kwargs[name]
    return getattr(settings, field) if field else None


def drop_sampling(inference: dict[str, Any], settings: CallSettings) -> None:
    """Leave out ``temperature`` / ``topP`` when the model's profile says it rejects
    them (``temperature: False``), with one warning naming what was dropped. A model
    whose profile is silent keeps them: Bedrock decides."""
    if (settings.profile or {}).get("temperature") is not False:
        return
    dropped = [
        name
        for key, name in (("temperature", "temperature"), ("topP", "top_p"))
        if inference.pop(key, None) is not None
    ]
    if dropped:
        warnings.warn(
            f"{settings.model_id} does not accept {' or '.join(dropped)} (its model profile "
            f"says temperature: False); {', '.join(dropped)} left out of the request",
            UserWarning,
            stacklevel=5,
        )


_TOOL_TURN_GUARD = {"guardContent": {"text": {"text": "[tool_result]"}}}
"""What a last turn holding only tool results gets, so the guardrail assesses that turn
rather than falling back to the whole conversation."""


def guard_last_user_turn(messages: list[dict[str, Any]]) -> None:
    """Wrap the text of the last user turn in ``guardContent`` blocks, in place (a turn of
    tool results only gets a placeholder ``guardContent`` block)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = [
                {"guardContent": {"text": {"text": block["text"]}}}
                if set(block) == {"text"}
                else block
                for block in message["content"]
            ]
            if not any("guardContent" in block for block in content):
                content.append(dict(_TOOL_TURN_GUARD))
            message["content"] = content
            return


def call_request(
    messages: Sequence[BaseMessage],
    stop: Sequence[str] | str | None,
    kwargs: Mapping[str, Any],
    settings: CallSettings,
) -> dict[str, Any]:
    """The Converse request of one call: ``messages`` with the call's ``kwargs`` (see
    :data:`PER_CALL`) over ``settings``. Raises ``TypeError`` for a keyword not in the
    table, ``ValueError`` for a value Bedrock would reject."""
    _check_names(kwargs, settings.owner)
    for name in ("max_tokens", "temperature", "top_p"):
        check_inference_value(name, kwargs.get(name))
    inference = {k: v for k, v in _routed("inference", kwargs, settings).items() if v is not None}
    drop_sampling(inference, settings)
    stops = _stop_sequences(stop, kwargs, settings)
    if stops:
        inference["stopSequences"] = [stops] if isinstance(stops, str) else list(stops)

    built = _routed("build", kwargs, settings)
    if kwargs.get("response_format") and kwargs.get("output_config") is None:
        from .._structured import output_config_from_response_format

        built["output_config"] = output_config_from_response_format(kwargs["response_format"])
    system = [SystemMessage(content=list(settings.system))] if settings.system else []
    request = build_request(
        [*system, *messages],
        inference_config=inference,
        tool_config=call_tool_config(kwargs, functools.partial(resolve_choice, settings=settings)),
        base_model_id=settings.base_model_id,
        **built,
        **_reasoning(kwargs, settings),
    )
    if settings.raw_blocks is not None:
        request["messages"] = list(settings.raw_blocks)
        request.pop("system", None)
    if settings.guard_last_turn_only:
        guard_last_user_turn(request["messages"])
    return request


def for_converse(request: dict[str, Any]) -> dict[str, Any]:
    """``request`` as Converse takes it: without ``guardrailConfig.streamProcessingMode``,
    a ConverseStream-only setting Converse rejects."""
    guardrail = request.get("guardrailConfig")
    if guardrail and "streamProcessingMode" in guardrail:
        request = {
            **request,
            "guardrailConfig": {k: v for k, v in guardrail.items() if k != "streamProcessingMode"},
        }
    return request
