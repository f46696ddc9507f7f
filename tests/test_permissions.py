"""Outputs get the permissions a plain write would give them: 0666/0777 less the process umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from ganapps.cli.testing import cli_ok
from ganapps.core.io import atomic_dir, atomic_path, write_json

#: umask → (file mode, directory mode)
MODES = {0o022: (0o644, 0o755), 0o077: (0o600, 0o700), 0o002: (0o664, 0o775)}


@pytest.fixture(params=[0o022, 0o077])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run the test under this process umask, restoring the previous one afterwards."""
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def wrong_modes(root: Path, umask: int) -> list[str]:
    """Every file and directory under ``root`` (itself included) whose mode is not the umask's."""
    file_mode, dir_mode = MODES[umask]
    paths = [root, *root.rglob("*")] if root.is_dir() else [root]
    return [
        f"{p.relative_to(root.parent)}: {oct(mode(p))}"
        for p in paths
        if mode(p) != (dir_mode if p.is_dir() else file_mode)
    ]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002], indirect=True)
def test_atomic_writes_honour_the_umask(tmp_path: Path, umask: int) -> None:
    file_mode, dir_mode = MODES[umask]
    write_json(tmp_path / "a.json", {"a": 1})
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"x")
    with atomic_dir(tmp_path / "bundle") as tmp:
        (tmp / "config.json").write_text("{}")
    write_json(tmp_path / "a.json", {"a": 2})  # replacing a file keeps the umask's mode
    with atomic_dir(tmp_path / "bundle") as tmp:  # and so does replacing a directory
        write_json(tmp / "config.json", {})
        with atomic_path(tmp / "weights.safetensors") as weights:  # safetensors alone writes 0600
            save_file({"w": np.zeros(3, np.float32)}, str(weights))
    assert mode(tmp_path / "a.json") == mode(tmp_path / "b.bin") == file_mode
    assert mode(tmp_path / "bundle") == dir_mode
    assert mode(tmp_path / "bundle" / "config.json") == mode(tmp_path / "bundle" / "weights.safetensors") == file_mode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.bin", "bundle"]  # no temporary left


def test_a_failed_atomic_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "x.json") as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "d") as tmp:
        (tmp / "f").write_text("half")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_a_run_writes_every_output_with_the_umask_modes(in_tmp: Path, tiny_digits: Path, umask: int) -> None:
    """report.html, metrics.json, run.json, samples, checkpoints, bundle/ and generated files alike."""
    cli_ok("run", "dcgan", "--data", str(tiny_digits), "--epochs", "1", "--classifier-epochs", "0", "--out", "run")
    run = in_tmp / "run"
    for rel in ("report.html", "metrics.json", "run.json", "synthetic.npz", "bundle/weights.safetensors"):
        assert (run / rel).is_file(), rel
    assert (run / "samples").is_dir() and (run / "checkpoints" / "last.pt").is_file()
    cli_ok("generate", "run", "-n", "4", "--out", "more.png")
    assert wrong_modes(run, umask) == [] and wrong_modes(in_tmp / "more.png", umask) == []
