"""The example third-party plugin installs with pip into a target directory and ganapps finds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "ganapps-hello"


def test_pip_installed_plugin_is_discovered_and_runs(tmp_path: Path) -> None:
    target = tmp_path / "site"
    build = tmp_path / "src"
    # copy the example so pip's build files never land in the repository
    subprocess.run(["cp", "-r", str(EXAMPLE), str(build)], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "--target",
            str(target),
            str(build),
        ],
        check=True,
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    env.pop("GANAPPS_LOAD_PLUGINS", None)

    def ganapps(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ganapps.cli", "-q", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )

    apps = ganapps("apps")
    assert apps.returncode == 0, apps.stderr
    assert "gauss1d" in apps.stdout and "hello" in apps.stdout
    plugins = json.loads(ganapps("plugins", "list").stdout)
    hello = next(p for p in plugins if p["name"] == "hello")
    assert hello["version"] == "0.1.0" and hello["apps"] == ["gauss1d"]
    run = ganapps("run", "gauss1d", "--data", str(EXAMPLE / "sample.csv"), "--epochs", "2", "--out", "r")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "r" / "synthetic.csv").exists() and (tmp_path / "r" / "report.html").exists()
    bad = ganapps("run", "gauss1d", "--data", str(EXAMPLE / "sample.csv"), "--column", "nope")
    assert bad.returncode == 2 and "no column 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    # restricting plugins hides it
    env["GANAPPS_LOAD_PLUGINS"] = ""
    assert "gauss1d" not in ganapps("apps").stdout
