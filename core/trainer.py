"""The Trainer: one readable loop that runs any app's phases and steps.

The app says *what* to compute (losses per step); the Trainer does everything around it:
device placement, mixed precision, freezing the networks a step does not update, backward,
gradient clipping, optimizer and scheduler steps, generator EMA, step logging, checkpoints that
resume bit-for-bit, evaluation callbacks, early stopping, and loss-based diagnostics. Started by
torchrun, the same loop trains data-parallel (core/distributed.py explains how and why it is exact).
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import torch
from torch import nn
from tqdm.auto import tqdm

from ganapps.core.app import App, Diagnostic, Phase, Step
from ganapps.core.callbacks import Callback
from ganapps.core.checkpoint import load_checkpoint, save_checkpoint
from ganapps.core.config import TrainConfig, validate_train
from ganapps.core.data import Batches, TensorData
from ganapps.core.devices import (
    amp_dtype,
    autocast,
    eval_mode,
    resolve_device,
    rng_state,
    seed_everything,
    set_rng_state,
)
from ganapps.core.diagnostics import check_training
from ganapps.core.distributed import (
    DistInfo,
    Replicas,
    broadcast_flag,
    current,
    gather_rng,
    mean_values,
    rank_seed,
    training_device,
)
from ganapps.core.ema import EMA
from ganapps.core.errors import ConfigError, GanappsError
from ganapps.core.regularizers import loss_scale
from ganapps.core.rundir import MetricsLog, RunDir

log = logging.getLogger("ganapps.trainer")

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}


class TrainingError(GanappsError):
    """Training cannot go on (e.g. the losses became NaN)."""


@dataclass
class TrainResult:
    """What a training run produced besides the trained networks."""

    steps: int
    seconds: float
    history: list[dict[str, Any]]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    stopped_early: bool = False
    interrupted: bool = False
    #: under --dp-epsilon: ε spent and the budget's parameters (core/privacy.py's DPSGD.summary)
    privacy: dict[str, Any] | None = None


class Trainer:
    """Train ``app`` with ``config``; write logs and checkpoints into ``run_dir`` when given."""

    def __init__(
        self,
        app: App,
        config: TrainConfig,
        *,
        run_dir: RunDir | None = None,
        callbacks: Sequence[Callback] = (),
        progress: bool = True,
        dist: DistInfo | None = None,
    ) -> None:
        self.app = app
        self.config = validate_train(config)
        self.run_dir = run_dir
        self.callbacks = list(callbacks)
        self.progress = progress
        self.dist = dist or current()
        self.history: list[dict[str, Any]] = []
        self.should_stop = False
        self.stop_reason = ""
        self.global_step = 0
        self.phase_step = 0
        self.position = (0, 0, 0)  # (phase, epoch, next batch) — where a resume starts
        self.last_eval: dict[str, Any] = {}
        self.last_eval_step = -1
        self._active: tuple[str, tuple[str, ...]] | None = None
        self._freeze_plans: dict[tuple[str, tuple[str, ...]], list[tuple[nn.Parameter, bool]]] = {}
        self._elapsed_before = 0.0
        self._nonfinite = 0
        self._sigint = False
        self._schedule_total = 0
        self.replicas: Replicas | None = None  # DDP wrappers of a distributed run
        self.privacy: Any = None  # core/privacy.py's DPSGD under --dp-epsilon
        is_writer = run_dir is not None and self.dist.is_main
        self.log = MetricsLog(run_dir.log_path if is_writer else None)

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        """Seed, pick the device, build networks, optimizers, scalers, schedulers and EMA."""
        cfg, app = self.config, self.app
        self.device = (
            training_device(cfg.device, self.dist.local_rank) if self.dist.enabled else resolve_device(cfg.device)
        )
        self.amp = amp_dtype(self.device, cfg.amp)
        seed_everything(cfg.seed, cfg.deterministic)
        app.device = self.device
        app.train_config = cfg
        if len(app.nets) == 0:
            app.nets = nn.ModuleDict(app.build())
        app.nets.to(self.device).train()

        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.owned: dict[str, frozenset[str]] = {}
        self.params: dict[str, list[nn.Parameter]] = {}
        self.schedulers: dict[str, torch.optim.lr_scheduler.LambdaLR] = {}
        for spec in app.configure_optimizers():
            missing = [n for n in spec.networks if n not in app.nets]
            if missing:
                raise ConfigError(f"optimizer {spec.name!r} of app {app.name} names unknown network {missing[0]!r}")
            params = [p for n in spec.networks for p in app.nets[n].parameters()]
            lr = cfg.lr.get(spec.name, cfg.lr.get("*", spec.lr))
            kwargs: dict[str, Any] = {"lr": lr, "weight_decay": spec.weight_decay}
            if spec.algorithm in ("adam", "adamw"):
                kwargs["betas"] = spec.betas
                kwargs["fused"] = spec.fused or None
            self.optimizers[spec.name] = OPTIMIZERS[spec.algorithm](params, **kwargs)
            self.owned[spec.name] = frozenset(spec.networks)
            self.params[spec.name] = params
            if spec.schedule is not None:
                self.schedulers[spec.name] = torch.optim.lr_scheduler.LambdaLR(
                    self.optimizers[spec.name], spec.schedule
                )
        unknown_lr = set(cfg.lr) - set(self.optimizers) - {"*"}
        if unknown_lr:
            names = ", ".join(self.optimizers)
            raise ConfigError(f"option --lr: {app.name} has no optimizer {sorted(unknown_lr)[0]!r} (it has {names})")

        fp16 = self.amp == torch.float16
        self.scalers = {name: torch.amp.GradScaler("cuda") for name in self.optimizers} if fp16 else {}
        ema_nets = {n: app.nets[n] for n in app.ema_networks if n in app.nets} if cfg.ema > 0 else {}
        self.ema = EMA(ema_nets, cfg.ema) if ema_nets else None

        self.phases: list[Phase] = app.phases()
        for phase in self.phases:
            for step in phase.steps:
                if step.optimizer not in self.optimizers:
                    raise ConfigError(f"step {step.name!r} of app {app.name} uses unknown optimizer {step.optimizer!r}")
                unknown = [n for n in step.differentiable if n not in app.nets]
                if unknown:
                    raise ConfigError(f"step {step.name!r} of app {app.name} names unknown network {unknown[0]!r}")
        if cfg.unroll > 0:  # the generator step looks K discriminator updates ahead (core/unroll.py)
            from ganapps.core.unroll import install

            install(app, self.phases, self.owned, self.optimizers, cfg, self.dist.world, self.amp)
        self.roles = {s.name: s.role for p in self.phases for s in p.steps}
        self._freeze_plans = {}  # built on first use, once the networks are final
        if self.dist.enabled:
            # Same networks in every process (same seed above), wrapped for gradient averaging;
            # then each process draws its own noise (core/distributed.py).
            trained = {n for names in self.owned.values() for n in names}
            self.replicas = Replicas(app.nets, trained, self.device, cfg.sync_bn)
            seed_everything(rank_seed(cfg.seed, self.dist.rank), cfg.deterministic)

    # ------------------------------------------------------------------- train
    def fit(self, data: TensorData | torch.utils.data.Dataset, resume: str | None = None) -> TrainResult:
        """Run every phase to its last epoch (or until stopped); resume from a checkpoint path."""
        self.setup()
        with self._deferred_sigint():
            return self._fit(data, resume)

    def _fit(self, data: TensorData | torch.utils.data.Dataset, resume: str | None) -> TrainResult:
        cfg = self.config
        if not self.phases:  # an app that learns in fit() (e.g. a wrapped external synthesizer)
            return TrainResult(steps=0, seconds=0.0, history=[])
        batches = self._batches(data)
        if resume:
            self._restore(load_checkpoint(resume))
        for cb in self.callbacks:
            cb.on_train_start(self)
        total = self._schedule_total = sum(p.epochs for p in self.phases) * len(batches)
        if cfg.max_steps:
            total = min(total, cfg.max_steps)
        bar = _Bar(total, self.global_step, self.progress and self.dist.is_main)
        start = time.perf_counter()
        self._last_save = start
        try:
            self._loop(batches, bar, start)
            self.save_checkpoint(start)
        except _Interrupted:
            log.warning("interrupted after step %d; checkpoint saved", self.global_step)
            raise KeyboardInterrupt from None
        except KeyboardInterrupt:
            # interrupted in the middle of an iteration: its state is half-updated, so the
            # last checkpoint stands (see checkpoint_seconds / --checkpoint-every)
            log.warning("interrupted during step %d; resuming starts from the last checkpoint", self.global_step + 1)
            raise
        finally:
            bar.close()
            self.log.close()
        seconds = self._elapsed_before + time.perf_counter() - start
        return TrainResult(
            steps=self.global_step,
            seconds=seconds,
            history=self.history,
            diagnostics=check_training(self.history, self.roles),
            stopped_early=self.should_stop and not self.stop_reason.startswith("reached --max-steps"),
            privacy=self.privacy.summary() if self.privacy is not None else None,
        )

    def _batches(self, data: TensorData | torch.utils.data.Dataset) -> Any:
        """The training batches; under --dp-epsilon, Poisson samples of the rows and the DP-SGD set-up."""
        cfg = self.config
        if cfg.dp_epsilon <= 0:
            return Batches(
                data, cfg.batch_size, cfg.seed, self.device, cfg.num_workers, self.dist.rank, self.dist.world
            )
        from ganapps.core.privacy import DPSGD, PoissonBatches, check_settings

        check_settings(type(self.app), cfg, self.dist.world)
        batches = PoissonBatches(data, cfg.batch_size, cfg.seed, self.device)
        self.privacy = DPSGD(self.app, cfg, self.optimizers, self.owned, self.phases, batches)
        self.app.privacy = self.privacy.plan
        return batches

    def _loop(self, batches: Batches, bar: _Bar, start: float) -> None:
        """Follow the schedule from ``self.position`` to its end, or until the run stops."""
        for tick in schedule([p.epochs for p in self.phases], self.position, batches.epoch):
            if tick.kind == "phase":
                self.phase_step = 0  # `every` counts iterations within a phase
            elif tick.kind == "epoch":
                phase = self.phases[tick.phase]
                bar.describe(f"{phase.name} {tick.epoch + 1}/{phase.epochs}")
                progress = self.app.progress
                progress.phase, progress.epoch = phase.name, tick.epoch
                progress.phase_steps = phase.epochs * len(batches)
            elif tick.kind == "batch":
                if self._train_batch(tick, bar, start):
                    return
            else:
                self._end_epoch(tick.phase, tick.epoch, start)
                if self.should_stop:
                    return

    def _train_batch(self, tick: Tick, bar: _Bar, start: float) -> bool:
        """One iteration and what follows it (log record, progress, checkpoint); True when --max-steps
        stops the run. Raises :class:`_Interrupted` after a deferred Ctrl-C."""
        cfg = self.config
        logging_step = (self.global_step + 1) % cfg.log_every == 0
        losses = self._iteration(self.phases[tick.phase], tick.batch, logging_step)
        self.global_step += 1
        self.position = (tick.phase, tick.epoch, tick.index + 1)
        if logging_step:
            self._record(tick.phase, tick.epoch, losses, start)
        bar.step(losses)
        if cfg.checkpoint_every and self.global_step % cfg.checkpoint_every == 0:
            self.save_checkpoint(start)
        if cfg.max_steps and self.global_step >= cfg.max_steps:
            self.should_stop, self.stop_reason = True, f"reached --max-steps {cfg.max_steps}"
            return True
        if self.privacy is not None and self.privacy.exhausted and self.global_step < self._schedule_total:
            plan = self.privacy.plan
            self.should_stop = True
            self.stop_reason = f"privacy budget spent: ε = {plan.epsilon:g} after {plan.steps} private steps"
            self.save_checkpoint(start)
            return True
        if self._interrupted():
            # Ctrl-C arrived during this iteration: it is complete, so the
            # checkpoint is consistent and a resume continues exactly here.
            self.save_checkpoint(start)
            raise _Interrupted
        return False

    @contextlib.contextmanager
    def _deferred_sigint(self) -> Iterator[None]:
        """Let a first Ctrl-C finish the current iteration (then checkpoint and stop); a second aborts."""
        self._sigint = False
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.getsignal(signal.SIGINT)

        def handler(signum: int, frame: Any) -> None:
            if self._sigint:
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            self._sigint = True
            log.warning("stopping after this step to save a checkpoint (Ctrl-C again to abort at once)")

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _interrupted(self) -> bool:
        # Ctrl-C reaches the processes of a distributed run at slightly different moments: all of
        # them stop together, after the iteration that follows the first one in which any saw it.
        return self.replicas.anyone(self._sigint) if self.replicas is not None else self._sigint

    def _iteration(self, phase: Phase, batch: Any, logging_step: bool) -> dict[str, float]:
        self.phase_step += 1
        self.app.progress.phase_step = self.phase_step
        self.app.progress.global_step = self.global_step
        out: dict[str, float] = {}
        for step in phase.steps:
            if self.phase_step % step.every == 0:
                if self.privacy is None:
                    out.update(self._update(step, batch, logging_step))
                elif self.privacy.sees_data(step):
                    with self.privacy.step(step, batch):
                        out.update(self._update(step, batch, logging_step))
                else:  # under DP only the private steps see real rows
                    out.update(self._update(step, None, logging_step))
        if self.replicas is not None:
            self.replicas.sync_buffers()
        return out

    def _update(self, step: Step, batch: Any, logging_step: bool) -> dict[str, float]:
        """One optimizer update: forward (app), backward, clip, step, EMA (engine)."""
        cfg = self.config
        opt = self.optimizers[step.optimizer]
        self._train_only(step.optimizer, step.differentiable)
        scaler = self.scalers.get(step.optimizer)
        # fp16: gradient penalties inside the step follow the AMP recipe (core/regularizers.py)
        scale = loss_scale(scaler.get_scale()) if scaler else contextlib.nullcontext()
        with autocast(self.device, self.amp), self._replicated(step.optimizer), scale:
            losses = step.fn(batch)
        loss = losses["loss"]
        opt.zero_grad(set_to_none=True)
        (scaler.scale(loss) if scaler else loss).backward()
        norm = None
        if cfg.grad_clip > 0 or logging_step:
            if scaler:
                scaler.unscale_(opt)
            params = self.params[step.optimizer]
            if cfg.grad_clip > 0:
                norm = nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            else:
                grads = [p.grad for p in params if p.grad is not None]
                norm = nn.utils.get_total_norm(grads) if grads else None
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        if step.ema and self.ema is not None:
            self.ema.update()
        if not logging_step:
            return {}
        record = {f"{step.name}/{k}": _scalar(v) for k, v in losses.items()}
        if self.dist.enabled:  # each process computed its losses on its own shard: log their mean
            record = mean_values(record)
        if norm is not None:
            record[f"grad_norm/{step.name}"] = float(norm)
        self._check_finite(step, record[f"{step.name}/loss"])
        return record

    def _replicated(self, optimizer: str) -> contextlib.AbstractContextManager:
        # In a distributed run the networks this optimizer updates are DDP wrappers during the step.
        return self.replicas.step(self.owned[optimizer]) if self.replicas is not None else contextlib.nullcontext()

    def _train_only(self, optimizer: str, differentiable: tuple[str, ...] = ()) -> None:
        # Freeze the networks this optimizer does not own: no wasted gradients for D during the
        # generator step (and for G during the discriminator step, even if the app forgot .detach()),
        # unless the step keeps a network differentiable to reuse its output in a later step.
        key = (optimizer, differentiable)
        if self._active == key:
            return
        plan = self._freeze_plans.get(key)
        if plan is None:
            plan = self._freeze_plans[key] = self._freeze_plan(optimizer, differentiable)
        for p, trainable in plan:
            if p.requires_grad != trainable:
                p.requires_grad_(trainable)
        self._active = key

    def _freeze_plan(self, optimizer: str, differentiable: tuple[str, ...]) -> list[tuple[nn.Parameter, bool]]:
        """Every parameter with the ``requires_grad`` that setting it network by network, in order,
        leaves (a parameter two networks share ends as the later one says)."""
        trainable = self.owned[optimizer] | set(differentiable)
        plan: dict[nn.Parameter, bool] = {}
        for name, net in self.app.nets.items():
            for p in net.parameters():
                plan[p] = name in trainable
        return list(plan.items())

    def _check_finite(self, step: Step, value: float) -> None:
        if math.isfinite(value):
            self._nonfinite = 0
            return
        self._nonfinite += 1
        if self._nonfinite >= 10:
            raise TrainingError(
                f"the {step.name} loss is {value} for 10 logged steps in a row (step {self.global_step}); "
                "lower the learning rates (--lr), turn on --grad-clip 1.0 or use --amp off"
            )

    def _record(self, phase: int, epoch: int, losses: dict[str, float], start: float) -> None:
        record = {
            "step": self.global_step,
            "phase": self.phases[phase].name,
            "epoch": epoch + 1,
            "time": round(self._elapsed_before + time.perf_counter() - start, 4),
            **losses,
        }
        self.history.append(record)
        self.log.append(record)

    def _end_epoch(self, pi: int, epoch: int, start: float) -> None:
        phase = self.phases[pi]
        used = {s.optimizer for s in phase.steps}
        for name, sched in self.schedulers.items():
            if name in used:
                sched.step()
        self.position = (pi, epoch + 1, 0)
        if pi == len(self.phases) - 1 and self.dist.is_main and self.run_dir is not None:
            with self.inference():
                figures = self.app.epoch_figures(epoch + 1)
            if figures:
                from ganapps.core.io import write_bytes

                for name, png in figures.items():
                    write_bytes(self.run_dir.samples / f"{name}_epoch{epoch + 1:03d}.png", png)
        for cb in self.callbacks:
            cb.on_epoch_end(self, pi, epoch)
        if self.dist.enabled:  # rank 0 alone evaluates; every process stops when it says so
            self.should_stop = broadcast_flag(self.should_stop)
        self.log.flush()
        # Writing every net and optimizer state can cost more than a short epoch (a 64-patient
        # medGAN epoch is one step), so mid-phase epochs checkpoint at most every
        # `checkpoint_seconds`; a resume replays the epochs since, bit for bit (RNG is saved).
        every = self.config.checkpoint_seconds
        due = every <= 0 or epoch + 1 == phase.epochs or self.should_stop
        if not due:
            due = time.perf_counter() - self._last_save >= every
            if self.dist.enabled:  # save_checkpoint is collective: all processes decide as rank 0
                due = broadcast_flag(due)
        if due:
            self.save_checkpoint(start)

    # --------------------------------------------------------------- inference
    @contextlib.contextmanager
    def inference(self) -> Iterator[None]:
        """EMA weights, eval mode, no grad, and a forked RNG so training randomness is unchanged."""
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        ema = self.ema.swapped() if self.ema is not None else contextlib.nullcontext()
        plain = self.replicas.plain() if self.replicas is not None else contextlib.nullcontext()
        with torch.random.fork_rng(devices=devices), plain, ema, eval_mode(self.app.nets):
            yield

    def finalize(self) -> None:
        """Leave the averaged weights in the networks for saving and generation."""
        if self.ema is not None:
            self.ema.copy_to_live()
        if self.replicas is not None:
            self.replicas.release()
            self.replicas = None
        if self.privacy is not None:
            self.privacy.close()
        self.app.nets.eval()
        for net in self.app.nets.values():
            net.requires_grad_(True)
        self._active = None

    # ------------------------------------------------------------- checkpoints
    def save_checkpoint(self, start: float | None = None) -> None:
        # every process's random state, so a resumed distributed run draws the same noise
        ranks = gather_rng(rng_state()) if self.dist.enabled else None
        if self.run_dir is None or not self.dist.is_main:
            return
        elapsed = self._elapsed_before + (time.perf_counter() - start if start else 0.0)
        state = {
            "position": list(self.position),
            "global_step": self.global_step,
            "phase_step": self.phase_step,
            "elapsed": elapsed,
            "nets": {n: getattr(m, "module", m).state_dict() for n, m in self.app.nets.items()},
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "scalers": {n: s.state_dict() for n, s in self.scalers.items()},
            "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "rng": rng_state(),
            "world": self.dist.world,
            "callbacks": [cb.state_dict() for cb in self.callbacks],
            "should_stop": self.should_stop,
            "stop_reason": self.stop_reason,
            "app": self.app.training_state(),
        }
        if self.privacy is not None:
            state["privacy"] = self.privacy.state_dict()
        if ranks is not None:
            state["rng_ranks"] = ranks
        save_checkpoint(self.run_dir.last_checkpoint, state)
        self._last_save = time.perf_counter()

    def _restore(self, state: dict[str, Any]) -> None:
        world = int(state.get("world", 1))
        if world != self.dist.world:
            raise ConfigError(
                f"--resume: the checkpoint was written by {world} process(es); resume it with as many "
                f"(this run has {self.dist.world})"
            )
        for name, sd in state["nets"].items():
            getattr(self.app.nets[name], "module", self.app.nets[name]).load_state_dict(sd)
        for name, sd in state["optimizers"].items():
            self.optimizers[name].load_state_dict(sd)
        for name, sd in state["scalers"].items():
            if name in self.scalers:
                self.scalers[name].load_state_dict(sd)
        for name, sd in state["schedulers"].items():
            self.schedulers[name].load_state_dict(sd)
        if self.ema is not None and state.get("ema"):
            self.ema.load_state_dict(state["ema"])
        for cb, sd in zip(self.callbacks, state.get("callbacks", []), strict=False):
            cb.load_state_dict(sd)
        self.position = tuple(state["position"])  # type: ignore[assignment]
        self.global_step = int(state["global_step"])
        self.phase_step = int(state["phase_step"])
        self._elapsed_before = float(state.get("elapsed", 0.0))
        self.should_stop = bool(state.get("should_stop", False))
        self.stop_reason = str(state.get("stop_reason", ""))
        self.app.load_training_state(state.get("app") or {})
        if self.privacy is not None:
            if "privacy" not in state:
                raise ConfigError("--resume: the checkpoint was trained without --dp-epsilon; start a new DP run")
            self.privacy.load_state_dict(state["privacy"])
        if self.should_stop:
            # A run that stopped early resumes to continue training: the user asked for more.
            self.should_stop, self.stop_reason = False, ""
        kept = self.log.truncate_after(self.global_step)
        self.history = kept if kept else []
        set_rng_state(state["rng_ranks"][self.dist.rank] if "rng_ranks" in state else state["rng"])


class Tick(NamedTuple):
    """One event of the training schedule (:func:`schedule`)."""

    kind: Literal["phase", "epoch", "batch", "end"]
    phase: int
    epoch: int = 0
    #: the batch's number in its epoch ("epoch": the first batch due, after a resume mid-epoch)
    index: int = 0
    batch: Any = None


def schedule(
    epochs: Sequence[int], position: tuple[int, int, int], batches: Callable[[int, int, int], Iterable[Any]]
) -> Iterator[Tick]:
    """The rest of training from ``position`` (phase, epoch, next batch) as one flat stream of ticks.

    ``epochs[i]`` is phase i's epoch count and ``batches(phase, epoch, first)`` an epoch's batches
    from number ``first`` on. Yields ``phase`` on entering each phase after the first,
    ``epoch`` before an epoch's batches, one ``batch`` per batch, and ``end`` when they ran out;
    a consumer that stops iterating stops training.
    """
    p0, e0, b0 = position
    for pi in range(p0, len(epochs)):
        if pi != p0:
            yield Tick("phase", pi)
        for epoch in range(e0 if pi == p0 else 0, epochs[pi]):
            first = b0 if (pi, epoch) == (p0, e0) else 0
            yield Tick("epoch", pi, epoch, first)
            for b, batch in enumerate(batches(pi, epoch, first), start=first):
                yield Tick("batch", pi, epoch, b, batch)
            yield Tick("end", pi, epoch)


class _Bar:
    """The progress bar: steps done, the epoch under way, live losses at most twice a second."""

    def __init__(self, total: int, done: int, enabled: bool) -> None:
        self.tqdm = tqdm(
            total=total,
            initial=min(done, total),
            disable=not enabled,
            unit="step",
            dynamic_ncols=True,
            mininterval=0.5,
            leave=True,
        )
        self.last_postfix = 0.0

    def describe(self, text: str) -> None:
        self.tqdm.set_description(text, refresh=False)

    def step(self, losses: dict[str, float]) -> None:
        self.tqdm.update(1)
        now = time.perf_counter()
        if losses and now - self.last_postfix > 0.5:
            self.tqdm.set_postfix_str(_postfix(losses), refresh=False)
            self.last_postfix = now

    def close(self) -> None:
        self.tqdm.close()


class _Interrupted(Exception):
    """Raised by the loop itself after a deferred Ctrl-C and a consistent checkpoint."""


def _scalar(v: Any) -> float:
    if isinstance(v, torch.Tensor):
        return float(v.detach().float().mean())
    return float(v)


def _postfix(losses: dict[str, float]) -> str:
    parts = [f"{k.split('/')[0]}={v:.3g}" for k, v in losses.items() if k.endswith("/loss")]
    return " ".join(parts)
