"""Many streams spread over worker processes, the model pickled to each worker.

    .venv/bin/python examples/multiprocess_streams.py               # Amazon Bedrock or simulator
    .venv/bin/python examples/multiprocess_streams.py --simulator --workers 4 --streams 32

A ``ChatBedrockStream`` pickles without its boto3 client (a live client cannot cross a
process boundary); each worker builds its own client on first use. This script pickles a
model that has already made a call, hands it to ``concurrent.futures.ProcessPoolExecutor``
workers (started with ``spawn``, so nothing is inherited by forking) and streams answers in
every worker, then prints which process answered what and the totals. Access keys the
model holds (given to the constructor, or read from ``AWS_ACCESS_KEY_ID`` and friends when
it was built) travel inside the pickle, so only send it to processes you trust; profile
and SSO credentials are looked up again by each worker.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypedDict

import _common

from langchain_bedrock_stream import ChatBedrockStream


class Streamed(TypedDict):
    """What a worker sends back (a plain dict, so it pickles anywhere)."""

    pid: int
    text: str
    chunks: int
    tokens: int
    cost: float
    seconds: float


def stream_in_worker(model: ChatBedrockStream, question: str) -> Streamed:
    """Runs in a worker process: stream one answer, report what came back."""
    started = time.perf_counter()
    chunks = 0
    text = []
    last = None
    for chunk in model.stream(question):
        chunks += 1
        text.append(chunk.text)
        last = chunk
    usage = (last.usage_metadata if last is not None else None) or {}
    cost = (last.response_metadata.get("cost") if last is not None else None) or {}
    return Streamed(
        pid=os.getpid(),
        text="".join(text),
        chunks=chunks,
        tokens=usage.get("total_tokens", 0),
        cost=float(cost.get("total") or 0.0),
        seconds=time.perf_counter() - started,
    )


def main(argv: Sequence[str] | None = None) -> int:
    cli = _common.parser(__doc__)
    cli.add_argument("--workers", type=int, default=3, help="worker processes (default 3)")
    cli.add_argument("--streams", type=int, default=12, help="streams in all (default 12)")
    args = cli.parse_args(argv)
    with _common.bedrock(args, delay=0.005) as target:
        model = target.chat_model(max_tokens=100)
        model.invoke("Hello!")  # the model now holds a live boto3 client
        size = len(pickle.dumps(model))
        print(f"The model pickles to {size:,} bytes (its boto3 client is left behind).")

        questions = [f"In one sentence: what is {n} times {n}?" for n in range(1, args.streams + 1)]
        started = time.perf_counter()
        with ProcessPoolExecutor(
            max_workers=args.workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool:
            results = list(pool.map(stream_in_worker, [model] * len(questions), questions))
        wall = time.perf_counter() - started

        by_pid: dict[int, int] = {}
        for result in results:
            by_pid[result["pid"]] = by_pid.get(result["pid"], 0) + 1
        print(f"First answer: {results[0]['text'][:90]!r}")
        print(
            f"{len(results)} streams over {len(by_pid)} worker processes in {wall:.2f} s "
            f"(process start-up included):"
        )
        for pid, count in sorted(by_pid.items()):
            print(f"  process {pid}: {count} streams")
        tokens = sum(r["tokens"] for r in results)
        cost = sum(r["cost"] for r in results)
        chunks = sum(r["chunks"] for r in results)
        slowest = max(r["seconds"] for r in results)
        print(
            f"Totals: {chunks} chunks, {tokens:,} tokens, ${cost:.6f}; "
            f"slowest stream {slowest:.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(_common.run(main))
