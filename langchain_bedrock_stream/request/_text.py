"""Text blocks: ``text`` (with snake_case Bedrock ``citations`` or LangChain ``citation``
annotations -> ``citationsContent``), guard content, search results, and the ``citations``
switch of documents and search results.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._blocks import _Block, _extras, _Unconvertible
from ._context import _Ctx

_CITATION_MEMBERS = ("title", "source", "sourceContent", "location")


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(value: Any) -> Any:
    """Citation dicts only: every key of a citation is a schema member name."""
    if isinstance(value, Mapping):
        return {_camel(str(key)): _camel_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel_keys(item) for item in value]
    return value


def _annotation_citation(annotation: Mapping[str, Any]) -> dict[str, Any]:
    """A LangChain ``citation`` annotation as a Bedrock citation (snake_case keys)."""
    citation: dict[str, Any] = dict(_extras(annotation))
    if "title" in annotation:
        citation["title"] = annotation["title"]
    if "cited_text" in annotation:
        citation["source_content"] = [{"text": annotation["cited_text"]}]
    if "url" in annotation and "location" not in citation:
        citation["location"] = {"web": {"url": annotation["url"]}}
    return citation


def _citation(item: Any, block: Any) -> _Block:
    if not isinstance(item, Mapping):
        raise _Unconvertible("a citation must be a dict", block)
    if item.get("type") == "citation":
        item = _annotation_citation(item)
    elif item.get("type") == "non_standard_annotation":
        item = item.get("value") or {}
    camel = _camel_keys(item)
    return {key: camel[key] for key in _CITATION_MEMBERS if key in camel}


def _text(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    text = block.get("text")
    if not isinstance(text, str):
        raise _Unconvertible("'text' must be a string", block)
    if not text:
        return []
    citations = block.get("citations") or block.get("annotations")
    if not citations:
        return [{"text": text}]
    converted = [_citation(item, block) for item in citations]
    return [{"citationsContent": {"content": [{"text": text}], "citations": converted}}]


def _citations_config(value: Any) -> _Block | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {"enabled": bool(value.get("enabled", True))}
    return {"enabled": bool(value)}


def _guard_content(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    inner = block.get("guard_content")
    text = inner.get("text") if isinstance(inner, Mapping) else block.get("text")
    if not isinstance(text, str) or not text:
        raise _Unconvertible("guard content needs a non-empty 'text'", block)
    guarded: _Block = {"text": text}
    if block.get("qualifiers"):
        guarded["qualifiers"] = list(block["qualifiers"])
    return [{"guardContent": {"text": guarded}}]


def _search_result(block: Mapping[str, Any], ctx: _Ctx) -> list[_Block]:
    items = block.get("content") or []
    texts = [item if isinstance(item, str) else item.get("text") for item in items]
    if any(not isinstance(text, str) for text in texts):
        raise _Unconvertible("search result content must be text blocks", block)
    result: _Block = {
        "source": block.get("source"),
        "title": block.get("title"),
        "content": [{"text": text} for text in texts],
    }
    citations = _citations_config(block.get("citations"))
    if citations is not None:
        result["citations"] = citations
    return [{"searchResult": result}]
