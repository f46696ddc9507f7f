"""Privacy metrics shared by apps: distance to closest record and membership inference.

Inputs are numeric matrices (one row per record) in a comparable scale: standardise with
:func:`standardize` (fitted on the training rows) or encode first.
"""

from __future__ import annotations

import numpy as np
import torch

from ganapps.core.meanings import MetricMeaning
from ganapps.core.metrics.distances import nearest_distances

#: what :func:`dcr` and :func:`membership_inference_auc` report (keys as they return them)
PRIVACY_MEANINGS = {
    "dcr_synthetic_median": MetricMeaning(
        "median distance of a synthetic record to its closest training record",
        "higher",
        "dcr_holdout_median",
        "held-out real",
    ),
    "dcr_holdout_median": MetricMeaning("the same for held-out real records: the distance unseen records keep"),
    "dcr_ratio": MetricMeaning(
        "dcr_synthetic_median / dcr_holdout_median (≪1: synthetic records copy training ones)", "higher", 1.0, "unseen"
    ),
    "dcr_synthetic_p05": MetricMeaning(
        "5th percentile of the synthetic records' distances to the training records",
        "higher",
        "dcr_holdout_p05",
        "held-out real",
    ),
    "dcr_holdout_p05": MetricMeaning("the same for held-out real records"),
    "exact_copy_share": MetricMeaning("share of synthetic records identical to a training record", "lower"),
    "membership_auc": MetricMeaning(
        "AUC of an attacker telling training records from held-out ones by their distance to synthetic records",
        "lower",
        0.5,
        "chance: no leakage",
    ),
}


def standardize(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    """Scale every matrix by the training rows' mean and standard deviation."""
    train = torch.as_tensor(train, dtype=torch.float32)
    mu = train.mean(0, keepdim=True)
    sd = train.std(0, keepdim=True).clamp_min(1e-8)
    return [(train - mu) / sd] + [(torch.as_tensor(o, dtype=torch.float32) - mu) / sd for o in others]


def roc_auc(scores: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor) -> float:
    """Area under the ROC curve via the Mann–Whitney U statistic (ties get average ranks)."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).astype(bool).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def dcr(synthetic: torch.Tensor, train: torch.Tensor, holdout: torch.Tensor) -> dict[str, float]:
    """Distance to closest record: synthetic→train compared with holdout→train.

    Synthetic rows should be no closer to the training rows than unseen real rows are:
    ``dcr_ratio`` (median synthetic→train over median holdout→train) well below 1, or a large
    ``exact_copy_share``, means the generator memorised training records.
    """
    s2t = nearest_distances(synthetic, train)
    h2t = nearest_distances(holdout, train)
    s_med, h_med = float(s2t.median()), float(h2t.median())
    return {
        "dcr_synthetic_median": s_med,
        "dcr_holdout_median": h_med,
        "dcr_ratio": s_med / h_med if h_med > 0 else float("nan"),
        "dcr_synthetic_p05": float(torch.quantile(s2t, 0.05)),
        "dcr_holdout_p05": float(torch.quantile(h2t, 0.05)),
        "exact_copy_share": float((s2t <= 1e-6).float().mean()),
    }


def membership_inference_auc(
    train: torch.Tensor, holdout: torch.Tensor, synthetic: torch.Tensor, seed: int = 0
) -> float:
    """AUC of a distance attack telling training members from held-out non-members.

    The attacker scores each candidate by closeness to its nearest synthetic record; members are
    a random sample of training rows as large as the holdout. 0.5 means no leakage, 1.0 total.
    """
    n = min(len(train), len(holdout))
    if n == 0:
        return float("nan")
    g = torch.Generator().manual_seed(seed)
    members = torch.as_tensor(train)[torch.randperm(len(train), generator=g)[:n]]
    non_members = torch.as_tensor(holdout)[torch.randperm(len(holdout), generator=g)[:n]]
    candidates = torch.cat([members, non_members])
    scores = -nearest_distances(candidates, synthetic).numpy()
    labels = np.r_[np.ones(n), np.zeros(n)]
    return roc_auc(scores, labels)
