"""Streaming cost of ``ChatBedrockStream`` against raw boto3 and ``ChatBedrockConverse``.

Run from the repository root::

    .venv/bin/python benchmarks/bench.py            # full run (several minutes on 2 cores)
    .venv/bin/python benchmarks/bench.py --quick    # fewer rounds, small counts (a check)

The Bedrock endpoint is the project's loopback wire server
(``langchain_bedrock_stream.testing.BedrockWireServer``), started in a separate process so
that its CPU time and its GIL are not the client's; a second one serves HTTPS with a
certificate made for the run, trusted through ``AWS_CA_BUNDLE``. The prompt of each
request names the scripted answer the server sends back (e.g. ``text/8000/64``: 8,000 text
deltas, 64 frames per HTTP chunk). Client CPU is ``time.process_time()`` of this process
(all threads); the HTTPS lateness scenarios run each contender in a process of its own
(``--lag-child``) and measure there.

Every measured call is checked: the accumulated text or tool arguments must equal what the
server sent, for every contender.

Outputs (``benchmarks/results/``): ``results.md`` (tables, targets, machine info),
``results.json`` (every sample), ``bench.png`` (plots), ``profile_*.txt`` (cProfile of
``ChatBedrockStream`` in scenarios 1 and 2).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import datetime
import gc
import io
import json
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MODEL_ID = "us.amazon.nova-micro-v1:0"
REGION = "us-east-1"

OURS, RAW, LC = "ChatBedrockStream", "raw boto3", "ChatBedrockConverse"
CONTENDERS = (OURS, RAW, LC)
FLOOR = "LangChain floor (no I/O)"
FROZEN = "*diagnostic:* ChatBedrockStream, gc.freeze() after the cold round"
OURS_OTEL = "ChatBedrockStream, OTel-instrumented"
LC_OTEL = "ChatBedrockConverse, OTel-instrumented"
INSTRUMENTED = {OURS_OTEL: OURS, LC_OTEL: LC}
"""Contenders whose process instruments botocore with OpenTelemetry: the model each runs."""

# --- the scripted answers (built identically in the server process and the client) -----------

# fmt: off
_WORDS = (
    "stream", "event", "frame", "token", "model", "answer", "bedrock", "converse", "delta",
    "chunk", "latency", "tool", "call", "region", "client", "server", "buffer", "socket",
    "decode", "parse", "merge", "yield", "budget", "cost", "round", "median",
)
# fmt: on
_TEXT_SIZES = (3, 5, 2, 4, 6, 4)
_TOOL_FRAGMENT = 8
_TOOL_NAME = "record_note"
_TOOL_ID = "tooluse_bench0001"


def long_text(chars: int) -> str:
    """Deterministic prose of exactly ``chars`` characters (ASCII, no JSON escapes)."""
    out: list[str] = []
    size = 0
    state = 12345
    while size < chars:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        word = _WORDS[state % len(_WORDS)]
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:chars]


def text_deltas(count: int, sizes: tuple[int, ...] = _TEXT_SIZES) -> list[str]:
    """``count`` text deltas of a few characters each."""
    total = sum(sizes[i % len(sizes)] for i in range(count))
    text = long_text(total)
    deltas, pos = [], 0
    for i in range(count):
        size = sizes[i % len(sizes)]
        deltas.append(text[pos : pos + size])
        pos += size
    return deltas


def tool_input(fragments: int) -> tuple[list[str], dict[str, Any]]:
    """A tool input ``{"note": <long string>}`` split into exactly ``fragments`` pieces."""
    shell = '{"note": ""}'
    note = long_text(_TOOL_FRAGMENT * fragments - len(shell))
    raw = '{"note": "' + note + '"}'
    pieces = [raw[i : i + _TOOL_FRAGMENT] for i in range(0, len(raw), _TOOL_FRAGMENT)]
    assert len(pieces) == fragments
    return pieces, json.loads(raw)


def _usage(out_chars: int) -> dict[str, Any]:
    output = max(1, out_chars // 4)
    return {
        "usage": {"inputTokens": 12, "outputTokens": output, "totalTokens": 12 + output},
        "metrics": {"latencyMs": 100},
    }


def _text_events(deltas: list[str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"messageStart": {"role": "assistant"}}]
    events += [
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": d}}} for d in deltas
    ]
    events += [
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {"metadata": _usage(sum(map(len, deltas)))},
    ]
    return events


def _tool_events(pieces: list[str]) -> list[dict[str, Any]]:
    start = {"toolUse": {"toolUseId": _TOOL_ID, "name": _TOOL_NAME}}
    events: list[dict[str, Any]] = [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"contentBlockIndex": 0, "start": start}},
    ]
    events += [
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"toolUse": {"input": p}}}}
        for p in pieces
    ]
    events += [
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "tool_use"}},
        {"metadata": _usage(sum(map(len, pieces)))},
    ]
    return events


@dataclass(frozen=True)
class Answer:
    """What one prompt (a spec string) makes the server send, and how it is sent."""

    events: list[dict[str, Any]]
    text: str
    args: dict[str, Any] | None
    batch: int = 64
    delay: float = 0.0


def answer(spec: str) -> Answer:
    """Specs: ``text/N/B``, ``tool/N/B``, ``ptool/N/DELAY``, ``paced/N/DELAY``, ``first``,
    ``big/BYTES/DELTA`` (N events or fragments, B frames per HTTP chunk)."""
    kind, *params = spec.split("/")
    if kind == "text":
        deltas = text_deltas(int(params[0]))
        return Answer(_text_events(deltas), "".join(deltas), None, batch=int(params[1]))
    if kind == "tool":
        pieces, args = tool_input(int(params[0]))
        return Answer(_tool_events(pieces), "", args, batch=int(params[1]))
    if kind == "ptool":
        pieces, args = tool_input(int(params[0]))
        return Answer(_tool_events(pieces), "", args, batch=1, delay=float(params[1]))
    if kind == "paced":
        deltas = text_deltas(int(params[0]) - 4)  # + start, stop, messageStop, metadata
        return Answer(_text_events(deltas), "".join(deltas), None, batch=1, delay=float(params[1]))
    if kind == "first":
        deltas = ["Hello", " there", ", friend."]
        # The first HTTP chunk carries messageStart + the first delta, sent at once; the
        # rest follows 2 ms apart so the connection is reused warm for the next request.
        return Answer(_text_events(deltas), "".join(deltas), None, batch=2, delay=0.002)
    if kind == "big":
        size, delta = int(params[0]), int(params[1])
        deltas = text_deltas(size // delta, (delta,))
        return Answer(_text_events(deltas), "".join(deltas), None, batch=64)
    raise ValueError(f"unknown spec {spec!r}")


# --- the server process ------------------------------------------------------------------------


def serve(tls: tuple[str, str] | None = None) -> None:
    """Server process: print the port, serve (HTTPS with ``tls`` = cert, key) until stdin
    closes."""
    from langchain_bedrock_stream.testing import (
        BedrockWireServer,
        JsonReply,
        StreamReply,
        server_ssl_context,
    )

    cache: dict[tuple[str, str], Any] = {}

    def respond(request: Any) -> Any:
        spec = request.body["messages"][-1]["content"][0]["text"]
        key = (request.operation, spec)
        reply = cache.get(key)
        if reply is None:
            ans = answer(spec)
            if request.operation == "converse-stream":
                reply = StreamReply(ans.events, batch=ans.batch, delay=ans.delay).prepare()
            else:
                if ans.args is not None:
                    block = {
                        "toolUse": {"toolUseId": _TOOL_ID, "name": _TOOL_NAME, "input": ans.args}
                    }
                    stop = "tool_use"
                else:
                    block, stop = {"text": ans.text}, "end_turn"
                reply = JsonReply(
                    {
                        "output": {"message": {"role": "assistant", "content": [block]}},
                        "stopReason": stop,
                        **_usage(len(ans.text)),
                    }
                )
            cache[key] = reply
        return reply

    context = server_ssl_context(*tls) if tls else None
    with BedrockWireServer(responder=respond, ssl_context=context) as server:
        print(server.port, flush=True)
        sys.stdin.read()


def start_server(tls: tuple[Path, Path] | None = None) -> tuple[subprocess.Popen[str], str]:
    """The wire server in its own process; HTTPS with ``tls`` = (cert, key)."""
    args = [sys.executable, str(Path(__file__).resolve()), "--serve"]
    if tls is not None:
        args += ["--tls", str(tls[0]), str(tls[1])]
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, f"{'https' if tls else 'http'}://127.0.0.1:{port}"


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Got:
    """What a contender accumulated from one call."""

    text: str
    args: dict[str, Any] | None
    chunks: int


@dataclass
class Cell:
    """Samples of one contender in one scenario."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    system: list[float] = field(default_factory=list)
    """Of ``cpu``, the kernel's time (system calls, thread switches), where measured."""
    lag: list[float] = field(default_factory=list)
    """Worst event-loop lateness per sample (seconds), where measured."""
    lag_open: list[float] = field(default_factory=list)
    """Of ``lag``, the worst once every stream had its first chunk (LangChain contenders)."""
    cold_lag: float | None = None
    """Worst lateness in the first round on a new event loop (connections opened in it)."""
    spans: list[int] = field(default_factory=list)
    """Finished ConverseStream spans per round, where the process is instrumented."""
    cold_spans: int | None = None
    chunks: int | None = None
    correct: bool = True
    note: str = ""

    @property
    def wall_med(self) -> float:
        return statistics.median(self.wall) if self.wall else math.nan

    @property
    def cpu_med(self) -> float:
        return statistics.median(self.cpu) if self.cpu else math.nan

    @property
    def lag_max(self) -> float:
        return max(self.lag) if self.lag else math.nan

    def as_json(self) -> dict[str, Any]:
        return {
            "wall_s": self.wall,
            "cpu_s": self.cpu,
            "wall_median_s": self.wall_med,
            "cpu_median_s": self.cpu_med,
            "system_cpu_s": self.system,
            "loop_lag_s": self.lag,
            "loop_lag_all_open_s": self.lag_open,
            "cold_loop_lag_s": self.cold_lag,
            "spans": self.spans,
            "cold_spans": self.cold_spans,
            "chunks": self.chunks,
            "correct": self.correct,
            "note": self.note,
        }


