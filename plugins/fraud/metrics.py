"""The fraud app's evaluation: detection metrics and the classical baselines it is compared with in every run.

``evaluate`` (the app's ``evaluate``) scores the holdout, then reports ROC-AUC, PR-AUC, recall at
1% FPR and the calibrated threshold's confusion matrix, also at a 0.5% fraud share, beside
IsolationForest, Mahalanobis, kNN-5, LOF and a supervised logistic regression fitted on the same
rows, each unsupervised one at its own calibrated threshold; a paired bootstrap against the best
of them; and, with ``--augment``, the GAN-oversampled supervised head (``augment.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from ganapps.core.app import Evaluation
from ganapps.core.meanings import MetricMeaning
from ganapps.core.report import figure_png, new_figure
from ganapps.plugins.fraud import calibration as C
from ganapps.plugins.fraud.data import complete, normal_rows
from ganapps.plugins.fraud.scoring import Scorer, feature_matrix

#: fraud share the metrics are also reported at (real card fraud is ~0.17%; this data set has ~11%)
LOW_SHARE = 0.005
#: subsamples of frauds averaged for the low-share metrics
DRAWS = 20


def recall_at_fpr(y: np.ndarray, s: np.ndarray, fpr: float = 0.01) -> float:
    """Share of frauds caught when at most ``fpr`` of normal rows are flagged."""
    from sklearn.metrics import roc_curve

    f, t, _ = roc_curve(y, s)
    return float(t[f <= fpr].max()) if (f <= fpr).any() else 0.0


def ranking(y: np.ndarray, s: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision) and recall at 1% FPR."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {
        "roc_auc": float(roc_auc_score(y, s)),
        "pr_auc": float(average_precision_score(y, s)),
        "recall_at_1pct_fpr": recall_at_fpr(y, s, 0.01),
    }


def at_threshold(y: np.ndarray, s: np.ndarray, threshold: float) -> dict[str, Any]:
    """Precision, recall, FPR and the confusion matrix of the flag ``s >= threshold``."""
    flag = s >= threshold
    tp, fp = int((flag & (y == 1)).sum()), int((flag & (y == 0)).sum())
    fn, tn = int((~flag & (y == 1)).sum()), int((~flag & (y == 0)).sum())
    return {
        "precision_at_threshold": tp / (tp + fp) if tp + fp else float("nan"),
        "recall_at_threshold": tp / (tp + fn) if tp + fn else float("nan"),
        "fpr_at_threshold": fp / (fp + tn) if fp + tn else float("nan"),
        "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
    }


def low_share_draws(y: np.ndarray, share: float = LOW_SHARE, draws: int = DRAWS, seed: int = 0) -> list[np.ndarray]:
    """Row subsets keeping every normal row and ``share`` frauds (drawn without replacement)."""
    normal, fraud = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    k = max(1, round(share / (1 - share) * len(normal)))
    if len(fraud) == 0:
        return []
    rng = np.random.default_rng(seed)
    return [
        np.sort(np.concatenate([normal, rng.choice(fraud, min(k, len(fraud)), replace=False)])) for _ in range(draws)
    ]


def ranking_at_share(y: np.ndarray, s: np.ndarray, subsets: list[np.ndarray]) -> dict[str, float]:
    """:func:`ranking` averaged over low-share subsets (same subsets for every detector)."""
    rows = [ranking(y[i], s[i]) for i in subsets]
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]} if rows else {}


def paired_bootstrap(
    y: np.ndarray, ours: np.ndarray, other: np.ndarray, resamples: int = 200, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """ROC-AUC and PR-AUC of ``ours`` minus ``other`` on the same rows, with a 95% interval from a
    paired bootstrap (rows resampled within each class, both scores on the same resample).

    An interval that contains 0 means this holdout cannot tell the two detectors apart.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(seed)
    classes = [np.flatnonzero(y == v) for v in (0, 1)]
    metrics = {"roc_auc": roc_auc_score, "pr_auc": average_precision_score}
    diffs: dict[str, list[float]] = {name: [] for name in metrics}
    for _ in range(resamples):
        i = np.concatenate([rng.choice(c, len(c)) for c in classes])
        for name, fn in metrics.items():
            diffs[name].append(fn(y[i], ours[i]) - fn(y[i], other[i]))
    out: dict[str, dict[str, Any]] = {}
    for name, fn in metrics.items():
        lo, hi = np.quantile(diffs[name], [0.025, 0.975])
        out[name] = {"difference": float(fn(y, ours) - fn(y, other)), "ci95": [float(lo), float(hi)]}
    return out


