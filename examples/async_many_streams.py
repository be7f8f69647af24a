"""Many concurrent streams on one event loop: 50 ``astream()`` calls at once.

    .venv/bin/python examples/async_many_streams.py               # Amazon Bedrock or simulator
    .venv/bin/python examples/async_many_streams.py --simulator --count 200

Each stream is an ``async for`` over ``model.astream(...)``; ``asyncio.gather`` runs them
all together and one model (one boto3 client, one connection pool) serves every stream.
It prints the wall time next to the sum of the individual stream durations: the ratio is
how much the streams overlapped. Against Amazon Bedrock, many concurrent calls can hit
your account's request quota (throttling is retried before the first token arrives).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import Sequence

import _common
from langchain_core.messages import AIMessageChunk

from langchain_bedrock_stream import ChatBedrockStream


async def one_stream(model: ChatBedrockStream, number: int) -> tuple[AIMessageChunk, float]:
    started = time.perf_counter()
    whole: AIMessageChunk | None = None
    question = f"In one short sentence, name a fact about the number {number}."
    async for chunk in model.astream(question):
        whole = chunk if whole is None else whole + chunk
    assert whole is not None
    return whole, time.perf_counter() - started


async def run_all(model: ChatBedrockStream, count: int) -> None:
    started = time.perf_counter()
    results = await asyncio.gather(*(one_stream(model, n) for n in range(1, count + 1)))
    wall = time.perf_counter() - started

    durations = [seconds for _, seconds in results]
    input_tokens = sum((m.usage_metadata or {}).get("input_tokens", 0) for m, _ in results)
    output_tokens = sum((m.usage_metadata or {}).get("output_tokens", 0) for m, _ in results)
    cost = sum(float((m.response_metadata.get("cost") or {}).get("total") or 0) for m, _ in results)
    first_tokens = [
        m.response_metadata.get("timing", {}).get("time_to_first_token_ms") for m, _ in results
    ]
    first_tokens_ms = [t for t in first_tokens if t is not None]

    example = results[0][0].text.strip().replace("\n", " ")
    print(f"First answer: {example[:100]}{'...' if len(example) > 100 else ''}")
    print(f"{count} concurrent streams finished in {wall:.2f} s of wall time")
    print(
        f"  sum of stream durations: {sum(durations):.2f} s "
        f"(overlap x{sum(durations) / wall:.1f}); slowest stream {max(durations):.2f} s"
    )
    if first_tokens_ms:
        print(
            f"  time to first token: median {statistics.median(first_tokens_ms):.0f} ms, "
            f"max {max(first_tokens_ms):.0f} ms"
        )
    print(
        f"  tokens: {input_tokens:,} input + {output_tokens:,} output = "
        f"{input_tokens + output_tokens:,} total; cost ${cost:.6f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    cli = _common.parser(__doc__)
    cli.add_argument("--count", type=int, default=50, help="number of streams (default 50)")
    args = cli.parse_args(argv)
    with _common.bedrock(args, delay=0.01) as target:
        model = target.chat_model(max_tokens=100)
        asyncio.run(run_all(model, args.count))
    return 0


if __name__ == "__main__":
    sys.exit(_common.run(main))
