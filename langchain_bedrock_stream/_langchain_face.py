"""The LangChain face of the error tree: a ``BedrockError`` that leaves ``ChatBedrockStream``
is also the matching ``langchain_core.exceptions`` type.

The tree itself (``errors.py``) imports nothing of LangChain, so ``BedrockStream`` and the
transport work without it. At the chat model's crossings (``_error_boundary.map_errors(...,
langchain=True)``) an error is given, in place, a class that extends its own class and
LangChain's: ``isinstance`` holds for both, its attributes, message and chain are untouched,
and it pickles as such (see ``errors._rebuild``). One class is made per error class, once.
"""

from __future__ import annotations

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelTimeoutError,
)

from . import errors
from ._dual_errors import MadeClasses, also

__all__ = ["as_langchain"]

_BASES: tuple[tuple[type[errors.BedrockError], type[ModelError]], ...] = (
    (errors.BedrockRateLimitError, ModelRateLimitError),
    (errors.BedrockAuthenticationError, ModelAuthenticationError),
    (errors.BedrockPermissionDeniedError, ModelPermissionDeniedError),
    (errors.BedrockNotFoundError, ModelNotFoundError),
    (errors.BedrockInvalidRequestError, ModelInvalidRequestError),
    (errors.BedrockContextOverflowError, ContextOverflowError),
    (errors.BedrockTimeoutError, ModelTimeoutError),
    (errors.BedrockConnectionError, ModelConnectionError),
    (errors.BedrockAPIError, ModelAPIError),
    (errors.StreamIntegrityError, ModelAPIError),
    (errors.BedrockError, ModelError),
)
"""Most specific first: the LangChain type each part of the tree also is."""


def as_langchain(error: errors.BedrockError) -> errors.BedrockError:
    """Give ``error`` its LangChain face (in place; idempotent); returns it."""
    if not getattr(type(error), "_langchain_face", False):
        error.__class__ = _faced(type(error))
    return error


def _with_face(cls: type[errors.BedrockError]) -> type[errors.BedrockError]:
    base = next(langchain for ours, langchain in _BASES if issubclass(cls, ours))
    return also(cls, base, _langchain_face=True)


_faced = MadeClasses(_with_face, size=512)
