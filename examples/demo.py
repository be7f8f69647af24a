"""A first look at ChatBedrockStream: a streamed answer, a tool call, usage and cost.

    .venv/bin/pip install -e '.[demo]'
    .venv/bin/python examples/demo.py                 # Amazon Bedrock if credentials are set
    .venv/bin/python examples/demo.py --simulator     # always offline
    .venv/bin/python examples/demo.py --model us.amazon.nova-lite-v1:0 --region us-west-2

1. streams an answer to the terminal token by token;
2. binds a small ``get_weather(city)`` tool, runs the call the model asks for locally,
   sends the ``ToolMessage`` back and streams the final answer;
3. ends with a summary of each call: tokens (input, output, cache), cost, time to first
   token, output tokens per second and Bedrock request id, plus the totals that
   ``get_bedrock_usage_callback()`` collected.

With AWS credentials configured (environment, profile, SSO, ...) it calls Amazon Bedrock
(``--model``/``$BEDROCK_MODEL``, ``--region``/``$AWS_REGION``; default
``us.amazon.nova-micro-v1:0`` in ``us-east-1``). Without them it starts the bundled local
Bedrock-wire simulator and says so on its first line. ``rich`` (the ``demo`` extra) makes
the output prettier; without it the demo prints plain text.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import _common
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from langchain_bedrock_stream import ChatBedrockStream
from langchain_bedrock_stream.usage import get_bedrock_usage_callback

QUESTION = "Why is the sky blue? Answer in two sentences."
TOOL_QUESTION = "What's the weather in Paris right now?"

_STUB_WEATHER = {
    "paris": ("light rain", 14),
    "london": ("overcast", 12),
    "new york": ("sunny", 21),
    "tokyo": ("clear", 18),
}


@tool
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    # A local stub: made-up but stable numbers, so the example needs no weather service.
    sky, celsius = _STUB_WEATHER.get(city.strip().lower(), ("partly cloudy", 17))
    return f"{city}: {sky}, {celsius} °C (stub data)"


# --- output: rich when installed, plain print otherwise ------------------------------------


class Screen:
    """The few kinds of output the demo needs, drawn with rich when it is available."""

    def __init__(self) -> None:
        try:
            from rich.console import Console
        except ImportError:
            self._console: Any = None
        else:
            self._console = Console(highlight=False)

    def line(self, text: str = "", style: str | None = None) -> None:
        if self._console is None:
            print(text, flush=True)
        else:
            from rich.text import Text

            self._console.print(Text(text, style=style or ""), soft_wrap=True)

    def token(self, text: str, style: str | None = None) -> None:
        """Part of a line, printed at once (streamed text)."""
        if self._console is None:
            print(text, end="", flush=True)
        else:
            from rich.text import Text

            self._console.print(Text(text, style=style or ""), end="", soft_wrap=True)

    def rule(self, title: str) -> None:
        if self._console is None:
            print(f"\n== {title} ==", flush=True)
        else:
            self._console.print()
            self._console.rule(f"[bold]{title}", align="left")

    def table(self, headers: list[str], rows: list[list[str]]) -> None:
        if self._console is None:
            widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
            for row in [headers, *rows]:
                print(
                    "  ".join(
                        cell.rjust(w) if i else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True))
                    )
                )
            return
        from rich.table import Table

        table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
        for i, header in enumerate(headers):
            table.add_column(header, justify="left" if i == 0 else "right", no_wrap=True)
        for row in rows:
            table.add_row(*row)
        self._console.print(table)


# --- the demo -------------------------------------------------------------------------------


def stream_answer(screen: Screen, model: Any, messages: list[BaseMessage]) -> AIMessageChunk:
    """Stream one answer to the screen; return the whole message (all chunks added up)."""
    whole: AIMessageChunk | None = None
    for chunk in model.stream(messages):
        if chunk.text:
            if whole is None or not whole.text:
                screen.token("A: ", "bold green")
            screen.token(chunk.text)
        whole = chunk if whole is None else whole + chunk
    assert whole is not None
    if whole.text:
        screen.line()
    return whole


def summary_row(step: str, message: AIMessageChunk) -> list[str]:
    usage = message.usage_metadata or {}
    details = usage.get("input_token_details") or {}
    meta = message.response_metadata
    timing = meta.get("timing") or {}
    ttft = timing.get("time_to_first_token_ms")
    speed = timing.get("output_tokens_per_second")
    return [
        step,
        str(usage.get("input_tokens", "?")),
        str(usage.get("output_tokens", "?")),
        f"{details.get('cache_read', 0)}/{details.get('cache_creation', 0)}",
        _common.cost_text(meta.get("cost")),
        f"{ttft:.0f} ms" if ttft is not None else "-",
        f"{speed:.0f}" if speed is not None else "-",
        str(meta.get("stopReason", "?")),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    cli = _common.parser(__doc__)
    args = cli.parse_args(argv)
    screen = Screen()
    with (
        _common.bedrock(args, delay=0.02, say=lambda s: screen.line(s, "bold yellow")) as target,
        get_bedrock_usage_callback() as totals,
    ):
        model: ChatBedrockStream = target.chat_model(max_tokens=400)
        calls: list[tuple[str, AIMessageChunk]] = []

        screen.rule("1. A streamed answer")
        screen.line(f"Q: {QUESTION}", "bold cyan")
        calls.append(("answer", stream_answer(screen, model, [HumanMessage(QUESTION)])))

        screen.rule("2. A tool call")
        with_tools = model.bind_tools([get_weather])
        messages: list[BaseMessage] = [HumanMessage(TOOL_QUESTION)]
        screen.line(f"Q: {TOOL_QUESTION}", "bold cyan")
        for round_number in range(1, 4):
            reply = stream_answer(screen, with_tools, messages)
            calls.append(("final answer" if not reply.tool_calls else "tool call", reply))
            messages.append(reply)
            if not reply.tool_calls:
                if round_number == 1:
                    screen.line("(The model answered without calling the tool.)", "dim")
                break
            for call in reply.tool_calls:
                shown = ", ".join(f"{k}={v!r}" for k, v in call["args"].items())
                screen.line(f"   -> {call['name']}({shown})", "magenta")
                result: ToolMessage = get_weather.invoke(call)
                screen.line(f"   <- {result.content}", "magenta")
                messages.append(result)

        screen.rule("Summary")
        screen.table(
            ["call", "in", "out", "cache r/w", "cost", "1st token", "tok/s", "stop"],
            [summary_row(step, message) for step, message in calls],
        )
        screen.line()
        for step, message in calls:
            request_id = message.response_metadata.get("request_id", "?")
            screen.line(f"request id ({step}): {request_id}", "dim")
        screen.line(
            f"Total: {totals.calls} calls, {totals.input_tokens:,} input + "
            f"{totals.output_tokens:,} output tokens, cost ${totals.total_cost:.6f}"
            + (" (simulated tokens, priced as the real model)" if target.simulated else ""),
            "bold",
        )
    return 0


if __name__ == "__main__":
    sys.exit(_common.run(main))
