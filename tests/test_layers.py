"""The layers (issue 21): the engine in ``core/`` imports neither the CLI nor a plugin, except the
plugin manager loading the built-in plugins' list; nothing in ``core/`` imports ``cli/``, nor the
table layer above it (``tabular/``)."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "core"


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names), at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return found


def test_core_imports_no_cli_and_no_plugin_but_through_the_plugin_manager() -> None:
    files = sorted(CORE.rglob("*.py"))
    assert len(files) > 30
    offenders = []
    for path in files:
        for name in imports(path):
            upward = name.startswith(("ganapps.cli", "ganapps.plugins."))
            manager = path.name == "plugins.py" and name in ("ganapps.plugins", "ganapps.plugins.DEFAULT_PLUGINS")
            if upward and not manager:
                offenders.append(f"{path.relative_to(CORE.parent)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_core_imports_no_table_layer() -> None:
    """``ganapps.tabular`` sits above the engine (issue 21 item 2): the engine knows training, not tables."""
    offenders = [
        f"{path.relative_to(CORE.parent)} imports {name}"
        for path in sorted(CORE.rglob("*.py"))
        for name in imports(path)
        if name == "ganapps.tabular" or name.startswith("ganapps.tabular.")
    ]
    assert not offenders, "\n".join(offenders)


def test_table_reading_has_no_import_circle() -> None:
    """``core.io`` reads and writes tables through ``core.frames``; ``core.frames`` imports no IO."""
    frames = {n for n in imports(CORE / "frames.py") if n.startswith("ganapps.")}
    assert frames == {"ganapps.core.errors", "ganapps.core.errors.DataError"}, frames


def test_no_plugin_imports_another_plugin() -> None:
    """A built-in app builds on the engine (``core/``), the table layer and the shipped data, as a
    third-party plugin does, never on another app's code: what two apps share lives in ``core/``
    (image files and the class judge: ``core/images.py``, ``core/judge.py``)."""
    plugins = CORE.parent / "plugins"
    apps = sorted(p for p in plugins.iterdir() if (p / "__init__.py").exists())
    assert len(apps) > 5
    offenders = [
        f"{path.relative_to(CORE.parent)} imports {name}"
        for app in apps
        for path in sorted(app.rglob("*.py"))
        for name in imports(path)
        if name.startswith("ganapps.plugins.") and not name.startswith(f"ganapps.plugins.{app.name}")
    ]
    assert not offenders, "\n".join(offenders)
