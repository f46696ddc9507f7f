"""``tabular`` under ``--dp-epsilon`` (issue 18): each path from the rows to the bundle is closed —
noisy histograms instead of fitted statistics, public metadata, calibration without rows, no
packing or gradient penalty, the budget composed — and DP runs work from the CLI and the API."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from ganapps.cli.testing import cli_fails, cli_ok
from ganapps.core import ConfigError, DataError, run
from ganapps.core.accounting import composed_noise_for, gaussian_noise_for
from ganapps.core.privacy import PrivacyPlan, noise_for, spent
from ganapps.plugins.tabular.options import TabularOptions
from ganapps.plugins.tabular.privacy import CLASS_SPLIT_MIN_EPSILON, NARROW_CRITIC_ROWS, private_options
from ganapps.tabular.private import (
    CLASS_BINS,
    Noise,
    PublicColumn,
    class_edges,
    class_split,
    fit_private,
    histograms,
    private_specs,
    read_public_metadata,
)

pytest.importorskip("opacus")

SECRET = "zz-one-patient-only"


def table(n: int = 240, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y", "z"], n).tolist()
    a[0] = SECRET  # a category held by one row
    b = rng.normal(50, 10, n).round(2)
    return pl.DataFrame({"a": a, "b": b, "y": (b > 50).astype(np.int64)})


def fit(frame: pl.DataFrame, sigma: float = 0.5, public: dict | None = None):  # type: ignore[no-untyped-def]
    return fit_split(frame, sigma, public)[0]


def fit_split(frame: pl.DataFrame, sigma: float = 0.5, public: dict | None = None, by: str | None = None):  # type: ignore[no-untyped-def]
    specs = private_specs(frame, None, None, "t")
    return fit_private(
        frame,
        specs,
        public or {},
        noise_multiplier=sigma,
        select_delta=1e-5,
        max_categories=100,
        seed=0,
        where="t",
        by=by,
    )


def test_a_category_one_row_holds_never_reaches_the_transformer() -> None:
    t = fit(table())
    schema, tensors = t.state_dict()
    assert SECRET not in json.dumps(schema)  # neither a category nor an "other" value
    assert set(t.categories("a")) == {"x", "y", "z", "<other>"}
    assert t._cat["a"]["other_values"] == []  # the pooled slot keeps no values
    assert t.spec("y").kind == "continuous"  # kinds from the storage type, nothing detected from values


def test_neighbouring_tables_give_counts_that_differ_by_one_at_most() -> None:
    """With the same noise draw, each count of D and D + one row differs by ≤ 1: every statistic is a
    histogram count (sensitivity 1 per histogram), so the Gaussian noise covers it."""
    d = table(seed=1).with_columns(pl.Series("a", ["x", "y", "z"] * 80))
    extra = pl.DataFrame({"a": ["y"], "b": [55.0], "y": [1]})
    t1, t2 = fit(d, sigma=1.0), fit(pl.concat([d, extra]), sigma=1.0)
    c1, c2 = (dict(zip(t.categories("a"), t.category_counts("a").tolist(), strict=True)) for t in (t1, t2))
    diff = [abs(c1[k] - c2[k]) for k in ("x", "y", "z")]
    assert max(diff) <= 1.0 + 1e-9 and sum(diff) <= 1.0 + 1e-9
    assert (t1.category_counts("a") - t1.category_counts("a").round()).abs().max() > 0  # noise is really there


def test_class_split_histograms_are_in_the_release_and_move_by_one_cell() -> None:
    """Splitting each other column by the target's classes adds one histogram per column to H (the
    noise grows with it), and one more row moves one cell of each split histogram by 1 at most. A
    number's class bins are post-processing of its released histogram (adaptive composition of the
    two Gaussian releases: the same RDP as one release of all H), so given those bins."""
    d = table(seed=1).with_columns(pl.Series("a", ["x", "y", "z"] * 80), pl.Series("c", ["p", "q"] * 120))
    specs = private_specs(d, None, None, "t")
    assert histograms(specs, {}, "c") == histograms(specs, {}) + 3  # a, b and y split by c
    public = {"b": PublicColumn(lower=0.0, upper=100.0), "y": PublicColumn(lower=0.0, upper=1.0)}
    extra = pl.DataFrame({"a": ["y"], "b": [55.0], "y": [1], "c": ["q"]})
    t, s1 = fit_split(d, 1.0, public, "c")
    assert set(s1) == {"a", "b", "y"} and t.categories("c") == ["p", "q", "<other>"]
    edges = {col: e for col, (_, e) in s1.items() if e is not None}
    exact = Noise(0.0, 0)
    e1, e2 = (class_split(t, f, "c", edges, exact, "t") for f in (d, pl.concat([d, extra])))
    for col, (counts, _) in s1.items():
        assert counts.shape[0] == 3  # one row of counts per class slot
        assert (counts - counts.round()).abs().max() > 0  # noisy
        moved = (e2[col][0] - e1[col][0]).abs()
        assert moved.sum() == 1.0 and float(moved.sum() - moved[1].sum()) < 1e-9  # the extra row is a q


def test_class_split_bins_sit_where_the_released_mass_is() -> None:
    """A number's class-split bins hold equal shares of its released histogram, not equal widths of
    its range; an integer column's edges fall on half-integers; the bin of exact zeros is kept."""
    edges = torch.linspace(0.0, 100.0, 101, dtype=torch.float64)
    counts = torch.zeros(100, dtype=torch.float64)
    counts[40:50] = 100.0  # the rows fill a tenth of the range
    e = class_edges(counts, edges, integer=False)
    assert len(e) == CLASS_BINS + 1 > 4 and float(e[0]) == 0.0 and float(e[-1]) == 100.0
    assert float(e[1:-1].min()) >= 40.0 and float(e[1:-1].max()) <= 50.0
    ints = class_edges(counts, torch.arange(-0.5, 100.0, 1.0, dtype=torch.float64), integer=True)
    assert bool(((ints - 0.5) % 1 == 0).all()) and bool((ints[1:] > ints[:-1]).all())
    atom = torch.tensor([-10.0, -5.0, 0.0, 0.0, 5.0, 10.0], dtype=torch.float64)
    spike = class_edges(torch.tensor([1.0, 1.0, 50.0, 1.0, 1.0], dtype=torch.float64), atom, integer=False)
    assert int((spike == 0.0).sum()) == 2


