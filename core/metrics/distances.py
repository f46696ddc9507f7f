"""Distances between sets of feature vectors: Fréchet (FID-style), kernel (KID-style), nearest neighbour."""

from __future__ import annotations

import numpy as np
import torch


def _np(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def frechet_distance(a: torch.Tensor | np.ndarray, b: torch.Tensor | np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (the formula of FID).

    ‖μa − μb‖² + tr(Σa) + tr(Σb) − 2·tr((Σa Σb)^½); the trace of the square root is the sum of
    the square roots of the eigenvalues of Σa Σb, which avoids an unstable ``sqrtm``.
    """
    x, y = _np(a), _np(b)
    if len(x) < 2 or len(y) < 2:
        raise ValueError("frechet_distance needs at least two vectors per set")
    mu_x, mu_y = x.mean(0), y.mean(0)
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    cov_x, cov_y = np.atleast_2d(cov_x), np.atleast_2d(cov_y)
    eig = np.linalg.eigvals(cov_x @ cov_y)
    tr_sqrt = np.sqrt(np.clip(eig.real, 0, None)).sum()
    return float(((mu_x - mu_y) ** 2).sum() + np.trace(cov_x) + np.trace(cov_y) - 2 * tr_sqrt)


def kernel_distance(
    a: torch.Tensor | np.ndarray,
    b: torch.Tensor | np.ndarray,
    subsets: int = 10,
    subset_size: int = 1000,
    seed: int = 0,
) -> float:
    """Unbiased squared MMD with the cubic polynomial kernel (the formula of KID), averaged over subsets."""
    x, y = _np(a), _np(b)
    d = x.shape[1]
    m = min(subset_size, len(x), len(y))
    if m < 2:
        raise ValueError("kernel_distance needs at least two vectors per set")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        xs = x[rng.choice(len(x), m, replace=False)]
        ys = y[rng.choice(len(y), m, replace=False)]
        kxx = (xs @ xs.T / d + 1) ** 3
        kyy = (ys @ ys.T / d + 1) ** 3
        kxy = (xs @ ys.T / d + 1) ** 3
        mmd = (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
        values.append(mmd)
    return float(np.mean(values))


def nearest_distances(query: torch.Tensor, ref: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Euclidean distance from each row of ``query`` to its nearest row of ``ref`` (chunked)."""
    q = torch.as_tensor(query, dtype=torch.float32).reshape(len(query), -1)
    r = torch.as_tensor(ref, dtype=torch.float32).reshape(len(ref), -1)
    out = torch.empty(len(q))
    for start in range(0, len(q), chunk):
        block = q[start : start + chunk]
        # cdist's fast matrix-product path finds the neighbour; the distance to it is then
        # recomputed exactly, so identical rows measure 0 (exact copies must be detected)
        nearest = torch.cdist(block, r).argmin(dim=1)
        out[start : start + chunk] = (block - r[nearest]).norm(dim=1)
    return out


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> dict[str, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of feature sets, on k-NN manifolds.

    Each set's manifold is the union of balls around its points with radius the distance to the point's
    k-th nearest neighbour in the same set. Precision: share of ``fake`` inside the real manifold
    (quality); recall: share of ``real`` inside the fake manifold (coverage of the real data).
    """
    r = torch.as_tensor(real, dtype=torch.float32).reshape(len(real), -1)
    f = torch.as_tensor(fake, dtype=torch.float32).reshape(len(fake), -1)
    if min(len(r), len(f)) <= k:
        raise ValueError(f"precision_recall needs more than k = {k} vectors per set")

    def radii(x: torch.Tensor) -> torch.Tensor:  # distance to the k-th neighbour, the point itself excluded
        return torch.cat(
            [torch.cdist(x[a : a + 1024], x).kthvalue(k + 1, dim=1).values for a in range(0, len(x), 1024)]
        )

    def inside(query: torch.Tensor, ref: torch.Tensor, rad: torch.Tensor) -> float:
        hits = [(torch.cdist(query[a : a + 1024], ref) <= rad[None]).any(1) for a in range(0, len(query), 1024)]
        return float(torch.cat(hits).float().mean())

    return {"precision": inside(f, r, radii(r)), "recall": inside(r, f, radii(f))}
