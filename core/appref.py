"""Apps registered by reference (``"package.module:Class"``): listed without importing them.

An app module imports torch and its networks, which takes seconds; ``ganapps apps``, ``ganapps
run --help`` and tab completion only need each app's ``name``, ``kind`` and ``description``.
:func:`read_metadata` reads those three class attributes from the module's *source* (its syntax
tree, following base classes through ``from … import`` to their own modules), so nothing is
declared twice and nothing runs; :func:`load` imports the class when the app is used.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from functools import lru_cache
from pathlib import Path

from ganapps.core.errors import PluginError

#: the class attributes a listing shows
FIELDS = ("name", "kind", "description")
#: where the App base class is found: its defaults end the search
APP_BASES = {("ganapps.core.app", "App"), ("ganapps.core", "App")}


def split(ref: str) -> tuple[str, str]:
    """``"package.module:Class"`` → (module, class name), or a PluginError."""
    module, sep, qualname = ref.partition(":")
    if not sep or not module or not qualname.isidentifier():
        raise PluginError(f"app reference {ref!r} is not of the form 'package.module:Class'")
    return module, qualname


def read_metadata(ref: str) -> dict[str, str] | None:
    """``name``, ``kind`` and ``description`` of the referenced class, read from source; None when
    one of them is not a plain literal there (the caller then imports the class)."""
    found: dict[str, str] = {}
    target: tuple[str, str] | None = split(ref)
    seen = set()
    while target is not None and target not in seen and len(found) < len(FIELDS):
        seen.add(target)
        if target in APP_BASES:
            found = {"kind": "", "description": "", **found}  # App's own defaults
            break
        target = _read_class(*target, found)
    return found if all(isinstance(found.get(f), str) for f in FIELDS) else None


def _read_class(module: str, name: str, found: dict[str, str]) -> tuple[str, str] | None:
    """Add the literal FIELDS that class ``name`` of ``module`` sets; return its first base's place."""
    tree = _tree(module)
    if tree is None:
        return None
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    node = classes.get(name)
    if node is None:
        return None
    for stmt in node.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
        target = stmt.target if isinstance(stmt, ast.AnnAssign) and stmt.value is not None else target
        if isinstance(target, ast.Name) and target.id in FIELDS and target.id not in found:
            try:
                found[target.id] = ast.literal_eval(stmt.value)  # type: ignore[arg-type]
            except ValueError:
                return None  # computed: only importing tells
    if not node.bases or not isinstance(node.bases[0], ast.Name):
        return None
    base = node.bases[0].id
    if base in classes:
        return module, base
    for stmt in tree.body:  # ``from x.y import Base`` (absolute imports only)
        if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
            for alias in stmt.names:
                if (alias.asname or alias.name) == base:
                    return stmt.module, alias.name
    return None


@lru_cache(maxsize=64)  # several apps and their bases share a module
def _tree(module: str) -> ast.Module | None:
    try:
        spec = importlib.util.find_spec(module)  # imports the parent packages only
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    try:
        return ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def load(ref: str) -> type:
    """Import the referenced class (PluginError naming the reference when that fails)."""
    module, qualname = split(ref)
    try:
        return getattr(importlib.import_module(module), qualname)
    except Exception as exc:  # a broken plugin module: one line, not a traceback
        raise PluginError(f"app {ref!r} failed to import: {type(exc).__name__}: {exc}") from exc
