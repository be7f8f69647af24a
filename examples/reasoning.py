"""Reasoning ("extended thinking") on a Claude model: the thinking streams before the answer.

    .venv/bin/python examples/reasoning.py               # Amazon Bedrock (a Claude model)
    .venv/bin/python examples/reasoning.py --simulator   # offline: no reasoning there

Thinking is switched on with ``additional_model_request_fields={"thinking": {"type":
"enabled", "budget_tokens": 1024}}`` (``max_tokens`` must exceed the budget). Reasoning
arrives as ``reasoning`` blocks in each chunk's ``content_blocks``, then the answer as
``text``; the final message keeps the reasoning with its signature, so it can be sent back
in a multi-turn conversation. The model defaults to a Claude model (``--model`` or
``$BEDROCK_CLAUDE_MODEL`` to change it). The local simulator does not produce reasoning.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import _common
from langchain_core.messages import AIMessageChunk

QUESTION = (
    "A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. "
    "How much does the ball cost?"
)


def main(argv: Sequence[str] | None = None) -> int:
    cli = _common.parser(
        __doc__, default_model=_common.CLAUDE_MODEL, model_env="BEDROCK_CLAUDE_MODEL"
    )
    args = cli.parse_args(argv)
    with _common.bedrock(args, delay=0.01) as target:
        model = target.chat_model(
            max_tokens=2048,
            additional_model_request_fields={
                "thinking": {"type": "enabled", "budget_tokens": 1024}
            },
        )
        print(f"Q: {QUESTION}")
        answer: AIMessageChunk | None = None
        section = None
        for chunk in model.stream(QUESTION):
            for block in chunk.content_blocks:
                kind = block.get("type")
                piece = block.get("reasoning") if kind == "reasoning" else block.get("text")
                if kind not in ("reasoning", "text") or not piece:
                    continue
                if kind != section:
                    print(f"\n[{'thinking' if kind == 'reasoning' else 'answer'}] ", end="")
                    section = kind
                print(piece, end="", flush=True)
            answer = chunk if answer is None else answer + chunk
        print()
        assert answer is not None

        reasoning = [b for b in answer.content_blocks if b.get("type") == "reasoning"]
        if reasoning:
            chars = sum(len(b.get("reasoning") or "") for b in reasoning)
            signed = any((b.get("extras") or {}).get("signature") for b in reasoning)
            print(
                f"{len(reasoning)} reasoning block(s), {chars:,} characters of thinking"
                f"{', signed' if signed else ''}."
            )
        elif target.simulated:
            print(
                "No reasoning blocks: the local simulator does not produce reasoning "
                "(a Claude model on Amazon Bedrock does)."
            )
        else:
            print(f"No reasoning blocks: {target.model} returned none.")
        usage = answer.usage_metadata or {}
        print(
            f"{usage.get('output_tokens', '?')} output tokens (thinking included), "
            f"cost {_common.cost_text(answer.response_metadata.get('cost'))}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(_common.run(main))