def test_public_metadata_gives_categories_and_bounds(tmp_path: Path) -> None:
    meta = {
        "METADATA_SPEC_VERSION": "V1",
        "tables": {
            "t": {
                "columns": {
                    "a": {"sdtype": "categorical", "categories": ["x", "y", "z", "w", SECRET]},
                    "b": {"sdtype": "numerical", "min": 0, "max": 100},
                }
            }
        },
    }
    path = tmp_path / "meta.json"
    path.write_text(json.dumps(meta))
    overrides, _, public = read_public_metadata(path)
    t = fit(table(), public=public)
    assert t.categories("a")[:5] == ["x", "y", "z", "w", SECRET]  # public: kept even when rare or absent
    assert float(t.tensors["continuous.min"][0]) >= 0 and float(t.tensors["continuous.max"][0]) <= 100
    meta["tables"]["t"]["columns"]["a"]["categories"] = ["x", "y"]
    path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match="column 'a' holds"):
        fit(table(), public=read_public_metadata(path)[2])


def test_the_budget_is_the_composition_of_preprocessing_and_dp_sgd() -> None:
    pre = gaussian_noise_for(0.45, 1e-5)
    sgd = composed_noise_for(3.0, 1e-5, 0.1, 200, pre)
    assert sgd > noise_for(3.0, 1e-5, 0.1, 200)  # the preprocessing's share costs DP-SGD noise
    plan = PrivacyPlan(3.0, 1e-5, 1.0, 1000, 100, 0.1, 200, sgd, preprocessing_noise=pre)
    assert 2.99 <= spent(plan, 200) <= 3.0
    assert 0.44 <= spent(plan, 0) <= 0.45  # before any step, the preprocessing alone


def test_dp_runs_take_the_measured_dp_schedule_unless_the_user_gives_one() -> None:
    from ganapps.core.pipeline import make_configs
    from ganapps.plugins.tabular.app import TabularGAN

    assert make_configs(TabularGAN, None, {})[1].epochs == 225
    assert make_configs(TabularGAN, None, {"dp_epsilon": 3})[1].epochs == 80
    assert make_configs(TabularGAN, None, {"dp_epsilon": 3, "epochs": 7})[1].epochs == 7


@pytest.mark.parametrize(
    ("epsilon", "choice", "expected"),
    [(3, "sgd", ("sgd", 0.3)), (3, "adam", ("adam", 1e-3)), (0, "sgd", ("adam", 1e-3))],
)
def test_the_dp_critic_trains_with_sgd_unless_asked(epsilon: float, choice: str, expected: tuple) -> None:
    """Under DP the critic's optimizer is SGD at the validated lr (Adam would turn noise-only coordinates
    into ±lr steps); --dp-optimizer adam keeps Adam; without DP the option changes nothing."""
    from ganapps.core.pipeline import make_configs
    from ganapps.plugins.tabular.app import TabularGAN

    options, cfg = make_configs(TabularGAN, {"dp_optimizer": choice}, {"dp_epsilon": epsilon})
    app = TabularGAN(options)
    app.train_config = cfg
    critic = next(s for s in app.configure_optimizers() if s.name == "discriminator")
    assert (critic.algorithm, critic.lr) == expected


