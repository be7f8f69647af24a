"""Token and cost totals per model across many calls, with ``get_bedrock_usage_callback()``.

    .venv/bin/python examples/cost_totals.py               # Amazon Bedrock or simulator
    .venv/bin/python examples/cost_totals.py --simulator   # offline

Inside ``with get_bedrock_usage_callback() as totals:`` every chat model call is counted,
without passing callbacks around: ``stream``, ``invoke``, ``batch`` (in LangChain's thread
pool) and async calls (``ainvoke``, ``astream``) alike. Here two models answer (the main
one and ``us.amazon.nova-lite-v1:0``, or ``--second-model``), and ``totals.summary()``
prints one line per model. Costs come from the public price list; the simulator's token
counts are made up, but they are priced like the real model's.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

import _common

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.usage import get_bedrock_usage_callback


async def async_calls(model: ChatBedrockStream) -> None:
    async def streamed() -> str:
        parts = [chunk.text async for chunk in model.astream("Name a colour of the rainbow.")]
        return "".join(parts)

    answers = await asyncio.gather(model.ainvoke("Name a planet."), streamed())
    print(f"  async: ainvoke + astream -> {len(answers)} answers")


def main(argv: Sequence[str] | None = None) -> int:
    cli = _common.parser(__doc__)
    cli.add_argument(
        "--second-model",
        default="us.amazon.nova-lite-v1:0",
        help="another model for the per-model totals (default %(default)s)",
    )
    args = cli.parse_args(argv)
    with _common.bedrock(args) as target:
        model = target.chat_model(max_tokens=100)
        other = target.chat_model(model=args.second_model, max_tokens=100)
        with get_bedrock_usage_callback() as totals:
            text = "".join(chunk.text for chunk in model.stream("Say hello in French."))
            print(f"  stream -> {text[:60]!r}...")
            answer = model.invoke("Say hello in Spanish.")
            print(f"  invoke -> {answer.text[:60]!r}...")
            answers = model.batch(["Say hello in German.", "Say hello in Italian."])
            print(f"  batch  -> {len(answers)} answers")
            asyncio.run(async_calls(model))
            answer = other.invoke("Say hello in Portuguese.")
            print(f"  invoke on {args.second_model} -> {answer.text[:40]!r}...")

        print()
        print(totals.summary())
        print(
            f"Totals: {totals.calls} calls, {totals.total_tokens:,} tokens, "
            f"${totals.total_cost:.6f}"
        )
        for name, usage in sorted(totals.by_model.items()):
            print(f"  {name}: input ${usage.input_cost:.6f} + output ${usage.output_cost:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(_common.run(main))
