"""The answer in Converse's shape: ``StreamResponse``, its optional members, tool inputs.

Pure: no boto3, no LangChain. The fold (``accumulator.Accumulator``) builds a
``StreamResponse``; a Converse (not streamed) answer is read into the same type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONVERSE_OPTIONAL_MEMBERS",
    "METADATA_MEMBERS",
    "SERVER_TOOL_USE",
    "InvalidToolInput",
    "RawInput",
    "StreamResponse",
    "converse_members",
    "parse_tool_input",
    "usable_usage",
]

SERVER_TOOL_USE = "server_tool_use"
"""The ``type`` of a tool use block Bedrock runs itself (not a call for the client)."""

METADATA_MEMBERS = ("usage", "metrics", "trace", "performanceConfig", "serviceTier")
"""The members of a Converse answer that ConverseStream sends in its ``metadata`` event."""

CONVERSE_OPTIONAL_MEMBERS = (
    "usage",
    "metrics",
    "trace",
    "additionalModelResponseFields",
    "performanceConfig",
    "serviceTier",
)
"""Members of a Converse answer it can be read without (kept as received when odd)."""

_TOKEN_FIELDS = (
    "inputTokens",
    "outputTokens",
    "totalTokens",
    "cacheReadInputTokens",
    "cacheWriteInputTokens",
)


def usable_usage(usage: Any) -> dict[str, Any] | None:
    """``usage`` when it has the shape token arithmetic needs (an object of non-negative
    integer counts, ``cacheDetails`` a list of objects with integer ``inputTokens``), else
    ``None``. Never raises: an answer with odd usage is still an answer (the value is kept
    as received in ``StreamResponse.extras["usage"]``)."""
    if not isinstance(usage, dict) or not ("inputTokens" in usage or "outputTokens" in usage):
        return None
    for name in _TOKEN_FIELDS:
        count = usage.get(name)
        if count is not None and (type(count) is not int or count < 0):
            return None
    details = usage.get("cacheDetails")
    if details is not None:
        if not isinstance(details, list):
            return None
        for entry in details:
            count = entry.get("inputTokens") if isinstance(entry, dict) else None
            if not isinstance(entry, dict) or (count is not None and type(count) is not int):
                return None
    return usage


@dataclass(frozen=True, slots=True)
class InvalidToolInput:
    """A tool input that is not a JSON object when its block ended: not a runnable call."""

    tool_use_id: str | None
    name: str | None
    raw: str
    error: str
    index: int | None = None
    """The ``contentBlockIndex`` the input streamed under (its tool call chunks' index)."""


@dataclass(slots=True)
class StreamResponse:
    """The final answer, shaped like a Converse response (see ``to_converse``)."""

    content: list[dict[str, Any]]
    """Converse content blocks in ``contentBlockIndex`` order."""
    role: str = "assistant"
    stop_reason: str | None = None
    usage: dict[str, Any] | None = None
    """Bedrock's usage, when it has the shape token counting needs (an odd one is kept in
    ``extras["usage"]``)."""
    metrics: Any = None
    """The optional members below are as Bedrock sent them: objects normally, but any JSON
    value is kept rather than costing the answer."""
    trace: Any = None
    additional_model_response_fields: Any = None
    performance_config: Any = None
    service_tier: Any = None
    invalid_tool_inputs: dict[int, InvalidToolInput] = field(default_factory=dict)
    """Keyed by position in ``content``: tool inputs that did not parse."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Unknown metadata members and unknown events, kept verbatim."""
    complete: bool = True
    """False when the stream ended before ``messageStop`` (a partial answer)."""

    def to_converse(self) -> dict[str, Any]:
        """The dict Converse returns for this answer (``output``, ``stopReason``, ...)."""
        out: dict[str, Any] = {
            "output": {"message": {"role": self.role, "content": self.content}},
            "stopReason": self.stop_reason,
        }
        out.update(converse_members(self))
        return out

    @classmethod
    def from_converse(cls, response: Mapping[str, Any]) -> StreamResponse:
        """Read a Converse (non-streaming) response into the same type."""
        message = (response.get("output") or {}).get("message") or {}
        known = {"output", "stopReason", *CONVERSE_OPTIONAL_MEMBERS, "ResponseMetadata"}
        extras = {k: v for k, v in response.items() if k not in known}
        usage = usable_usage(response.get("usage"))
        if usage is None and response.get("usage") is not None:
            extras["usage"] = response["usage"]
        return cls(
            content=list(message.get("content") or []),
            role=message.get("role", "assistant"),
            stop_reason=response.get("stopReason"),
            usage=usage,
            metrics=response.get("metrics"),
            trace=response.get("trace"),
            additional_model_response_fields=response.get("additionalModelResponseFields"),
            performance_config=response.get("performanceConfig"),
            service_tier=response.get("serviceTier"),
            extras=extras,
        )


def converse_members(response: StreamResponse) -> dict[str, Any]:
    """The optional members ``response`` has, under their Converse names, in
    ``CONVERSE_OPTIONAL_MEMBERS`` order (the absent ones left out)."""
    values = (
        response.usage,
        response.metrics,
        response.trace,
        response.additional_model_response_fields,
        response.performance_config,
        response.service_tier,
    )
    return {
        key: value
        for key, value in zip(CONVERSE_OPTIONAL_MEMBERS, values, strict=True)
        if value is not None
    }


class RawInput(str):
    """Tool input text that did not parse; carries the parser's complaint."""

    error: str


def parse_tool_input(raw: str) -> dict[str, Any] | RawInput:
    """``""`` -> ``{}``; a JSON object -> dict; anything else -> ``RawInput`` with the reason."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        bad = RawInput(raw)
        bad.error = f"tool input is not valid JSON ({exc})"
        return bad
    if not isinstance(value, dict):
        bad = RawInput(raw)
        bad.error = f"tool input is JSON but not an object (got {type(value).__name__})"
        return bad
    return value
