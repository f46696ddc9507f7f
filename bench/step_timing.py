"""The Trainer side of the step-time benches (bench/pix2pix_step.py, bench/srgan_step.py): an app
through ``Trainer.fit``, the clock started after ``warmup`` iterations."""

from __future__ import annotations

import time
from typing import Any

from ganapps.core import TrainConfig, Trainer


def trainer_seconds(
    app: Any, data: Any, *, batch_size: int, steps: int, warmup: int, seed: int, log_every: int
) -> float:
    """Seconds for ``steps`` Trainer iterations of ``app`` on ``data`` after ``warmup`` ones (CPU)."""
    cfg = TrainConfig(
        epochs=100,
        batch_size=batch_size,
        seed=seed,
        max_steps=warmup + steps,
        deterministic=False,
        device="cpu",
        log_every=log_every,
    )
    tr = Trainer(app, cfg, progress=False)
    clock = [0.0, 0.0]
    original = tr._iteration

    def timed(phase, batch, logging_step):  # type: ignore[no-untyped-def]
        if tr.global_step == warmup:
            clock[0] = time.perf_counter()
        out = original(phase, batch, logging_step)
        clock[1] = time.perf_counter()
        return out

    tr._iteration = timed  # type: ignore[method-assign]
    tr.fit(data)
    return clock[1] - clock[0]
