"""Citations: ask about a document with citations enabled and show where the answer came from.

    .venv/bin/python examples/citations.py               # Amazon Bedrock (a Claude model)
    .venv/bin/python examples/citations.py --simulator   # offline: no citations there

The document goes in the human message as a raw Converse ``document`` block with
``"citations": {"enabled": True}``. Models that support citations answer with text blocks
that carry them; in the message's standard ``content_blocks`` they appear as ``citation``
annotations on ``text`` blocks (the cited text and where it is in the document). The model
defaults to a Claude model (``--model`` or ``$BEDROCK_CLAUDE_MODEL`` to change it). The local
simulator never cites: offline the script shows the blocks it got, with no citations.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import _common
from langchain_core.messages import AIMessageChunk, HumanMessage

DOCUMENT = """\
The Lisbon tram line 28 opened in 1914. It runs from Martim Moniz to Campo de Ourique.
The line uses restored Remodelado trams built in the 1930s, each carrying about 40 people.
Because the streets are steep and narrow, the trams are only 2.5 metres wide.
"""
QUESTION = "When did tram line 28 open, and why are its trams so narrow?"


def show_blocks(blocks: list[Any]) -> int:
    """Print the standard content blocks; return the number of citations found."""
    citations = 0
    for number, block in enumerate(blocks, 1):
        kind = block.get("type")
        if kind == "text":
            print(f"  [{number}] text: {block.get('text', '')!r}")
            for note in block.get("annotations") or []:
                if note.get("type") == "citation":
                    citations += 1
                    title, cited = note.get("title"), note.get("cited_text")
                    print(f"        citation from {title!r}: {cited!r}")
                    location = (note.get("extras") or {}).get("location")
                    if location:
                        print(f"          at {location}")
                else:
                    print(f"        annotation: {note}")
        else:
            print(f"  [{number}] {kind}: {block}")
    return citations


def main(argv: Sequence[str] | None = None) -> int:
    cli = _common.parser(
        __doc__, default_model=_common.CLAUDE_MODEL, model_env="BEDROCK_CLAUDE_MODEL"
    )
    args = cli.parse_args(argv)
    with _common.bedrock(args) as target:
        model = target.chat_model(max_tokens=500)
        message = HumanMessage(
            content=[
                {
                    "document": {
                        "format": "txt",
                        "name": "Tram 28 notes",
                        "source": {"text": DOCUMENT},
                        "citations": {"enabled": True},
                    }
                },
                {"text": QUESTION},
            ]
        )
        print(f"Q: {QUESTION}")
        print("A: ", end="", flush=True)
        answer: AIMessageChunk | None = None
        for chunk in model.stream([message]):
            print(chunk.text, end="", flush=True)
            answer = chunk if answer is None else answer + chunk
        print()
        assert answer is not None
        print("content_blocks:")
        found = show_blocks(answer.content_blocks)
        if found:
            print(f"{found} citation{'s' * (found != 1)} in the answer.")
        elif target.simulated:
            print(
                "No citations: the local simulator does not produce them "
                "(a citing model on Amazon Bedrock does)."
            )
        else:
            print(f"No citations in this answer: {target.model} may not support them.")
    return 0


if __name__ == "__main__":
    sys.exit(_common.run(main))
