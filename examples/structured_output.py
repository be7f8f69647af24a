"""Structured output: answers parsed into a pydantic model with ``with_structured_output``.

    .venv/bin/python examples/structured_output.py               # Amazon Bedrock or simulator
    .venv/bin/python examples/structured_output.py --simulator   # offline

``method="function_calling"`` (the default) offers Bedrock one tool whose input schema is
the pydantic model and forces the model to call it; the tool input is then validated into
the pydantic object. ``include_raw=True`` also returns the raw ``AIMessage`` (usage, cost)
and any parsing error. The local simulator answers a forced tool call with an input that
conforms to the schema, so this runs offline too (with placeholder values).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import _common
from pydantic import BaseModel, Field


class CityFacts(BaseModel):
    """Key facts about a city."""

    name: str = Field(description="The city's name")
    country: str = Field(description="The country it is in")
    population_millions: float = Field(description="Population of the city proper, millions")
    landmarks: list[str] = Field(description="Two or three famous landmarks")


QUESTION = "Give me the key facts about Lisbon."


def main(argv: Sequence[str] | None = None) -> int:
    args = _common.parser(__doc__).parse_args(argv)
    with _common.bedrock(args) as target:
        model = target.chat_model(max_tokens=500, temperature=0)
        structured = model.with_structured_output(
            CityFacts, method="function_calling", include_raw=True
        )
        print(f"Q: {QUESTION}")
        result = structured.invoke(QUESTION)
        raw, facts, error = result["raw"], result["parsed"], result["parsing_error"]
        if error is not None or not isinstance(facts, CityFacts):
            print(f"Could not parse the answer into CityFacts: {error!r}")
            print(f"Raw answer: {raw.content!r}")
            return 1
        print(f"Parsed {type(facts).__name__}:")
        for field, value in facts.model_dump().items():
            print(f"  {field}: {value!r}")
        call = raw.tool_calls[0]
        usage = raw.usage_metadata or {}
        print(
            f"(via a forced call to the {call['name']!r} tool; "
            f"{usage.get('input_tokens', '?')} in / {usage.get('output_tokens', '?')} out "
            f"tokens, {_common.cost_text(raw.response_metadata.get('cost'))})"
        )
        if target.simulated:
            print(
                "The simulator fills the schema with placeholder values, so the facts are "
                "not real; the types are."
            )
    return 0


if __name__ == "__main__":
    sys.exit(_common.run(main))
