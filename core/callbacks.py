"""Trainer callbacks: hooks around the loop, and the two the CLI offers (``--eval-every``, ``--patience``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganapps.core.trainer import Trainer

log = logging.getLogger("ganapps.trainer")  # the Trainer's logger: callbacks speak for the loop


class Callback:
    """Hooks called by the Trainer; state returned by ``state_dict`` is checkpointed."""

    def on_train_start(self, trainer: Trainer) -> None:
        """Called once before the first step (also after a resume)."""

    def on_epoch_end(self, trainer: Trainer, phase: int, epoch: int) -> None:
        """Called after each completed epoch, before the epoch checkpoint is written."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""


class EvaluateEvery(Callback):
    """Generate and evaluate every ``every`` epochs of the last phase; log ``eval/<metric>``."""

    def __init__(self, every: int, real: Any, n_samples: int) -> None:
        self.every = every
        self.real = real
        self.n_samples = n_samples

    def on_epoch_end(self, trainer: Trainer, phase: int, epoch: int) -> None:
        if phase != len(trainer.phases) - 1 or (epoch + 1) % self.every or not trainer.dist.is_main:
            return
        with trainer.inference():
            synthetic = trainer.app.generate(self.n_samples)
            evaluation = trainer.app.evaluate(self.real, synthetic)
        flat = {f"eval/{k}": v for k, v in flat_metrics(evaluation.metrics).items()}
        record = {"step": trainer.global_step, "phase": trainer.phases[phase].name, "epoch": epoch + 1, **flat}
        trainer.history.append(record)
        trainer.log.append(record)
        trainer.last_eval = evaluation.metrics
        trainer.last_eval_step = trainer.global_step
        log.info("epoch %d: %s", epoch + 1, ", ".join(f"{k}={v:.4g}" for k, v in flat.items()))


def flat_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric metrics, nested dicts included, as ``{"a/b": value}`` (lists and strings left out)."""
    out: dict[str, float] = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            out.update(flat_metrics(v, f"{prefix}{k}/"))
        elif isinstance(v, int | float):
            out[f"{prefix}{k}"] = float(v)
    return out


class EarlyStopping(Callback):
    """Stop when the app's ``monitor`` metric (a nested one as ``"a/b"``) has not improved for ``patience``
    evaluations."""

    def __init__(self, patience: int, monitor: tuple[str, str]) -> None:
        self.patience = patience
        self.key, self.mode = monitor
        self.best: float | None = None
        self.bad = 0
        self.seen_step = -1

    def on_epoch_end(self, trainer: Trainer, phase: int, epoch: int) -> None:
        metrics = flat_metrics(trainer.last_eval)
        if trainer.last_eval_step == self.seen_step or self.key not in metrics:
            return
        self.seen_step = trainer.last_eval_step
        value = metrics[self.key]
        better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        if better:
            self.best, self.bad = value, 0
            return
        self.bad += 1
        if self.bad >= self.patience:
            trainer.should_stop = True
            trainer.stop_reason = (
                f"early stopping: {self.key} did not improve for {self.patience} evaluations (best {self.best:.4g})"
            )
            log.info(trainer.stop_reason)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "bad": self.bad, "seen_step": self.seen_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.bad, self.seen_step = state.get("best"), state.get("bad", 0), state.get("seen_step", -1)
