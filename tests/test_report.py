"""Reports that explain themselves (issue 17): each metric's meaning, direction and reference, what
to run next, the full settings; every app declares valid meanings."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from ganapps.core import MetricMeaning, run
from ganapps.core.meanings import explain, find
from ganapps.core.plugins import get_registry
from ganapps.core.report import render
from ganapps.core.testing import RingApp, ring_data, unexplained

METRICS = {
    "fd": 3.0,
    "fd_real_vs_real": 1.0,
    "roc_auc": 0.81,
    "best": "lof",
    "baselines": {"lof": {"roc_auc": 0.74, "err": 0.2}, "knn5": {"roc_auc": 0.78, "err": 0.1}},
    "ours": {"err": 0.3},
    "unknown": 7,
}
MEANINGS = {
    "fd": MetricMeaning("distance to real", "lower", "fd_real_vs_real", "real vs real"),
    "roc_auc": MetricMeaning("ranking quality", "higher", ("baselines.lof.roc_auc", "baselines.knn5.roc_auc"), "best"),
    "ours.err": MetricMeaning("error", "lower", ("baselines.lof.err", "baselines.knn5.err"), "best baseline"),
    "baselines.*.roc_auc": MetricMeaning("a baseline's ranking quality", "higher", 0.5, "chance"),
    "baselines.*.err": MetricMeaning("a baseline's error", "lower", "baselines.{best}.roc_auc", "named"),
}


def test_explain_resolves_references_and_keeps_unexplained_metrics() -> None:
    rows = {r.key: r for r in explain(METRICS, MEANINGS)}
    assert list(rows) == [
        "fd",
        "fd_real_vs_real",
        "roc_auc",
        "best",
        "baselines.lof.roc_auc",
        "baselines.lof.err",
        "baselines.knn5.roc_auc",
        "baselines.knn5.err",
        "ours.err",
        "unknown",
    ]
    assert rows["fd"].reference == (1.0, "real vs real", "fd_real_vs_real")
    assert rows["roc_auc"].reference == (0.78, "best (knn5)", "baselines.knn5.roc_auc")  # higher: the larger
    assert rows["ours.err"].reference == (0.1, "best baseline (knn5)", "baselines.knn5.err")  # lower: the smaller
    assert rows["baselines.lof.roc_auc"].reference == (0.5, "chance", "")  # a stated constant
    assert rows["baselines.knn5.err"].reference == (0.74, "named", "baselines.lof.roc_auc")  # {best} = "lof"
    assert rows["unknown"].meaning == "" and rows["unknown"].reference is None
    assert find("baselines.lof.roc_auc", MEANINGS)[1] == ("lof",)
    specific = {"fd_*": MetricMeaning("a"), "fd_*_untrained": MetricMeaning("b"), "fd_x": MetricMeaning("c")}
    assert [find(k, specific)[0].meaning for k in ("fd_AtoB", "fd_AtoB_untrained", "fd_x")] == ["a", "b", "c"]


def test_a_missing_reference_is_left_out() -> None:
    rows = {r.key: r for r in explain({"fd": 2.0}, MEANINGS)}
    assert rows["fd"].meaning == "distance to real" and rows["fd"].reference is None


def test_render_shows_the_metrics_table_next_steps_and_settings() -> None:
    text = render(
        title="t",
        summary={},
        metrics=METRICS,
        diagnostics=[],
        history=[],
        figures={},
        meanings=MEANINGS,
        settings={"engine": {"batch_size": 64}, "versions": {"python": "3.11.7"}},
        next_steps=[("ganapps generate runs/x -n 1000", "more samples")],
    )
    assert "<th>metric</th><th>value</th><th>better</th><th>reference</th><th>meaning</th>" in text
    fd = re.search(r"<tr class='metric'><td>fd</td>.*?</tr>", text).group(0)
    assert "↓ lower" in fd and "distance to real" in fd
    assert "<td class='ref'>1 <span title='fd_real_vs_real'>real vs real</span></td>" in fd
    assert unexplained(text) == ["fd_real_vs_real", "best", "unknown"]  # still listed, without a meaning
    assert "<code>ganapps generate runs/x -n 1000</code>" in text and "more samples" in text
    assert "<th>batch_size</th><td>64</td>" in text and "3.11.7" in text


def test_every_apps_meanings_are_well_formed() -> None:
    """Directions are 'higher', 'lower' or None; references are numbers, keys or tuples of keys."""
    registry = get_registry()
    built_in = [name for name, info in registry.apps.items() if info.plugin.startswith("ganapps.plugins.")]
    assert len(built_in) >= 12
    for name in built_in:
        cls = registry.app(name)
        assert cls.metric_meanings, f"app {name} declares no metric meanings"
        for key, m in cls.metric_meanings.items():
            assert isinstance(m, MetricMeaning) and m.meaning, (name, key)
            assert m.better in ("higher", "lower", None), (name, key)
            ref = m.reference
            assert ref is None or isinstance(ref, float | int | str | tuple), (name, key)
            if ref is not None:
                assert m.reference_label, f"{name}: {key}'s reference needs a label"


def test_a_tiny_runs_report_explains_itself(tmp_path: Path, plugin) -> None:
    """The ring app's report: meaning, direction and the measured real-vs-real reference of its
    metric, the next command (with a quoted path), the settings with batch size, versions and times."""
    from ganapps.core import hookimpl

    class Plugin:
        @hookimpl
        def register_apps(self, register) -> None:
            register(RingApp)

    plugin(Plugin(), "ring-plugin")
    out = tmp_path / "my runs" / "ring"
    res = run("ring", ring_data(256), train={"epochs": 1, "batch_size": 32}, out=out, progress=False)
    report = (out / "report.html").read_text()
    m = res.metrics["metrics"]
    row = re.search(r"<tr class='metric'><td>frechet_distance</td>.*?</tr>", report).group(0)
    assert "Fréchet distance between generated and held-out points" in row and "↓ lower" in row
    assert f"{m['frechet_distance_real_vs_real']:.4g} <span" in row and "real vs real" in row
    assert unexplained(report) == []
    command = f"ganapps generate {shlex.quote(str(out))} -n 1000"
    assert f"<code>{command}</code>" in report.replace("&#x27;", "'")
    info = json.loads((out / "run.json").read_text())
    assert info["python_version"] and info["finished"]
    for text in ("<th>batch_size</th><td>32</td>", "<th>hidden</th><td>32</td>", info["started"], info["finished"]):
        assert text in report, text
    assert f"<th>torch</th><td>{info['torch_version']}</td>" in report


@pytest.mark.parametrize("app", ["fraud", "cgan", "fints", "ecommerce", "cyclegan", "sdv-gaussiancopula"])
def test_next_commands_name_the_run(app: str) -> None:
    """Each app's next command starts from the run it was trained in (score for fraud)."""
    cls = get_registry().app(app)
    instance = cls()
    instance.schema = {"categories": ["Kitchen"]} if app == "ecommerce" else {}
    steps = instance.next_commands("runs/x", "some-data")
    assert steps and all(what for _, what in steps)
    first = steps[0][0]
    expected = {"fraud": "ganapps score runs/x", "cyclegan": "ganapps translate runs/x"}
    if app == "sdv-gaussiancopula":  # SDV keeps no model: a new run
        assert first.startswith("ganapps run sdv-gaussiancopula --data some-data")
    else:
        assert first.startswith(expected.get(app, "ganapps generate runs/x")), first