def check(got: Got, ans: Answer) -> bool:
    if ans.args is not None:
        return got.args == ans.args
    return got.text == ans.text


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    gc.collect()
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    w1, c1 = time.perf_counter(), time.process_time()
    return w1 - w0, c1 - c0, out


def rounds_interleaved(
    calls: dict[str, Callable[[], Got]],
    ans: Answer,
    rounds: int,
    budget: float,
) -> dict[str, Cell]:
    """Run every contender once per round, side by side; a contender whose samples have
    used ``budget`` seconds stops after its first round (noted)."""
    cells = {name: Cell() for name in calls}
    for fn in calls.values():  # warm-up: connection, caches, server-side encoding
        fn()
    for r in range(rounds):
        for name, fn in calls.items():
            cell = cells[name]
            if r and sum(cell.wall) > budget:
                continue
            wall, cpu, got = timed(fn)
            cell.wall.append(wall)
            cell.cpu.append(cpu)
            cell.chunks = got.chunks
            cell.correct = cell.correct and check(got, ans)
    for cell in cells.values():
        if len(cell.wall) < rounds:
            cell.note = f"{len(cell.wall)} of {rounds} rounds (time budget {budget:.0f} s)"
    return cells


# --- the contenders ----------------------------------------------------------------------------


def user(spec: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"text": spec}]}]


def raw_stream(client: Any, spec: str) -> Got:
    response = client.converse_stream(modelId=MODEL_ID, messages=user(spec))
    texts: list[str] = []
    inputs: list[str] = []
    events = 0
    for event in response["stream"]:
        events += 1
        block = event.get("contentBlockDelta")
        if block is not None:
            delta = block["delta"]
            if "text" in delta:
                texts.append(delta["text"])
            elif "toolUse" in delta:
                inputs.append(delta["toolUse"]["input"])
    args = json.loads("".join(inputs)) if inputs else None
    return Got("".join(texts), args, events)


def _got(message: Any, chunks: int) -> Got:
    calls = getattr(message, "tool_calls", None) or []
    return Got(str(message.text), calls[0]["args"] if calls else None, chunks)


def lc_stream(model: Any, spec: str) -> Got:
    """``stream()`` with the usual ``full = full + chunk`` accumulation."""
    full = None
    chunks = 0
    for chunk in model.stream(spec):
        chunks += 1
        full = chunk if full is None else full + chunk
    return _got(full, chunks)


def lc_invoke(model: Any, spec: str) -> Got:
    return _got(model.invoke(spec), 1)


async def lc_astream(model: Any, spec: str, first: Callable[[], None] | None = None) -> Got:
    full = None
    chunks = 0
    async for chunk in model.astream(spec):
        chunks += 1
        if chunks == 1 and first is not None:
            first()
        full = chunk if full is None else full + chunk
    return _got(full, chunks)


class Setup:
    """Clients and models, built once and warmed."""

    def __init__(self, endpoint: str, server_pid: int) -> None:
        import boto3
        from botocore.config import Config
        from langchain_aws import ChatBedrockConverse

        from langchain_bedrock_stream import ChatBedrockStream

        self.endpoint = endpoint
        self.server_pid = server_pid
        self.pool = Config(max_pool_connections=256)
        self.raw = boto3.client(
            "bedrock-runtime", endpoint_url=endpoint, region_name=REGION, config=self.pool
        )
        self.ours = ChatBedrockStream(model=MODEL_ID, region_name=REGION, endpoint_url=endpoint)
        self.ours_streaming = ChatBedrockStream(
            model=MODEL_ID, region_name=REGION, endpoint_url=endpoint, streaming=True
        )
        # The same connection pool size as raw boto3 (its default of 10 would discard
        # connections under 256 concurrent streams).
        self.lc = ChatBedrockConverse(
            model=MODEL_ID, region_name=REGION, endpoint_url=endpoint, config=self.pool
        )
        self.lc_streaming = ChatBedrockConverse(
            model=MODEL_ID,
            region_name=REGION,
            endpoint_url=endpoint,
            config=self.pool,
            streaming=True,
        )
        self.tls: Setup | None = None
        """The same contenders against the HTTPS server (set by ``main``)."""
        self.operations: dict[str, list[str]] = {}
        for name, client in (
            (OURS, self.ours_streaming._get_client()),
            (LC, self.lc_streaming.client),
        ):
            seen = self.operations.setdefault(name, [])
            client.meta.events.register(
                "before-call.bedrock-runtime.*",
                lambda model, seen=seen, **_: seen.append(model.name),
            )

    def stream_calls(self, spec: str) -> dict[str, Callable[[], Got]]:
        return {
            OURS: lambda: lc_stream(self.ours, spec),
            RAW: lambda: raw_stream(self.raw, spec),
            LC: lambda: lc_stream(self.lc, spec),
        }


# --- scenarios ---------------------------------------------------------------------------------


def scenario_text(s: Setup, cfg: argparse.Namespace) -> dict[str, Any]:
    out = {}
    for batch in (64, 1):
        spec = f"text/8000/{batch}"
        ans = answer(spec)
        cells = rounds_interleaved(s.stream_calls(spec), ans, cfg.rounds, budget=60)
        out[spec] = {"events": len(ans.events), "cells": cells}
        _progress(f"1. stream() text, batch={batch}", cells, len(ans.events))
    return out