def baseline_scores(
    normal: np.ndarray, test: np.ndarray, seed: int, labelled: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, np.ndarray]:
    """Scores on ``test`` of classical detectors fitted on ``normal`` (standardised rows).

    IsolationForest, Mahalanobis distance, mean distance to the 5 nearest normal rows, LOF;
    plus, given ``labelled`` (x, y), a supervised logistic regression as a reference.
    """
    from sklearn.covariance import EmpiricalCovariance
    from sklearn.ensemble import IsolationForest
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

    fits: dict[str, Callable[[], np.ndarray]] = {
        "isolation_forest": lambda: (
            -IsolationForest(n_estimators=200, random_state=seed).fit(normal).score_samples(test)
        ),
        "mahalanobis": lambda: EmpiricalCovariance().fit(normal).mahalanobis(test),
        "knn5": lambda: NearestNeighbors(n_neighbors=5).fit(normal).kneighbors(test)[0].mean(1),
        "lof": lambda: -LocalOutlierFactor(n_neighbors=20, novelty=True).fit(normal).score_samples(test),
    }
    out = {name: np.asarray(fn(), dtype=np.float64) for name, fn in fits.items()}
    if labelled is not None and len(np.unique(labelled[1])) == 2:
        lr = LogisticRegression(max_iter=2000).fit(*labelled)
        out["logistic_regression_supervised"] = lr.decision_function(test).astype(np.float64)
    return out


# ------------------------------------------------------------------ what the metrics mean
UNSUPERVISED = ("isolation_forest", "mahalanobis", "knn5", "lof")  # baseline_scores' detectors without labels
RANKING = {
    "roc_auc": ("ROC-AUC of the score on the held-out rows (0.5 = chance)", 0.5, "chance"),
    "pr_auc": ("PR-AUC (average precision) of the score on the held-out rows", None, ""),
    "recall_at_1pct_fpr": ("share of frauds caught when 1% of normal rows are flagged", None, ""),
}
AT_THRESHOLD = {
    "precision_at_threshold": "share of flagged rows that are frauds, at the calibrated threshold",
    "recall_at_threshold": "share of frauds flagged at the calibrated threshold",
}


def _best(path: str) -> tuple[str, ...]:
    """The metric at ``path`` of every unsupervised baseline (the report shows the best one)."""
    return tuple(f"baselines.{b}.{path}" for b in UNSUPERVISED)


def meanings() -> dict[str, MetricMeaning]:
    """The report's explanation of every metric :func:`evaluate` writes."""
    low = "with frauds subsampled to 0.5% of the held-out rows (mean of the draws): "
    out: dict[str, MetricMeaning] = {
        "holdout_rows": MetricMeaning("held-out rows scored"),
        "holdout_frauds": MetricMeaning("frauds among them"),
        "threshold": MetricMeaning(
            "score at which a row is flagged, calibrated on validation rows the networks never saw"
        ),
        "flag_rate": MetricMeaning("share of held-out rows flagged"),
        "fpr_at_threshold": MetricMeaning("share of normal held-out rows flagged (set by --target-fpr)"),
        "synthetic_flag_rate": MetricMeaning(
            "share of synthetic normal transactions (decoder draws) flagged: near the target FPR when they look normal"
        ),
        "confusion.tp": MetricMeaning("frauds flagged at the threshold", "higher", "holdout_frauds", "all frauds"),
        "confusion.fp": MetricMeaning("normal rows flagged at the threshold", "lower"),
        "confusion.tn": MetricMeaning("normal rows passed at the threshold", "higher"),
        "confusion.fn": MetricMeaning("frauds missed at the threshold", "lower", 0.0, "none"),
        "best_baseline": MetricMeaning("the unsupervised baseline with the highest PR-AUC on this holdout"),
        "vs_best_baseline.baseline": MetricMeaning("the baseline compared with in the paired bootstrap"),
        "vs_best_baseline.*.difference": MetricMeaning(
            "this app minus the best baseline on the held-out rows", "higher", 0.0, "no difference"
        ),
        "vs_best_baseline.*.ci95": MetricMeaning(
            "95% interval of that difference (paired bootstrap; holding 0: a tie)"
        ),
        "augmented_head.*_gain": MetricMeaning(
            "--augment: the supervised head with GAN-made frauds minus without them", "higher", 0.0, "no gain"
        ),
    }
    for key, (text, chance, label) in RANKING.items():
        out[key] = MetricMeaning(text, "higher", _best(key), "best baseline")
        out[f"at_0_5pct_share.{key}"] = MetricMeaning(
            low + text, "higher", _best(f"at_0_5pct_share.{key}"), "best baseline"
        )
        out[f"baselines.*.{key}"] = MetricMeaning(f"this baseline: {text}", "higher", chance, label)
        out[f"baselines.*.at_0_5pct_share.{key}"] = MetricMeaning(
            f"this baseline, {low}{text}", "higher", chance, label
        )
        out[f"augmented_head.*.{key}"] = MetricMeaning(f"--augment's supervised head: {text}", "higher", chance, label)
        out[f"augmented_head.*.at_0_5pct_share.{key}"] = MetricMeaning(f"that head, {low}{text}", "higher")
    for key, text in AT_THRESHOLD.items():
        out[key] = MetricMeaning(text, "higher", _best(key), "best baseline")
        out[f"baselines.*.{key}"] = MetricMeaning(f"this baseline (its own threshold): {text}", "higher")
    out["baselines.*.fpr_at_threshold"] = MetricMeaning("this baseline: share of normal held-out rows flagged")
    out["baselines.*.confusion.*"] = MetricMeaning("this baseline's confusion matrix at its threshold")
    return out


