"""ganapps ``medgan`` vs SDV's ``CTGANSynthesizer`` on wide binary patient × code matrices.

Both systems train on the *same* matrix (the training patients of a split by patient, seed 0,
20% held out), one after the other in this process (never concurrently). Wall time covers
everything from the matrix to a synthetic sample: medGAN's load/fit, autoencoder pre-training and
adversarial training through the core Trainer (checkpointing into a temporary run directory and
sizing epochs as `ganapps run` does) and generation; SDV's metadata, fit (RDT transformers, CTGAN)
and sampling. Both are judged by the same functions (plugins/medgan/metrics.py, core metrics):
dimension-wise probability r / RMSE against the training patients (the medGAN paper's protocol)
and against the held-out ones, co-occurrence r, and the distance-based membership-inference AUC.

Matrices:
  mimic      the MIMIC-III demo DIAGNOSES_ICD.csv (../shared/data/ehr/mimic3_demo) as an 80 × 528
             binary matrix (64 training patients)
  comorbid   GENERATED here (not real data): 5,000 patients × 300 codes from a documented
             comorbidity model (comorbidity_matrix below): 12 latent disease clusters, each switching
             on its own 8-40 codes with code-specific probabilities, over Zipf-like background
             prevalences

    python bench/medgan_vs_sdv.py                                  # both matrices, both systems
    python bench/medgan_vs_sdv.py --matrices mimic --ctgan-epochs mimic=20
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", REPO.parent / "shared" / "data"))

#: CTGAN epochs per matrix (its default is 300; see the notes in bench/RESULTS.md)
CTGAN_EPOCHS = {"mimic": 100, "comorbid": 30}


def comorbidity_matrix(n: int = 5000, d: int = 300, clusters: int = 12, seed: int = 0) -> np.ndarray:
    """Generated patients × codes (0/1): latent disease clusters over background prevalences.

    Background: code j is present with probability 0.002 + 0.05 / (1 + j/10) (Zipf-like).
    Clusters: cluster c is active in a patient with probability 0.03-0.35; it owns 8-40 random codes,
    each switched on with probability U(0.2, 0.9) when the cluster is active. A code is present when
    the background or any active cluster switches it on.
    """
    rng = np.random.default_rng(seed)
    background = 0.002 + 0.05 / (1 + np.arange(d) / 10)
    rng.shuffle(background)
    p_code = np.zeros((clusters, d))
    for c in range(clusters):
        own = rng.choice(d, rng.integers(8, 41), replace=False)
        p_code[c, own] = rng.uniform(0.2, 0.9, len(own))
    active = rng.random((n, clusters)) < rng.uniform(0.03, 0.35, clusters)
    p_absent = (1 - background) * np.prod(1 - active[:, :, None] * p_code[None], axis=1)
    return (rng.random((n, d)) >= p_absent).astype(np.int64)


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(train, holdout) wide 0/1 tables split by patient (seed 0), and a label."""
    from ganapps.plugins.medgan.data import load_codes, split_by_patient

    if name == "mimic":
        m, _, _ = load_codes(SHARED / "ehr" / "mimic3_demo" / "DIAGNOSES_ICD.csv")
        label = "MIMIC-III demo DIAGNOSES_ICD, wide binary"
    elif name == "comorbid":
        x = comorbidity_matrix()
        keep = x.sum(0) > 0
        frame = pl.DataFrame({f"c{j:03d}": x[:, j] for j in np.nonzero(keep)[0]})
        m, _, _ = load_codes(frame, fmt="wide")
        label = "generated comorbidity model (not real data), wide binary"
    else:
        raise SystemExit(f"unknown matrix {name!r}")
    train, hold = split_by_patient(m, 0.2, seed=0)

    def frame(part: Any) -> pd.DataFrame:
        return pd.DataFrame((part.x > 0).numpy().astype(np.int64), columns=part.codes)

    return frame(train), frame(hold), label


