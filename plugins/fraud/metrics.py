"""Detection metrics and the classical baselines the fraud app is compared with in every run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

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
