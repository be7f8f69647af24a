"""A tool-using conversation with boto3 and ``BedrockStream`` alone: no LangChain code.

    .venv/bin/python examples/boto3_only.py               # Amazon Bedrock or the simulator
    .venv/bin/python examples/boto3_only.py --simulator   # offline

Each turn streams the answer with ``converse_stream(client, **request)``: text is printed as
it arrives and each tool call is run as soon as its block ends. Then
``stream.message_param`` (the assistant turn) and ``stream.tool_message_params(outputs)``
(the tool results) go back into ``messages`` for the next request, until the model answers
without a tool call. Usage, cost and time to first token are read from the stream.

Flags as in the other examples: ``--simulator``, ``--live``, ``--model``, ``--region``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from langchain_bedrock_stream import BedrockToolCall, converse_stream
from langchain_bedrock_stream.stream import TextDelta

DEFAULT_MODEL = "us.amazon.nova-micro-v1:0"
QUESTIONS = ("What is the weather in Paris?", "And in Rome?")
FORCED = (
    "--simulator given: running against the local Bedrock-wire simulator; answers are scripted."
)
NO_CREDENTIALS = (
    "No AWS credentials found: running against the local Bedrock-wire simulator; "
    "answers are scripted."
)
TOOLS: dict[str, Any] = {
    "tools": [
        {
            "toolSpec": {
                "name": "get_weather",
                "description": "The current weather in a city.",
                "inputSchema": {
                    "json": {
                        "type": "object",
                        "properties": {"city": {"type": "string", "description": "City name"}},
                        "required": ["city"],
                    }
                },
            }
        }
    ]
}
WEATHER = {"Paris": "light rain, 14 °C", "Rome": "sunny, 24 °C"}


def get_weather(city: str) -> str:
    """A stub weather service."""
    return f"{city}: {WEATHER.get(city, 'cloudy, 18 °C')} (stub data)"


def conversation(
    client: Any,
    model_id: str,
    questions: Sequence[str] = QUESTIONS,
    say: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Ask each question in turn, running tools until the model answers; the messages."""
    messages: list[dict[str, Any]] = []
    for question in questions:
        say(f"\nQ: {question}")
        messages.append({"role": "user", "content": [{"text": question}]})
        while True:
            stream = converse_stream(
                client,
                modelId=model_id,
                messages=messages,
                toolConfig=TOOLS,
                inferenceConfig={"maxTokens": 300},
            )
            outputs: dict[str, str] = {}
            text: list[str] = []
            for item in stream:
                if isinstance(item, TextDelta):
                    text.append(item.text)
                elif isinstance(item, BedrockToolCall):
                    say(f"  -> {item.name}({item.args})")
                    outputs[item.id] = get_weather(**item.args)
                    say(f"  <- {outputs[item.id]}")
            say(f"A: {''.join(text).strip()}")
            cost = f"${stream.cost:.6f}" if stream.cost is not None else "unknown"
            first = stream.time_to_first_token
            say(
                f"   [{stream.stop_reason}; {stream.input_tokens} in + {stream.output_tokens} "
                f"out tokens; cost {cost}; first token after "
                f"{first * 1000 if first is not None else 0:.0f} ms]"
            )
            messages.append(stream.message_param)
            if not outputs:
                break
            messages += stream.tool_message_params(outputs)
    return messages


def _has_credentials() -> bool:
    """Whether boto3 finds credentials, without asking an instance metadata service."""
    saved = os.environ.get("AWS_EC2_METADATA_DISABLED")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    try:
        return boto3.Session().get_credentials() is not None
    except Exception:  # e.g. AWS_PROFILE names a profile that does not exist
        return False
    finally:
        if saved is None:
            os.environ.pop("AWS_EC2_METADATA_DISABLED", None)
        else:
            os.environ["AWS_EC2_METADATA_DISABLED"] = saved


@contextmanager
def bedrock_client(args: argparse.Namespace, say: Callable[[str], None]) -> Iterator[Any]:
    """A boto3 client for Amazon Bedrock, or for the local simulator."""
    config = Config(retries={"total_max_attempts": 1})  # the stream's own retries run
    if args.live or (not args.simulator and _has_credentials()):
        say(f"Calling Amazon Bedrock: {args.model} in {args.region}.")
        yield boto3.client("bedrock-runtime", region_name=args.region, config=config)
        return
    from langchain_bedrock_stream.testing import BedrockWireServer, make_simulator_responder

    say(FORCED if args.simulator else NO_CREDENTIALS)
    with BedrockWireServer(responder=make_simulator_responder()) as server:
        yield boto3.client(
            "bedrock-runtime",
            region_name=args.region,
            endpoint_url=server.endpoint_url,
            aws_access_key_id="simulator",
            aws_secret_access_key="simulator",
            config=config,
        )


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    where = cli.add_mutually_exclusive_group()
    where.add_argument("--simulator", action="store_true", help="use the local simulator")
    where.add_argument("--live", action="store_true", help="call Amazon Bedrock")
    cli.add_argument("--model", default=os.environ.get("BEDROCK_MODEL") or DEFAULT_MODEL)
    cli.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
    args = cli.parse_args(argv)
    try:
        with bedrock_client(args, print) as client:
            messages = conversation(client, args.model)
    except (ClientError, BotoCoreError) as exc:
        print(f"\nBedrock call failed: {exc}", file=sys.stderr)
        return 1
    print(f"\nThe conversation holds {len(messages)} messages.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
