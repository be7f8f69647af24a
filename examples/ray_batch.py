"""Many prompts through Ray Data, with Bedrock's quotas shared by every worker.

    pip install 'langchain-bedrock-stream[ray]'
    .venv/bin/python examples/ray_batch.py --simulator                 # local Ray, offline
    .venv/bin/python examples/ray_batch.py --simulator --stream --prompts 60 --rpm 600
    .venv/bin/python examples/ray_batch.py --address auto              # an existing cluster

A dataset of prompts goes through ``map_batches`` with an actor class, ``Answerer``: each
worker builds its ``ChatBedrockStream`` once and answers its batches a few prompts at a time
(``invoke``, or ``--stream``). Every worker's model takes its turn from one
``RayRateLimiter``: a token bucket held by a named Ray actor, so requests and tokens per
minute are limited for the whole cluster, as Bedrock counts them. A throttled call slows that
shared bucket down and is tried again when the bucket lets it, instead of each worker
retrying on its own.

Each result row carries its answer, tokens and cost; the totals are summed from the rows and,
independently, by the limiter's actor from every answer the workers reported.

Credentials: the workers build their clients from their own environment (instance or task
role, ``AWS_PROFILE``, ...). Keys passed to the model explicitly would travel to every
worker inside the pickled arguments; here only the simulator's dummy keys do.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import _common

from langchain_bedrock_stream import BedrockError, BedrockRateLimitError, ChatBedrockStream
from langchain_bedrock_stream.ratelimit import RateLimits, RayRateLimiter
from langchain_bedrock_stream.usage import BedrockUsageCallbackHandler

#: The worker actors wait on the network; a quarter of a CPU each is plenty.
CPUS_PER_WORKER = 0.25


@dataclass(frozen=True)
class Row:
    """One answered (or failed) prompt, as a worker returns it."""

    prompt: str
    answer: str
    error: str
    input_tokens: int
    output_tokens: int
    cost: float
    """USD; NaN when the price is unknown."""
    attempts: int
    worker: int
    """Process id of the worker that answered."""


class Answerer:
    """A Ray Data worker: builds the model once, then answers batches of prompts.

    ``concurrency`` prompts of a batch are in flight at once; ``attempts`` bounds the tries
    of a throttled prompt (each one waits for the shared bucket first).
    """

    def __init__(
        self,
        model_kwargs: dict[str, Any],
        limiter: RayRateLimiter,
        *,
        concurrency: int = 4,
        stream: bool = False,
        attempts: int = 5,
    ) -> None:
        self.model = ChatBedrockStream(
            **model_kwargs,
            rate_limiter=limiter,
            callbacks=[limiter.feedback()],
            max_retries=0,  # a throttled call comes back to the shared bucket
        )
        self.concurrency = concurrency
        self.stream = stream
        self.attempts = attempts

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        """Answer every prompt of ``batch`` (a column ``prompt``); one row per prompt."""
        rows = asyncio.run(self._answer_all([str(p) for p in batch["prompt"]]))
        return {name: [getattr(row, name) for row in rows] for name in Row.__dataclass_fields__}

    async def _answer_all(self, prompts: Sequence[str]) -> list[Row]:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(prompt: str) -> Row:
            async with gate:
                return await self._answer(prompt)

        return list(await asyncio.gather(*(one(p) for p in prompts)))

    async def _answer(self, prompt: str) -> Row:
        attempt = 0
        while True:
            attempt += 1
            try:
                text, usage, cost = await self._ask(prompt)
            except BedrockRateLimitError as exc:
                if attempt < self.attempts:
                    continue  # the feedback handler slowed the shared bucket; wait our turn
                return self._failed(prompt, exc, attempt)
            except BedrockError as exc:
                return self._failed(prompt, exc, attempt)
            return Row(
                prompt=prompt,
                answer=text,
                error="",
                input_tokens=int(usage.get("input_tokens", 0)),
                output_tokens=int(usage.get("output_tokens", 0)),
                cost=float(cost["total"]) if cost else float("nan"),
                attempts=attempt,
                worker=os.getpid(),
            )

    async def _ask(self, prompt: str) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        if self.stream:
            parts: list[str] = []
            last: Any = None
            async for chunk in self.model.astream(prompt):
                parts.append(chunk.text)
                last = chunk
            text, message = "".join(parts), last
        else:
            message = await self.model.ainvoke(prompt)
            text = message.text
        usage = dict(getattr(message, "usage_metadata", None) or {})
        cost = (getattr(message, "response_metadata", None) or {}).get("cost")
        return text, usage, cost

    @staticmethod
    def _failed(prompt: str, exc: BedrockError, attempts: int) -> Row:
        return Row(prompt, "", str(exc), 0, 0, float("nan"), attempts, os.getpid())


@dataclass
class BatchReport:
    """What came back: every row, and the totals the shared limiter counted."""

    rows: list[Row]
    usage: BedrockUsageCallbackHandler
    """Usage and cost per model, summed by the limiter's actor over every worker."""
    seconds: float
    throttles: int = 0
    by_worker: dict[int, int] = field(default_factory=dict)

    @property
    def failed(self) -> list[Row]:
        """Rows without an answer."""
        return [row for row in self.rows if row.error]

    @property
    def row_cost(self) -> float:
        """Cost in USD summed over the rows (unknown prices count as 0)."""
        return sum(row.cost for row in self.rows if not math.isnan(row.cost))


