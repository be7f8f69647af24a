"""A streaming multi-turn chat: the conversation so far goes with every new question.

    .venv/bin/python examples/streaming_chat.py               # interactive in a terminal
    .venv/bin/python examples/streaming_chat.py --scripted    # two scripted turns
    .venv/bin/python examples/streaming_chat.py --simulator   # offline (local simulator)

In a terminal you type the questions (an empty line or Ctrl-D ends the chat); when input
is not a terminal, or with ``--scripted``, it plays two scripted turns, the second of
which only makes sense with the first in the history. Each answer streams token by token
and is then added to the history as it arrived (the chunks added up).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

import _common
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, SystemMessage

SCRIPT = [
    "Suggest a short, friendly name for a robot that waters plants.",
    "Why did you pick that name? One sentence.",
]


def questions(interactive: bool) -> Iterator[str]:
    if not interactive:
        for question in SCRIPT:
            print(f"you> {question}")
            yield question
        return
    while True:
        try:
            question = input("you> ").strip()
        except EOFError:
            print()
            return
        if not question:
            return
        yield question


def main(argv: Sequence[str] | None = None) -> int:
    cli = _common.parser(__doc__)
    cli.add_argument("--scripted", action="store_true", help="play the two scripted turns")
    args = cli.parse_args(argv)
    interactive = sys.stdin.isatty() and not args.scripted
    with _common.bedrock(args, delay=0.02) as target:
        model = target.chat_model(max_tokens=300, temperature=0.7)
        history: list[BaseMessage] = [
            SystemMessage("You are a concise, cheerful assistant. Keep answers short.")
        ]
        turns = 0
        for question in questions(interactive):
            history.append(HumanMessage(question))
            print("bot> ", end="", flush=True)
            answer: AIMessageChunk | None = None
            for chunk in model.stream(history):
                print(chunk.text, end="", flush=True)
                answer = chunk if answer is None else answer + chunk
            assert answer is not None
            history.append(answer)
            turns += 1
            usage = answer.usage_metadata or {}
            print(
                f"\n     [{usage.get('input_tokens', '?')} in / {usage.get('output_tokens', '?')}"
                f" out tokens, {_common.cost_text(answer.response_metadata.get('cost'))}]"
            )
        print(
            f"Chat over after {turns} turn{'s' * (turns != 1)}; "
            f"the history holds {len(history)} messages."
        )
    return 0


if __name__ == "__main__":
    sys.exit(_common.run(main))