# ------------------------------------------------------------------ the app's evaluation
def evaluate(
    scorer: Scorer,
    real: pl.DataFrame,
    synthetic: Any,
    split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame] | None,
    *,
    label: str | None,
    options: Any,
    seed: int,
    device: str,
) -> Evaluation:
    """Detection metrics on the holdout ``real``, at its fraud share and at 0.5%, beside classical baselines.

    ``split``: (the training split, its fit rows, its validation rows) for the baselines, or None.
    """
    schema = scorer.schema
    features = schema["features"]
    real = complete(real, features, "holdout")
    scores = scorer.score(real)["score"].to_numpy()
    th = schema["threshold"]
    m: dict[str, Any] = {"holdout_rows": len(real), "threshold": th, "flag_rate": float((scores >= th).mean())}
    notes = [
        "score = reconstruction error (whitened space) + latent_weight × Mahalanobis distance of the code to "
        "normal training codes (a joint Gaussian negative log-density); higher = more suspicious.",
        f"threshold calibrated on {schema['rows']['validation']} validation rows the networks never saw: "
        f"{schema.get('calibration', {})}.",
    ]
    figures: dict[str, bytes] = {}
    if isinstance(synthetic, pl.DataFrame) and len(synthetic):
        syn = scorer.score_matrix(feature_matrix(synthetic, features)[0])
        m["synthetic_flag_rate"] = float(np.nanmean(syn >= th))
        figures.update(real_vs_synthetic(normal_rows(real, label), synthetic, features))
        notes.append(
            "synthetic_flag_rate: share of decoded prior draws (synthetic normal transactions) the scorer flags; "
            "near the target FPR when the decoder's output looks normal to the scorer."
        )
    y = real[label].to_numpy() if label else None
    if y is None or len(np.unique(y)) < 2:
        notes.append("no labels with both classes in the holdout: ranking metrics and baselines need --label")
        figures["score histogram"] = histogram(scores, None, th)
        return Evaluation(metrics=m, figures=figures, notes=notes)
    m["holdout_frauds"] = int(y.sum())
    m.update(ranking(y, scores))
    m.update(at_threshold(y, scores, th))
    subsets = low_share_draws(y, LOW_SHARE, DRAWS, seed)
    m["at_0_5pct_share"] = ranking_at_share(y, scores, subsets)
    if split is not None:
        ctx = {"label": label, "options": options, "seed": seed, "device": device}
        notes += _against_baselines(m, figures, scorer, real, y, scores, subsets, split, **ctx)
    notes.append(
        f"at_0_5pct_share: the holdout with frauds subsampled to {LOW_SHARE:.1%} of rows, mean of "
        f"{DRAWS} draws (every detector sees the same draws)."
    )
    figures["score histogram"] = histogram(scores, y, th)
    return Evaluation(metrics=m, figures=figures, notes=notes)


