"""``with_structured_output`` for ``ChatBedrockStream``: three ways to get an object back.

- ``function_calling`` (default): the schema becomes a tool and the model is made to call
  it (``toolChoice`` naming it). Claude models reject forced tool use while extended
  thinking is on (``thinking_budget``, ``reasoning_effort`` or a ``thinking`` request
  field): then the tool is offered with automatic choice, a warning says so, and an answer
  that does not call it parses to ``None``.
- ``json_schema``: Bedrock's native structured output, ``outputConfig.textFormat`` of type
  ``json_schema`` with the schema serialised as a string (every object closed with
  ``additionalProperties: false``, as Anthropic models require); the answer text is the
  JSON object.
- ``json_mode``: nothing is added to the request (Bedrock has no open-ended JSON mode);
  the prompt must ask for JSON, and the answer text is parsed as JSON (a Markdown-fenced
  JSON block is accepted) and validated against ``schema`` when it is a pydantic model.

Streaming yields growing partial objects: parsed tool arguments or partial JSON text,
a dict for dict-like schemas, a validated pydantic object (once its required fields are
present) for pydantic models. ``include_raw=True`` returns
``{"raw": AIMessage, "parsed": ..., "parsing_error": Exception | None}`` instead of raising.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.output_parsers import JsonOutputKeyToolsParser, JsonOutputParser
from langchain_core.output_parsers.openai_tools import PydanticToolsParser
from langchain_core.outputs import Generation
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import BaseModel, Field, ValidationError
from pydantic.v1 import BaseModel as BaseModelV1
from pydantic.v1 import ValidationError as ValidationErrorV1

from ._tools import closed_schema

if TYPE_CHECKING:
    from .chat_model import ChatBedrockStream

__all__ = ["StructuredOutputMethod", "with_structured_output"]

StructuredOutputMethod = Literal["function_calling", "json_schema", "json_mode", "prompt_prefill"]
"""How ``with_structured_output`` asks the model for the object."""

_METHODS = ("function_calling", "json_schema", "json_mode", "prompt_prefill")
_PREFILL = "```json"
_PREFILL_STOP = "```"
_PREFILL_INSTRUCTIONS = """Answer with one JSON object that matches the schema below: its \
properties with their types, and every required property present. Give the object itself, \
not the schema (for properties {{"tags": {{"type": "array"}}}} answer {{"tags": ["a", "b"]}}, \
never {{"properties": ...}}). Write nothing outside the JSON, inside a ```json fenced block.

## Response Schema:
{schema}"""


class _PydanticJsonParser(JsonOutputParser):
    """JSON answer text -> a pydantic object; while streaming, an object each time the
    partial JSON validates (so the required fields are there)."""

    pydantic_object: type[BaseModel] | type[BaseModelV1]

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        data = super().parse_result(result, partial=partial)
        if data is None:
            return None
        try:
            if issubclass(self.pydantic_object, BaseModel):
                return self.pydantic_object.model_validate(data)
            return self.pydantic_object.parse_obj(data)
        except (ValidationError, ValidationErrorV1) as err:
            if partial:
                return None
            raise OutputParserException(
                f"the answer does not match {self.pydantic_object.__name__}: {err}",
                llm_output=json.dumps(data),
            ) from err


def _repair_args(args: dict[str, Any], properties: Mapping[str, Any]) -> dict[str, Any]:
    """Tool arguments with array/object fields the model sent as JSON text decoded
    (some models write ``"items": "[...]"``); anything else is left as it came."""
    repaired = dict(args)
    for key, value in args.items():
        declared = (properties.get(key) or {}).get("type")
        if not isinstance(value, str) or declared not in ("array", "object"):
            continue
        try:
            loaded = json.loads(value)
        except ValueError:
            continue
        wanted = list if declared == "array" else dict
        if isinstance(loaded, dict) and not isinstance(loaded, wanted) and key in loaded:
            loaded = loaded[key]  # {"items": [...]} wrapped once more
        if isinstance(loaded, wanted):
            repaired[key] = loaded
    return repaired


def _repaired(result: list[Generation], properties: Mapping[str, Any]) -> list[Generation]:
    out: list[Generation] = []
    for generation in result:
        message = getattr(generation, "message", None)
        calls = getattr(message, "tool_calls", None)
        if message is not None and calls and properties:
            fixed = [{**call, "args": _repair_args(call["args"], properties)} for call in calls]
            if fixed != calls:
                generation = generation.model_copy(
                    update={"message": message.model_copy(update={"tool_calls": fixed})}
                )
        out.append(generation)
    return out


class _RepairingPydanticToolsParser(PydanticToolsParser):
    """``PydanticToolsParser`` that first decodes array/object fields sent as JSON text."""

    properties: dict[str, Any] = Field(default_factory=dict)

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        return super().parse_result(_repaired(result, self.properties), partial=partial)


class _RepairingKeyToolsParser(JsonOutputKeyToolsParser):
    """``JsonOutputKeyToolsParser`` that first decodes array/object fields sent as JSON
    text."""

    properties: dict[str, Any] = Field(default_factory=dict)

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        return super().parse_result(_repaired(result, self.properties), partial=partial)


def _is_pydantic(schema: Any) -> bool:
    """A pydantic model class, v2 or ``pydantic.v1``."""
    return isinstance(schema, type) and is_basemodel_subclass(schema)


def _function(schema: Any) -> dict[str, Any]:
    """``schema`` as an OpenAI function dict (name, description, parameters)."""
    try:
        return dict(convert_to_openai_tool(schema)["function"])
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(f"cannot use {schema!r} as a structured output schema: {err}") from None


def _function_calling(
    model: ChatBedrockStream, schema: Any, strict: bool | None, trace: dict[str, Any]
) -> tuple[Runnable[Any, Any], Runnable[Any, Any]]:
    function = _function(schema)
    name = function["name"]
    supported = tuple(model.supports_tool_choice_values or ())
    choice: str | None = name if "tool" in supported else "any"
    forced_ok = bool({"tool", "any"} & set(supported))
    if model.thinking and not model.description.profile.forced_choice_with_thinking:
        warnings.warn(
            f"{model.model_id} rejects forced tool use while extended thinking is on: the "
            f"structured output tool {name!r} is offered with automatic tool choice, so the "
            "model may answer without calling it (parsed is then None). Use "
            "method='json_schema', or turn thinking off, to guarantee the object.",
            stacklevel=3,
        )
        choice = None
    elif not forced_ok:
        warnings.warn(
            f"{model.model_id} does not accept a forced tool choice: the structured output "
            f"tool {name!r} is offered with automatic tool choice, so the model may answer "
            "without calling it (parsed is then None).",
            stacklevel=3,
        )
        choice = None
    llm = model.bind_tools([schema], tool_choice=choice, strict=strict, **trace)
    properties = dict((function.get("parameters") or {}).get("properties") or {})
    parser: Runnable[Any, Any] = (
        _RepairingPydanticToolsParser(tools=[schema], first_tool_only=True, properties=properties)
        if _is_pydantic(schema)
        else _RepairingKeyToolsParser(key_name=name, first_tool_only=True, properties=properties)
    )
    return llm, parser


def _json_schema(
    model: ChatBedrockStream, schema: Any, trace: dict[str, Any]
) -> tuple[Runnable[Any, Any], Runnable[Any, Any]]:
    function = _function(schema)
    parameters = function.get("parameters") or {"type": "object", "properties": {}}
    definition: dict[str, Any] = {
        "name": function["name"],
        "schema": json.dumps(closed_schema(parameters)),
    }
    if function.get("description"):
        definition["description"] = function["description"]
    output_config = {
        **(model.output_config or {}),
        "textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}},
    }
    llm = model.bind(output_config=output_config, **trace)
    return llm, _json_parser(schema)


def output_config_from_response_format(response_format: Mapping[str, Any]) -> dict[str, Any]:
    """Converse ``outputConfig`` for an OpenAI-style ``response_format`` (what LangChain
    agents' provider strategy passes): ``{"type": "json_schema", "json_schema": {"name",
    "schema", "description"}}``. Other types raise ``ValueError``."""
    kind = response_format.get("type")
    if kind != "json_schema":
        raise ValueError(
            f"Unsupported response_format type: {kind!r}; Bedrock Converse takes 'json_schema' only"
        )
    block = response_format.get("json_schema") or response_format.get("jsonSchema") or {}
    schema = block.get("schema") or {}
    if isinstance(schema, str):
        schema = json.loads(schema)
    name = block.get("name") or "output_schema"
    definition = {
        "name": name,
        "description": block.get("description") or name,
        "schema": json.dumps(closed_schema(schema), ensure_ascii=False),
    }
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": definition}}}


def _prompt_prefill(
    model: ChatBedrockStream, schema: Any, trace: dict[str, Any]
) -> tuple[Runnable[Any, Any], Runnable[Any, Any]]:
    """The schema in the system prompt, an assistant turn prefilled with a JSON fence and
    a stop at the closing fence (for models with weak tool use or no native schema)."""
    from langchain_core.messages import AIMessage, SystemMessage
    from langchain_core.runnables import RunnableLambda

    if _is_pydantic(schema):
        json_schema = dict(schema.model_json_schema())
    elif isinstance(schema, Mapping):
        json_schema = dict(schema)
    else:
        raise ValueError(
            f"prompt_prefill needs a pydantic model or a JSON schema dict, got {schema!r}"
        )
    shown = {k: v for k, v in json_schema.items() if k not in ("title", "type")}
    instructions = _PREFILL_INSTRUCTIONS.format(
        schema=json.dumps(shown, indent=2, ensure_ascii=False)
    )

    def prepare(value: Any) -> list[Any]:
        messages = list(model._convert_input(value).to_messages())
        if messages and isinstance(messages[0], SystemMessage):
            first = messages[0]
            content = first.content
            merged: Any = _with_text_appended(content, instructions)
            messages[0] = SystemMessage(content=merged)
        else:
            messages.insert(0, SystemMessage(content=instructions))
        return [*messages, AIMessage(content=_PREFILL)]

    stops = list(dict.fromkeys([*(model.stop_sequences or []), _PREFILL_STOP]))
    llm = RunnableLambda(prepare) | model.bind(stop=stops, **trace)
    return llm, _json_parser(schema)


def _with_text_appended(content: Any, text: str) -> Any:
    """System content with ``text`` appended to its last text block, so a cache point
    after that block still covers it."""
    if isinstance(content, str):
        return f"{content}\n\n{text}"
    blocks = list(content)
    for position in range(len(blocks) - 1, -1, -1):
        block = blocks[position]
        if isinstance(block, str):
            blocks[position] = f"{block}\n\n{text}"
            return blocks
        if isinstance(block, Mapping) and isinstance(block.get("text"), str):
            blocks[position] = {**block, "text": f"{block['text']}\n\n{text}"}
            return blocks
    return [*blocks, {"type": "text", "text": text}]


def _json_parser(schema: Any) -> Runnable[Any, Any]:
    if _is_pydantic(schema):
        return _PydanticJsonParser(pydantic_object=schema)
    return JsonOutputParser()


def with_structured_output(
    model: ChatBedrockStream,
    schema: Mapping[str, Any] | type,
    *,
    method: StructuredOutputMethod = "function_calling",
    include_raw: bool = False,
    strict: bool | None = None,
    **kwargs: Any,
) -> Runnable[LanguageModelInput, Any]:
    """A runnable that answers with ``schema`` objects (see the module docstring).

    ``schema``: a pydantic model (answers are instances), a TypedDict, a JSON schema dict
    or an OpenAI/Anthropic tool dict (answers are dicts). ``strict`` applies to
    ``function_calling`` (``toolSpec.strict``). Raises ``ValueError`` for an unknown method
    or a missing schema and ``TypeError`` for unknown keyword arguments.
    """
    if kwargs:
        raise TypeError(f"unsupported argument(s) for with_structured_output: {sorted(kwargs)}")
    if method not in _METHODS:
        raise ValueError(
            f"unknown structured output method {method!r}; use one of {list(_METHODS)}"
        )
    if schema is None:
        raise ValueError("with_structured_output needs a schema")
    trace = {
        "ls_structured_output_format": {
            "kwargs": {"method": method, **({"strict": strict} if strict is not None else {})},
            "schema": schema,
        }
    }
    if method == "function_calling":
        llm, parser = _function_calling(model, schema, strict, trace)
    elif method == "json_schema":
        llm, parser = _json_schema(model, schema, trace)
    elif method == "prompt_prefill":
        llm, parser = _prompt_prefill(model, schema, trace)
    else:
        llm, parser = model.bind(**trace), _json_parser(schema)
    if not include_raw:
        return llm | parser
    parse = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    ).with_fallbacks(
        [RunnablePassthrough.assign(parsed=lambda _: None)], exception_key="parsing_error"
    )
    return RunnableMap(raw=llm) | parse