def run_medgan(
    train: pd.DataFrame,
    n: int,
    seed: int,
    settings: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
) -> tuple[np.ndarray, float, dict[str, Any]]:
    """medGAN fitted on ``train`` as ``ganapps run`` does, ``n`` rows drawn: (rows, seconds, info).
    ``settings`` adds engine settings (bench/dp_utility.py: ``dp_epsilon``), ``options`` app options."""
    from ganapps.core.devices import seed_everything
    from ganapps.core.pipeline import make_configs, sized_epochs
    from ganapps.core.rundir import RunDir
    from ganapps.core.trainer import Trainer
    from ganapps.plugins.medgan.app import MedGAN

    torch.manual_seed(seed)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        options, cfg = make_configs(
            MedGAN, {"format": "wide", **(options or {})}, {"device": "cpu", "seed": seed, **(settings or {})}
        )
        app = MedGAN(options)
        app.train_config = cfg
        data = app.load_data(pl.from_pandas(train) if _has_pyarrow() else pl.DataFrame(train.to_dict("list")))
        app.fit(data)
        dataset = app.dataset(data)
        cfg.epochs = sized_epochs(MedGAN, cfg, len(dataset))[0]  # as `ganapps run` sizes them
        trainer = Trainer(app, cfg, run_dir=RunDir.create(Path(tmp) / "run", "medgan"), progress=False)
        result = trainer.fit(dataset)
        trainer.finalize()
        seed_everything(seed)
        synthetic = app.generate(n)
        seconds = time.perf_counter() - start
    x = synthetic.align(list(train.columns)).numpy()
    info = {
        "epochs": cfg.epochs,
        "ae_epochs": app.autoencoder_epochs(),
        "batch_size": cfg.batch_size,
        "steps": result.steps,
        "train_seconds": round(result.seconds, 2),
        "privacy": result.privacy,
    }
    return x, seconds, info


def run_ctgan(train: pd.DataFrame, n: int, epochs: int, seed: int) -> tuple[np.ndarray, float, dict[str, Any]]:
    from sdv.metadata import Metadata
    from sdv.single_table import CTGANSynthesizer

    torch.manual_seed(seed)
    np.random.seed(seed)
    start = time.perf_counter()
    metadata = Metadata.detect_from_dataframes({"t": train})  # SDV 2.x: data as {table: frame}
    metadata.update_columns(column_names=list(train.columns), sdtype="categorical", table_name="t")
    synth = CTGANSynthesizer(metadata, epochs=epochs, verbose=False, enable_gpu=False)
    synth.fit({"t": train})
    sample = synth.sample(n)
    sample = sample["t"] if isinstance(sample, dict) else sample
    seconds = time.perf_counter() - start
    x = sample[list(train.columns)].astype(np.int64).to_numpy()
    return x, seconds, {"epochs": epochs, "batch_size": 500}


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def judge(train: np.ndarray, hold: np.ndarray, syn: np.ndarray) -> dict[str, float]:
    from ganapps.core.metrics import membership_inference_auc
    from ganapps.plugins.medgan import metrics as M

    t, h, s = (np.asarray(a > 0, dtype=np.float64) for a in (train, hold, syn))
    on_train, on_hold = M.dimension_wise_probability(t, s), M.dimension_wise_probability(h, s)
    return {
        "dim_prob_r": round(on_train["pearson_r"], 4),
        "dim_prob_rmse": round(on_train["rmse"], 5),
        "dim_prob_r_holdout": round(on_hold["pearson_r"], 4),
        "real_train_vs_holdout_r": round(M.dimension_wise_probability(t, h)["pearson_r"], 4),
        "cooccurrence_r": round(M.cooccurrence(t, s), 4),
        "membership_auc": round(membership_inference_auc(*(torch.as_tensor(a).float() for a in (t, h, s)), seed=0), 4),
        "codes_per_patient": round(float(s.sum(1).mean()), 2),
        "codes_per_patient_real": round(float(t.sum(1).mean()), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--matrices", default="mimic,comorbid")
    ap.add_argument("--systems", default="medgan,ctgan")
    ap.add_argument("--ctgan-epochs", action="append", default=[], metavar="MATRIX=N")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(REPO / "bench" / "medgan_vs_sdv.json"))
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    epochs = dict(CTGAN_EPOCHS)
    for item in args.ctgan_epochs:
        k, v = item.split("=")
        epochs[k] = int(v)
    results = []
    for name in args.matrices.split(","):
        train, hold, label = load(name)
        n = max(len(train), 1000)
        row: dict[str, Any] = {"matrix": name, "label": label, "train": list(train.shape), "holdout": len(hold)}
        for system in args.systems.split(","):
            if system == "medgan":
                x, sec, info = run_medgan(train, n, args.seed)
            else:
                x, sec, info = run_ctgan(train, n, epochs[name], args.seed)
            row[system] = {"seconds": round(sec, 2), **info, **judge(train.to_numpy(), hold.to_numpy(), x)}
            print(json.dumps({name: {system: row[system]}}), flush=True)
        if "medgan" in row and "ctgan" in row:
            row["speedup"] = round(row["ctgan"]["seconds"] / row["medgan"]["seconds"], 2)
        results.append(row)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
