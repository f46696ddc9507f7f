"""Plugin registration, isolation of broken plugins, duplicates, GANAPPS_LOAD_PLUGINS."""

from __future__ import annotations

import json
import logging
from importlib.metadata import EntryPoint

import pytest
from click.testing import CliRunner

from ganapps.cli.main import cli
from ganapps.core import DatasetInfo, PluginError, hookimpl
from ganapps.core import plugins as P
from ganapps.core.plugins import get_registry, plugin_info
from ganapps.core.testing import RingApp


class RingPlugin:
    @hookimpl
    def register_apps(self, register):
        register(RingApp)


def test_throwaway_plugin_registers_and_unregisters(plugin) -> None:
    assert "ring" not in get_registry().apps
    plugin(RingPlugin(), "throwaway")
    assert get_registry().apps["ring"].plugin == "throwaway"
    result = CliRunner().invoke(cli, ["apps"])
    assert "ring" in result.output and "throwaway" in result.output
    P.pm.unregister(name="throwaway")
    P.reset_registry()
    assert "ring" not in get_registry().apps


def test_builtin_apps_are_plugins_like_any_other() -> None:
    apps = get_registry().apps
    assert apps["dcgan"].plugin == "ganapps.plugins.dcgan"
    assert apps["cgan"].plugin == "ganapps.plugins.dcgan"
    assert "mnist-sample" in get_registry().datasets


def test_duplicate_app_name_names_both_plugins(plugin) -> None:
    class Clash(RingApp):
        name = "dcgan"

    class ClashPlugin:
        @hookimpl
        def register_apps(self, register):
            register(Clash)

    plugin(ClashPlugin(), "clashing-plugin")
    with pytest.raises(
        PluginError,
        match=r"'dcgan'.*'ganapps.plugins.dcgan'.*'clashing-plugin'|'dcgan'.*'clashing-plugin'.*'ganapps.plugins.dcgan'",
    ):
        get_registry()
    result = CliRunner().invoke(cli, ["apps"])
    assert result.exit_code == 2
    assert "clashing-plugin" in result.output and "Traceback" not in result.output


def test_plugin_raising_in_a_hook_is_skipped_with_a_warning(plugin, caplog) -> None:
    class Broken:
        @hookimpl
        def register_apps(self, register):
            raise RuntimeError("boom")

    caplog.set_level(logging.WARNING, logger="ganapps")
    plugin(Broken(), "broken-hook")
    registry = get_registry()
    assert "dcgan" in registry.apps  # everything else still works
    assert any("broken-hook" in r.message and "boom" in r.getMessage() for r in caplog.records)
    info = {p["name"]: p for p in plugin_info()}
    assert "boom" in info["broken-hook"]["error"]
    P.broken.pop("broken-hook", None)


def test_invalid_registration_is_skipped(plugin, caplog) -> None:
    class NotAnApp:
        @hookimpl
        def register_apps(self, register):
            register(object)

    caplog.set_level(logging.WARNING, logger="ganapps")
    plugin(NotAnApp(), "not-an-app")
    assert "dcgan" in get_registry().apps
    assert any("not-an-app" in r.getMessage() for r in caplog.records)
    P.broken.pop("not-an-app", None)


@pytest.fixture
def fake_entry_points(monkeypatch):
    """Entry points of group ganapps served from this test module, with a fresh plugin manager."""
    import sys
    import types

    good = types.ModuleType("ganapps_fake_good")

    class Tiny(RingApp):
        name = "tiny-ring"

    @hookimpl
    def register_apps(register):
        register(Tiny)

    @hookimpl
    def register_datasets(register):
        register(
            DatasetInfo("tiny-data", path=__import__("pathlib").Path("."), apps=("tiny-ring",), rows=1, licence="CC0")
        )

    good.register_apps = register_apps
    good.register_datasets = register_datasets
    monkeypatch.setitem(sys.modules, "ganapps_fake_good", good)
    eps = [
        EntryPoint("good", "ganapps_fake_good", "ganapps"),
        EntryPoint("bad", "ganapps_fake_missing_module_xyz", "ganapps"),
    ]
    monkeypatch.setattr(P, "entry_points", lambda group: eps if group == "ganapps" else [])
    saved = (P._loaded, P._registry, dict(P.broken))
    P._loaded, P._registry = False, None
    yield
    for name in ("good", "bad"):
        if P.pm.has_plugin(name):
            P.pm.unregister(name=name)
    P._loaded, P._registry = saved[0], None
    P.broken.clear()
    P.broken.update(saved[2])


