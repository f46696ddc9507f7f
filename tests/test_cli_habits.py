"""CLI habits (issue 17): -q/-v after the subcommand, --json where results are printed, one --device."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from click.testing import CliRunner

from ganapps.cli.main import cli

TINY = ["--embedding-dim", "16", "--generator-dim", "32", "--discriminator-dim", "32", "--pac", "5"]


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "t.csv"
    pl.DataFrame({"plan": rng.choice(["a", "b"], 120), "spend": rng.gamma(2.0, 3.0, 120)}).write_csv(path)
    return path


def test_run_and_generate_print_json_and_take_q_v_after_the_subcommand(table: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    args = ["run", "tabular", "--data", str(table), "--epochs", "1", "--batch-size", "50", *TINY]
    r = CliRunner().invoke(cli, [*args, "--out", str(run_dir), "--samples", "40", "--json", "-q"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)  # nothing but the JSON on stdout (warnings go to stderr)
    assert out["run_dir"] == str(run_dir) and Path(out["report"]).exists() and Path(out["samples"]).exists()
    assert 0 < out["metrics_headline"]["quality_score"] <= 1
    assert logging.getLogger("ganapps").level == logging.WARNING
    r = CliRunner().invoke(cli, ["generate", str(run_dir), "-n", "7", "--out", str(tmp_path / "s.csv"), "--json", "-v"])
    assert r.exit_code == 0, r.output
    assert logging.getLogger("ganapps").level == logging.DEBUG
    written = json.loads(r.stdout)
    assert written["samples"] == 7 and pl.read_csv(written["path"]).height == 7


def test_q_v_are_moved_to_the_root_but_not_past_a_double_dash() -> None:
    group = cli
    ctx = group.make_context("ganapps", ["apps", "-q", "--json"], resilient_parsing=True)
    assert ctx.params["quiet"] is True
    ctx = group.make_context("ganapps", ["apps", "-vv", "--", "-q"], resilient_parsing=True)
    assert ctx.params["verbose"] == 2 and ctx.params["quiet"] is False  # "-q" after "--" is an argument


@pytest.mark.parametrize(
    "command", [["generate", "x"], ["evaluate", "x"], ["score", "x"], ["compare"], ["translate", "x"], ["upscale", "x"]]
)
def test_every_command_has_the_same_device_choices_and_default(command: list[str]) -> None:
    out = " ".join(CliRunner().invoke(cli, [*command, "--help"]).output.split())
    assert "--device [auto|cpu|cuda|mps]" in out and "auto picks cuda, then mps, then cpu." in out, out
    assert "[default: auto]" in out
    run = " ".join(CliRunner().invoke(cli, ["run", "tabular", "--help"]).output.split())
    assert "--device [auto|cpu|cuda|mps]" in run and "auto picks cuda, then mps, then cpu." in run
    if command[0] != "generate":  # generate reads RUN's app first, to know its options
        bad = CliRunner().invoke(cli, [*command, "--device", "gpu"])
        assert bad.exit_code == 2 and "'gpu' is not one of 'auto', 'cpu', 'cuda', 'mps'" in bad.output


def test_apps_name_lists_choices_repeatable_options_and_flags() -> None:
    out = CliRunner().invoke(cli, ["apps", "tabular"]).output
    assert "engine defaults: --epochs 225, --batch-size 500, --log-every 10" in out  # not a raw dict
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines() if line.startswith("--")}
    assert rows["--continuous"] == ["quantile|gmm", "quantile"]
    assert rows["--generator-dim"] == ["INTEGER", "(repeatable)"]
    assert rows["--[no-]calibrate"] == ["flag", "on"]
    data = json.loads(CliRunner().invoke(cli, ["apps", "tabular", "--json"]).output)
    pac = next(o for o in data["options"] if o["option"] == "--pac")
    assert (pac["value"], pac["default"]) == ("INTEGER", "10")
