"""Packaging: the wheel holds only ganapps/..., the layout rules hold."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIPES = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}


def test_no_root_package_files() -> None:
    assert not (REPO / "__init__.py").exists()
    assert not (REPO / "conftest.py").exists()


def test_wheel_contains_only_the_ganapps_namespace(tmp_path: Path) -> None:
    # build from a copy so setuptools' build/ folder never lands in the checkout
    src = tmp_path / "src"
    junk = shutil.ignore_patterns(".git", ".venv", "runs", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")
    shutil.copytree(REPO, src, ignore=junk)
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)]
    subprocess.run([*pip, str(src)], check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("ganapps-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == {"ganapps"}, tops
    for expected in (
        "ganapps/core/trainer.py",
        "ganapps/cli/main.py",
        "ganapps/plugins/dcgan/app.py",
        "ganapps/datasets/mnist/mnist_sample.npz",
        "ganapps/datasets/mnist/README.md",
    ):
        assert expected in names, expected
    assert not any(n.startswith(("ganapps/tests", "ganapps/bench", "ganapps/examples")) for n in names)
    assert "ganapps/__init__.py" not in names  # ganapps is a namespace of subpackages
    assert "ganapps/__main__.py" in names  # ... that `python -m ganapps` runs
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Requires-Dist: torch==2.14.1" in meta and "Requires-Dist: torchvision==0.29.1" in meta

    # `python -m ganapps` from the unpacked wheel (no site: the editable install stays out of the
    # way) and from this editable install, side by side
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    wheel_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *filter(None, sys.path)])}
    runs = [
        subprocess.Popen([sys.executable, "-S", "-m", "ganapps", "--version"], env=wheel_env, cwd=tmp_path, **PIPES),
        subprocess.Popen([sys.executable, "-m", "ganapps", "--version"], cwd=tmp_path, **PIPES),
    ]
    for proc in runs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "ganapps, version" in out, err