@pytest.mark.parametrize(
    ("given", "rows", "widths"),
    [([], NARROW_CRITIC_ROWS - 1, [128, 128]), ([], NARROW_CRITIC_ROWS, [64, 64]), ([32], 10**6, [32])],
)
def test_the_dp_critic_is_sized_by_the_training_rows_unless_given(
    given: list[int], rows: int, widths: list[int]
) -> None:
    o = TabularOptions(dp_discriminator_dim=list(given))
    notes = private_options(o, 3.0, rows)
    assert o.dp_discriminator_dim == widths
    sized = [n for n in notes if "critic for" in n]
    assert sized == (
        []
        if given
        else [
            f"--dp-epsilon: a {' '.join(map(str, widths))} critic for {rows:,} training rows "
            "(--dp-discriminator-dim sets it)."
        ]
    )


def test_dp_run_from_the_api_closes_every_path(tmp_path: Path) -> None:
    frame = table()
    result = run(
        "tabular",
        frame,
        options={"target": "y"},
        train={"dp_epsilon": 3, "epochs": 2, "batch_size": 64, "seed": 0},
        out=tmp_path / "run",
        samples=100,
        progress=False,
    )
    app, p = result.app, result.metrics["differential_privacy"]
    assert app.options.pac == 1 and app.nets.discriminator.pac == 1 and app.options.loss == "bce"
    widths = [m.out_features for m in app.nets.discriminator.seq if isinstance(m, torch.nn.Linear)]
    assert widths == [*app.options.dp_discriminator_dim, 1] and app.options.dp_discriminator_dim == [128, 128]
    assert not app.options.log_frequency and p["preprocessing"]["class_split_by"] is None  # y is a number here
    assert p["epsilon_spent"] <= 3.0 and 0 < p["epsilon_dp_sgd"] < 3.0
    # half the budget on the histograms (the validated share): that release alone is (1.5, δ')-DP
    assert p["preprocessing"]["share"] == 0.5 and abs(p["epsilon_preprocessing"] - 1.5) < 0.02
    # what DP replaced is said in metrics.json and in the report's privacy section, with the release explained
    assert p["notes"] == app.schema["dp_notes"] and any("pac 1" in n for n in p["notes"])
    section = (tmp_path / "run" / "report.html").read_text().split("<h2>Differential privacy</h2>")[1]
    section = section.split("<h2>")[0]
    assert "<td>preprocessing.count_noise_std</td>" in section and "(σ·√H)" in section
    assert all(html.escape(n) in section for n in p["notes"])
    # a small table under DP: the advice is about the noise, not a non-private synthesizer to compare with
    (small,) = [d for d in result.diagnostics if d.code == "small-table"]
    assert "it is not private" in small.remedy and f"std {p['preprocessing']['count_noise_std']:.3g}" in small.remedy
    assert SECRET not in (tmp_path / "run" / "bundle" / "schema.json").read_text()
    before = {k: v.clone() for k, v in app.decoder.tensors().items()}
    app.x = torch.full_like(app.x, 7.0)  # the calibration under DP reads no rows: garbage changes nothing
    app.calibrate(None)
    for k, v in app.decoder.tensors().items():
        assert torch.equal(v, before[k]), k


def classes_table(n: int = 600) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    c = rng.choice(["lo", "hi"], n)
    b = np.where(c == "hi", rng.normal(80, 3, n), rng.normal(20, 3, n)).round(2)
    return pl.DataFrame({"c": c.tolist(), "b": b, "a": rng.choice(["x", "y"], n).tolist()})