def run_batch(
    prompts: Sequence[str],
    *,
    model_kwargs: dict[str, Any],
    limiter: RayRateLimiter,
    workers: int = 2,
    concurrency: int = 4,
    batch_size: int = 8,
    stream: bool = False,
    attempts: int = 5,
) -> BatchReport:
    """Answer ``prompts`` on the Ray instance this process is connected to."""
    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    started = time.perf_counter()
    blocks = max(1, -(-len(prompts) // batch_size))  # one block per batch, spread on workers
    answered = ray.data.from_items(
        [{"prompt": p} for p in prompts], override_num_blocks=blocks
    ).map_batches(
        Answerer,
        fn_constructor_args=(model_kwargs, limiter),
        fn_constructor_kwargs={"concurrency": concurrency, "stream": stream, "attempts": attempts},
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=CPUS_PER_WORKER,
    )
    rows = [
        Row(**{name: record[name] for name in Row.__dataclass_fields__})
        for record in answered.take_all()
    ]
    seconds = time.perf_counter() - started
    by_worker: dict[int, int] = {}
    for row in rows:
        by_worker[row.worker] = by_worker.get(row.worker, 0) + 1
    return BatchReport(
        rows=rows,
        usage=limiter.totals(),
        seconds=seconds,
        throttles=limiter.state().throttles,
        by_worker=by_worker,
    )


def model_kwargs(target: _common.Target) -> dict[str, Any]:
    """What each worker builds its model from: no credentials unless simulated."""
    kwargs: dict[str, Any] = {"model": target.model, "region_name": target.region}
    kwargs["max_tokens"] = 100
    if target.simulated:
        kwargs.update(
            endpoint_url=target.endpoint_url,
            aws_access_key_id="simulator",
            aws_secret_access_key="simulator",
        )
    return kwargs


def main(argv: Sequence[str] | None = None) -> int:
    cli = _common.parser(__doc__)
    cli.add_argument("--prompts", type=int, default=24, help="prompts in all (default 24)")
    cli.add_argument("--workers", type=int, default=2, help="worker actors (default 2)")
    cli.add_argument(
        "--concurrency", type=int, default=4, help="prompts in flight per worker (default 4)"
    )
    cli.add_argument("--rpm", type=float, default=300, help="requests per minute, cluster-wide")
    cli.add_argument("--tpm", type=float, default=None, help="tokens per minute, cluster-wide")
    cli.add_argument("--stream", action="store_true", help="stream each answer (else invoke)")
    cli.add_argument(
        "--address", default="local", help="Ray cluster to join (default: a new local one)"
    )
    args = cli.parse_args(argv)

    import ray
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.ERROR)  # no progress lines
    ray.init(
        address=args.address,
        num_cpus=2 if args.address == "local" else None,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    try:
        with _common.bedrock(args, delay=0.002) as target:
            limiter = RayRateLimiter(
                RateLimits(requests_per_minute=args.rpm, tokens_per_minute=args.tpm)
            )
            prompts = [f"In one sentence: why is {n} a nice number?" for n in range(args.prompts)]
            report = run_batch(
                prompts,
                model_kwargs=model_kwargs(target),
                limiter=limiter,
                workers=args.workers,
                concurrency=args.concurrency,
                stream=args.stream,
            )
            limiter.close()
    finally:
        ray.shutdown()

    mode = "streamed" if args.stream else "invoked"
    workers = len(report.by_worker)
    print(
        f"{len(report.rows) - len(report.failed)} of {len(report.rows)} prompts {mode} by "
        f"{workers} worker{'s' * (workers != 1)} in {report.seconds:.1f} s "
        f"(limit {args.rpm:g} requests/min for the cluster; {report.throttles} throttled)"
    )
    for pid, count in sorted(report.by_worker.items()):
        print(f"  worker {pid}: {count} prompts")
    first = report.rows[0]
    print(f"First answer: {first.answer[:80]!r}")
    for row in report.failed[:3]:
        print(f"Failed: {row.prompt!r}: {row.error}")
    tokens = sum(r.input_tokens + r.output_tokens for r in report.rows)
    print(f"Rows: {tokens:,} tokens, ${report.row_cost:.6f}")
    print(report.usage.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(_common.run(main))
