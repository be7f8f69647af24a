"""The public line: what docs/api.md documents is exactly what the package exports."""

from __future__ import annotations

import ast
import importlib
import inspect
import pickle
import pkgutil
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import langchain_bedrock_stream as package
from langchain_bedrock_stream import _deprecated

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "docs" / "api.md"


def documented() -> dict[str, list[str]]:
    """docs/api.md's sections: module name -> the names of its table, in order."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in API.read_text().splitlines():
        heading = re.fullmatch(r"## `(langchain_bedrock_stream[\w.]*)`", line)
        if heading:
            current = sections.setdefault(heading.group(1), [])
            continue
        row = re.match(r"\| `(\w+)` \|", line)
        if row and current is not None:
            current.append(row.group(1))
    return sections


def public_modules() -> set[str]:
    """Every module of the package whose dotted path has no ``_``-prefixed part."""
    found = {package.__name__}
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            found.add(info.name)
    return found


def test_every_public_module_is_documented_and_nothing_else_looks_public() -> None:
    # data holds data files and the refresh command, no names (docs/api.md says so).
    commands = {f"{package.__name__}.data", f"{package.__name__}.data.refresh"}
    assert public_modules() - commands == set(documented())


@pytest.mark.parametrize("module", sorted(documented()))
def test_module_exports_exactly_the_documented_names(module: str) -> None:
    names = documented()[module]
    assert len(names) == len(set(names)), f"{module} documents a name twice"
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(names)
    for name in names:
        value = getattr(imported, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{module}.{name} has no docstring"


def test_type_checkers_see_the_same_names_as_the_runtime() -> None:
    tree = ast.parse(Path(package.__file__).read_text())
    guarded = next(
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )
    seen: dict[str, str] = {}
    for node in guarded.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            assert alias.asname == alias.name, "a re-export for type checkers is `X as X`"
            seen[alias.name] = str(node.module)
    assert sorted(seen) == package.__all__
    for name, module in seen.items():  # the same object as the runtime lookup resolves
        assert getattr(importlib.import_module(f"{package.__name__}.{module}"), name) is getattr(
            package, name
        )


def test_public_names_do_not_collide_with_langchains_or_each_other() -> None:
    langchain: set[str] = set()
    for module in (
        "langchain_core.messages",
        "langchain_core.messages.tool",
        "langchain_core.tools",
        "langchain_core.outputs",
        "langchain_core.exceptions",
        "langchain_core.callbacks",
        "langchain_core.language_models",
        "langchain_core.rate_limiters",
    ):
        imported = importlib.import_module(module)
        langchain |= set(getattr(imported, "__all__", None) or dir(imported))
    owners: dict[str, object] = {}
    for module, names in documented().items():
        imported = importlib.import_module(module)
        if module != f"{package.__name__}.testing":  # a test kit, not used beside LangChain
            assert not set(names) & langchain, f"{module} shadows LangChain's names"
        for name in names:
            value = getattr(imported, name)
            assert owners.setdefault(name, value) is value, f"two different {name}s"


def test_old_names_resolve_with_a_warning() -> None:
    for (module, name), (home, new, _why) in _deprecated.ATTRIBUTES.items():
        where = importlib.import_module(f"{package.__name__}.{module}".rstrip("."))
        with pytest.warns(DeprecationWarning, match=new):
            value = getattr(where, name)
        assert value is getattr(importlib.import_module(f"{package.__name__}.{home}"), new)
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        package.NoSuchThing  # noqa: B018


def test_every_old_module_path_imports_the_module_that_replaced_it() -> None:
    """In a fresh interpreter: the import system caches modules per process."""
    program = """
import importlib, sys, warnings
from langchain_bedrock_stream import _deprecated
for old, new in sorted(_deprecated.MODULES.items()):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        moved = importlib.import_module("langchain_bedrock_stream." + old)
    module = importlib.import_module("langchain_bedrock_stream." + new)
    assert moved is module, (old, moved, module)
    assert module.__spec__.name == module.__name__, (old, module.__spec__)
    assert any(issubclass(w.category, DeprecationWarning) and old in str(w.message)
               for w in caught), (old, [str(w.message) for w in caught])
# a module inside a package that moved
blocks = importlib.import_module("langchain_bedrock_stream._request.blocks")
assert blocks is importlib.import_module("langchain_bedrock_stream._request.blocks")
print(len(_deprecated.MODULES))
"""
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 12  # accumulator, bridge, ... wire, and the testing kit's parts


def test_a_pickle_naming_an_old_module_path_still_loads() -> None:
    if "accumulator" not in _deprecated.MODULES:
        pytest.fail("the accumulator module is expected to have moved")
    response = package.StreamResponse.__module__
    assert response.startswith(f"{package.__name__}._")
    # A pickle written by 0.1.x names the class by its old module path.
    data = pickle.dumps(package.StreamResponse, protocol=0).replace(
        response.encode(), f"{package.__name__}.accumulator".encode()
    )
    assert f"{package.__name__}.accumulator".encode() in data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        assert pickle.loads(data) is package.StreamResponse


def test_an_unknown_module_is_still_not_found() -> None:
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"{package.__name__}.no_such_module")
