"""The command line through click's CliRunner, error paths included (exit 2, one line, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ganapps.cli.main import cli
from ganapps.core.version import ganapps_version


def invoke(*args: str):
    return CliRunner().invoke(cli, ["-q", *args])


def assert_user_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 or lines[0].startswith("Usage:"), result.output
    for f in fragments:
        assert f in result.output, result.output


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and ganapps_version() in result.output


def test_apps_table_and_details() -> None:
    result = invoke("apps")
    assert result.exit_code == 0
    for word in ("name", "kind", "description", "plugin", "dcgan", "cgan", "ganapps.plugins.dcgan"):
        assert word in result.output
    details = invoke("apps", "cgan")
    assert "--classifier-epochs" in details.output and "--label" in details.output
    data = json.loads(invoke("apps", "--json").output)
    assert {a["name"] for a in data} >= {"dcgan", "cgan"}


def test_run_help_shows_each_default_once() -> None:
    out = " ".join(CliRunner().invoke(cli, ["run", "fraud", "--help"]).output.split())
    assert "on validation rows). [default: 4.0]" in out  # an app option (--latent-weight)
    assert "default: (" not in out  # not also "[default: (latent_weight)]"
    assert "--epochs INTEGER Epochs of the main (adversarial) phase. [default: 80]" in out  # the app's, not 5
    assert "Samples per batch. [default: 128]" in out
    medgan = " ".join(CliRunner().invoke(cli, ["run", "medgan", "--help"]).output.split())
    assert "[default: 1000, fewer when that exceeds ~1,000 steps]" in medgan
    # what --dp-epsilon changes is in the epilog of the apps that train privately, and only theirs
    assert "Under --dp-epsilon: {'batch_size': 250}, fewer epochs when they exceed ~160 steps." in medgan
    tabular = " ".join(CliRunner().invoke(cli, ["run", "tabular", "--help"]).output.split())
    assert "Under --dp-epsilon: {'epochs': 80}." in tabular and "Under --dp-epsilon" not in out


def test_run_help_lists_each_app_with_its_whole_first_sentence() -> None:
    """click's own short help stops at the first full stop, so "medGAN (Choi et al." was all it showed."""
    out = " ".join(invoke("run", "--help").output.split())
    assert "medGAN (Choi et al. 2017): synthetic patients' diagnosis codes (binary or counts)" in out
    assert "DCGAN on digits: images from noise (Radford et al. 2016)" in out
    assert "codes (binary or counts) pix2pix" in out  # the whole description, not cut at a width


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("medGAN (Choi et al. 2017): codes", "medGAN (Choi et al. 2017): codes"),
        ("Train it. Then more.", "Train it."),
        ("Scores rows, e.g. card payments. More.", "Scores rows, e.g. card payments."),
        ("After J. Smith and version 2.5. Rest", "After J. Smith and version 2.5."),
        ("First\n  line. Second", "First line."),
    ],
)
def test_first_sentence(text: str, sentence: str) -> None:
    from ganapps.cli.options import first_sentence

    assert first_sentence(text) == sentence


def test_datasets_list() -> None:
    result = invoke("datasets", "list")
    assert result.exit_code == 0
    assert "mnist-sample" in result.output and "CC BY-SA 3.0" in result.output and "5000" in result.output
    path = invoke("datasets", "path", "mnist-sample").output.strip()
    assert Path(path).exists()


def test_datasets_list_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ganapps.cli.main import cli\n"
        "cli(['datasets', 'list'], standalone_mode=False)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "creditcard-sample" in done.stdout


def test_unknown_app() -> None:
    assert_user_error(invoke("run", "nope"), "unknown app 'nope'", "dcgan")
    assert_user_error(invoke("apps", "nope"), "unknown app 'nope'")


def test_missing_data_file(in_tmp) -> None:
    assert_user_error(invoke("run", "dcgan", "--data", "missing.npz"), "missing.npz")


def test_bad_npz(in_tmp: Path) -> None:
    np.savez(in_tmp / "bad.npz", images=np.zeros((3, 28, 28)))
    assert_user_error(invoke("run", "dcgan", "--data", "bad.npz"), "no array 'x'")
    (in_tmp / "text.npz").write_text("not a zip")
    assert_user_error(invoke("run", "dcgan", "--data", "text.npz"), "text.npz")


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--epochs", "-1"], "epochs must be >= 0"),
        (["--batch-size", "0"], "batch-size"),
        (["--device", "cuda"], "no CUDA device"),
        (["--lr", "critic=1e-4", "--max-steps", "1"], "no optimizer 'critic'"),
        (["--lr", "fast"], "--lr"),
        (["--loss", "nope"], "nope"),
        (["--image-size", "30", "--max-steps", "1"], "--image-size"),
    ],
)
def test_bad_options(in_tmp, tiny_digits: Path, args: list[str], fragment: str) -> None:
    result = invoke("run", "dcgan", "--data", str(tiny_digits), *args)
    assert result.exit_code == 2, result.output
    assert fragment in result.output and "Traceback" not in result.output


def test_bad_config_files(in_tmp: Path, tiny_digits: Path) -> None:
    (in_tmp / "broken.toml").write_text("epochs = [")
    assert_user_error(invoke("run", "dcgan", "--data", str(tiny_digits), "--config", "broken.toml"), "not valid TOML")
    (in_tmp / "unknown.toml").write_text("epochz = 3")
    assert_user_error(
        invoke("run", "dcgan", "--data", str(tiny_digits), "--config", "unknown.toml"), "unknown setting 'epochz'"
    )
    (in_tmp / "badopt.toml").write_text("[options]\nngf = 'wide'")
    assert_user_error(invoke("run", "dcgan", "--data", str(tiny_digits), "--config", "badopt.toml"), "ngf")
    assert_user_error(invoke("run", "dcgan", "--config", "absent.toml"), "absent.toml")


def test_generate_and_evaluate_need_a_run(in_tmp: Path) -> None:
    assert_user_error(invoke("generate", "nowhere", "-n", "4"), "not a run directory")
    # an app option after a RUN that is not one: the missing run is the error, not "no such option"
    result = invoke("generate", "nowhere", "--label", "3")
    assert_user_error(result, "nowhere is not a run directory")
    assert not result.output.startswith("Usage")
    assert_user_error(invoke("evaluate", "nowhere"), "not a run directory")


def test_out_directory_holding_a_run_is_refused(in_tmp: Path, tiny_digits: Path) -> None:
    args = ["run", "dcgan", "--data", str(tiny_digits), "--max-steps", "2", "--classifier-epochs", "0", "--out", "r"]
    assert invoke(*args).exit_code == 0
    assert_user_error(invoke(*args), "already holds a run", "--resume")


def test_plugins_install_passes_arguments_to_pip(monkeypatch) -> None:
    import subprocess

    seen = []

    def fake_run(args, check):
        seen.append(args)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr("ganapps.cli.plugins.subprocess.run", fake_run)
    assert invoke("plugins", "install", "-U", "ganapps-hello").exit_code == 0
    assert invoke("plugins", "uninstall", "ganapps-hello").exit_code == 0
    assert seen[0][1:] == ["-m", "pip", "install", "--upgrade", "ganapps-hello"]
    assert seen[1][1:] == ["-m", "pip", "uninstall", "-y", "ganapps-hello"]


def test_a_sample_dataset_of_other_apps_is_named_in_the_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["-q", "run", "medgan", "--data", "mnist-sample", "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert "a sample for dcgan, cgan" in r.output and "mimic3-demo-diagnoses" in r.output
