"""Peak memory while receiving an answer of N bytes: ``ChatBedrockStream``, raw boto3 and
``ChatBedrockConverse`` side by side.

Run from the repository root::

    .venv/bin/python benchmarks/memory.py              # 10 MB and 50 MB answers
    .venv/bin/python benchmarks/memory.py --sizes 10   # 10 MB only

The loopback Bedrock-wire server runs in this process; every measurement runs in a fresh
client process, so one measurement's heap cannot shape the next. The client makes a small
warm-up call, collects garbage, then receives an answer of N bytes of ASCII text and
reports, above the level before the call:

- ``traced``: the peak of Python allocations (``tracemalloc``), the figure compared with N;
- ``rss``: the peak resident set size, sampled every 2 ms (allocator slack included).

Streams are consumed the way a user who only prints them would: each chunk is looked at
and dropped. ``invoke`` returns the final message (which holds N bytes itself).

``langchain-core alone`` is a chat model with no I/O that yields the same answer in
64 KiB chunks made on the fly: what ``BaseChatModel.stream``/``invoke`` themselves hold
(every chunk, each with a copy of its text, then the merged message and its text).

Answers come in two shapes: ``64 KiB`` deltas (few events: every contender, including
``ChatBedrockConverse``, whose ``stream()`` sums chunks quadratically) and ``64 B`` deltas
(many events, as real answers arrive: ours and raw boto3 only).

Outputs: ``benchmarks/results/memory.md`` and ``memory.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MODEL_ID = "us.amazon.nova-micro-v1:0"
REGION = "us-east-1"
MB = 1_000_000

OURS, RAW, LC = "ChatBedrockStream", "raw boto3", "ChatBedrockConverse"
FLOOR = "langchain-core alone"
MODES = {
    OURS: ("stream", "astream", "invoke", "invoke streaming"),
    RAW: ("stream", "invoke"),
    LC: ("stream", "astream", "invoke"),
    FLOOR: ("stream", "astream", "invoke"),
}


# --- the answers ------------------------------------------------------------------------------


_UNIT = "the quick brown fox jumps over the lazy dog while the stream keeps flowing "


def answer_text(size: int, start: int = 0) -> str:
    """Bytes ``start`` to ``start + size`` of an endless ASCII prose (no JSON escapes)."""
    offset = start % len(_UNIT)
    return (_UNIT[offset:] + _UNIT * (size // len(_UNIT) + 1))[:size]


def parse_prompt(prompt: str) -> tuple[int, int]:
    _, size, delta = prompt.split("/")
    return int(size), int(delta)


def _responder() -> Any:
    from langchain_bedrock_stream.testing import JsonReply, StreamReply

    cache: dict[tuple[str, str], Any] = {}

    def respond(request: Any) -> Any:
        prompt = request.body["messages"][-1]["content"][0]["text"]
        key = (request.operation, prompt)
        if key not in cache:
            size, delta = parse_prompt(prompt)
            if size >= MB:  # one big answer (both operations) at a time
                for other in [k for k in cache if k[1] != prompt and k[1].split("/")[1] != "2000"]:
                    del cache[other]
            text = answer_text(size)
            usage = {"inputTokens": 3, "outputTokens": size // 4, "totalTokens": 3 + size // 4}
            if request.operation == "converse":
                cache[key] = JsonReply(
                    {
                        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                        "stopReason": "end_turn",
                        "usage": usage,
                        "metrics": {"latencyMs": 1},
                    }
                )
            else:
                events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
                events += [
                    {
                        "contentBlockDelta": {
                            "contentBlockIndex": 0,
                            "delta": {"text": text[i : i + delta]},
                        }
                    }
                    for i in range(0, size, delta)
                ]
                events += [
                    {"contentBlockStop": {"contentBlockIndex": 0}},
                    {"messageStop": {"stopReason": "end_turn"}},
                    {"metadata": {"usage": usage, "metrics": {"latencyMs": 1}}},
                ]
                cache[key] = StreamReply(events, batch=64).prepare()
        return cache[key]

    return respond


# --- one measurement, in its own process -------------------------------------------------


class RssPeak:
    """Samples the resident set size every 2 ms in a thread."""

    def __init__(self) -> None:
        self.peak = self.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self.now())

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def _floor_model() -> Any:
    """A chat model with no I/O: yields the answer in 64 KiB chunks made on the fly, so
    what it costs is langchain-core's own handling of N bytes of chunks."""
    from collections.abc import Iterator

    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    def prompt(messages: list[BaseMessage]) -> tuple[int, int]:
        size, delta = parse_prompt(str(messages[-1].content))
        return size, max(delta, 65536)

    class Floor(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "floor"

        def _generate(self, messages: list[BaseMessage], *args: Any, **kw: Any) -> ChatResult:
            size, _ = prompt(messages)
            message = AIMessage(content=answer_text(size))
            return ChatResult(generations=[ChatGeneration(message=message)])

        def _stream(
            self, messages: list[BaseMessage], *args: Any, **kw: Any
        ) -> Iterator[ChatGenerationChunk]:
            size, step = prompt(messages)
            for start in range(0, size, step):
                piece = answer_text(min(step, size - start), start)
                content: list[str | dict[Any, Any]] = [{"type": "text", "text": piece, "index": 0}]
                yield ChatGenerationChunk(message=AIMessageChunk(content=content))

    return Floor()


def _call(contender: str, mode: str, url: str) -> Any:
    """A function of the prompt that receives the answer and returns its text length."""
    if contender == RAW:
        import boto3

        client = boto3.client(
            "bedrock-runtime",
            region_name=REGION,
            endpoint_url=url,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )

        def raw(prompt: str) -> int:
            request = {
                "modelId": MODEL_ID,
                "messages": [{"role": "user", "content": [{"text": prompt}]}],
            }
            if mode == "invoke":
                response = client.converse(**request)
                return len(response["output"]["message"]["content"][0]["text"])
            received = 0
            for event in client.converse_stream(**request)["stream"]:
                delta = event.get("contentBlockDelta")
                if delta is not None:
                    received += len(delta["delta"].get("text", ""))
            return received

        return raw

    from pydantic import SecretStr

    common: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": url,
        "aws_access_key_id": SecretStr("bench"),
        "aws_secret_access_key": SecretStr("bench"),
    }
    if contender == FLOOR:
        model: Any = _floor_model()
    elif contender == OURS:
        from langchain_bedrock_stream import ChatBedrockStream

        if mode == "invoke streaming":  # an explicit streaming=False would turn stream() off
            common["streaming"] = True
        model = ChatBedrockStream(model=MODEL_ID, **common)
    else:
        from botocore.config import Config
        from langchain_aws import ChatBedrockConverse

        model = ChatBedrockConverse(
            model=MODEL_ID,
            config=Config(retries={"total_max_attempts": 1}),
            **common,
        )

    def lc(prompt: str) -> int:
        if mode.startswith("invoke"):
            return len(model.invoke(prompt).text)
        if mode == "astream":

            async def drain() -> int:
                received = 0
                async for chunk in model.astream(prompt):
                    received += len(chunk.text)
                return received

            return asyncio.run(drain())
        received = 0
        for chunk in model.stream(prompt):
            received += len(chunk.text)
        return received

    return lc


