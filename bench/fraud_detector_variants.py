"""How far can any unsupervised detector get past Mahalanobis on the fraud data? (no torch, ~1 min)

The fraud app's quality target asks for a margin over the best classical detector. This script
measures the room for one, on the protocol of ``bench/fraud_quality.py`` (the app's stratified
20% holdout per seed, detectors fitted on the normal rows of 80% of the training split,
signed-log Amount, standardised), for seeds 0-9:

- the split-to-split spread of Mahalanobis itself (a seed changes the split), beside the spread of
  the paired differences between detectors — what a 3-seed mean can and cannot resolve;
- density and distance variants that differ from the Gaussian only where it could be wrong:
  per-direction Student-t likelihoods (fitted ν, three whitening bases), p-norms (p = 3, 4) of the
  whitened rows in the Cholesky (column order), PCA, ZCA and ICA bases, kNN and LOF in the
  whitened space, and their combinations with Mahalanobis.

Each variant's ROC-AUC and PR-AUC, at the data's fraud share and at 0.5% (20 draws, as in the
app), on the validation rows and on the holdout, with the paired difference to Mahalanobis.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/fraud_detector_variants.py
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats
from sklearn.decomposition import FastICA
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

from ganapps.plugins.fraud import metrics as M
from ganapps.plugins.fraud.data import stratified

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fraud" / "creditcard_ulb_subset.csv"
COLS = ("roc_auc", "pr_auc", "roc_auc@0.5%", "pr_auc@0.5%")


def prepared(frame: pl.DataFrame, features: list[str]) -> np.ndarray:
    x = frame.select(features).to_numpy().astype(np.float64)
    j = features.index("Amount")
    x[:, j] = np.sign(x[:, j]) * np.log1p(np.abs(x[:, j]))
    return x


def bases(zn: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Whitening matrices W (rows @ W has identity covariance on the normal rows)."""
    cov = np.cov(zn.T)
    ev, u = np.linalg.eigh(cov)
    pca = u / np.sqrt(ev)
    out = {"chol": np.linalg.inv(np.linalg.cholesky(cov)).T, "pca": pca, "zca": pca @ u.T}
    ica = FastICA(whiten=False, random_state=seed, max_iter=2000).fit(zn @ out["zca"])
    out["ica"] = out["zca"] @ ica.components_.T
    return out


