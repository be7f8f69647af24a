"""Tool and output JSON schemas as Bedrock accepts them.

Bedrock takes at most :data:`MAX_UNION_PARAMETERS` union-typed parameters (``anyOf`` /
``oneOf`` with several members, ``type`` with several types) per request. ``Optional[X]``
(``anyOf: [X, {"type": "null"}]``, ``type: [X, "null"]``), which MCP tools and pydantic
models produce for every optional parameter, is such a union: :func:`collapse_nullable`
turns it into ``X`` (an optional parameter is one the model may leave out, which
``required`` already says). What is still a union after that is counted by
:func:`check_union_limit`, which refuses a request over the limit before it is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import InputConversionError

__all__ = ["MAX_UNION_PARAMETERS", "check_union_limit", "collapse_nullable", "simplify_schemas"]

MAX_UNION_PARAMETERS = 16
"""Most union-typed parameters Bedrock accepts across the schemas of one request."""

#: Keywords whose value is a map of names to schemas.
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")
#: Keywords whose value is a schema.
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains", "propertyNames")
#: Keywords whose value is a list of schemas.
_SCHEMA_LISTS = ("allOf", "prefixItems")
_UNIONS = ("anyOf", "oneOf")


def _is_null(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "null" and len(schema) == 1


def collapse_nullable(schema: Any) -> Any:
    """``schema`` with every nullable union reduced to its other members, recursively:
    ``{"anyOf": [X, {"type": "null"}], ...}`` becomes ``X`` with the sibling keywords
    (``description``, ``title``; a ``null`` default is dropped), ``type: [X, "null"]``
    becomes ``type: X``. Other schemas are returned equal; the input is not changed."""
    if isinstance(schema, list):
        return [collapse_nullable(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: collapse_nullable(sub) for name, sub in value.items()}
        elif key in _SCHEMA_VALUES and isinstance(value, Mapping):
            out[key] = collapse_nullable(value)
        elif key in (*_SCHEMA_LISTS, *_UNIONS) and isinstance(value, list):
            out[key] = [collapse_nullable(item) for item in value]
        else:
            out[key] = value
    kind = out.get("type")
    if isinstance(kind, list) and "null" in kind and len(kind) > 1:
        rest = [item for item in kind if item != "null"]
        out["type"] = rest[0] if len(rest) == 1 else rest
        if out.get("default", 0) is None:
            out.pop("default")
    for union in _UNIONS:
        members = out.get(union)
        if not (isinstance(members, list) and any(_is_null(m) for m in members)):
            continue
        rest = [member for member in members if not _is_null(member)]
        if not rest:
            continue
        if out.get("default", 0) is None:
            out.pop("default")
        if len(rest) > 1:
            out[union] = rest
            continue
        out.pop(union)
        only = rest[0]
        if isinstance(only, Mapping) and not (set(only) & set(out)):
            out = {**only, **out}
        else:
            out["allOf"] = [*out.get("allOf", []), only]
    return out


def count_unions(schema: Any) -> int:
    """How many schemas inside ``schema`` (itself included) are unions."""
    if isinstance(schema, list):
        return sum(count_unions(item) for item in schema)
    if not isinstance(schema, Mapping):
        return 0
    own = any(isinstance(schema.get(u), list) and len(schema[u]) > 1 for u in _UNIONS) or (
        isinstance(schema.get("type"), list) and len(schema["type"]) > 1
    )
    nested = 0
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, Mapping):
            nested += sum(count_unions(sub) for sub in value.values())
        elif key in _SCHEMA_VALUES or key in _SCHEMA_LISTS or key in _UNIONS:
            nested += count_unions(value)
    return int(own) + nested


def _output_schema(request: Mapping[str, Any]) -> tuple[Any, bool] | None:
    """The output JSON schema of ``request`` (and whether it is a JSON string), if any."""
    spec = (
        ((request.get("outputConfig") or {}).get("textFormat") or {}).get("structure") or {}
    ).get("jsonSchema")
    if not isinstance(spec, Mapping) or "schema" not in spec:
        return None
    schema = spec["schema"]
    if isinstance(schema, str):
        try:
            return json.loads(schema), True
        except ValueError:
            return None
    return schema, False


def simplify_schemas(request: dict[str, Any]) -> None:
    """Collapse nullable unions in the tool input schemas and the output schema of
    ``request``, in place (sent schemas are copies; the caller's stay as they were)."""
    config = request.get("toolConfig")
    if isinstance(config, Mapping) and isinstance(config.get("tools"), list):
        tools = []
        for tool in config["tools"]:
            spec = tool.get("toolSpec") if isinstance(tool, Mapping) else None
            schema = (spec.get("inputSchema") or {}).get("json") if spec else None
            if spec is not None and isinstance(schema, Mapping):
                input_schema = {**spec["inputSchema"], "json": collapse_nullable(schema)}
                tool = {**tool, "toolSpec": {**spec, "inputSchema": input_schema}}
            tools.append(tool)
        request["toolConfig"] = {**config, "tools": tools}
    found = _output_schema(request)
    if found is not None:
        schema, as_text = found
        collapsed = collapse_nullable(schema)
        output = request["outputConfig"]
        text_format = output["textFormat"]
        structure = text_format["structure"]
        spec = {
            **structure["jsonSchema"],
            "schema": json.dumps(collapsed, ensure_ascii=False) if as_text else collapsed,
        }
        request["outputConfig"] = {
            **output,
            "textFormat": {**text_format, "structure": {**structure, "jsonSchema": spec}},
        }


def check_union_limit(request: Mapping[str, Any]) -> None:
    """Raise ``InputConversionError`` naming the tools (and output schema) that hold union-
    typed parameters when ``request`` has more than :data:`MAX_UNION_PARAMETERS` of them."""
    counts: dict[str, int] = {}
    config = request.get("toolConfig")
    for tool in (config or {}).get("tools") or ():
        spec = tool.get("toolSpec") if isinstance(tool, Mapping) else None
        if spec:
            found = count_unions((spec.get("inputSchema") or {}).get("json"))
            if found:
                counts[f"tool {spec.get('name')!r}"] = found
    output = _output_schema(request)
    if output is not None and count_unions(output[0]):
        counts["the output schema"] = count_unions(output[0])
    total = sum(counts.values())
    if total > MAX_UNION_PARAMETERS:
        named = ", ".join(f"{where} ({n})" for where, n in counts.items())
        raise InputConversionError(
            f"the request has {total} union-typed parameters (anyOf/oneOf or several types, "
            f"after nullable unions were collapsed); Bedrock accepts at most "
            f"{MAX_UNION_PARAMETERS}: {named}. Give those parameters one type, or send "
            "fewer tools."
        )
