"""End to end through the CLI: run, generate, evaluate, resume — on the shipped digits."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import numpy as np
import torch
from click.testing import CliRunner

from ganapps.cli.main import cli
from ganapps.core import load_bundle
from ganapps.core.judge import judge
from ganapps.core.testing import unexplained


def invoke(*args: str):
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result


def test_run_dcgan_one_epoch_on_the_shipped_sample(in_tmp: Path) -> None:
    invoke("run", "dcgan", "--epochs", "1", "--classifier-epochs", "1", "--out", "run")
    run = in_tmp / "run"
    for rel in (
        "bundle/config.json",
        "bundle/schema.json",
        "bundle/weights.safetensors",
        "metrics.json",
        "metrics.jsonl",
        "report.html",
        "run.json",
        "synthetic.npz",
        "samples/samples_epoch001.png",
        "checkpoints/last.pt",
    ):
        assert (run / rel).exists(), rel
    metrics = json.loads((run / "metrics.json").read_text())
    m = metrics["metrics"]
    assert m["judge_accuracy_real"] > 0.8  # the judge itself learned digits
    assert m["frechet_distance_real_vs_real"] < m["frechet_distance"]
    check_beats_untrained_generator(load_bundle(run))
    assert metrics["training"]["steps"] == 2 * (4000 // 32)
    report = (run / "report.html").read_text()
    assert report.count("<img") >= 3 and "Diagnostics" in report and "frechet_distance" in report
    assert unexplained(report) == []  # every metric with its meaning (issue 17)
    fd = re.search(r"<tr class='metric'><td>frechet_distance</td>.*?</tr>", report).group(0)
    assert "↓ lower" in fd and f"{m['frechet_distance_real_vs_real']:.4g} <span" in fd and "real vs real" in fd
    assert "<code>ganapps generate run -n 1000</code>" in report and "held-out real digits | generated digits" in report
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert not list(run.rglob("*.tmp")), "no temporary files left behind"


def check_beats_untrained_generator(app) -> None:
    """The judge's classes of the trained generator's digits against those of a freshly initialised generator
    (the baseline, computed here): after one epoch they spread over the classes, the untrained one's do not."""

    def class_entropy(generator: torch.nn.Module) -> float:
        app.nets["generator"] = generator
        torch.manual_seed(0)
        classes = judge(app.nets.classifier, app.generate(1000)[0], app.device)[1]
        share = torch.bincount(classes, minlength=10).double() / 1000
        return float(-(share[share > 0] * share[share > 0].log()).sum() / np.log(10))

    trained = class_entropy(app.nets.generator)
    torch.manual_seed(0)
    untrained = class_entropy(app.build()["generator"])
    assert trained > 0.4 and trained > untrained + 0.3, (trained, untrained)  # 0.65 and 0.0 when written


def test_cgan_generate_label_and_evaluate(in_tmp: Path, tiny_digits: Path) -> None:
    invoke("run", "cgan", "--data", str(tiny_digits), "--epochs", "1", "--classifier-epochs", "1", "--out", "run")
    invoke("generate", "run", "-n", "16", "--label", "3", "--out", "threes.png")
    png = in_tmp / "threes.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    invoke("generate", "run", "-n", "20", "--condition", "label=7", "--out", "sevens.npz", "--seed", "1")
    with np.load(in_tmp / "sevens.npz") as z:
        assert z["x"].shape == (20, 28, 28) and set(z["y"].tolist()) == {7}
    # same seed → same samples
    invoke("generate", "run", "-n", "20", "--condition", "label=7", "--out", "again.npz", "--seed", "1")
    with np.load(in_tmp / "sevens.npz") as a, np.load(in_tmp / "again.npz") as b:
        assert np.array_equal(a["x"], b["x"])
    out = invoke("evaluate", "run", "-n", "100", "--out", "eval.json").output
    assert "class_accuracy" in json.loads(out)["metrics"]
    bad = CliRunner().invoke(cli, ["generate", "run", "-n", "4", "--label", "12"])
    assert bad.exit_code == 2 and "between 0 and 9" in bad.output
    check_generate_help(has_label=True)


