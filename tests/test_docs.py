"""Meta-test: every hook is documented in docs/plugins.md and implemented by some test."""

from __future__ import annotations

import re
from pathlib import Path

from ganapps.core import hookspecs

REPO = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("register_"))


def test_hook_list_is_what_we_think() -> None:
    assert HOOKS == ["register_apps", "register_commands", "register_datasets", "register_metrics", "register_scorers"]


def test_every_hook_is_documented_with_an_example() -> None:
    doc = (REPO / "docs" / "plugins.md").read_text()
    for hook in HOOKS:
        section = re.search(rf"^## {hook}\b(.*?)(?=^## |\Z)", doc, flags=re.S | re.M)
        assert section, f"docs/plugins.md has no '## {hook}' section"
        assert "```python" in section.group(1) and f"def {hook}(" in section.group(1), hook


def test_every_hook_has_a_docstring() -> None:
    for hook in HOOKS:
        assert (getattr(hookspecs, hook).__doc__ or "").strip(), hook


def test_every_hook_is_implemented_in_a_test() -> None:
    tests = [p.read_text() for p in (REPO / "tests").glob("test_*.py") if p.name != "test_docs.py"]
    for hook in HOOKS:
        assert any(re.search(rf"def {hook}\(", t) for t in tests), f"no test implements {hook}"