def scenario_tool(s: Setup, cfg: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lc_skip_reason = ""
    lc_last: tuple[int, float] | None = None
    for n in cfg.fragments:
        spec = f"tool/{n}/64"
        ans = answer(spec)
        calls = s.stream_calls(spec)
        if lc_skip_reason:
            del calls[LC]
        elif lc_last is not None:
            prev_n, prev_wall = lc_last
            predicted = prev_wall * (n / prev_n) ** 2  # its + re-parses: quadratic
            if predicted > cfg.lc_budget:
                lc_skip_reason = (
                    f"skipped at {n}+ fragments: predicted {predicted:.0f} s per call "
                    f"(quadratic from {prev_wall:.1f} s at {prev_n}) > budget {cfg.lc_budget:.0f} s"
                )
                del calls[LC]
        rounds = cfg.rounds
        budget = cfg.lc_budget
        if LC in calls:
            lc_fn = calls.pop(LC)
            cells = rounds_interleaved(calls, ans, rounds, budget=60)
            # ChatBedrockConverse is measured after the others at each size, within a budget
            # (its warm-up call is skipped once a call costs more than a second).
            cell = Cell()
            t0 = time.perf_counter()
            if n <= 1000:
                lc_fn()
            for _ in range(rounds):
                wall, cpu, got = timed(lc_fn)
                cell.wall.append(wall)
                cell.cpu.append(cpu)
                cell.chunks = got.chunks
                cell.correct = cell.correct and check(got, ans)
                if time.perf_counter() - t0 > budget:
                    break
            if len(cell.wall) < rounds:
                cell.note = f"{len(cell.wall)} of {rounds} rounds (time budget {budget:.0f} s)"
            cells[LC] = cell
            lc_last = (n, cell.wall_med)
        else:
            cells = rounds_interleaved(calls, ans, rounds, budget=60)
            cells[LC] = Cell(note=lc_skip_reason)
        out[spec] = {"fragments": n, "events": len(ans.events), "cells": cells}
        _progress(f"2. stream() tool call, {n} fragments", cells, n)
    out["lc_skip"] = lc_skip_reason
    return out


def scenario_paced_tool(s: Setup, cfg: argparse.Namespace) -> dict[str, Any]:
    """Informational: the same kind of tool call, fragments paced 1 ms apart as a model
    would stream them, so each read holds only the events that arrived meanwhile."""
    spec = "ptool/1000/0.001"
    ans = answer(spec)
    cells = rounds_interleaved(s.stream_calls(spec), ans, cfg.paced_rounds, budget=60)
    _progress("2c. stream() tool call, 1000 fragments paced 1 ms apart", cells, 1000)
    return {spec: {"fragments": 1000, "events": len(ans.events), "cells": cells}}


def scenario_invoke(s: Setup, cfg: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in ("text/8000/64", "tool/4000/64"):
        ans = answer(spec)
        calls = {
            OURS: lambda spec=spec: lc_invoke(s.ours_streaming, spec),
            RAW: lambda spec=spec: raw_stream(s.raw, spec),
            LC: lambda spec=spec: lc_invoke(s.lc_streaming, spec),
        }
        for seen in s.operations.values():
            seen.clear()
        cells = rounds_interleaved(calls, ans, cfg.rounds, budget=cfg.lc_budget)
        ops = {name: sorted(set(seen)) for name, seen in s.operations.items()}
        out[spec] = {"events": len(ans.events), "cells": cells, "operations": ops}
        _progress(f"3. invoke(streaming=True) {spec}", cells, len(ans.events))
        print(f"   operations used: {ops}")
    return out


def _in_threads(call: Callable[[], Got], streams: int) -> list[Got]:
    """``call()`` once in each of ``streams`` threads, all at the same time."""
    results: list[Got | None] = [None] * streams

    def run(i: int) -> None:
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def _many_raw(s: Setup, spec: str, streams: int) -> list[Got]:
    return _in_threads(lambda: raw_stream(s.raw, spec), streams)


def _many_async(model: Any, spec: str, streams: int) -> list[Got]:
    async def main() -> list[Got]:
        return list(await asyncio.gather(*(lc_astream(model, spec) for _ in range(streams))))

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the server process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _many_threads_stream(model: Any, spec: str, streams: int) -> list[Got]:
    """Diagnostic: ``stream()`` with ``+`` in one thread per stream (no asyncio)."""
    return _in_threads(lambda: lc_stream(model, spec), streams)


def _many_async_no_add(model: Any, spec: str, streams: int) -> list[Got]:
    """Diagnostic: ``astream()`` keeping the chunks' text only (no ``+``)."""

    async def one() -> Got:
        texts = []
        async for chunk in model.astream(spec):
            texts.append(chunk.text)
        return Got("".join(texts), None, len(texts))

    async def main() -> list[Got]:
        return list(await asyncio.gather(*(one() for _ in range(streams))))

    return asyncio.run(main())


def scenario_concurrent(s: Setup, cfg: argparse.Namespace) -> dict[str, Any]:
    streams, events = cfg.streams, 50
    spec = f"paced/{events}/0.02"
    ans = answer(spec)
    calls: dict[str, Callable[[], list[Got]]] = {
        OURS: lambda: _many_async(s.ours, spec, streams),
        RAW: lambda: _many_raw(s, spec, streams),
        LC: lambda: _many_async(s.lc, spec, streams),
    }
    diagnostics: dict[str, Callable[[], list[Got]]] = {
        OURS + " astream, no +": lambda: _many_async_no_add(s.ours, spec, streams),
        f"{OURS} stream() + in {streams} threads": lambda: _many_threads_stream(
            s.ours, spec, streams
        ),
    }
    cells = {name: Cell() for name in [*calls, *diagnostics]}
    server: dict[str, list[float]] = {name: [] for name in cells}

    def run(name: str, fn: Callable[[], list[Got]]) -> None:
        before = server_cpu(s.server_pid)
        wall, cpu, gots = timed(fn)
        server[name].append(server_cpu(s.server_pid) - before)
        cell = cells[name]
        cell.wall.append(wall)
        cell.cpu.append(cpu)
        cell.chunks = sum(g.chunks for g in gots)
        cell.correct = cell.correct and len(gots) == streams and all(check(g, ans) for g in gots)

    for fn in calls.values():  # warm: opens the pool's connections
        fn()
    for _ in range(cfg.conc_rounds):
        for name, fn in [*calls.items(), *diagnostics.items()]:
            run(name, fn)
    out = {
        "spec": spec,
        "streams": streams,
        "events_per_stream": events,
        "ideal_wall_s": (events - 1) * 0.02,
        "cells": cells,
        "diagnostics": list(diagnostics),
        "server_cpu_s": {k: statistics.median(v) for k, v in server.items()},
    }
    _progress(f"4. {streams} concurrent streams, 20 ms/event", cells, streams * events)
    print("   server CPU s: " + ", ".join(f"{k} {v:.2f}" for k, v in out["server_cpu_s"].items()))
    return out


# --- HTTPS: many streams on one loop, with the loop's lateness ----------------------------------
#
# Each contender runs in a process of its own, as it would in a server: its imports, its
# client, one event loop for every round (connections kept alive between rounds, as the
# thread-per-stream contenders keep theirs). How late a loop runs depends on what the
# process holds (a full garbage collection visits every object), so a contender measured in
# this benchmark's own process would carry the other contenders' clients and the other
# scenarios' results. The first round on the new loop (connections opened, TLS handshakes)
# is reported apart as the cold start.


class _Ticker:
    """The loop's worst lateness: a task sleeping 5 ms at a time notes how late it wakes.

    (``testing.LoopLagTicker`` does the same; importing it would put this package into the
    other contenders' processes.)"""

    def __init__(self, opening: Callable[[], bool] = lambda: False) -> None:
        self.worst = 0.0
        self.opening = opening
        """Whether streams are still opening (some have had no chunk yet)."""
        self.worst_open = 0.0
        """The worst lateness once every stream had its first chunk."""

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + 0.005
            opening = self.opening()
            await asyncio.sleep(0.005)
            late = loop.time() - due
            self.worst = max(self.worst, late)
            if not opening:
                self.worst_open = max(self.worst_open, late)


_spans: Any = None
"""The child's span exporter when it instruments botocore (see ``_instrument``)."""


def _instrument() -> Any:
    """In the child, before any client exists: an OpenTelemetry SDK tracer provider whose
    spans go, as each ends, into an in-memory exporter (cleared every round), and
    ``opentelemetry-instrumentation-botocore`` instrumenting botocore with it.

    ``SimpleSpanProcessor`` exports in the thread that ends the span, so the cost lands in
    the round (and the process) that made the span, and a round's finished spans can be
    counted exactly once it ends; the in-memory exporter appends to a list, so what is
    measured is the instrumentation, not an exporter. (A ``BatchSpanProcessor`` would add a
    worker thread exporting on its own schedule, across round boundaries.)"""
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    BotocoreInstrumentor().instrument(tracer_provider=provider)
    return exporter


def _finished_spans() -> int | None:
    """ConverseStream spans finished since the last call (``None`` when not instrumented)."""
    if _spans is None:
        return None
    spans = _spans.get_finished_spans()
    _spans.clear()
    return sum(1 for span in spans if (span.attributes or {}).get("rpc.method") == "ConverseStream")


def _lag_contender(name: str, endpoint: str, spec: str, streams: int) -> Callable[[int], Any]:
    """In the child: ``work(streams)``, a coroutine function running one round. Every
    client keeps as many connections as there are streams (at least 256)."""
    global _spans
    if name in INSTRUMENTED:
        _spans = _instrument()  # before the client is created
        name = INSTRUMENTED[name]
    from botocore.config import Config

    pool = Config(max_pool_connections=max(256, streams))

    if name == RAW:
        import boto3

        client = boto3.client(
            "bedrock-runtime",
            endpoint_url=endpoint,
            region_name=REGION,
            config=pool,
        )

        async def raw_round(streams: int) -> list[Got]:
            # One thread per stream; the idle loop measures what those threads leave it.
            loop = asyncio.get_running_loop()
            call = lambda: raw_stream(client, spec)  # noqa: E731
            return await loop.run_in_executor(None, _in_threads, call, streams)

        return raw_round
    if name == LC:
        from langchain_aws import ChatBedrockConverse

        model: Any = ChatBedrockConverse(
            model=MODEL_ID, region_name=REGION, endpoint_url=endpoint, config=pool
        )
    else:
        from langchain_bedrock_stream import ChatBedrockStream

        ours = ChatBedrockStream(
            model=MODEL_ID, region_name=REGION, endpoint_url=endpoint, config=pool
        )
        ours.client  # noqa: B018 - built here, as in a server, for the floor as well
        if _spans is not None:
            from langchain_bedrock_stream._capture import watcher

            if watcher(ours.client) is None:  # it would not take the instrumented path
                raise RuntimeError("the instrumentation is not seen on our client")
        model = _floor_model(answer(spec)) if name == FLOOR else ours

    async def lc_round(streams: int) -> list[Got]:
        return list(
            await asyncio.gather(*(lc_astream(model, spec, _first_chunk) for _ in range(streams)))
        )

    return lc_round


_firsts = 0
"""Streams of the round under way that have had their first chunk (LangChain contenders)."""


def _first_chunk() -> None:
    global _firsts
    _firsts += 1


def lag_child(name: str, endpoint: str, spec: str, streams: int, server_pid: int) -> None:
    """Child process: a cold round at once, then one round per ``round`` line on stdin;
    each round's samples as a JSON line on stdout."""
    ans = answer(spec)
    work = _lag_contender(name, endpoint, spec, streams)
    loop = asyncio.new_event_loop()

    async def one_round() -> dict[str, Any]:
        global _firsts
        _firsts = 0
        ticker = _Ticker(lambda: _firsts < streams)
        task = asyncio.ensure_future(ticker.run())
        await asyncio.sleep(0)
        _finished_spans()  # none of an earlier round's spans count in this one
        gc.collect()
        before = server_cpu(server_pid)
        c0, w0, s0 = time.process_time(), time.perf_counter(), os.times().system
        gots = await work(streams)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        system = os.times().system - s0
        task.cancel()
        return {
            "wall": wall,
            "cpu": cpu,
            "system": system,
            "lag": ticker.worst,
            "lag_open": ticker.worst_open if _firsts else None,
            "chunks": sum(g.chunks for g in gots),
            "correct": len(gots) == streams and all(check(g, ans) for g in gots),
            "server_cpu": server_cpu(server_pid) - before,
            "spans": _finished_spans(),
        }

    print(json.dumps(loop.run_until_complete(one_round())), flush=True)
    if name == FROZEN:  # what docs/scaling.md suggests to servers
        gc.collect()  # garbage first: only what lives on is frozen
        gc.freeze()  # start-up's objects leave the collector's scans
    for line in sys.stdin:
        if line.strip() != "round":
            break
        print(json.dumps(loop.run_until_complete(one_round())), flush=True)
    loop.close()


class _LagChild:
    """A contender's process (see ``lag_child``), driven round by round."""

    def __init__(self, name: str, endpoint: str, spec: str, streams: int, server_pid: int):
        args = [sys.executable, str(Path(__file__).resolve()), "--lag-child", name]
        args += ["--lag-args", endpoint, spec, str(streams), str(server_pid)]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.cold = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"lateness child {self.proc.args[3]!r} ended early")
        sample: dict[str, Any] = json.loads(line)
        return sample

    def round(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("round\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(60)


def _floor_model(ans: Answer) -> Any:
    from floor import FloorChatModel

    return FloorChatModel(events=ans.events, delay=ans.delay)


def _run_lagged(
    names: tuple[str, ...], endpoint: str, spec: str, streams: int, rounds: int, server_pid: int
) -> tuple[dict[str, Cell], dict[str, float]]:
    """Each contender in its own process: a cold round, then ``rounds`` rounds interleaved
    across contenders. Returns the cells and the server's CPU seconds per contender
    (median)."""
    cells = {name: Cell() for name in names}
    server: dict[str, list[float]] = {name: [] for name in names}
    children: dict[str, _LagChild] = {}
    try:
        for name in names:
            children[name] = _LagChild(name, endpoint, spec, streams, server_pid)
            cells[name].cold_lag = children[name].cold["lag"]
            cells[name].cold_spans = children[name].cold["spans"]
            cells[name].correct = children[name].cold["correct"]
        for _ in range(rounds):
            for name, child in children.items():
                sample = child.round()
                cell = cells[name]
                cell.wall.append(sample["wall"])
                cell.cpu.append(sample["cpu"])
                cell.system.append(sample["system"])
                cell.lag.append(sample["lag"])
                if sample["lag_open"] is not None:
                    cell.lag_open.append(sample["lag_open"])
                cell.chunks = sample["chunks"]
                cell.correct = cell.correct and sample["correct"]
                server[name].append(sample["server_cpu"])
                if sample["spans"] is not None:
                    cell.spans.append(sample["spans"])
    finally:
        for child in children.values():
            child.close()
    return cells, {k: statistics.median(v) for k, v in server.items()}


def _https_lateness(
    s: Setup, number: int, names: tuple[str, ...], streams: int, rounds: int
) -> dict[str, Any]:
    """``streams`` concurrent HTTPS streams at 20 ms per event, each contender of ``names``
    in its own process (see ``_run_lagged``)."""
    t = s.tls
    assert t is not None
    events = 50
    spec = f"paced/{events}/0.02"
    cells, server = _run_lagged(names, t.endpoint, spec, streams, rounds, t.server_pid)
    _progress(
        f"{number}. HTTPS: {streams} concurrent streams, 20 ms/event", cells, streams * events
    )
    _print_lag(cells)
    for name, cell in cells.items():
        if cell.system:
            print(f"   {name}: system CPU per round (s) {[round(x, 3) for x in cell.system]}")
        if cell.lag_open:
            print(f"   {name}: worst lateness, all streams open: {_max_ms(cell.lag_open)} ms")
        if cell.spans:
            print(f"   {name}: ConverseStream spans per round {cell.spans} ({cell.cold_spans})")
    return {
        "spec": spec,
        "streams": streams,
        "events_per_stream": events,
        "ideal_wall_s": (events - 1) * 0.02,
        "cells": cells,
        "server_cpu_s": server,
    }


def scenario_https(s: Setup, cfg: argparse.Namespace) -> dict[str, Any]:
    """256 concurrent streams over HTTPS, 20 ms per event: raw boto3 (a thread per stream),
    ChatBedrockConverse and ours (``astream()`` on one loop), and LangChain's floor."""
    names = (RAW, LC, OURS, FLOOR, FROZEN)
    return _https_lateness(s, 6, names, cfg.streams, cfg.conc_rounds)


def scenario_https_many(s: Setup, cfg: argparse.Namespace) -> dict[str, Any]:
    """1,024 concurrent HTTPS streams: ours (and the floor, for reference)."""
    return _https_lateness(s, 7, (OURS, FLOOR, FROZEN), cfg.many_streams, 1 if cfg.quick else 3)


def scenario_https_otel(s: Setup, cfg: argparse.Namespace) -> dict[str, Any]:
    """256 concurrent HTTPS streams with botocore instrumented by OpenTelemetry (set up in
    each contender's process before its client): ours and ChatBedrockConverse, and both
    uninstrumented for reference."""
    names = (LC_OTEL, OURS_OTEL, LC, OURS)
    return _https_lateness(s, 8, names, cfg.streams, cfg.conc_rounds)


def _print_lag(cells: dict[str, Cell]) -> None:
    print(
        "   worst loop lateness ms (cold start): "
        + ", ".join(
            f"{k} {c.lag_max * 1e3:.0f} ({(c.cold_lag or math.nan) * 1e3:.0f})"
            for k, c in cells.items()
            if c.lag
        )
    )


def profile_concurrent(s: Setup, cfg: argparse.Namespace, path: Path) -> dict[str, Any] | None:
    """CPU profile (yappi, all threads) of 256 concurrent ``astream()`` of ours."""
    try:
        import yappi
    except ImportError:
        return None
    spec = "paced/50/0.02"
    yappi.set_clock_type("cpu")
    yappi.clear_stats()
    yappi.start(builtins=True)
    _many_async(s.ours, spec, cfg.streams)
    yappi.stop()
    stats = yappi.get_func_stats()
    own: dict[str, float] = {}
    via: dict[str, float] = {}
    rows = []
    for st in stats:
        rows.append((st.tsub, st.ttot, st.ncall, f"{_short(st.module)}:{st.lineno}({st.name})"))
        if st.builtin:
            continue
        label = _group(st.module, st.name)
        own[label] = own.get(label, 0.0) + st.tsub
        for child in st.children:
            if child.builtin:
                via[label] = via.get(label, 0.0) + child.tsub
    yappi.clear_stats()
    groups = _areas(own, via)
    total = sum(groups.values())
    rows.sort(reverse=True)
    buf = io.StringIO()
    buf.write(
        f"yappi CPU profile (all threads) of {cfg.streams} concurrent "
        f"ChatBedrockStream.astream() with + on {spec!r}: total {total:.2f} s CPU "
        "(profiler overhead included)\n\ntime by area (self time; C builtins counted "
        "with their caller):\n"
    )
    for label, tt in groups.items():
        if tt / total >= 0.002:
            buf.write(f"  {tt * 1e3:8.1f} ms  {tt / total * 100:5.1f}%  {label}\n")
    buf.write("\ntop functions by self time:\n  self ms   cum ms     calls  function\n")
    for tt, ct, nc, name in rows[:30]:
        buf.write(f"  {tt * 1e3:7.1f} {ct * 1e3:8.1f} {nc:9d}  {name}\n")
    path.write_text(buf.getvalue())
    return {
        "spec": spec,
        "chunks": None,
        "total_s": total,
        "groups_s": groups,
        "top_self": [
            {"self_s": tt, "cum_s": ct, "calls": nc, "function": name}
            for tt, ct, nc, name in rows[:15]
        ],
    }


def _first_chunk_lc(model: Any, spec: str) -> float:
    t0 = time.perf_counter()
    first = None
    for chunk in model.stream(spec):
        if first is None and chunk.text:
            first = time.perf_counter()
    assert first is not None
    return first - t0


def _first_chunk_raw(client: Any, spec: str) -> float:
    t0 = time.perf_counter()
    first = None
    for event in client.converse_stream(modelId=MODEL_ID, messages=user(spec))["stream"]:
        if first is None and "contentBlockDelta" in event:
            first = time.perf_counter()
    assert first is not None
    return first - t0


def scenario_first_chunk(s: Setup, cfg: argparse.Namespace) -> dict[str, Any]:
    from langchain_aws import ChatBedrockConverse

    from langchain_bedrock_stream import ChatBedrockStream

    spec = "first"
    fns = {
        OURS: lambda: _first_chunk_lc(s.ours, spec),
        RAW: lambda: _first_chunk_raw(s.raw, spec),
        LC: lambda: _first_chunk_lc(s.lc, spec),
    }
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
        fn()
    for _ in range(cfg.first_requests):
        for name, fn in fns.items():
            samples[name].append(fn())
    first = {
        name: {"samples_s": v, "median_s": statistics.median(v)} for name, v in samples.items()
    }

    def build_ours() -> Any:
        return ChatBedrockStream(model=MODEL_ID, region_name=REGION, endpoint_url=s.endpoint)

    def build_ours_client() -> Any:
        model = build_ours()
        model._get_client()  # ours builds its boto3 client on first use
        return model

    def build_lc() -> Any:
        return ChatBedrockConverse(model=MODEL_ID, region_name=REGION, endpoint_url=s.endpoint)

    construct: dict[str, Any] = {}
    for name, fn in (
        (OURS, build_ours),
        (OURS + " + its client", build_ours_client),
        (LC, build_lc),
    ):
        fn()
        times = []
        for _ in range(cfg.construct_rounds):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        construct[name] = {"samples_s": times, "median_s": statistics.median(times)}

    # Peak memory of a 1 MB answer (tracemalloc), each contender accumulating as above.
    big = f"big/{1 << 20}/256"
    ans = answer(big)
    memory: dict[str, Any] = {}
    for name, fn in s.stream_calls(big).items():
        fn()
        gc.collect()
        tracemalloc.start()
        got = fn()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        memory[name] = {"peak_bytes": peak, "correct": check(got, ans), "chunks": got.chunks}
    out = {
        "first_chunk": first,
        "construct": construct,
        "memory": memory,
        "memory_events": len(ans.events),
        "memory_answer_bytes": len(ans.text),
    }
    print(
        "5. first chunk (ms, median of "
        f"{cfg.first_requests}): "
        + ", ".join(f"{k} {v['median_s'] * 1e3:.3f}" for k, v in first.items())
    )
    print(
        "   construction (ms): "
        + ", ".join(f"{k} {v['median_s'] * 1e3:.3f}" for k, v in construct.items())
    )
    print(
        "   peak memory, 1 MB answer (MB): "
        + ", ".join(
            f"{k} {v['peak_bytes'] / 2**20:.2f}{'' if v['correct'] else ' WRONG'}"
            for k, v in memory.items()
        )
    )
    return out


def _progress(title: str, cells: dict[str, Cell], events: int) -> None:
    print(title)
    raw = cells.get(RAW)
    for name, cell in cells.items():
        if not cell.wall:
            print(f"   {name:<20} {cell.note}")
            continue
        vs_raw = f"x{cell.wall_med / raw.wall_med:6.2f} raw (wall)" if raw and raw.wall else ""
        print(
            f"   {name:<20} wall {cell.wall_med * 1e3:9.1f} ms  cpu {cell.cpu_med * 1e3:9.1f} ms"
            f"  {cell.cpu_med / events * 1e6:7.2f} us/event  {vs_raw}"
            f"  chunks {cell.chunks}  {'ok' if cell.correct else 'WRONG'} {cell.note}"
        )


# --- profile -------------------------------------------------------------------------------------

_GROUPS = (
    ("langchain_bedrock_stream/_wire.py", "ours: frame decoding (_wire.py)"),
    ("langchain_bedrock_stream/_accumulate.py", "ours: accumulator (_accumulate.py)"),
    ("langchain_bedrock_stream/_blocks.py", "ours: accumulator blocks (_blocks.py)"),
    ("langchain_bedrock_stream/_bridge.py", "ours: chunk building (_bridge.py)"),
    ("langchain_bedrock_stream/_client.py", "ours: client construction (_client.py)"),
    ("langchain_bedrock_stream/_http.py", "ours: async HTTP (_http.py)"),
    ("langchain_bedrock_stream/_capture.py", "ours: request signing capture (_capture.py)"),
    ("langchain_bedrock_stream/_body.py", "ours: blocking body reader (_body.py)"),
    ("langchain_bedrock_stream/_chunked.py", "ours: chunked decoding (_chunked.py)"),
    ("langchain_bedrock_stream/_transport.py", "ours: stream driver (_transport.py)"),
    ("langchain_bedrock_stream/_session.py", "ours: stream session (_session.py)"),
    ("langchain_bedrock_stream/_threads.py", "ours: worker pool (_threads.py)"),
    ("langchain_bedrock_stream/chat_model.py", "ours: chat_model.py"),
    ("langchain_bedrock_stream/", "ours: other modules"),
    ("langchain_core/utils/json.py", "langchain-core: partial JSON parse"),
    ("langchain_core/", "langchain-core: other (messages, +, callbacks)"),
    ("pydantic", "pydantic (message validation)"),
    ("urllib3/", "urllib3"),
    ("http/client.py", "http.client"),
    ("socket.py", "socket"),
    ("botocore/", "botocore (request, signing)"),
    ("json/", "json"),
    ("asyncio/", "asyncio (event loop, queue, call_soon_threadsafe)"),
    ("threading.py", "threading"),
    ("email/", "http.client"),
    ("tenacity/", "tenacity"),
)
_BUILTIN = "C builtins"


def _group(filename: str, func: str) -> str:
    for needle, label in _GROUPS:
        if needle in filename:
            return label
    if filename == "~" or filename.startswith("<") or filename == "builtins":
        return _BUILTIN
    return "other"


def _areas(own: dict[str, float], builtin_by_caller: dict[str, float]) -> dict[str, float]:
    """Self time by area, C builtins (list.append, socket.recv_into, ...) counted in the area
    of the Python function that called them."""
    areas = dict(own)
    for label, tt in builtin_by_caller.items():
        areas[label] = areas.get(label, 0.0) + tt
    return dict(sorted(areas.items(), key=lambda kv: -kv[1]))


def profile(s: Setup, spec: str, path: Path) -> dict[str, Any]:
    """cProfile ``ChatBedrockStream.stream`` with ``+`` on ``spec``; write the report."""
    lc_stream(s.ours, spec)
    profiler = cProfile.Profile(time.process_time)  # CPU: time blocked in recv is not cost
    gc.collect()
    profiler.enable()
    got = lc_stream(s.ours, spec)
    profiler.disable()
    assert check(got, answer(spec))
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    own: dict[str, float] = {}
    via: dict[str, float] = {}
    for (filename, line, func), (_cc, nc, tt, ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        name = f"{_short(filename)}:{line}({func})"
        rows.append((tt, ct, nc, name))
        label = _group(filename, func)
        if label != _BUILTIN:
            own[label] = own.get(label, 0.0) + tt
            continue
        for (cfile, _cline, cfunc), caller in callers.items():
            parent = _group(cfile, cfunc)
            via[parent] = via.get(parent, 0.0) + caller[2]
    groups = _areas(own, via)
    rows.sort(reverse=True)
    by_cum = sorted(
        (r for r in rows if "langchain_bedrock_stream" in r[3] or "langchain_core" in r[3]),
        key=lambda r: r[1],
        reverse=True,
    )
    buf = io.StringIO()
    buf.write(
        f"cProfile of ChatBedrockStream.stream() with + on {spec!r}: "
        f"{got.chunks} chunks, total {total * 1e3:.1f} ms CPU (profiler overhead included)\n\n"
    )
    buf.write("time by area (self time; C builtins counted with their caller):\n")
    for label, tt in groups.items():
        if tt / total < 0.002:
            continue
        buf.write(f"  {tt * 1e3:8.1f} ms  {tt / total * 100:5.1f}%  {label}\n")
    buf.write("\ntop functions by self time:\n  self ms   cum ms     calls  function\n")
    for tt, ct, nc, name in rows[:25]:
        buf.write(f"  {tt * 1e3:7.1f} {ct * 1e3:8.1f} {nc:9d}  {name}\n")
    buf.write("\ntop langchain_bedrock_stream / langchain_core functions by cumulative time:\n")
    for tt, ct, nc, name in by_cum[:20]:
        buf.write(f"  {tt * 1e3:7.1f} {ct * 1e3:8.1f} {nc:9d}  {name}\n")
    path.write_text(buf.getvalue())
    return {
        "spec": spec,
        "chunks": got.chunks,
        "total_s": total,
        "groups_s": groups,
        "top_self": [
            {"self_s": tt, "cum_s": ct, "calls": nc, "function": name}
            for tt, ct, nc, name in rows[:15]
        ],
        "top_cum": [
            {"self_s": tt, "cum_s": ct, "calls": nc, "function": name}
            for tt, ct, nc, name in by_cum[:15]
        ],
    }


def _short(filename: str) -> str:
    root = str(Path(__file__).resolve().parents[1]) + "/"
    for marker in ("site-packages/", root, "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


# --- report ---------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    info = {
        name: version(name)
        for name in (
            "boto3",
            "botocore",
            "urllib3",
            "langchain-core",
            "langchain-aws",
            "langchain-bedrock-stream",
        )
    }
    for name in ("opentelemetry-sdk", "opentelemetry-instrumentation-botocore"):
        with contextlib.suppress(PackageNotFoundError):
            info[name] = version(name)
    info["python"] = platform.python_version()
    return info


def _git() -> dict[str, Any]:
    """The library revision measured (uncommitted library changes are listed)."""
    root = HERE.parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, check=True
            ).stdout.rstrip("\n")
        except (OSError, subprocess.CalledProcessError):
            return ""

    dirty = [
        line[3:]
        for line in git("status", "--porcelain", "--", "langchain_bedrock_stream").splitlines()
    ]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(), "dirty": dirty}


def _machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "loadavg_start": os.getloadavg(),
    }


def _load(values: Any) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def _ms(x: float) -> str:
    return "—" if x is None or math.isnan(x) else f"{x * 1e3:,.1f}"


def _ratio(a: float, b: float) -> str:
    return "—" if a is None or b is None or math.isnan(a) or math.isnan(b) else f"{a / b:.2f}x"


def _stream_rows(cells: dict[str, Cell], events: int) -> list[str]:
    raw = cells[RAW]
    rows = []
    for name in CONTENDERS:
        c = cells.get(name)
        if c is None or not c.wall:
            rows.append(f"| {name} | — | — | — | — | — | — | {c.note if c else ''} |")
            continue
        rows.append(
            f"| {name} | {_ms(c.wall_med)} | {_ms(c.cpu_med)} | "
            f"{c.cpu_med / events * 1e6:.2f} | {_ratio(c.wall_med, raw.wall_med)} | "
            f"{_ratio(c.cpu_med, raw.cpu_med)} | {c.chunks} | "
            f"{'yes' if c.correct else '**NO**'}{'; ' + c.note if c.note else ''} |"
        )
    return rows


_STREAM_HEAD = [
    "| contender | wall ms | CPU ms | CPU µs/event | wall vs raw | CPU vs raw | chunks | correct |",
    "|---|---:|---:|---:|---:|---:|---:|---|",
]


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    out = []

    def add(name: str, value: str, goal: str, ok: bool, detail: str = "") -> None:
        out.append({"target": name, "measured": value, "goal": goal, "pass": ok, "detail": detail})

    for spec, label in (("text/8000/64", "batch=64"), ("text/8000/1", "batch=1")):
        cells = res["text"][spec]["cells"]
        w = cells[OURS].wall_med / cells[RAW].wall_med
        c = cells[OURS].cpu_med / cells[RAW].cpu_med
        add(
            f"1. long text stream() vs raw boto3 ({label})",
            f"CPU {c:.2f}x (wall {w:.2f}x)",
            "CPU <= 1.5x",
            c <= 1.5,
        )
    tool = res["tool"]
    cells = tool["tool/4000/64"]["cells"]
    w = cells[OURS].wall_med / cells[RAW].wall_med
    c = cells[OURS].cpu_med / cells[RAW].cpu_med
    add(
        "2a. 4,000-fragment tool call with + vs raw boto3",
        f"CPU {c:.2f}x (wall {w:.2f}x)",
        "CPU <= 3x",
        c <= 3,
    )
    sizes = [tool[k]["fragments"] for k in tool if k.startswith("tool/")]
    per = [tool[f"tool/{n}/64"]["cells"][OURS].cpu_med / n for n in sizes]
    slope = _slope(sizes, [p * n for p, n in zip(per, sizes, strict=True)])
    add(
        "2b. tool call cost grows linearly with fragments",
        f"exponent {slope:.2f}; CPU µs/fragment "
        + ", ".join(f"{n}: {p * 1e6:.1f}" for n, p in zip(sizes, per, strict=True)),
        "log-log exponent <= 1.15",
        slope <= 1.15,
    )
    conc = res["concurrent"]["cells"]
    w = conc[OURS].wall_med / conc[RAW].wall_med
    c = conc[OURS].cpu_med / conc[RAW].cpu_med
    add(
        f"4a. {res['concurrent']['streams']} concurrent astream wall vs raw thread-per-stream",
        f"{w:.3f}x",
        "<= 1.15x",
        w <= 1.15,
    )
    add("4b. 256 concurrent astream CPU per event vs raw", f"{c:.2f}x", "<= 1.00x", c <= 1.0)
    first = res["first"]["first_chunk"]
    d = first[OURS]["median_s"] - first[RAW]["median_s"]
    add(
        "5. first-chunk overhead over raw boto3 (warm client)",
        f"{d * 1e3:+.3f} ms",
        "<= 1 ms",
        d <= 0.001,
    )
    https = res["https"]
    h = https["cells"]
    n = https["streams"]
    w = h[OURS].wall_med / h[RAW].wall_med
    add(
        f"6a. HTTPS: {n} concurrent astream wall vs raw thread-per-stream",
        f"{w:.3f}x",
        "<= 0.8x",
        w <= 0.8,
    )
    c = h[OURS].cpu_med / h[FLOOR].cpu_med
    lc = h[LC].cpu_med / h[FLOOR].cpu_med
    add(
        f"6b. HTTPS: {n} concurrent astream CPU per event vs LangChain's floor",
        f"{c:.2f}x (ChatBedrockConverse {lc:.2f}x)",
        "<= 2.0x",
        c <= 2.0,
    )
    lag = h[OURS].lag_max
    add(
        f"6c. HTTPS: {n} concurrent astream, worst event-loop lateness",
        f"{lag * 1e3:.0f} ms (floor {h[FLOOR].lag_max * 1e3:.0f} ms, ChatBedrockConverse "
        f"{h[LC].lag_max * 1e3:.0f} ms; cold start {(h[OURS].cold_lag or math.nan) * 1e3:.0f} ms)",
        "<= 300 ms",
        lag <= 0.3,
    )
    many = res["https_many"]
    m = many["cells"][OURS]
    add(
        f"7. {many['streams']:,} concurrent HTTPS astream complete correctly, loop bound",
        f"{'all correct' if m.correct else 'WRONG answers'}; worst lateness "
        f"{m.lag_max * 1e3:.0f} ms (floor {many['cells'][FLOOR].lag_max * 1e3:.0f} ms; "
        f"ours with gc.freeze() {many['cells'][FROZEN].lag_max * 1e3:.0f} ms)",
        "all correct, <= 300 ms",
        m.correct and m.lag_max <= 0.3,
    )
    if "https_otel" in res:
        out += _otel_targets(res["https_otel"])
    return out


def _otel_targets(block: dict[str, Any]) -> list[dict[str, Any]]:
    """Scenario 8's targets: instrumented, ours costs no more CPU per event than
    ChatBedrockConverse instrumented the same way, and keeps the loop as free."""
    cells, n = block["cells"], block["streams"]
    events = n * block["events_per_stream"]
    ours, lc = cells[OURS_OTEL], cells[LC_OTEL]
    c = ours.cpu_med / lc.cpu_med
    spans = all(_spans_ok(cell, n) for cell in (ours, lc))
    return [
        {
            "target": f"8a. HTTPS, botocore instrumented (OTel): {n} concurrent astream CPU per "
            "event vs ChatBedrockConverse instrumented",
            "measured": f"{c:.2f}x ({ours.cpu_med / events * 1e6:.0f} vs "
            f"{lc.cpu_med / events * 1e6:.0f} µs/event); answers "
            f"{'all correct' if ours.correct and lc.correct else 'WRONG'}; a span per stream "
            f"{'in every round' if spans else 'MISSING'}",
            "goal": "<= 1.00x, all correct, a span per stream",
            "pass": c <= 1.0 and ours.correct and lc.correct and spans,
            "detail": "",
        },
        {
            "target": f"8b. HTTPS, botocore instrumented (OTel): {n} concurrent astream, worst "
            "event-loop lateness",
            "measured": f"{ours.lag_max * 1e3:.0f} ms (ChatBedrockConverse instrumented "
            f"{lc.lag_max * 1e3:.0f} ms); once all streams are open {_max_ms(ours.lag_open)} "
            f"vs {_max_ms(lc.lag_open)} ms; cold start {(ours.cold_lag or math.nan) * 1e3:.0f} "
            f"vs {(lc.cold_lag or math.nan) * 1e3:.0f} ms",
            "goal": "<= ChatBedrockConverse instrumented",
            "pass": ours.lag_max <= lc.lag_max,
            "detail": "",
        },
    ]


def _max_ms(values: list[float]) -> str:
    return f"{max(values) * 1e3:.0f}" if values else "—"


def _spans_ok(cell: Cell, streams: int) -> bool:
    """A finished ConverseStream span for every stream, in every round (the cold one too)."""
    return bool(cell.spans) and cell.cold_spans == streams and set(cell.spans) == {streams}


def _slope(xs: list[int], ys: list[float]) -> float:
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    covariance = sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True))
    return covariance / sum((a - mx) ** 2 for a in lx)


