"""Every name that moved or was renamed before 0.3.0, in one table, resolved with a warning.

Two kinds: attributes (``errors.map_error`` is ``_error_boundary.translate`` now;
``stream.ToolCall`` is ``stream.BedrockToolCall``), looked up by a module's ``__getattr__``
through :func:`attribute`; and internal modules that lost their public-looking name
(``langchain_bedrock_stream._accumulator`` is ``._accumulator``), served by an import hook
so that ``import`` and ``pickle`` of the old path keep working. Nothing here is imported
until an old name is used, apart from the hook itself (a string comparison per import).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from typing import Any

__all__ = ["ATTRIBUTES", "MODULES", "attribute", "install"]

_PACKAGE = __name__.rpartition(".")[0]
_REMOVED_IN = "0.3.0"

# (module, old attribute name) -> (module it lives in now, new name, why it moved)
ATTRIBUTES: dict[tuple[str, str], tuple[str, str, str]] = {
    ("errors", "map_error"): ("_error_boundary", "translate", "it is internal"),
    ("errors", "map_errors"): ("_error_boundary", "map_errors", "it is internal"),
    ("errors", "typed_error"): ("_error_boundary", "typed_error", "it is internal"),
    **{
        (where, old): ("stream", f"Bedrock{old}", f"LangChain's messages have a {old} of their own")
        for where in ("", "stream")
        for old in ("ToolCall", "InvalidToolCall")
    },
}

# old module path (below the package, dotted) -> the private module that holds it now
MODULES: dict[str, str] = {
    "accumulator": "_accumulator",
    "bridge": "_bridge",
    "client": "_client",
    "model_setup": "_model_setup",
    "redaction": "_redaction",
    "request": "_request",
    "retry": "_retry",
    "structured": "_structured",
    "tokens": "_tokens",
    "tools": "_tools",
    "transport": "_transport",
    "wire": "_wire",
    "testing.eventstream": "testing._eventstream",
    "testing.loops": "testing._loops",
    "testing.proxy": "testing._proxy",
    "testing.relay": "testing._relay",
    "testing.scripted": "testing._scripted",
    "testing.server": "testing._server",
    "testing.simulator": "testing._simulator",
    "testing.tls": "testing._tls",
}


def attribute(module: str, name: str) -> Any:
    """Resolve ``module.name`` if it is an old name (with a ``DeprecationWarning``).

    ``module`` is the full module name; ``AttributeError`` for a name that never existed.
    """
    short = module[len(_PACKAGE) + 1 :] if module != _PACKAGE else ""
    moved = ATTRIBUTES.get((short, name))
    if moved is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    home, new, why = moved
    target = importlib.import_module(f"{_PACKAGE}.{home}")
    warnings.warn(
        f"{module}.{name} is now {target.__name__}.{new} ({why}); the old name will be "
        f"removed in {_REMOVED_IN}",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(target, new)


class _Alias(importlib.abc.Loader):
    """Loads an old module path as the module that replaced it (the same object)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        warnings.warn(
            f"{spec.name} is internal and is now {self.target}; the old path will be removed "
            f"in {_REMOVED_IN}",
            DeprecationWarning,
            stacklevel=2,
        )
        module = importlib.import_module(self.target)
        self._spec = module.__spec__
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run; undo the import system setting the old spec on the module."""
        module.__spec__ = self._spec


class _OldPaths(importlib.abc.MetaPathFinder):
    """Finds ``langchain_bedrock_stream.<old>[.<sub>]``; ``None`` for every other name."""

    def find_spec(
        self, fullname: str, path: Any = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        head, _, rest = fullname.partition(".")
        if head != _PACKAGE or not rest:
            return None
        parts = rest.split(".")
        for cut in range(len(parts), 0, -1):  # the module itself, or a package it is inside
            new = MODULES.get(".".join(parts[:cut]))
            if new is not None:
                moved = ".".join([_PACKAGE, new, *parts[cut:]])
                return importlib.machinery.ModuleSpec(fullname, _Alias(moved))
        return None


def install() -> None:
    """Put the old-path finder first on ``sys.meta_path`` (once per interpreter).

    First, because once an old package path is imported, its parent's ``__path__`` would let
    the regular finders load ``<old package>.<module>`` again, as a second copy.
    """
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.insert(0, _OldPaths())