def detectors(zn: np.ndarray, seed: int) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Scores (higher = more suspicious) fitted on standardised normal rows ``zn``."""
    w = bases(zn, seed)
    wn = zn @ w["zca"]
    t_params = {b: [stats.t.fit(c) for c in (zn @ w[b]).T] for b in ("chol", "pca", "zca")}
    knn = NearestNeighbors(n_neighbors=5).fit(wn)
    lof = LocalOutlierFactor(n_neighbors=20, novelty=True).fit(wn)
    mah_n_log_sd = np.log((wn**2).sum(1)).std()
    knn_n_log_sd = np.log(knn.kneighbors(wn, 6)[0][:, 1:].mean(1)).std()

    def mahal(x: np.ndarray) -> np.ndarray:
        return ((x @ w["zca"]) ** 2).sum(1)

    def student_t(b: str) -> Callable[[np.ndarray], np.ndarray]:
        return lambda x: -sum(stats.t.logpdf(c, *p) for c, p in zip((x @ w[b]).T, t_params[b], strict=True))

    def p_norm(b: str, p: int) -> Callable[[np.ndarray], np.ndarray]:
        return lambda x: (np.abs(x @ w[b]) ** p).sum(1)

    out: dict[str, Callable[[np.ndarray], np.ndarray]] = {"mahalanobis": mahal}
    for b in ("chol", "pca", "zca"):
        out[f"student-t per direction ({b})"] = student_t(b)
    for b in ("chol", "pca", "zca", "ica"):
        for p in (3, 4):
            out[f"{p}-norm ({b})"] = p_norm(b, p)
    out["kNN-5 (whitened)"] = lambda x: knn.kneighbors(x @ w["zca"])[0].mean(1)
    out["LOF (whitened)"] = lambda x: -lof.score_samples(x @ w["zca"])
    out["mahalanobis + kNN (whitened; standardised logs)"] = lambda x: (
        np.log(mahal(x)) / mah_n_log_sd + np.log(knn.kneighbors(x @ w["zca"])[0].mean(1)) / knn_n_log_sd
    )
    out["mahalanobis × LOF (whitened)"] = lambda x: np.log(mahal(x)) + np.log(-lof.score_samples(x @ w["zca"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    ap.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    df = pl.read_csv(args.data)
    features = [c for c in df.columns if c != "Class"]
    rows: dict[str, dict[str, list[list[float]]]] = {"validation": {}, "holdout": {}}
    for seed in args.seeds:
        train_idx, hold_idx = stratified(df, "Class", 0.2, seed)  # the app's splits, as in fraud_quality.py
        train, hold = df[train_idx.tolist()], df[hold_idx.tolist()]
        fit_idx, val_idx = stratified(train, "Class", 0.2, seed + 1)
        fit, val = train[fit_idx.tolist()], train[val_idx.tolist()]
        xn = prepared(fit.filter(pl.col("Class") == 0), features)
        mu, sd = xn.mean(0), xn.std(0)
        dets = detectors((xn - mu) / sd, seed)
        for part, frame in (("validation", val), ("holdout", hold)):
            x, y = (prepared(frame, features) - mu) / sd, frame["Class"].to_numpy()
            draws = M.low_share_draws(y, seed=seed)
            for name, fn in dets.items():
                s = fn(x)
                low = [(roc_auc_score(y[i], s[i]), average_precision_score(y[i], s[i])) for i in draws]
                row = [roc_auc_score(y, s), average_precision_score(y, s), *np.mean(low, 0)]
                rows[part].setdefault(name, []).append([float(v) for v in row])
        print(f"seed {seed}: holdout Mahalanobis ROC-AUC {rows['holdout']['mahalanobis'][-1][0]:.4f}", flush=True)
    summary: dict[str, dict[str, dict[str, list[float]]]] = {}
    for part, by_name in rows.items():
        base = np.array(by_name["mahalanobis"])
        print(
            f"\n{part} rows, mean of seeds {args.seeds[0]}-{args.seeds[-1]}; paired difference to Mahalanobis ± s.e. (seeds ahead)"
        )
        print("| detector | " + " | ".join(COLS) + " |")
        print("|---" * (len(COLS) + 1) + "|")
        for name, v in by_name.items():
            v = np.array(v)
            d = v - base
            se = d.std(0, ddof=1) / np.sqrt(len(d))
            summary.setdefault(part, {})[name] = {
                c: [float(v[:, k].mean()), float(d[:, k].mean()), float(se[k]), int((d[:, k] > 0).sum())]
                for k, c in enumerate(COLS)
            }
            cells = (
                f"{v[:, k].mean():.4f}"
                + ("" if name == "mahalanobis" else f" ({d[:, k].mean():+.4f} ± {se[k]:.4f}, {(d[:, k] > 0).sum()})")
                for k in range(len(COLS))
            )
            print(f"| {name} | " + " | ".join(cells) + " |")
    mah = np.array(rows["holdout"]["mahalanobis"])
    print(
        f"\nMahalanobis holdout ROC-AUC across splits: mean {mah[:, 0].mean():.4f}, std {mah[:, 0].std(ddof=1):.4f}, "
        f"range {mah[:, 0].min():.4f}-{mah[:, 0].max():.4f}; PR-AUC std {mah[:, 1].std(ddof=1):.4f}"
    )
    Path(args.out).write_text(json.dumps({"seeds": args.seeds, "summary": summary, "per_seed": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
