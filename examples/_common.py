"""Shared setup for the examples: Amazon Bedrock when AWS credentials are configured, the
bundled local Bedrock-wire simulator otherwise.

Every example takes the same flags:

- ``--simulator``: always use the local simulator (no network, scripted answers);
- ``--live``: always call Amazon Bedrock, even when no credentials were found (for example
  an EC2 instance role, which is not looked up, so that the check stays offline);
- ``--model`` / ``--region``: which model and region (default from the ``BEDROCK_MODEL``
  and ``AWS_REGION`` environment variables, then a small, cheap model in ``us-east-1``).

The simulator is :class:`~langchain_bedrock_stream.testing.BedrockWireServer` on 127.0.0.1
with :func:`~langchain_bedrock_stream.testing.make_simulator_responder`: real boto3, real
event-stream frames, plausible scripted answers (including tool calls when tools are bound).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from langchain_bedrock_stream import BedrockError, ChatBedrockStream

DEFAULT_MODEL = "us.amazon.nova-micro-v1:0"
"""Small and cheap; answers in well under a second."""
CLAUDE_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
"""For the examples that need a Claude model (reasoning, citations)."""
DEFAULT_REGION = "us-east-1"

SIMULATOR_NOTICE = (
    "No AWS credentials found: running against the local Bedrock-wire simulator; "
    "answers are scripted."
)
FORCED_SIMULATOR_NOTICE = (
    "--simulator given: running against the local Bedrock-wire simulator; answers are scripted."
)


def parser(
    description: str | None,
    *,
    default_model: str = DEFAULT_MODEL,
    model_env: str = "BEDROCK_MODEL",
) -> argparse.ArgumentParser:
    """An argument parser with the flags every example shares; add your own to it."""
    first_paragraph = (description or "").strip().split("\n\n")[0]
    cli = argparse.ArgumentParser(description=first_paragraph)
    where = cli.add_mutually_exclusive_group()
    where.add_argument(
        "--simulator",
        action="store_true",
        help="use the local Bedrock-wire simulator even if AWS credentials are configured",
    )
    where.add_argument(
        "--live",
        action="store_true",
        help="call Amazon Bedrock even if no AWS credentials were found",
    )
    cli.add_argument(
        "--model",
        default=os.environ.get(model_env) or default_model,
        help=f"Bedrock model or inference profile id (default: ${model_env} or %(default)s)",
    )
    cli.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or DEFAULT_REGION,
        help="AWS region (default: $AWS_REGION or %(default)s)",
    )
    return cli


def aws_credentials_source() -> str | None:
    """Where boto3 would find AWS credentials (``"env"``, ``"shared-credentials-file"``, ...),
    or ``None``. Makes no network call: instance metadata is switched off for the look-up,
    and a container role is recognised by its environment variables alone."""
    if os.environ.get("AWS_BEARER_TOKEN_BEDROCK"):
        return "bedrock-api-key"
    if os.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or os.environ.get(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    ):
        return "container-role"
    saved = os.environ.get("AWS_EC2_METADATA_DISABLED")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    try:
        import boto3

        credentials = boto3.Session().get_credentials()
    except Exception:  # e.g. AWS_PROFILE names a profile that does not exist
        return None
    finally:
        if saved is None:
            os.environ.pop("AWS_EC2_METADATA_DISABLED", None)
        else:
            os.environ["AWS_EC2_METADATA_DISABLED"] = saved
    if credentials is None:
        return None
    return str(getattr(credentials, "method", None) or "boto3")


@dataclass(frozen=True)
class Target:
    """Where the example's requests go: a model id, a region, and maybe the simulator."""

    model: str
    region: str
    simulated: bool
    endpoint_url: str | None = None

    def chat_model(self, model: str | None = None, **kwargs: Any) -> ChatBedrockStream:
        """A ``ChatBedrockStream`` for this target (``model`` overrides the model id)."""
        if self.simulated:
            # The simulator accepts any signature, but boto3 still wants keys to sign with.
            kwargs.setdefault("aws_access_key_id", "simulator")
            kwargs.setdefault("aws_secret_access_key", "simulator")
            kwargs.setdefault("aws_session_token", None)
            kwargs["endpoint_url"] = self.endpoint_url
        return ChatBedrockStream(model=model or self.model, region_name=self.region, **kwargs)


@contextmanager
def bedrock(
    args: argparse.Namespace,
    *,
    delay: float = 0.0,
    say: Callable[[str], None] = print,
) -> Iterator[Target]:
    """Real Bedrock or the simulator, as the flags and the credentials decide.

    Says which on the first line of output. ``delay`` paces the simulator's stream events
    (seconds between events), so that streaming is visible.
    """
    source = None if args.simulator else aws_credentials_source()
    if args.live or source is not None:
        found = f"AWS credentials from {source}" if source else "--live given"
        say(f"Calling Amazon Bedrock: {args.model} in {args.region} ({found}).")
        yield Target(args.model, args.region, simulated=False)
        return

    from langchain_bedrock_stream.testing import BedrockWireServer, make_simulator_responder

    say(FORCED_SIMULATOR_NOTICE if args.simulator else SIMULATOR_NOTICE)
    with BedrockWireServer(responder=make_simulator_responder(delay=delay)) as server:
        yield Target(args.model, args.region, simulated=True, endpoint_url=server.endpoint_url)


def run(
    main: Callable[[Sequence[str] | None], int | None], argv: Sequence[str] | None = None
) -> int:
    """Run an example's ``main(argv)`` (``None``: the command line); a Bedrock error becomes
    a short message and exit code 1."""
    try:
        return main(argv) or 0
    except BedrockError as exc:
        print(f"\nBedrock call failed: {exc}", file=sys.stderr)
        print(
            "Check that the model is enabled for your account in this region "
            "(Bedrock console, Model access), or run with --simulator.",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130


def cost_text(cost: Any) -> str:
    """``$0.000123`` from a ``response_metadata["cost"]`` dict (or ``unknown``)."""
    if isinstance(cost, dict) and cost.get("total") is not None:
        return f"${float(cost['total']):.6f}"
    return "unknown"
