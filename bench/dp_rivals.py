"""One smartnoise-synth fit for bench/dp_utility.py, run by the smartnoise venv's python (not ganapps').

Reads a training CSV and a JSON job, fits DP-CTGAN, PATE-CTGAN or MST at the asked (ε, δ), draws
rows and writes them as CSV beside a JSON of timings. smartnoise-synth pins opacus < 0.15 and
cannot share a venv with ganapps (torch 2.14.1, opacus 1.6); bench/README.md has the venv recipe.

The job's ``epsilon`` is the *total* budget: smartnoise spends ``preprocessor_eps`` (a share of it)
on the bounds of continuous columns and subtracts what it spent from the synthesizer's ε, so the
whole fit spends exactly ``epsilon`` (pure ε for the bounds, then (ε_rest, δ) for training).

    /work/venv-smartnoise/bin/python bench/dp_rivals.py JOB.json
"""

from __future__ import annotations

import json
import random
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def make(job: dict) -> object:
    """The synthesizer of ``job`` at its documented defaults, except epochs / δ where the job says."""
    from snsynth import Synthesizer

    name, eps, delta = job["synth"], float(job["epsilon"]), float(job["delta"])
    if name == "mst":
        return Synthesizer.create("mst", epsilon=eps, delta=delta)
    kwargs = {"epsilon": eps, "delta": delta, "cuda": False, "verbose": False}
    if job.get("epochs"):
        kwargs["epochs"] = int(job["epochs"])
    return Synthesizer.create(name, **kwargs)


def main(path: str) -> None:
    job = json.loads(Path(path).read_text())
    warnings.filterwarnings("ignore")
    seed = int(job["seed"])
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(int(job.get("threads", 2)))
    categorical, continuous = job["categorical"], job["continuous"]
    data = pd.read_csv(job["train"], dtype={c: str for c in categorical}, keep_default_na=False, na_values=[""])
    for c in categorical:  # a missing category is a category of its own, as in ganapps' transformer
        data[c] = data[c].fillna("<missing>")
    nullable = bool(data[continuous].isna().any().any()) if continuous else False
    start = time.perf_counter()
    synth = make(job)
    pre_eps = float(job["epsilon"]) * float(job["preprocessor_share"]) if continuous else 0.0
    synth.fit(
        data,
        categorical_columns=categorical,
        continuous_columns=continuous,
        preprocessor_eps=pre_eps,
        nullable=nullable,
    )
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    sample = synth.sample(int(job["rows"]))
    sample = sample if isinstance(sample, pd.DataFrame) else pd.DataFrame(sample, columns=list(data.columns))
    for c in categorical:
        sample[c] = sample[c].astype(str).replace({"<missing>": ""})
    sample[list(data.columns)].to_csv(job["out"], index=False)
    info = {
        "fit_seconds": fit_seconds,
        "sample_seconds": time.perf_counter() - start,
        "epsilon_total": float(job["epsilon"]),
        "preprocessor_eps": pre_eps,
        "epsilon_training": float(getattr(synth, "epsilon", float("nan"))),
        "delta": float(job["delta"]),
        "epochs": job.get("epochs"),
    }
    spent = list(getattr(synth, "epsilon_list", []))  # DP-CTGAN: ε spent, checked before each epoch
    if spent:  # it trains an epoch whenever the check passes, so the last value can exceed the asked ε
        stopped = spent[-1] > float(synth.epsilon)  # else it ran out of epochs, ε not all spent
        info.update(epochs_trained=len(spent) - int(stopped), epsilon_spent_training=float(spent[-1]))
    Path(job["info"]).write_text(json.dumps(info))


if __name__ == "__main__":
    main(sys.argv[1])