def check_generate_help(has_label: bool) -> None:
    """A bad app option gets a sane usage line and a valid hint; ``generate run --help`` lists the app's options."""
    bad = CliRunner().invoke(cli, ["generate", "run", "--label", "abc"], prog_name="ganapps")
    assert bad.exit_code == 2 and bad.output.splitlines()[0] == "Usage: ganapps generate [OPTIONS] RUN", bad.output
    assert re.search(r"Try 'ganapps generate (-h|--help)' for help\.", bad.output), bad.output
    assert ("'abc' is not a valid integer" if has_label else "No such option '--label'") in bad.output
    reordered = [["--label", "3", "run", "-h"]] if has_label else []  # RUN may follow the app's options
    for args in [["run", "--help"], *reordered]:
        helped = CliRunner().invoke(cli, ["generate", *args], prog_name="ganapps")
        assert helped.exit_code == 0 and helped.output.startswith("Usage: ganapps generate [OPTIONS] RUN")
        assert ("--label INTEGER" in helped.output) is has_label, helped.output
        assert ("Generate only this class" in helped.output) is has_label
    assert "--label INTEGER" not in CliRunner().invoke(cli, ["generate", "--help"]).output  # no RUN: its own only


def test_dcgan_rejects_label(in_tmp: Path, tiny_digits: Path) -> None:
    invoke("run", "dcgan", "--data", str(tiny_digits), "--max-steps", "2", "--classifier-epochs", "0", "--out", "run")
    bad = CliRunner().invoke(cli, ["generate", "run", "-n", "4", "--label", "3"])
    assert bad.exit_code == 2 and "No such option" in bad.output
    check_generate_help(has_label=False)


def test_resume_an_interrupted_run_from_the_cli(in_tmp: Path, tiny_digits: Path) -> None:
    common = ["--data", str(tiny_digits), "--classifier-epochs", "1", "--batch-size", "16", "--seed", "3"]
    invoke("run", "dcgan", *common, "--epochs", "2", "--out", "full")
    invoke("run", "dcgan", *common, "--epochs", "2", "--max-steps", "13", "--out", "part")
    invoke("run", "dcgan", "--resume", "part")
    a = load_bundle(in_tmp / "full")
    b = load_bundle(in_tmp / "part")
    for (k, v), (k2, v2) in zip(a.nets.state_dict().items(), b.nets.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2), k
    log = [json.loads(line) for line in (in_tmp / "part" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(1, len(log) + 1))


def test_ctrl_c_saves_a_checkpoint_and_the_run_resumes(in_tmp: Path, plugin) -> None:
    import polars as pl

    from ganapps.core import hookimpl
    from ganapps.core.testing import RingApp, ring_data

    class Interrupted(RingApp):
        name = "ring-ctrl-c"
        stop_at = 11

        def generator_step(self, real):
            if self.progress.global_step == self.stop_at:
                os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl-C mid-iteration
            return super().generator_step(real)

    class Plugin:
        @hookimpl
        def register_apps(self, register):
            register(Interrupted)
            register(RingApp)

    plugin(Plugin(), "ctrl-c-plugin")
    pl.DataFrame(ring_data(320).numpy(), schema=["x", "y"]).write_csv(in_tmp / "ring.csv")
    args = ["--data", "ring.csv", "--epochs", "3", "--batch-size", "32", "--seed", "5"]
    result = CliRunner().invoke(cli, ["-q", "run", "ring-ctrl-c", *args, "--out", "part"])
    assert result.exit_code == 130, result.output
    assert "--resume part" in result.output and "Traceback" not in result.output
    assert json.loads((in_tmp / "part" / "run.json").read_text())["status"] == "interrupted"
    Interrupted.stop_at = -1  # the user does not press Ctrl-C again
    invoke("run", "ring-ctrl-c", "--resume", "part")
    invoke("run", "ring", *args, "--out", "full")
    a, b = load_bundle(in_tmp / "part"), load_bundle(in_tmp / "full")
    for (k, v), (_, w) in zip(a.nets.state_dict().items(), b.nets.state_dict().items(), strict=True):
        assert torch.equal(v, w), k
    assert json.loads((in_tmp / "part" / "run.json").read_text())["status"] == "finished"
