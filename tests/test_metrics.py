"""Shared metrics: Fréchet and kernel distances, DCR, membership inference, ROC-AUC."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganapps.core.metrics import dcr, frechet_distance, kernel_distance, membership_inference_auc, roc_auc, standardize


def test_frechet_distance_of_gaussians() -> None:
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=g, dtype=torch.float64)
    b = torch.randn(20000, 3, generator=g, dtype=torch.float64) + torch.tensor([1.0, 2.0, 0.0], dtype=torch.float64)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # same covariance: the distance is |μa − μb|² = 5
    assert frechet_distance(a, b) == pytest.approx(5.0, abs=0.1)
    # scaled covariance σ² = 4 in one dimension: (2 − 1)² = 1 extra
    c = a.clone()
    c[:, 0] *= 2
    assert frechet_distance(a, c) == pytest.approx(1.0, abs=0.1)


def test_kernel_distance() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(500, 4, generator=g), torch.randn(500, 4, generator=g)
    assert abs(kernel_distance(a, b)) < 0.02
    assert kernel_distance(a, b + 2) > 0.5


def test_roc_auc_matches_scikit_learn() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = rng.normal(size=300) + y + rng.integers(0, 3, 300)  # ties included
    s = np.round(s, 1)
    assert roc_auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert roc_auc([1, 2, 3], [0, 0, 0]) != roc_auc([1, 2, 3], [0, 0, 0])  # nan without both classes


def test_dcr_and_membership_inference_detect_copies() -> None:
    g = torch.Generator().manual_seed(0)
    train, holdout = torch.randn(400, 5, generator=g), torch.randn(400, 5, generator=g)
    fresh = torch.randn(400, 5, generator=g)
    copies = train.clone()
    good = dcr(fresh, train, holdout)
    bad = dcr(copies, train, holdout)
    assert good["exact_copy_share"] == 0.0 and bad["exact_copy_share"] == 1.0
    assert good["dcr_ratio"] == pytest.approx(1.0, abs=0.2) and bad["dcr_ratio"] == 0.0
    assert membership_inference_auc(train, holdout, fresh) == pytest.approx(0.5, abs=0.07)
    assert membership_inference_auc(train, holdout, copies) == pytest.approx(1.0)


def test_standardize_uses_training_statistics() -> None:
    train = torch.tensor([[0.0, 10.0], [2.0, 30.0]])
    other = torch.tensor([[1.0, 20.0]])
    t, o = standardize(train, other)
    assert torch.allclose(t.mean(0), torch.zeros(2)) and torch.allclose(o, torch.zeros(1, 2))