def test_entry_point_plugins_load_and_broken_ones_are_skipped(fake_entry_points, monkeypatch, caplog) -> None:
    monkeypatch.delenv("GANAPPS_LOAD_PLUGINS", raising=False)
    caplog.set_level(logging.WARNING, logger="ganapps")
    registry = get_registry()
    assert registry.apps["tiny-ring"].plugin == "good"
    assert registry.datasets["tiny-data"].plugin == "good"
    assert "bad" in P.broken and "ModuleNotFoundError" in P.broken["bad"]
    assert any("plugin bad failed to load" in r.getMessage() for r in caplog.records)
    assert "dcgan" in registry.apps


def test_ganapps_load_plugins_restricts_entry_points(fake_entry_points, monkeypatch) -> None:
    monkeypatch.setenv("GANAPPS_LOAD_PLUGINS", "bad")
    registry = get_registry()
    assert "tiny-ring" not in registry.apps and "dcgan" in registry.apps
    P._loaded, P._registry = False, None
    P.pm.unregister(name="bad") if P.pm.has_plugin("bad") else None
    monkeypatch.setenv("GANAPPS_LOAD_PLUGINS", "")
    assert "tiny-ring" not in get_registry().apps


def test_plugins_list_prints_valid_json() -> None:
    result = CliRunner().invoke(cli, ["plugins", "list"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    dcgan = next(p for p in data if p["name"] == "ganapps.plugins.dcgan")
    assert dcgan["apps"] == ["cgan", "dcgan"] and dcgan["hooks"] == ["register_apps"]
    assert all({"name", "version", "hooks", "apps"} <= set(p) for p in data)


def test_metric_hook_adds_metrics_to_evaluation(plugin, in_tmp) -> None:
    calls = []

    class MetricPlugin:
        @hookimpl
        def register_metrics(self, register):
            def mean_x(real, synthetic, app):
                calls.append(app.name)
                return {"mean_x": float(synthetic[:, 0].mean())}

            register("mean-x", mean_x, kinds=("toy",), description="Mean of the first coordinate.")

    plugin(RingPlugin(), "ring-plugin")
    plugin(MetricPlugin(), "metric-plugin")
    assert get_registry().metrics["mean-x"].plugin == "metric-plugin"
    from ganapps.core import run
    from ganapps.core.testing import ring_data

    result = run("ring", ring_data(256), train={"epochs": 1}, progress=False, out="r")
    assert calls == ["ring"]
    assert "mean_x" in result.metrics["metrics"]["extra"]["mean-x"]


def test_command_hook_adds_a_cli_command() -> None:
    import click

    from ganapps.core.plugins import pm

    class CommandPlugin:
        @hookimpl
        def register_commands(self, cli):
            @cli.command("hello-test")
            def hello() -> None:
                click.echo("hello from a plugin")

    group = click.Group("ganapps")
    pm.register(CommandPlugin(), name="command-plugin")
    try:
        P.register_commands(group)
    finally:
        pm.unregister(name="command-plugin")
    result = CliRunner().invoke(group, ["hello-test"])
    assert result.output.strip() == "hello from a plugin"


def test_register_scorers_gives_ganapps_score_a_torch_free_scorer(plugin, tmp_path) -> None:
    import polars as pl

    from ganapps.core.bundle import FORMAT
    from ganapps.core.scoring import load_scorer

    class RowScorer:
        """Scores every row 1.0 and reads every column."""

        def __init__(self, path):
            self.path = path

        def score(self, frame, row_offset=0):
            return pl.DataFrame({"row": range(row_offset, row_offset + frame.height), "score": [1.0] * frame.height})

        def score_columns(self):
            return None

    class ScorerPlugin:
        @hookimpl
        def register_scorers(self, register):
            register("ring", RowScorer)

    plugin(ScorerPlugin(), "ring-scorer")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps({"format": FORMAT, "app": "ring"}))
    assert isinstance(load_scorer(tmp_path), RowScorer)  # a run directory holding bundle/
    pl.DataFrame({"a": [1, 2, 3]}).write_csv(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        cli, ["-q", "score", str(bundle), "--data", str(tmp_path / "in.csv"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out)["score"].to_list() == [1.0, 1.0, 1.0]

    class Clash:
        @hookimpl
        def register_scorers(self, register):
            register("fraud", RowScorer)

    plugin(Clash(), "clashing-scorer")
    with pytest.raises(PluginError, match="clashing-scorer.*'fraud'"):
        load_scorer(bundle)
