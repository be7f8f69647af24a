"""The Ray Data example's pipeline on a local Ray instance, against the loopback server.

Every worker takes its turn from one ``RayRateLimiter``; the server records when each
request arrived and how many streams were open then, so the limits are checked where
Bedrock would count them. Skipped where Ray is not installed.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip(
    "ray", reason="Ray is not installed (pip install 'langchain-bedrock-stream[ray]')"
)
pytest.importorskip(
    "ray.data", reason="Ray Data is not installed (pip install 'langchain-bedrock-stream[ray]')"
)

from langchain_bedrock_stream.pricing import lookup_price  # noqa: E402
from langchain_bedrock_stream.ratelimit import RateLimits, RayRateLimiter  # noqa: E402
from langchain_bedrock_stream.testing import (  # noqa: E402
    BedrockWireServer,
    ErrorReply,
    RecordedRequest,
    Reply,
    StreamReply,
)
from tests.support.events import text_events  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))
import ray_batch  # noqa: E402

MODEL = "us.amazon.nova-micro-v1:0"
MEMORY_MONITOR = "RAY_memory_monitor_refresh_ms"  # Ray reads it with this exact case
NO_CREDENTIALS = (
    "No AWS credentials found: running against the local Bedrock-wire simulator; "
    "answers are scripted."
)
INPUT_TOKENS = 9


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A small local Ray instance whose workers import this checkout and its examples.

    Ray's memory monitor is off: on a machine shared with other work it kills workers for
    memory that others use (the kernel still guards the machine)."""
    path = os.pathsep.join(p for p in (str(ROOT), str(EXAMPLES), os.environ.get("PYTHONPATH")) if p)
    saved = os.environ.get(MEMORY_MONITOR)
    os.environ[MEMORY_MONITOR] = "0"
    ray.init(
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
        object_store_memory=100 * 1024**2,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    if saved is None:
        os.environ.pop(MEMORY_MONITOR)
    else:
        os.environ[MEMORY_MONITOR] = saved
    try:
        yield
    finally:
        ray.shutdown()


def answer_pieces(prompt: str) -> list[str]:
    """What the server answers to ``prompt``, piece by piece."""
    return ["Answer ", "to ", prompt, "."]


class Observer:
    """A responder that answers each prompt and notes when requests came and how many
    streams were open at that moment (streams open only when a request arrives, so the
    largest count seen then is the peak)."""

    def __init__(self, server_ref: list[BedrockWireServer], *, pacing: float, throttle: int):
        self._server = server_ref
        self._pacing = pacing
        self._throttle = throttle
        self.arrivals: list[float] = []
        self.open_streams: list[int] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        # runs on the server's event loop thread, one request at a time
        self.arrivals.append(time.monotonic())
        self.open_streams.append(self._server[0].stream_count_active + 1)
        if self._throttle > 0:
            self._throttle -= 1
            return ErrorReply(429, "ThrottlingException", "Too many requests, please wait.")
        prompt = request.body["messages"][-1]["content"][0]["text"]
        events = text_events(answer_pieces(prompt), input_tokens=INPUT_TOKENS)
        return StreamReply(events, delay=self._pacing)


def most_in_any_window(arrivals: list[float], rate: float) -> float:
    """The largest ``count - rate * span`` over every run of consecutive arrivals: what a
    token bucket of that rate must have held at the start to let them all through."""
    times = sorted(arrivals)
    worst = 0.0
    for i in range(len(times)):
        for j in range(i, len(times)):
            worst = max(worst, (j - i + 1) - rate * (times[j] - times[i]))
    return worst


def test_window_measure_catches_a_burst() -> None:
    # the measure itself: 10 at once need 10 in the bucket; 1 per second need just 1
    assert most_in_any_window([0.0] * 10, rate=1.0) == 10
    assert most_in_any_window([float(t) for t in range(10)], rate=1.0) == 1


@pytest.mark.timeout(300)  # worker start-up alone takes 20 s on a busy 2-core machine
def test_pipeline_answers_every_prompt_within_the_shared_limits(local_ray: None) -> None:
    prompts = [f"prompt number {n}" for n in range(32)]
    limits = RateLimits(requests_per_minute=240, request_burst=2, cooldown=1.0)  # 4 a second
    workers, concurrency = 2, 4
    server_ref: list[BedrockWireServer] = []
    # the first two requests are throttled; each stream lasts about a quarter of a second
    observer = Observer(server_ref, pacing=0.05, throttle=2)
    with BedrockWireServer(responder=observer) as server:
        server_ref.append(server)
        limiter = RayRateLimiter(limits, name="test-pipeline-limiter")
        try:
            report = ray_batch.run_batch(
                prompts,
                model_kwargs={
                    "model": MODEL,
                    "region_name": "us-east-1",
                    "endpoint_url": server.endpoint_url,
                    "aws_access_key_id": "AKIDEXAMPLETESTONLY",
                    "aws_secret_access_key": "test-secret-not-real",
                },
                limiter=limiter,
                workers=workers,
                concurrency=concurrency,
                batch_size=8,
                stream=True,
            )
            state = limiter.state()
        finally:
            limiter.close()
        requests = server.requests

    # every prompt answered once, with its own answer
    assert not report.failed, report.failed[:3]
    assert sorted(row.prompt for row in report.rows) == sorted(prompts)
    for row in report.rows:
        assert row.answer == "".join(answer_pieces(row.prompt))
    assert 1 <= len(report.by_worker) <= workers

    # the two throttled calls were tried again through the shared bucket, which slowed down
    assert len(requests) == len(prompts) + 2
    assert sum(row.attempts - 1 for row in report.rows) == 2
    assert state.throttles == 2
    assert state.slowdowns >= 1
    assert state.granted == len(prompts) + 2

    # totals: from the rows, and from what every worker reported to the limiter's actor
    output_tokens = sum(len(answer_pieces(p)) for p in prompts)
    assert sum(row.input_tokens for row in report.rows) == INPUT_TOKENS * len(prompts)
    assert sum(row.output_tokens for row in report.rows) == output_tokens
    usage = report.usage
    assert (usage.calls, usage.unpriced_calls) == (len(prompts), 0)
    assert (usage.input_tokens, usage.output_tokens) == (INPUT_TOKENS * len(prompts), output_tokens)
    price = lookup_price(MODEL)
    assert price is not None
    expected = (
        INPUT_TOKENS * len(prompts) * price.price.input + output_tokens * price.price.output
    ) / 1e6
    assert usage.total_cost == pytest.approx(expected)
    assert report.row_cost == pytest.approx(expected)
    assert state.tokens_reported == INPUT_TOKENS * len(prompts) + output_tokens

    # what the server saw: never more streams than the workers run, never faster than the
    # bucket: at most its burst plus what it refills, with 3 s of slack for requests that
    # were granted apart but arrived together (a busy machine delays some more than others).
    # Measured here: 3.1 with the limiter (14 allowed), 28 without it.
    assert len(observer.arrivals) == len(requests)
    assert max(observer.open_streams) <= workers * concurrency
    slack = 3.0
    rate = limits.requests_per_second
    assert most_in_any_window(observer.arrivals, rate) <= limits.request_capacity + rate * slack


@pytest.mark.timeout(300)
def test_example_runs_offline_on_the_cluster(local_ray: None, tmp_path: Path) -> None:
    # a second driver joins the running local instance: no new cluster to start
    address = ray.get_runtime_context().gcs_address
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
    )
    command = [sys.executable, "examples/ray_batch.py", "--address", address, "--prompts", "6"]
    done = subprocess.run(
        [*command, "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == NO_CREDENTIALS
    assert re.match(r"6 of 6 prompts invoked by 1 worker in \d+\.\d s ", lines[1])
    assert (
        "First answer: 'Hello! You asked: \"In one sentence: why is 0 a nice number?" in done.stdout
    )
    # the rows and the limiter's actor add up to the same totals
    rows = re.search(r"^Rows: ([\d,]+) tokens, \$(\d+\.\d{6})$", done.stdout, re.M)
    actor = re.search(
        r"^Bedrock usage: 6 calls, ([\d,]+) tokens, \$(\d+\.\d{6})$", done.stdout, re.M
    )
    assert rows and actor, done.stdout
    assert rows.groups() == actor.groups()
    assert int(rows[1].replace(",", "")) > 0


def test_limiter_travels_by_name_and_shares_one_bucket(local_ray: None) -> None:
    limits = RateLimits(requests_per_minute=60, request_burst=3)
    limiter = RayRateLimiter(limits, name="test-shared-bucket")
    try:
        copy = pickle.loads(pickle.dumps(limiter))
        assert copy.limits == limits

        @ray.remote(num_cpus=0)
        def take(shared: RayRateLimiter) -> list[bool]:
            return [shared.acquire(blocking=False) for _ in range(2)]

        assert ray.get(take.remote(limiter)) == [True, True]
        # the same bucket: one request left of the burst of three, whoever asks
        assert copy.acquire(blocking=False) is True
        assert limiter.acquire(blocking=False) is False
        assert limiter.state().granted == 3

        joined = RayRateLimiter(RateLimits(requests_per_minute=1), name="test-shared-bucket")
        assert joined.limits == limits  # the running actor's limits win
    finally:
        limiter.close()


def test_feedback_reaches_the_actor_from_a_worker(local_ray: None) -> None:
    limiter = RayRateLimiter(RateLimits(requests_per_minute=600), name="test-feedback")
    usage: dict[str, Any] = {"input_tokens": 5, "output_tokens": 2, "total_tokens": 7}
    meta = {"model_name": MODEL}
    try:

        @ray.remote(num_cpus=0)
        def report(shared: RayRateLimiter) -> None:
            shared.record_answers([(usage, meta), (usage, meta)])
            shared.record_throttle()

        ray.get(report.remote(limiter))
        state = limiter.state()
        assert (state.tokens_reported, state.throttles, state.speed) == (14, 1, 0.5)
        totals = limiter.totals()
        assert (totals.calls, totals.total_tokens) == (2, 14)
    finally:
        limiter.close()