def write_markdown(res: dict[str, Any], tgts: list[dict[str, Any]], path: Path) -> None:
    m, v = res["machine"], res["versions"]
    cfg = res["config"]
    lines = [
        "# Streaming benchmark: ChatBedrockStream vs raw boto3 vs ChatBedrockConverse",
        "",
        f"- date: {res['date']}",
        f"- command: `{res['command']}`",
        f"- machine: {m['cores']} cores, {m['cpu']}, {m['platform']}; load average "
        f"(1/5/15 min) {_load(m['loadavg_start'])} at start, {_load(m['loadavg_end'])} at end "
        "(other work on the machine inflates wall times; CPU times are this process's own)",
        f"- python {v['python']}; boto3 {v['boto3']} (botocore {v['botocore']}), urllib3 "
        f"{v['urllib3']}, langchain-core {v['langchain-core']}, langchain-aws "
        f"{v['langchain-aws']}, langchain-bedrock-stream {v['langchain-bedrock-stream']}",
        f"- library revision: {res['git']['commit']}"
        + (
            f" + uncommitted changes in {', '.join(res['git']['dirty'])}"
            if res["git"]["dirty"]
            else ""
        ),
        f"- rounds: {cfg['rounds']} (medians), concurrent rounds {cfg['conc_rounds']}, "
        f"first-chunk requests {cfg['first_requests']}; total run {res['elapsed_s']:.0f} s",
        "- server: the loopback Bedrock-wire server in a separate process; client CPU is "
        "`time.process_time()` of the client process (all its threads).",
        "- accumulation: LangChain contenders `full = full + chunk`; raw boto3 appends text "
        "deltas / tool input fragments to a list, joins (and `json.loads` the tool input once).",
        "- ChatBedrockConverse and raw boto3 get `Config(max_pool_connections=256)`; "
        "ChatBedrockStream's default pool is 256.",
        "",
        "## Targets",
        "",
        "| target | measured | goal | result |",
        "|---|---|---|---|",
    ]
    for t in tgts:
        lines.append(
            f"| {t['target']} | {t['measured']} | {t['goal']} | "
            f"{'PASS' if t['pass'] else '**MISS**'} |"
        )
    for spec, title in (
        ("text/8000/64", "batch=64 frames per HTTP chunk"),
        ("text/8000/1", "batch=1: every event its own HTTP chunk"),
    ):
        block = res["text"][spec]
        lines += [
            "",
            f"## 1. `stream()` of a long text answer: 8,000 text deltas, {title} "
            f"({block['events']} events)",
            "",
            *_STREAM_HEAD,
            *_stream_rows(block["cells"], block["events"]),
        ]
    tool = res["tool"]
    block = tool["tool/4000/64"]
    lines += [
        "",
        "## 2. One tool call, input in 4,000 fragments, `+` accumulation",
        "",
        *_STREAM_HEAD,
        *_stream_rows(block["cells"], block["events"]),
    ]
    lines += [
        "",
        "### Scaling with fragments (CPU; µs per fragment)",
        "",
        "| fragments | " + " | ".join(f"{n} CPU ms | {n} µs/frag" for n in CONTENDERS) + " |",
        "|---:|" + "---:|---:|" * len(CONTENDERS),
    ]
    for key, blk in tool.items():
        if not key.startswith("tool/"):
            continue
        n = blk["fragments"]
        cells = blk["cells"]
        parts = []
        for name in CONTENDERS:
            c = cells[name]
            if c.cpu:
                parts.append(f"{_ms(c.cpu_med)} | {c.cpu_med / n * 1e6:.1f}")
            else:
                parts.append("skipped | —")
        lines.append(f"| {n:,} | " + " | ".join(parts) + " |")
    if tool.get("lc_skip"):
        lines += ["", f"ChatBedrockConverse: {tool['lc_skip']}."]
    notes = [
        f"{name} at {blk['fragments']}: {blk['cells'][name].note}"
        for key, blk in tool.items()
        if key.startswith("tool/")
        for name in CONTENDERS
        if blk["cells"][name].note and blk["cells"][name].wall
    ]
    if notes:
        lines += ["", "Rounds capped: " + "; ".join(notes) + "."]
    for block in res["paced_tool"].values():
        lines += [
            "",
            "### 2c. (informational, no target) The same tool call paced: 1,000 "
            "fragments 1 ms apart, `+` accumulation",
            "",
            "The unpaced server above lets every reader take the whole answer in a few "
            "reads; a model streams fragments over time, so each read holds only what "
            "arrived meanwhile and a chunk-per-read reader makes one chunk per few "
            "fragments.",
            "",
            *_STREAM_HEAD,
            *_stream_rows(block["cells"], block["events"]),
        ]
    for spec in ("text/8000/64", "tool/4000/64"):
        block = res["invoke"][spec]
        lines += [
            "",
            f"## 3. `invoke()` with `streaming=True`: `{spec}` "
            "(raw boto3 row = the same stream iterated)",
            "",
            *_STREAM_HEAD,
            *_stream_rows(block["cells"], block["events"]),
            "",
            "Bedrock operations each model's `invoke()` called: "
            + ", ".join(f"{k}: {', '.join(v)}" for k, v in block["operations"].items()),
        ]
    conc = res["concurrent"]
    events = conc["streams"] * conc["events_per_stream"]
    lines += [
        "",
        f"## 4. {conc['streams']} concurrent streams, server pacing 20 ms/event, "
        f"{conc['events_per_stream']} events each (ideal wall "
        f"{conc['ideal_wall_s']:.2f} s)",
        "",
        "ChatBedrockStream and ChatBedrockConverse: `astream()` on one asyncio loop; "
        "raw boto3: one thread per stream.",
        "",
        f"Medians of {cfg['conc_rounds']} rounds, (min–max) in brackets; this scenario "
        "is sensitive to scheduling: when the server or the client falls behind the "
        "20 ms schedule, events arrive together and are read in one go.",
        "",
        "| contender | wall s | client CPU s | CPU µs/event | wall vs raw | CPU vs raw | "
        "chunks | correct | server CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    raw = conc["cells"][RAW]
    for name, c in conc["cells"].items():
        label = f"*diagnostic:* {name}" if name in conc["diagnostics"] else name
        lines.append(
            f"| {label} | {c.wall_med:.3f} ({min(c.wall):.2f}–{max(c.wall):.2f}) | "
            f"{c.cpu_med:.3f} ({min(c.cpu):.2f}–{max(c.cpu):.2f}) | "
            f"{c.cpu_med / events * 1e6:.1f} | {_ratio(c.wall_med, raw.wall_med)} | "
            f"{_ratio(c.cpu_med, raw.cpu_med)} | {c.chunks} | "
            f"{'yes' if c.correct else '**NO**'} | {conc['server_cpu_s'][name]:.2f} |"
        )
    lines += [
        "",
        "Diagnostic rows (not targets) split the cost: without `+`, and the sync "
        "path in threads (no asyncio). The server's CPU (separate process) shows how much "
        "of the cores the client had left.",
    ]
    first = res["first"]
    lines += [
        "",
        "## 5. Warm first chunk, construction, memory",
        "",
        f"Time from request to first content chunk (median of {cfg['first_requests']}, "
        "warm client; the server sends the first delta at once):",
        "",
        "| contender | first chunk ms | over raw ms |",
        "|---|---:|---:|",
    ]
    raw_first = first["first_chunk"][RAW]["median_s"]
    for name in CONTENDERS:
        f = first["first_chunk"][name]["median_s"]
        lines.append(f"| {name} | {f * 1e3:.3f} | {(f - raw_first) * 1e3:+.3f} |")
    lines += ["", "Model construction (median):", "", "| what | ms |", "|---|---:|"]
    for name, c in first["construct"].items():
        lines.append(f"| `{name}(...)` | {c['median_s'] * 1e3:.3f} |")
    lines += [
        "",
        f"Peak traced memory (tracemalloc) streaming a "
        f"{first['memory_answer_bytes'] / 2**20:.0f} MB text answer "
        f"({first['memory_events']} events of 256 characters), with the accumulation "
        "above:",
        "",
        "| contender | peak MB | chunks | correct |",
        "|---|---:|---:|---|",
    ]
    for name in CONTENDERS:
        mm = first["memory"][name]
        lines.append(
            f"| {name} | {mm['peak_bytes'] / 2**20:.2f} | {mm['chunks']} | "
            f"{'yes' if mm['correct'] else '**NO**'} |"
        )
    lines += _https_sections(res)
    if "https_otel" in res:
        lines += _otel_section(res)
    if res.get("profile"):
        lines += ["", "## Profile of ChatBedrockStream (CPU; self time by area)", ""]
        for key, prof in res["profile"].items():
            what = (
                f"{res['concurrent']['streams']} concurrent astream(), yappi CPU, all threads"
                if key == "concurrent"
                else f"{prof['chunks']} chunks"
            )
            lines += [
                f"`{prof['spec']}` — {what}, "
                f"{prof['total_s'] * 1e3:.1f} ms CPU under the profiler "
                f"(full report: `results/profile_{key}.txt`)",
                "",
                "| area | ms | share |",
                "|---|---:|---:|",
            ]
            for label, tt in list(prof["groups_s"].items())[:10]:
                lines.append(f"| {label} | {tt * 1e3:.1f} | {tt / prof['total_s'] * 100:.0f}% |")
            lines.append("")
    path.write_text("\n".join(lines) + "\n")


def _https_sections(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for key, number in (("https", 6), ("https_many", 7)):
        block = res[key]
        events = block["streams"] * block["events_per_stream"]
        floor = block["cells"][FLOOR]
        raw = block["cells"].get(RAW)
        lines += [
            "",
            f"## {number}. HTTPS: {block['streams']:,} concurrent streams, server pacing "
            f"20 ms/event, {block['events_per_stream']} events each (ideal wall "
            f"{block['ideal_wall_s']:.2f} s)",
            "",
            "The server runs TLS with a certificate made for the run (trusted through "
            "`AWS_CA_BUNDLE`). Each contender runs in a process of its own, as in a server: "
            "its imports, its client, one event loop for every round (connections kept alive "
            "between rounds, as the thread-per-stream contenders keep theirs in their pools); "
            "the rounds of all contenders are interleaved. LangChain models: `astream()` with "
            "`+` on that loop; raw boto3: one thread per stream while the idle loop of its "
            "process measures its lateness; the floor is a chat model with no I/O yielding the "
            "chunks both Bedrock chat models yield (content blocks with an index), with the "
            "same pacing, in a process that has built our client too. Worst loop lateness: a "
            "ticker every 5 ms, worst over the rounds (garbage collection pauses included: "
            "they are most of it). Cold start: the first round on the new loop, where the "
            "connections are opened (TCP, TLS handshakes), apart from the rounds. The "
            "diagnostic row is ours in a process that called `gc.freeze()` after its first "
            "round, as `docs/scaling.md` suggests to servers; not a target.",
            "",
            "| contender | wall s | client CPU s | CPU µs/event | CPU vs floor | wall vs raw | "
            "worst loop lateness ms | cold start lateness ms | chunks | correct | "
            "server CPU s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        for name, c in block["cells"].items():
            cold = f"{c.cold_lag * 1e3:.0f}" if c.cold_lag is not None else "—"
            lines.append(
                f"| {name} | {c.wall_med:.3f} | {c.cpu_med:.3f} | "
                f"{c.cpu_med / events * 1e6:.1f} | {_ratio(c.cpu_med, floor.cpu_med)} | "
                f"{_ratio(c.wall_med, raw.wall_med) if raw else '—'} | "
                f"{c.lag_max * 1e3:.0f} | {cold} | {c.chunks} | "
                f"{'yes' if c.correct else '**NO**'} | {block['server_cpu_s'][name]:.2f} |"
            )
    return lines


def _otel_section(res: dict[str, Any]) -> list[str]:
    """Scenario 8's section of ``results.md`` (it stands on its own: ``--merge``)."""
    block = res["https_otel"]
    events = block["streams"] * block["events_per_stream"]
    v, m = res["versions"], res["machine"]
    cells = block["cells"]
    lc = cells[LC_OTEL]
    lines = [
        "",
        f"## 8. HTTPS, botocore instrumented with OpenTelemetry: {block['streams']:,} "
        f"concurrent streams, server pacing 20 ms/event, {block['events_per_stream']} events "
        f"each (ideal wall {block['ideal_wall_s']:.2f} s)",
        "",
        f"- command: `{res['command']}` ({res['date']}; library revision "
        f"{res['git']['commit']}"
        + (f" + uncommitted changes in {', '.join(d)}" if (d := res["git"]["dirty"]) else "")
        + f"; opentelemetry-sdk {v.get('opentelemetry-sdk', '?')}, "
        f"opentelemetry-instrumentation-botocore "
        f"{v.get('opentelemetry-instrumentation-botocore', '?')}; load average "
        f"{_load(m['loadavg_start'])} at start, {_load(m['loadavg_end'])} at end)",
        "- set-up, in each instrumented contender's own process before its client is "
        "created: an SDK `TracerProvider` with `SimpleSpanProcessor(InMemorySpanExporter())`, "
        "then `BotocoreInstrumentor().instrument(tracer_provider=...)` (it wraps "
        "`BaseClient._make_api_call` and each ConverseStream's event stream). The simple "
        "processor exports in the thread that ends the span, so the cost falls in the round "
        "and the process that made the span, and each round's finished spans can be counted "
        "exactly when it ends (the exporter is cleared before every round); the in-memory "
        "exporter appends to a list, so the rows measure the instrumentation, not an "
        "exporter. A `BatchSpanProcessor` would export from a thread of its own on its own "
        "schedule, across round boundaries.",
        "- ours takes its path for a client something watches: botocore makes the call in a "
        "thread and the (wrapped) event stream is read in a thread per stream, so the "
        "instrumentation sees every event. The uninstrumented rows are the same two models "
        "in processes without instrumentation, in the same run, for reference.",
        "- everything else as in section 6: each contender in a process of its own, one "
        "event loop for every round, rounds interleaved, `astream()` with `+`, every answer "
        "checked; worst loop lateness from a 5 ms ticker, and apart the worst once every "
        "stream of the round has had its first chunk (streams no longer opening); spans: "
        "finished ConverseStream spans per round (every round must have one per stream).",
        "",
        "| contender | wall s | client CPU s | of which system s | CPU µs/event | CPU vs "
        "ChatBedrockConverse instrumented | worst loop lateness ms | of which once all "
        "streams are open ms | cold start lateness ms | chunks | correct | spans per round "
        "(cold) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for name, c in cells.items():
        cold = f"{c.cold_lag * 1e3:.0f}" if c.cold_lag is not None else "—"
        system = statistics.median(c.system) if c.system else math.nan
        if c.spans:
            spans = f"{', '.join(map(str, c.spans))} ({c.cold_spans})"
            if not _spans_ok(c, block["streams"]):
                spans = f"**{spans}**"
        else:
            spans = "— (not instrumented)"
        lines.append(
            f"| {name} | {c.wall_med:.3f} | {c.cpu_med:.3f} | {system:.3f} | "
            f"{c.cpu_med / events * 1e6:.1f} | {_ratio(c.cpu_med, lc.cpu_med)} | "
            f"{c.lag_max * 1e3:.0f} | {max(c.lag_open) * 1e3 if c.lag_open else math.nan:.0f} | "
            f"{cold} | {c.chunks} | {'yes' if c.correct else '**NO**'} | {spans} |"
        )
    for t in _otel_targets(block):
        lines.append("")
        lines.append(
            f"{t['target']}: {t['measured']} (goal {t['goal']}): "
            f"{'PASS' if t['pass'] else '**MISS**'}"
        )
    return lines


def merge(res: dict[str, Any], out: Path) -> None:
    """Put scenario 8 (just run) into an existing ``results.md`` / ``results.json``: its
    section (replacing an earlier one, else before the profiles) and its target rows; the
    rest stays as it was."""
    md, js = out / "results.md", out / "results.json"
    text = md.read_text().split("\n")
    section = _otel_section(res)[1:]  # without the leading blank line
    start = next((i for i, line in enumerate(text) if line.startswith("## 8. ")), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
        text[start:end] = [*section, ""]
    else:
        at = next(i for i, line in enumerate(text) if line.startswith("## Profile"))
        text[at:at] = [*section, ""]
    rows = [
        f"| {t['target']} | {t['measured']} | {t['goal']} | {'PASS' if t['pass'] else '**MISS**'} |"
        for t in _otel_targets(res["https_otel"])
    ]
    text = [line for line in text if not line.startswith(("| 8a. ", "| 8b. "))]
    head = text.index("## Targets")
    last = next(i for i in range(head + 4, len(text)) if not text[i].startswith("|"))
    text[last:last] = rows
    md.write_text("\n".join(text))
    data = json.loads(js.read_text())
    data["https_otel"] = _jsonable(
        {k: res[k] for k in ("https_otel", "date", "command", "git", "versions", "machine")}
    )
    js.write_text(json.dumps(data, indent=1) + "\n")


def plot(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(
        1, 3, figsize=(19, 6), gridspec_kw={"width_ratios": [1.7, 1, 1]}
    )
    scen: list[tuple[str, dict[str, Cell]]] = [
        ("text stream\nbatch=64", res["text"]["text/8000/64"]["cells"]),
        ("text stream\nbatch=1", res["text"]["text/8000/1"]["cells"]),
        ("tool call\n4,000 frags", res["tool"]["tool/4000/64"]["cells"]),
        ("tool call, paced\n1,000 frags", res["paced_tool"]["ptool/1000/0.001"]["cells"]),
        ("invoke text\nstreaming", res["invoke"]["text/8000/64"]["cells"]),
        ("invoke tool\nstreaming", res["invoke"]["tool/4000/64"]["cells"]),
        ("256 astream\n(wall)", res["concurrent"]["cells"]),
        ("256 astream\n(CPU)", res["concurrent"]["cells"]),
    ]
    width = 0.38
    colors = {OURS: "#1f77b4", LC: "#d62728"}
    for k, name in enumerate((OURS, LC)):
        vals = []
        for label, cells in scen:
            attr = "wall_med" if "(wall)" in label else "cpu_med"
            raw = getattr(cells[RAW], attr)
            val = getattr(cells[name], attr) if cells[name].wall else math.nan
            vals.append(val / raw)
        xs = [i + (k - 0.5) * width for i in range(len(scen))]
        bars = ax1.bar(xs, vals, width, label=name, color=colors[name])
        for bar, val in zip(bars, vals, strict=True):
            if not math.isnan(val):
                ax1.annotate(
                    f"{val:.2f}" if val < 10 else f"{val:.0f}",
                    (bar.get_x() + bar.get_width() / 2, val),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
    ax1.axhline(1.0, color="black", linewidth=1, linestyle="--", label="raw boto3 = 1")
    ax1.set_yscale("log")
    ax1.set_xticks(range(len(scen)))
    ax1.set_xticklabels([s[0] for s in scen], fontsize=8)
    ax1.set_ylabel("cost / raw boto3 (CPU unless marked wall; log)")
    ax1.set_title("Cost relative to raw boto3 (lower is better)")
    ax1.legend(fontsize=8)

    tool = {k: v for k, v in res["tool"].items() if k.startswith("tool/")}
    styles = {OURS: ("o-", "#1f77b4"), RAW: ("s-", "#2ca02c"), LC: ("^-", "#d62728")}
    for name in CONTENDERS:
        pts = [
            (b["fragments"], b["cells"][name].cpu_med)
            for b in tool.values()
            if b["cells"][name].cpu
        ]
        if not pts:
            continue
        marker, color = styles[name]
        ax2.plot([p[0] for p in pts], [p[1] * 1e3 for p in pts], marker, color=color, label=name)
        ax3.plot(
            [p[0] for p in pts], [p[1] / p[0] * 1e6 for p in pts], marker, color=color, label=name
        )
    sizes = sorted(b["fragments"] for b in tool.values())
    for ax in (ax2, ax3):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([f"{n:,}" for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("tool input fragments")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    ax2.set_ylabel("CPU ms per call (log)")
    ax2.set_title("Tool call with + : total cost")
    ax3.set_ylabel("CPU µs per fragment (log)")
    ax3.set_title("Tool call with + : cost per fragment (flat = linear)")
    fig.suptitle(
        f"ChatBedrockStream vs raw boto3 vs ChatBedrockConverse — {res['date']}, "
        f"{res['machine']['cores']} cores",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Cell):
        return obj.as_json()
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


SCENARIOS: dict[str, Callable[[Setup, argparse.Namespace], dict[str, Any]]] = {
    "text": scenario_text,
    "tool": scenario_tool,
    "paced_tool": scenario_paced_tool,
    "invoke": scenario_invoke,
    "concurrent": scenario_concurrent,
    "first": scenario_first_chunk,
    "https": scenario_https,
    "https_many": scenario_https_many,
    "https_otel": scenario_https_otel,
}


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller budgets")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"), help=argparse.SUPPRESS)
    parser.add_argument("--lag-child", help=argparse.SUPPRESS)
    parser.add_argument("--lag-args", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile pass")
    parser.add_argument("--out", type=Path, default=RESULTS, help="output folder")
    parser.add_argument(
        "--only",
        choices=sorted(SCENARIOS),
        action="append",
        help="run only these scenarios and print them (no files written, except --merge)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="with --only https_otel: add its section, target rows and samples to the "
        "existing results.md / results.json, leaving the rest as it is",
    )
    cfg = parser.parse_args()
    if cfg.merge and cfg.only != ["https_otel"]:
        parser.error("--merge goes with --only https_otel")
    if cfg.serve:
        serve(tuple(cfg.tls) if cfg.tls else None)
        return
    if cfg.lag_child:
        endpoint, spec, streams, server_pid = cfg.lag_args
        lag_child(cfg.lag_child, endpoint, spec, int(streams), int(server_pid))
        return
    cfg.rounds = 3 if cfg.quick else 5
    cfg.conc_rounds = 1 if cfg.quick else 5
    cfg.paced_rounds = 2 if cfg.quick else 3
    cfg.first_requests = 20 if cfg.quick else 50
    cfg.construct_rounds = 5 if cfg.quick else 20
    cfg.streams = 64 if cfg.quick else 256
    cfg.many_streams = 128 if cfg.quick else 1024
    cfg.fragments = (1000, 2000, 4000, 8000)
    cfg.lc_budget = 8.0 if cfg.quick else 20.0  # seconds per ChatBedrockConverse tool cell

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "benchmark")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "benchmark")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ.pop("AWS_PROFILE", None)
    cfg.out.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    from langchain_bedrock_stream.testing import make_certificate

    certs = tempfile.TemporaryDirectory(prefix="bench-tls-")
    cert, key = make_certificate(certs.name)
    os.environ["AWS_CA_BUNDLE"] = str(cert)  # clients trust the HTTPS server's certificate
    proc, endpoint = start_server()
    tls_proc, tls_endpoint = start_server((cert, key))
    try:
        s = Setup(endpoint, proc.pid)
        s.tls = Setup(tls_endpoint, tls_proc.pid)
        res: dict[str, Any] = {
            "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join([".venv/bin/python", "benchmarks/bench.py", *sys.argv[1:]]),
            "machine": _machine(),
            "versions": _versions(),
            "git": _git(),
            "config": {
                k: (list(v) if isinstance(v, tuple) else v)
                for k, v in vars(cfg).items()
                if k not in ("out", "serve")
            },
        }
        for key, scenario in SCENARIOS.items():
            if not cfg.only or key in cfg.only:
                res[key] = scenario(s, cfg)
        if cfg.merge:
            res["machine"]["loadavg_end"] = os.getloadavg()
            merge(res, cfg.out)
            print(f"\nadded scenario 8 to {cfg.out}/results.md and results.json")
            return
        if cfg.only:
            return
        if not cfg.no_profile:
            res["profile"] = {
                "text": profile(s, "text/8000/64", cfg.out / "profile_text.txt"),
                "text_batch1": profile(s, "text/8000/1", cfg.out / "profile_text_batch1.txt"),
                "tool": profile(s, "tool/4000/64", cfg.out / "profile_tool.txt"),
                "tool_paced": profile(s, "ptool/1000/0.001", cfg.out / "profile_tool_paced.txt"),
            }
            conc = profile_concurrent(s, cfg, cfg.out / "profile_concurrent.txt")
            if conc is not None:
                res["profile"]["concurrent"] = conc
    finally:
        for server_proc in (proc, tls_proc):
            assert server_proc.stdin is not None
            server_proc.stdin.close()
            server_proc.wait(10)
        certs.cleanup()
    res["elapsed_s"] = time.perf_counter() - started
    res["machine"]["loadavg_end"] = os.getloadavg()
    tgts = targets(res)
    res["targets"] = tgts
    print("\nTargets:")
    for t in tgts:
        print(
            f"  {'PASS' if t['pass'] else 'MISS'}  {t['target']}: {t['measured']} "
            f"(goal {t['goal']})"
        )
    write_markdown(res, tgts, cfg.out / "results.md")
    (cfg.out / "results.json").write_text(json.dumps(_jsonable(res), indent=1) + "\n")
    plot(res, cfg.out / "bench.png")
    print(
        f"\nwrote {cfg.out}/results.md, results.json, bench.png"
        + ("" if cfg.no_profile else ", profile_*.txt")
        + f" in {res['elapsed_s']:.0f} s"
    )


if __name__ == "__main__":
    main()