def _against_baselines(
    m: dict[str, Any],
    figures: dict[str, bytes],
    scorer: Scorer,
    real: pl.DataFrame,
    y: np.ndarray,
    scores: np.ndarray,
    subsets: list[np.ndarray],
    split: tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame],
    *,
    label: str,
    options: Any,
    seed: int,
    device: str,
) -> list[str]:
    """Classical detectors fitted on the same normal rows, in the same standardised space, into ``m`` and
    ``figures``; the paired bootstrap against the best one; ``--augment``'s head. Returns the notes."""
    features = scorer.schema["features"]
    train, fit_rows, val_rows = split
    fit_rows = complete(fit_rows, features, "training")
    val_rows = complete(val_rows, features, "validation")
    normal = normal_rows(fit_rows, label)

    def std(frame: pl.DataFrame) -> np.ndarray:  # the baselines' space: signed-logged, standardised
        return scorer.standardise(frame.select(features).to_numpy()).astype(np.float64)

    all_train = complete(train, features, "training")
    labelled = (std(all_train), all_train[label].to_numpy())
    # each detector scores the validation rows too, to calibrate its own threshold as the app does
    both = baseline_scores(std(normal), np.vstack([std(val_rows), std(real)]), seed, labelled)
    y_val = val_rows[label].to_numpy()
    base = {name: s[len(val_rows) :] for name, s in both.items()}
    m["baselines"] = {}
    for name, s in base.items():
        m["baselines"][name] = {**ranking(y, s), "at_0_5pct_share": ranking_at_share(y, s, subsets)}
        if not name.endswith("_supervised"):  # the supervised reference trained on the validation rows
            th, _ = C.threshold(both[name][: len(val_rows)], y_val, options)
            m["baselines"][name].update(at_threshold(y, s, th))
    unsup = {k: v for k, v in m["baselines"].items() if not k.endswith("_supervised")}
    best = max(unsup, key=lambda k: unsup[k]["pr_auc"])
    m["best_baseline"] = best
    # the difference to it, and whether it is more than this holdout's noise (paired bootstrap over its rows)
    m["vs_best_baseline"] = {"baseline": best, **paired_bootstrap(y, scores, base[best], seed=seed)}
    v = m["vs_best_baseline"]
    notes = [
        f"against the best unsupervised baseline ({best}), paired bootstrap over the holdout rows (200 "
        f"resamples): ROC-AUC {v['roc_auc']['difference']:+.4f} (95% interval {v['roc_auc']['ci95'][0]:+.4f} "
        f"to {v['roc_auc']['ci95'][1]:+.4f}), PR-AUC {v['pr_auc']['difference']:+.4f} "
        f"({v['pr_auc']['ci95'][0]:+.4f} to {v['pr_auc']['ci95'][1]:+.4f}); an interval containing 0 means "
        "this holdout cannot tell the two apart."
    ]
    figures["precision-recall"] = pr_curves(y, {"fraud AE-GAN": scores, **base})
    notes.append(
        "baselines are fitted on the same normal training rows (signed-log amounts, standardised), and each "
        "unsupervised one gets its own threshold, calibrated on the same validation rows for the same target; "
        "logistic_regression_supervised is trained on all labelled training rows, as a reference only."
    )
    if options.augment:  # opt-in: labels train a supervised head (plugins/fraud/augment.py)
        from ganapps.plugins.fraud.augment import augmented_head

        frauds = fit_rows.filter(pl.col(label) == 1)
        m["augmented_head"] = augmented_head(
            std(normal),
            std(frauds),
            std(real),
            y,
            subsets,
            seed=seed,
            epochs=options.augment_epochs,
            samples=options.augment_samples,
            device=device,
        )
        notes.append(
            "augmented_head (--augment, labels used for training): a logistic regression on the fit "
            "part's normal rows and frauds, 'with_synthetic' adding frauds drawn from a GAN trained on "
            "those frauds, 'without_synthetic' the same rows without them; the score above is unchanged."
        )
    return notes


def real_vs_synthetic(normal: pl.DataFrame, synthetic: pl.DataFrame, features: list[str]) -> dict[str, bytes]:
    """Held-out normal transactions beside the synthetic (decoded) ones, column by column: the
    first 12 features, Amount among them when present."""
    from ganapps.tabular import detect_columns
    from ganapps.tabular.evaluate import column_shape_plots

    cols = ([c for c in features if c == "Amount"] + [c for c in features if c != "Amount"])[:12]
    if not len(normal):
        return {}
    real, syn = normal.select(cols), synthetic.select(cols)
    specs = detect_columns(real, {c: "continuous" for c in cols})
    pages = column_shape_plots(real, syn, specs)
    return {f"held-out normal vs synthetic transactions ({k})": v for k, v in pages.items()}


def histogram(scores: np.ndarray, y: np.ndarray | None, threshold: float) -> bytes:
    """The holdout's scores by class (log density), with the threshold."""
    fig, ax = new_figure(6, 3.2)
    bins = np.linspace(np.nanmin(scores), np.nanmax(scores), 60)
    if y is None:
        ax.hist(scores, bins=bins, color="#4a7ab0", alpha=0.8, label="all rows")
    else:
        ax.hist(scores[y == 0], bins=bins, color="#4a7ab0", alpha=0.7, density=True, label="normal")
        ax.hist(scores[y == 1], bins=bins, color="#c0392b", alpha=0.6, density=True, label="fraud")
    ax.axvline(threshold, color="black", ls="--", lw=1, label="threshold")
    ax.set_yscale("log")
    ax.set_xlabel("fraud score (holdout)")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    return figure_png(fig)


def pr_curves(y: np.ndarray, scores: dict[str, np.ndarray]) -> bytes:
    """Precision–recall curves of the app and each detector on the holdout."""
    from sklearn.metrics import precision_recall_curve

    fig, ax = new_figure(5.5, 4)
    for name, s in scores.items():
        p, r, _ = precision_recall_curve(y, s)
        ax.plot(r, p, lw=2 if name.startswith("fraud") else 1, label=name)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.legend(fontsize=7)
    return figure_png(fig)
