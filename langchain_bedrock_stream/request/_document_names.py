"""Document names: Bedrock's character rules, and no two documents of a request with one name.

Unnamed documents are called ``Document 1``, ``Document 2``, ... and duplicates get `` (2)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_NAME_DISALLOWED = re.compile(r"[^A-Za-z0-9_\s\-()\[\]]+")
_WHITESPACE_RUN = re.compile(r"\s+")
_NAME_MAX = 200


def _document_name(name: str) -> str:
    """Make ``name`` acceptable as a Converse document name.

    Bedrock allows alphanumerics, single whitespace characters, hyphens, parentheses and
    square brackets (and, as recorded traffic shows, underscores). Other runs of characters
    become a hyphen, whitespace runs one space, and the result is cut to 200 characters.
    Returns ``""`` when nothing usable is left.
    """
    cleaned = _NAME_DISALLOWED.sub("-", name)
    cleaned = _WHITESPACE_RUN.sub(" ", cleaned).strip()
    return cleaned[:_NAME_MAX].strip()


@dataclass
class _DocumentNames:
    """Document names used so far in one request: Bedrock rejects duplicates.

    Unnamed documents get ``Document 1``, ``Document 2``, ... in order of appearance, so the
    same history always serialises the same way (prompt caching matches on it).
    """

    used: set[str] = field(default_factory=set)
    generated: int = 0

    def claim(self, wanted: Any) -> str:
        name = _document_name(wanted) if isinstance(wanted, str) else ""
        if not name:
            return self._generate()
        unique, n = name, 1
        while unique in self.used:
            n += 1
            unique = f"{name} ({n})"
        self.used.add(unique)
        return unique

    def note(self, name: Any) -> None:
        if isinstance(name, str):
            self.used.add(name)

    def _generate(self) -> str:
        while True:
            self.generated += 1
            name = f"Document {self.generated}"
            if name not in self.used:
                self.used.add(name)
                return name
