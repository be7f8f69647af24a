"""What the conversion of one message carries from block to block: the message's role, the
document names used so far in the request, and how earlier reasoning goes back to the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._blocks import _Role
from ._document_names import _DocumentNames

_ReasoningMode = Literal["native", "think_tags", "signed_only"]


@dataclass
class _Ctx:
    role: _Role
    names: _DocumentNames
    reasoning: _ReasoningMode = "native"


def _reasoning_mode(model_id: str | None) -> _ReasoningMode:
    """How earlier reasoning goes back to ``model_id``.

    DeepSeek-R1 rejects ``reasoningContent`` in history: its reasoning is sent as
    ``<think>...</think>`` text (the form Bedrock accepted in recorded traffic). Anthropic
    models reject reasoning without a signature: unsigned reasoning is left out. Other
    models get ``reasoningContent`` as it is.
    """
    model = (model_id or "").lower()
    if "deepseek.r1" in model:
        return "think_tags"
    if "anthropic." in model or "claude" in model:
        return "signed_only"
    return "native"