def measure(contender: str, mode: str, size: int, delta: int, url: str) -> dict[str, Any]:
    call = _call(contender, mode, url)
    assert call(f"text/2000/{min(delta, 500)}") == 2000  # warm-up: imports, client, pools
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    with RssPeak() as rss:
        base_rss = RssPeak.now()
        received = call(f"text/{size}/{delta}")
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return {
        "contender": contender,
        "mode": mode,
        "size": size,
        "delta": delta,
        "ok": received == size,
        "traced": peak,
        "rss": rss.peak - base_rss,
        "seconds": round(seconds, 2),
    }


# --- the driver ----------------------------------------------------------------------------


def run_all(sizes: list[int], deltas: list[int], only: set[str]) -> list[dict[str, Any]]:
    from langchain_bedrock_stream.testing import BedrockWireServer

    results = []
    with BedrockWireServer(responder=_responder()) as server:
        for size in sizes:
            for delta in deltas:
                for contender, modes in MODES.items():
                    if contender not in only or (contender in (LC, FLOOR) and delta < 65536):
                        continue  # its stream() sums hundreds of thousands of chunks
                    for mode in modes:
                        args = [contender, mode, str(size), str(delta), server.endpoint_url]
                        done = subprocess.run(
                            [sys.executable, __file__, "--client", *args],
                            capture_output=True,
                            text=True,
                            timeout=1800,
                            check=False,
                        )
                        if done.returncode != 0:
                            print(done.stderr[-2000:], file=sys.stderr)
                            continue
                        row = json.loads(done.stdout.strip().splitlines()[-1])
                        results.append(row)
                        print(
                            f"{size / MB:>4.0f} MB  {delta:>6} B deltas  {contender:<20} "
                            f"{mode:<17} traced {row['traced'] / MB:7.1f} MB "
                            f"({row['traced'] / size:4.2f}x)  rss {row['rss'] / MB:7.1f} MB "
                            f"({row['rss'] / size:4.2f}x)  {row['seconds']:6.1f}s"
                            + ("" if row["ok"] else "  WRONG ANSWER"),
                            flush=True,
                        )
    return results


def write(results: list[dict[str, Any]], name: str) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=1))
    lines = [
        "# Peak memory above the baseline while receiving an answer of N bytes",
        "",
        "`traced`: peak Python allocations (tracemalloc); `rss`: peak resident set size "
        "(sampled every 2 ms). Ratios are to N. Streams are consumed chunk by chunk and "
        "the chunks dropped; `invoke` keeps the final message. `langchain-core alone` is a "
        "chat model with no I/O: `BaseChatModel.stream()` keeps every chunk (each with a copy "
        "of its text in `ChatGenerationChunk.text`) and merges them into a message (plus its "
        "own text copy) at the end, 4x N; `invoke()` holds the message and "
        "`ChatGeneration.text`, 3x N. `ChatBedrockStream 0.1.0` rows, when present, were "
        "measured on the previous release for comparison.",
        "",
        "| N | deltas | contender | call | traced | x N | rss | x N | s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results:
        lines.append(
            f"| {row['size'] / MB:.0f} MB | {row['delta']} B | {row['contender']} | "
            f"{row['mode']} | {row['traced'] / MB:.1f} MB | {row['traced'] / row['size']:.2f} | "
            f"{row['rss'] / MB:.1f} MB | {row['rss'] / row['size']:.2f} | {row['seconds']} |"
            + ("" if row["ok"] else " **wrong answer**")
        )
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50], help="answer MB")
    parser.add_argument("--deltas", type=int, nargs="+", default=[65536, 64])
    parser.add_argument("--only", nargs="+", choices=list(MODES), help="contenders to run")
    parser.add_argument("--out", default="memory", help="results file name (no suffix)")
    parser.add_argument("--client", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        contender, mode, size, delta, url = args.client
        print(json.dumps(measure(contender, mode, int(size), int(delta), url)))
        return
    only = set(args.only or MODES)
    write(run_all([s * MB for s in args.sizes], args.deltas, only), args.out)


if __name__ == "__main__":
    main()
