"""LangChain tools and tool choice -> Converse ``toolConfig``.

Shapes follow botocore's ``bedrock-runtime`` model: ``Tool`` is a union of ``toolSpec``
(``name``, ``description``, ``inputSchema.json``, ``strict``), ``systemTool`` and ``cachePoint``;
``ToolChoice`` is a union of ``auto``, ``any`` and ``tool``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from langchain_core.utils.function_calling import convert_to_openai_tool

from ._request import NO_TOOL_CHOICE, create_cache_point

__all__ = [
    "bindable_tools",
    "binding",
    "call_tool_config",
    "closed_schema",
    "convert_tool_choice",
    "convert_tools",
    "resolve_tool_choice",
    "tool_config",
    "tool_names",
]

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_PASS_THROUGH = ("toolSpec", "systemTool", "cachePoint")
_DATA_KEYWORDS = frozenset({"default", "const", "enum", "examples"})  # values, not schemas


def _label(tool: Any) -> str:
    name = getattr(tool, "name", None) or getattr(tool, "__name__", None)
    if isinstance(tool, Mapping):
        function = tool.get("function")
        name = tool.get("name") or tool.get("title")
        if isinstance(function, Mapping):
            name = function.get("name")
    text = repr(name) if name else repr(tool)
    return text if len(text) <= 80 else text[:77] + "..."


def _close_objects(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on every object that does not set it.

    Strict tool use requires it; ``required`` is left as written (optional stays optional).
    """
    if isinstance(schema, list):
        return [_close_objects(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    closed = {
        key: value if key in _DATA_KEYWORDS else _close_objects(value)
        for key, value in schema.items()
    }
    properties = schema.get("properties")
    if isinstance(properties, Mapping):  # names -> schemas: each value is a schema
        closed["properties"] = {k: _close_objects(v) for k, v in properties.items()}
    is_object = schema.get("type") == "object" or "properties" in schema
    if is_object and "additionalProperties" not in schema:
        closed["additionalProperties"] = False
    return closed


def _tool_spec(tool: Any, strict: bool | None) -> dict[str, Any]:
    try:
        function = convert_to_openai_tool(tool)["function"]
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(f"tool {_label(tool)} cannot be converted: {err}") from None
    name = function.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise ValueError(
            f"tool {_label(tool)} needs a name of 1-64 letters, digits, '_' or '-'; got {name!r}"
        )
    schema = function.get("parameters") or {"type": "object", "properties": {}}
    if not isinstance(schema, Mapping) or schema.get("type", "object") != "object":
        kind = schema.get("type") if isinstance(schema, Mapping) else type(schema).__name__
        raise ValueError(f"tool {name!r}: the input schema must be a JSON object, got {kind!r}")
    schema = {"type": "object", **schema}
    strict = function.get("strict") if strict is None else strict
    spec: dict[str, Any] = {"name": name}
    if function.get("description"):
        spec["description"] = function["description"]
    spec["inputSchema"] = {"json": _close_objects(schema) if strict else schema}
    if strict is not None:
        spec["strict"] = bool(strict)
    return {"toolSpec": spec}


def _one_tool(tool: Any, strict: bool | None) -> dict[str, Any]:
    if isinstance(tool, Mapping) and len(tool) == 1 and next(iter(tool)) in _PASS_THROUGH:
        return dict(tool)
    if isinstance(tool, str):  # a Bedrock system tool by name, e.g. "nova_grounding"
        return {"systemTool": {"name": tool}}
    to_bedrock = getattr(tool, "to_bedrock_format", None)
    if callable(to_bedrock):  # system-tool objects that know their Converse form
        return dict(to_bedrock())
    return _tool_spec(tool, strict)


def _cache_point_after(tool: Any) -> list[dict[str, Any]]:
    """A cache point for a tool dict that carries Anthropic's ``cache_control`` marker."""
    marker = tool.get("cache_control") if isinstance(tool, Mapping) else None
    if not marker:
        return []
    ttl = marker.get("ttl") if isinstance(marker, Mapping) else None
    try:
        return [dict(create_cache_point(ttl=ttl))]
    except ValueError as err:
        raise ValueError(f"tool {_label(tool)}: {err}") from None


def convert_tools(tools: Sequence[Any], *, strict: bool | None = None) -> list[dict[str, Any]]:
    """Convert LangChain tools to Converse ``tools`` entries.

    Accepts ``BaseTool``s, pydantic models, TypedDicts, functions, JSON-schema dicts and
    OpenAI/Anthropic-format dicts (converted with ``convert_to_openai_tool``); Converse
    ``{"toolSpec"}``, ``{"systemTool"}`` and ``{"cachePoint"}`` entries pass through, and a
    plain string names a system tool. A tool dict with Anthropic's ``cache_control`` is
    followed by a ``cachePoint`` (with its ``ttl``). ``strict`` sets ``toolSpec.strict`` on
    converted tools (``True`` also closes every object schema with
    ``additionalProperties: false``).
    Raises ``ValueError`` naming a tool with no valid name or a non-object schema.
    """
    return [
        entry for tool in tools for entry in (_one_tool(tool, strict), *_cache_point_after(tool))
    ]


def bindable_tools(tools: Sequence[Any], *, strict: bool | None = None) -> list[Any]:
    """``tools`` in the form ``bind_tools`` binds them, as ``ChatBedrockConverse`` does:
    OpenAI-format function dicts (with ``strict`` and, when strict, closed schemas), Converse
    ``toolSpec`` / ``systemTool`` / ``cachePoint`` dicts as given, system-tool names as
    ``systemTool`` entries, a ``cachePoint`` after a tool marked with ``cache_control``.
    :func:`convert_tools` turns the result into Converse tools; it is run here too, so a
    tool that cannot be converted fails at binding.
    """
    bound: list[Any] = []
    for tool in tools:
        entry = _one_tool(tool, strict)
        if "toolSpec" in entry and not (isinstance(tool, Mapping) and "toolSpec" in tool):
            spec = entry["toolSpec"]
            function: dict[str, Any] = {"name": spec["name"]}
            if spec.get("description"):
                function["description"] = spec["description"]
            function["parameters"] = spec["inputSchema"]["json"]
            if "strict" in spec:
                function["strict"] = spec["strict"]
            entry = {"type": "function", "function": function}
        bound.extend((entry, *_cache_point_after(tool)))
    return bound


def closed_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with ``additionalProperties: false`` on every object that does not set it
    (what strict tool use and Bedrock's native JSON-schema output require)."""
    return dict(_close_objects(schema))


def tool_names(tools: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the ``toolSpec`` and ``systemTool`` entries of converted Converse tools."""
    names = []
    for tool in tools:
        for key in ("toolSpec", "systemTool"):
            entry = tool.get(key)
            if isinstance(entry, Mapping) and entry.get("name"):
                names.append(str(entry["name"]))
    return names


def _named_choice(name: Any, tool_names: Sequence[str]) -> dict[str, Any]:
    if name not in tool_names:
        known = ", ".join(repr(n) for n in tool_names) or "none"
        raise ValueError(f"tool_choice names unknown tool {name!r}; known tools: {known}")
    return {"tool": {"name": name}}


_KEYWORDS: dict[Any, dict[str, Any] | None] = {
    "auto": {"auto": {}},
    "any": {"any": {}},
    "required": {"any": {}},
    "none": None,
}


def _dict_choice(choice: Mapping[str, Any], tool_names: Sequence[str]) -> dict[str, Any] | None:
    if set(choice) <= {"auto", "any"} and len(choice) == 1:
        return {key: dict(value or {}) for key, value in choice.items()}
    if set(choice) == {"tool"} and isinstance(choice["tool"], Mapping):
        return _named_choice(choice["tool"].get("name"), tool_names)
    kind = choice.get("type")
    if kind == "function" and isinstance(choice.get("function"), Mapping):  # OpenAI form
        return _named_choice(choice["function"].get("name"), tool_names)
    if kind == "tool":  # Anthropic form
        return _named_choice(choice.get("name"), tool_names)
    if kind in _KEYWORDS:
        return _KEYWORDS[kind]
    raise ValueError(f"unsupported tool_choice {dict(choice)!r}")


def convert_tool_choice(tool_choice: Any, tool_names: Sequence[str]) -> dict[str, Any] | None:
    """Convert a LangChain ``tool_choice`` to a Converse ``toolChoice``.

    ``"auto"`` -> ``{"auto": {}}``; ``"any"``, ``"required"`` or ``True`` -> ``{"any": {}}``;
    a tool name -> ``{"tool": {"name": ...}}``; Converse, OpenAI and Anthropic dict forms are
    accepted. ``None``, ``False`` and ``"none"`` return ``None``: the caller omits
    ``toolChoice`` (Bedrock has no "none"; the model then decides as with ``"auto"``, so to
    forbid tool use send no tools). Raises ``ValueError`` listing the known tool names for
    an unknown name.
    """
    if tool_choice is None or tool_choice is False:
        return None
    if tool_choice is True:
        return {"any": {}}
    if isinstance(tool_choice, str):
        if tool_choice in _KEYWORDS:
            return _KEYWORDS[tool_choice]
        return _named_choice(tool_choice, tool_names)
    if isinstance(tool_choice, Mapping):
        return _dict_choice(tool_choice, tool_names)
    raise ValueError(f"unsupported tool_choice {tool_choice!r}")


def resolve_tool_choice(
    choice: Mapping[str, Any] | None,
    supported: Sequence[str],
    *,
    model: str,
    thinking: bool = False,
) -> dict[str, Any] | None:
    """The ``toolChoice`` to send for ``choice`` given the kinds the model ``supported``.

    A kind the model takes is kept (as is the ``{"none": {}}`` marker, which means "send no
    tools"). With thinking on, a forced choice the model refuses is downgraded to ``auto``
    with a warning, so agents that force a tool keep working. Otherwise raises
    ``ValueError`` before any request, naming the kinds the model takes.
    """
    if not choice:
        return None
    kind = next(iter(choice))
    if kind == "none" or kind in supported:
        return dict(choice)
    if thinking and "auto" in supported:
        warnings.warn(
            f"tool_choice {kind!r} is not accepted by {model} while thinking is on. "
            "Downgrading to tool_choice='auto': the model decides whether to call tools.",
            stacklevel=4,
        )
        return {"auto": {}}
    accepted = ", ".join(repr(k) for k in supported)
    raise ValueError(
        f"model {model!r} does not accept tool_choice of kind {kind!r}; "
        + (f"it accepts {accepted}" if supported else "it accepts no tool_choice")
        + " (set supports_tool_choice_values if this is out of date)"
    )


def tool_config(tools: list[dict[str, Any]], tool_choice: dict[str, Any] | None) -> dict[str, Any]:
    """The Converse ``toolConfig``: ``tools`` plus ``toolChoice`` when there is one."""
    if not tools:
        raise ValueError("toolConfig needs at least one tool; got none")
    config: dict[str, Any] = {"tools": tools}
    if tool_choice is not None:
        config["toolChoice"] = tool_choice
    return config


ChoiceResolver = Callable[[Mapping[str, Any] | None], "dict[str, Any] | None"]
"""Checks a ``toolChoice`` against the model (see :func:`resolve_tool_choice`)."""


def _none_choice(choice: Any) -> bool:
    return choice == "none" or choice == NO_TOOL_CHOICE


def binding(
    tools: Sequence[Any], *, tool_choice: Any, strict: bool | None, resolve: ChoiceResolver
) -> dict[str, Any]:
    """What ``bind_tools`` binds, as ``ChatBedrockConverse`` binds it: ``tools`` (see
    :func:`bindable_tools`) and ``tool_choice`` (a Converse ``toolChoice``, checked by
    ``resolve``; ``"none"`` is the marker that sends no tools), so LangChain's
    ``disable_streaming="tool_calling"`` sees them. With system tools: a ready
    ``toolConfig`` (custom tools first) and ``disable_streaming=True``, since Converse
    serves those; a forced choice with only system tools becomes ``auto`` with a warning.
    """
    bound = bindable_tools(tools, strict=strict)
    converted = convert_tools(bound)
    if _none_choice(tool_choice):
        choice: dict[str, Any] | None = dict(NO_TOOL_CHOICE)
    else:
        choice = resolve(convert_tool_choice(tool_choice, tool_names(converted)))
    if not any("systemTool" in tool for tool in converted):
        return {"tools": bound, "tool_choice": choice}
    custom = [tool for tool in converted if "systemTool" not in tool]
    system = [tool for tool in converted if "systemTool" in tool]
    if choice and next(iter(choice)) in ("any", "tool") and not custom:
        warnings.warn(
            f"tool_choice={next(iter(choice))} is not supported when using only system "
            "tools. Downgrading to tool_choice='auto'.",
            stacklevel=3,
        )
        choice = {"auto": {}}
    return {"toolConfig": tool_config([*custom, *system], choice), "disable_streaming": True}


def call_tool_config(kwargs: Mapping[str, Any], resolve: ChoiceResolver) -> dict[str, Any] | None:
    """A call's ``toolConfig`` from what it was given: a ready ``toolConfig`` /
    ``tool_config``, or ``tools`` + ``tool_choice`` (as :func:`binding` binds them, or as
    a user passes them to ``invoke``); the choice checked by ``resolve``."""
    config = kwargs.get("toolConfig") or kwargs.get("tool_config")
    if config is None:
        if not kwargs.get("tools"):
            return None
        converted = convert_tools(kwargs["tools"])
        given = kwargs.get("tool_choice")
        if _none_choice(given):
            return {**tool_config(converted, None), "toolChoice": dict(NO_TOOL_CHOICE)}
        config = tool_config(converted, convert_tool_choice(given, tool_names(converted)))
    config = dict(config)
    choice = config.get("toolChoice")
    if choice and not _none_choice(choice):
        resolved = resolve(choice)
        if resolved is None:
            config.pop("toolChoice")
        else:
            config["toolChoice"] = resolved
    return config
