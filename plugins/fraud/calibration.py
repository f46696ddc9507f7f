"""After training: the normal rows' statistics the score needs, and the calibrated threshold (numpy).

- ``normal_statistics``: on the normal fit rows, the codes' mean μ and precision Σ⁻¹ (the latent
  term of the score, see ``model.py``) and the per-dimension residual spread σ_r of the
  reconstruction (what ``generate`` adds to D(z));
- ``define_score``: the score rec + w·lat (``scoring.combine``) and its median on normal rows;
- ``calibrate_threshold`` / ``threshold``: on the validation rows the networks never saw, either the (1 − ``--target-fpr``)
  quantile of the normal rows' scores, or the lowest threshold whose precision reaches
  ``--target-precision``; with what it achieved there (stored in the bundle's ``calibration``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from ganapps.core.errors import DataError
from ganapps.plugins.fraud.scoring import Scorer

log = logging.getLogger("ganapps")


def normal_statistics(scorer: Scorer, x_fit: np.ndarray) -> dict[str, np.ndarray]:
    """``residual_std``, ``latent_mean`` and ``latent_prec`` (float64) of raw normal rows ``x_fit``."""
    xw = scorer.whiten(x_fit)
    z = scorer.encode(xw).astype(np.float64)
    residual = scorer.decode(z).astype(np.float64) - xw
    # p(x | z) = N(D(z), diag(σ²)) with σ the residual spread of normal rows: what generate() draws
    cov = np.cov(z.T).reshape(z.shape[1], z.shape[1]) + 1e-6 * np.eye(z.shape[1])
    return {"residual_std": residual.std(0, ddof=1), "latent_mean": z.mean(0), "latent_prec": np.linalg.inv(cov)}


def define_score(schema: dict[str, Any], scorer: Scorer, x_fit: np.ndarray, latent_weight: float) -> None:
    """Into ``schema``: the score rec + w·lat (a joint Gaussian negative log-density of (x, z), see
    ``scoring.combine``), its median on the normal rows ``x_fit``, and a threshold of 0 until calibrated."""
    schema["score"] = {"kind": "joint", "latent_weight": float(latent_weight)}
    rec, lat = scorer.components(x_fit)
    schema["score"]["normal_fit_median"] = float(np.median(rec + latent_weight * lat))
    schema["threshold"] = 0.0


def calibrate_threshold(schema: dict[str, Any], scorer: Scorer, val: Any, y: np.ndarray | None, o: Any) -> None:
    """Into ``schema``: the threshold calibrated on the validation rows ``val`` (labels ``y`` or None), and
    what it achieved there (``calibration``)."""
    if len(val) == 0:
        raise DataError("data: no complete validation rows to calibrate the threshold on")
    scored = scorer.score(val)["score"].to_numpy()
    schema["threshold"], schema["calibration"] = threshold(scored, y, o)
    c = schema["calibration"]
    log.info("fraud: threshold %.4g calibrated on %d validation rows (%s)", schema["threshold"], len(val), c)


def threshold(scores: np.ndarray, y: np.ndarray | None, o: Any) -> tuple[float, dict[str, Any]]:
    """The calibrated threshold and what it achieved on the validation rows (``o``: the app's options)."""
    normal = scores if y is None else scores[y == 0]
    if o.target_precision is not None:
        assert y is not None
        order = np.argsort(-scores, kind="stable")
        tp = np.cumsum(y[order] == 1)
        precision = tp / np.arange(1, len(order) + 1)
        ok = np.flatnonzero(precision >= o.target_precision)
        if len(ok) and y.sum():
            i = ok.max()
            value = float(scores[order][i])
        else:
            value = float(scores.max())
            log.warning(
                "fraud: no threshold reaches precision %.2f on validation; flagging the top score", o.target_precision
            )
        target = {"target_precision": o.target_precision}
    else:
        value = float(np.quantile(normal, 1 - o.target_fpr, method="higher")) if len(normal) else 0.0
        target = {"target_fpr": o.target_fpr}
    flag = scores >= value
    out: dict[str, Any] = {
        **target,
        "rows": int(len(scores)),
        "fpr": float(flag[y == 0].mean() if y is not None else flag.mean()),
    }
    if y is not None and y.sum():
        out["recall"] = float(flag[y == 1].mean())
        out["precision"] = float((y[flag] == 1).mean()) if flag.any() else float("nan")
    return value, out