@pytest.mark.parametrize(("by_target", "epsilon"), [(True, 50.0), (False, 50.0), (True, 0.5)])
def test_dp_calibration_within_target_classes_from_noisy_counts(
    tmp_path: Path, by_target: bool, epsilon: float
) -> None:
    """A categorical target under DP: each class's numbers are calibrated onto its noisy class-split
    histogram, so after one epoch (the GAN has learned nothing yet) the classes already differ as in
    the data; pooled calibration (asked, or below ε = 1) leaves them alike. No rows are read: garbage
    rows change nothing."""
    result = run(
        "tabular",
        classes_table(),
        options={"target": "c", "calibrate_by_target": by_target},
        train={"dp_epsilon": epsilon, "epochs": 1, "batch_size": 100, "seed": 0},
        out=tmp_path / "run",
        progress=False,
    )
    app = result.app
    synth = app.generate(2000)
    gap = float(synth.filter(pl.col("c") == "hi")["b"].mean()) - float(synth.filter(pl.col("c") == "lo")["b"].mean())
    pre = result.metrics["differential_privacy"]["preprocessing"]
    if by_target and epsilon >= CLASS_SPLIT_MIN_EPSILON:
        assert pre["class_split_by"] == "c" and pre["histograms"] == 6  # c, a, b twice; a and b split by c
        use = app.decoder.classes["use"].tolist()
        assert app.decoder.by is not None and sum(use) == 2 and not use[-1]  # hi and lo; <other> holds no rows
        assert gap > 45, gap  # 60 in the data
    else:
        assert pre["class_split_by"] is None and app.decoder.by is None and pre["histograms"] == 4
        assert abs(gap) < 25, gap
    before = {k: v.clone() for k, v in app.decoder.tensors().items()}
    app.x = torch.full_like(app.x, 7.0)
    app.calibrate(None)
    for k, v in app.decoder.tensors().items():
        assert torch.equal(v, before[k]), k


def test_dp_run_and_generate_from_the_cli(in_tmp: Path) -> None:
    table().write_csv("t.csv")
    cli_ok(
        "run",
        "tabular",
        "--data",
        "t.csv",
        "--target",
        "y",
        "--dp-epsilon",
        "3",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--samples",
        "50",
        "--out",
        "run",
    )
    metrics = json.loads(Path("run/metrics.json").read_text())
    assert metrics["differential_privacy"]["preprocessing"]["share"] > 0
    cli_ok("generate", "run", "-n", "20", "-o", "g.csv")
    assert pl.read_csv("g.csv").height == 20
    line = cli_fails("run", "tabular", "--data", "t.csv", "--dp-metadata", "m.json", "--epochs", "1", "--out", "r2")
    assert "--dp-metadata is for --dp-epsilon runs" in line


@pytest.mark.parametrize("option", ["--dp-discriminator-dim", "--discriminator-dim", "--generator-dim"])
def test_layer_widths_below_one_are_a_one_line_error(in_tmp: Path, option: str) -> None:
    table().write_csv("t.csv")
    line = cli_fails("run", "tabular", "--data", "t.csv", "--dp-epsilon", "3", option, "-5", "--epochs", "1")
    assert f"option {option} needs layer widths of at least 1" in line


def test_text_dates_need_a_public_format() -> None:
    frame = pl.DataFrame({"d": ["2020-01-01", "2020-02-01"]})
    with pytest.raises(ConfigError, match="datetime_format"):
        private_specs(frame, {"d": {"kind": "datetime"}}, None, "t")


def test_the_transformer_passes_a_canary_audit_that_catches_a_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """One-run audit (tests/test_privacy_audit.py's) of the preprocessing path: 100 canary rows, each
    with a level of its own, put in by fair coins; the attack guesses "in" where the level reached the
    fitted transformer. A non-DP fit, and a DP fit whose threshold is broken, show ε > 1; the DP fit not."""
    from ganapps.core.privacy import audit_epsilon
    from ganapps.tabular import TabularTransformer

    rng = np.random.default_rng(0)
    inside = rng.random(100) < 0.5
    levels = ["x", "y"] * 100 + [f"canary{i}" for i in np.nonzero(inside)[0]]
    frame = pl.DataFrame({"a": levels, "b": rng.normal(size=len(levels))})

    def bound(t: TabularTransformer) -> float:
        seen = np.array([f"canary{i}" in t.categories("a") for i in range(100)], dtype=float)
        order = np.argsort(-seen, kind="stable")
        right = int(inside[order[:20]].sum() + (~inside[order[-20:]]).sum())
        return audit_epsilon(100, 40, right, 1e-5)

    assert bound(TabularTransformer(max_categories=1000).fit(frame)) > 1.0
    sigma = gaussian_noise_for(0.15, 1e-5)
    assert bound(fit(frame, sigma=sigma)) <= 1.0, "PRIVACY LEAK: a category one row holds reached the DP transformer"
    monkeypatch.setattr("ganapps.tabular.private.NormalDist.inv_cdf", lambda self, p: -1e9)  # no threshold
    assert bound(fit(frame, sigma=sigma)) > 1.0
