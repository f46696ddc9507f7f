"""Shared fixtures. Tests run on CPU with tiny shapes and fixed seeds."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

# Third-party plugins installed on the developer's machine must not change test results.
os.environ.setdefault("GANAPPS_LOAD_PLUGINS", "")

REPO = Path(__file__).resolve().parents[1]
#: the shared real datasets (../shared/data beside the checkout, or $GANAPPS_SHARED_DATA);
#: tests that need them skip when absent
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary working directory (runs/ lands there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def tiny_digits(tmp_path: Path) -> Path:
    """200 real digits (20 per class) from the shipped sample, as an .npz."""
    from ganapps.datasets import HERE

    with np.load(HERE / "mnist" / "mnist_sample.npz") as z:
        x, y = z["x"], z["y"]
    idx = np.concatenate([np.where(y == c)[0][:20] for c in range(10)])
    path = tmp_path / "tiny_digits.npz"
    np.savez_compressed(path, x=x[idx], y=y[idx])
    return path


@pytest.fixture
def plugin() -> Iterator:
    """Register throwaway plugin objects for one test, then unregister them."""
    from ganapps.core.plugins import get_registry, pm, reset_registry

    get_registry()  # make sure built-ins are loaded first
    added: list[str] = []

    def register(obj: object, name: str) -> None:
        pm.register(obj, name=name)
        added.append(name)
        reset_registry()

    yield register
    for name in added:
        if pm.has_plugin(name):
            pm.unregister(name=name)
    reset_registry()


@pytest.fixture
def shared() -> Path:
    """The shared real datasets; the test skips when they are not on this machine."""
    if not SHARED.exists():
        pytest.skip(f"needs the shared datasets at {SHARED} (set GANAPPS_SHARED_DATA)")
    return SHARED


@pytest.fixture
def bad_transactions(in_tmp: Path) -> list[str]:
    """``bad.csv`` in the working directory: 5 rows of the shipped credit-card sample, row 2 with
    ``V3=abc`` and row 4 with an empty ``Amount``; returns the header and the 5 original rows."""
    from ganapps.datasets import HERE

    text = (HERE / "creditcard" / "creditcard_sample.csv").read_text().splitlines()
    header, rows = text[0], text[1:6]
    cols = header.split(",")
    bad, empty = rows[1].split(","), rows[3].split(",")
    bad[cols.index("V3")] = "abc"
    empty[cols.index("Amount")] = ""
    Path("bad.csv").write_text("\n".join([header, rows[0], ",".join(bad), rows[2], ",".join(empty), rows[4]]) + "\n")
    return [header, *rows]
