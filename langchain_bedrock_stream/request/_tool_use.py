"""Tool calls in assistant turns -> ``toolUse``: ``tool_use`` / ``server_tool_use`` (this
package's format and Anthropic's), LangChain v1 ``tool_call`` / ``server_tool_call``, and
``invalid_tool_call`` replayed with ``{}`` input so its error result still matches.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._blocks import _Block, _Unconvertible
from ._context import _Ctx


def _tool_input(value: Any) -> Any:
    """A tool input as Bedrock takes it: streamed JSON text parsed, broken text as ``{}``."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {} if value is None else value


def _tool_use(block: Mapping[str, Any], *, args_key: str, server: bool = False) -> list[_Block]:
    tool_id, name = block.get("id"), block.get("name")
    if not tool_id or not name:
        raise _Unconvertible("a tool call needs an 'id' and a 'name'", block)
    use: _Block = {"toolUseId": tool_id, "name": name, "input": _tool_input(block.get(args_key))}
    if server:
        use["type"] = "server_tool_use"
    return [{"toolUse": use}]


def _invalid_tool_call(block: Mapping[str, Any], ctx: _Ctx | None = None) -> list[_Block]:
    """A call whose arguments did not parse, replayed with ``{}`` so its result matches."""
    if not block.get("id") or not block.get("name"):
        return []
    return [{"toolUse": {"toolUseId": block["id"], "name": block["name"], "input": {}}}]
