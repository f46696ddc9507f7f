"""End-to-end jobs behind the CLI and the Python API: run (train → generate → evaluate → report),
generate from a bundle, evaluate a run again."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import math
import platform
import shlex
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganapps.core import distributed, unroll
from ganapps.core.app import App, Diagnostic, Evaluation
from ganapps.core.bundle import bundle_config, load_bundle, save_bundle
from ganapps.core.callbacks import Callback, EarlyStopping, EvaluateEvery
from ganapps.core.config import TrainConfig, build, validate_train
from ganapps.core.data import TensorData
from ganapps.core.devices import seed_everything
from ganapps.core.diagnostics import check_diversity
from ganapps.core.errors import ConfigError, DataError, RunFailed, RunInterrupted, one_line
from ganapps.core.io import write_json
from ganapps.core.meanings import MetricMeaning, prefixed
from ganapps.core.metrics.guard import measure
from ganapps.core.plugins import dataset_path, get_datasets, get_registry
from ganapps.core.report import settings_of, write_report
from ganapps.core.rundir import RunDir
from ganapps.core.trainer import Trainer, TrainResult
from ganapps.core.version import ganapps_version

log = logging.getLogger("ganapps")


@dataclass
class RunResult:
    """What ``run`` produced."""

    run_dir: RunDir
    app: App
    metrics: dict[str, Any]
    diagnostics: list[Diagnostic]
    train: TrainResult
    samples_path: Path | None
    #: False in the processes of a distributed run other than rank 0 (they only train)
    main: bool = True


def resolve_data(data: Any, app_cls: type[App]) -> tuple[Any, str]:
    """A registered dataset name, a path, or an in-memory object → (source, label)."""
    if data is None:
        if not app_cls.default_dataset:
            raise ConfigError(f"option --data is required: app {app_cls.name} ships no sample dataset")
        data = app_cls.default_dataset
    if isinstance(data, str | Path):
        text = str(data)
        registered = dataset_path(text)
        if registered is not None:
            return registered, text
        path = Path(text).expanduser()
        if not path.exists() and not any(c in text for c in "*?["):
            raise DataError(
                f"--data: {text} is neither an existing path nor a dataset name (see `ganapps datasets list`)"
            )
        return path, text
    return data, f"<in-memory {type(data).__name__}>"


def load_real(app: App, source: Any, label: str) -> Any:
    """``app.load_data(source)``; when it refuses a sample dataset made for other apps, the error says so."""
    try:
        return app.load_data(source)
    except DataError as exc:
        info = get_datasets().get(label) if isinstance(label, str) else None
        if info is None or not info.apps or app.name in info.apps:
            raise
        own = f"; {app.name}'s own sample is {app.default_dataset}" if app.default_dataset else ""
        raise DataError(f"{exc} (--data {label} is a sample for {', '.join(info.apps)}{own})") from None


def fingerprint(source: Any) -> dict[str, Any]:
    """Size and SHA-256 of a data file (or of a folder's file list) to detect changed data on resume."""
    if not isinstance(source, Path) or not source.exists():
        return {}
    h = hashlib.sha256()
    if source.is_dir():
        for p in sorted(source.rglob("*")):
            if p.is_file():
                h.update(f"{p.relative_to(source)}:{p.stat().st_size}\n".encode())
        return {"kind": "dir", "sha256": h.hexdigest()}
    with source.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return {"kind": "file", "bytes": source.stat().st_size, "sha256": h.hexdigest()}


def make_configs(
    app_cls: type[App],
    options: dict[str, Any] | None,
    train: dict[str, Any] | None,
    config_file: dict[str, Any] | None = None,
) -> tuple[Any, TrainConfig]:
    """Merge app defaults < config file < explicit values into (app options, engine config)."""
    file_cfg = dict(config_file or {})
    file_options = file_cfg.pop("options", {})
    if not isinstance(file_options, dict):
        raise ConfigError("config file: [options] must be a table")
    opts = build(app_cls.Options, {**file_options, **(options or {})}, where=f"{app_cls.name} option")
    given = {**file_cfg, **(train or {})}
    defaults = dict(app_cls.train_defaults)
    if float(given.get("dp_epsilon", defaults.get("dp_epsilon", 0)) or 0) > 0:
        defaults.update(app_cls.dp_train_defaults)  # DP-SGD's own defaults, under what the user gave
    cfg = build(TrainConfig, {**defaults, **given}, where="setting")
    return opts, validate_train(cfg)


def _sample_count(app: App, n_train: int, n_holdout: int, requested: int | None) -> int:
    if requested is not None:
        if requested < 1:
            raise ConfigError("option --samples must be at least 1")
        return requested
    return int(app.default_num_samples(n_train, n_holdout))


@dataclass
class Prepared:
    """What a run needs before it reads any data: the app class, its settings, where it goes."""

    app_cls: type[App]
    options: Any
    config: TrainConfig
    info: dict[str, Any]
    run_dir: RunDir | None
    source: Any
    label: str
    #: whether the user chose the epochs (else an app's ``default_steps`` may size them)
    epochs_given: bool = True

    @property
    def processes(self) -> int:
        """How many processes trained the run being resumed (1 for a new run)."""
        return int((self.info.get("distributed") or {}).get("processes", 1))

    def check_processes(self, world: int) -> None:
        """A resumed run continues with as many processes as it started with."""
        if self.run_dir is not None and self.processes != world:
            raise ConfigError(
                f"--resume: {self.run_dir.path} was trained by {self.processes} process(es), this run has {world}; "
                f"resume it with the same number (--nproc {self.processes}, or the same torchrun command)"
            )


def prepare(
    app: str,
    data: Any = None,
    *,
    options: dict[str, Any] | None = None,
    train: dict[str, Any] | None = None,
    config_file: dict[str, Any] | None = None,
    resume: str | Path | None = None,
) -> Prepared:
    """Resolve the app, merge its settings, open a run to resume and find the data (cheap checks only)."""
    registry = get_registry()
    app_cls = registry.app(app)
    if resume is not None:
        try:
            run_dir = RunDir.open(resume)
        except ConfigError as exc:
            if distributed.launched_rank() > 0:
                raise ConfigError(
                    f"{exc} (process {distributed.launched_rank()} on {socket.gethostname()}: every machine of a "
                    "distributed run must read the run directory, so keep runs on a shared filesystem)"
                ) from None
            raise
        info = run_dir.read_info()
        if info.get("app") != app:
            raise ConfigError(f"--resume: {run_dir.path} is a run of {info.get('app')!r}, not {app!r}")
        extend = {k: v for k, v in (train or {}).items() if k in ("epochs", "max_steps")}
        ignored = sorted(set(train or {}) - set(extend)) + sorted(options or {})
        if ignored:
            log.warning("resuming with the run's stored settings; ignoring %s", ", ".join(ignored))
        # --max-steps interrupts a run on purpose; a resume runs to the end unless asked again
        opts, cfg = make_configs(app_cls, info["options"], {**info["train"], "max_steps": 0, **extend})
        if data is None:
            data = info["data"]
        if not run_dir.last_checkpoint.exists():
            raise ConfigError(f"--resume: {run_dir.path} has no checkpoint to resume from")
    else:
        opts, cfg = make_configs(app_cls, options, train, config_file)
        info = {}
        run_dir = None

    source, label = resolve_data(data, app_cls)
    given = set(train or {}) | set(config_file or {})
    return Prepared(
        app_cls, opts, cfg, info, run_dir, source, label, epochs_given=resume is not None or "epochs" in given
    )


def run(
    app: str,
    data: Any = None,
    *,
    options: dict[str, Any] | None = None,
    train: dict[str, Any] | None = None,
    config_file: dict[str, Any] | None = None,
    out: str | Path | None = None,
    resume: str | Path | None = None,
    samples: int | None = None,
    progress: bool = True,
    command: str | None = None,
) -> RunResult:
    """Train ``app`` on ``data``, save the bundle, generate a sample, evaluate it and write the report.

    Started by torchrun (one process per device), the processes train together: each trains on
    its shard of every batch, and rank 0 alone writes the run directory, evaluates and reports.
    A failure after training raises :class:`RunFailed` and marks ``run.json`` failed (see ``after_training``).
    """
    if samples is not None and samples < 1:  # checked now, not after training
        raise ConfigError("option --samples must be at least 1")
    prep = prepare(app, data, options=options, train=train, config_file=config_file, resume=resume)
    joined = distributed.init(prep.config.device)
    try:
        return _run(prep, app, out=out, resume=resume, samples=samples, progress=progress, command=command)
    finally:
        if joined:  # error paths; a finished run has left the group already
            distributed.leave(barrier=False)


def sized_epochs(app_cls: type[App], cfg: TrainConfig, rows: int, world: int = 1) -> tuple[int, int]:
    """(epochs, steps per epoch) when the user gave no epochs: ``cfg.epochs`` capped at the app's
    ``default_steps`` (apps without one keep ``cfg.epochs``)."""
    per_rank = max(1, rows // world)
    per_epoch = per_rank // min(cfg.batch_size, per_rank)  # as the Trainer batches (ragged batch dropped)
    budget = app_cls.dp_default_steps if cfg.dp_epsilon > 0 and app_cls.dp_default_steps else app_cls.default_steps
    if not budget:
        return cfg.epochs, per_epoch
    return max(1, min(cfg.epochs, math.ceil(budget / per_epoch))), per_epoch


def _run(
    prep: Prepared,
    app: str,
    *,
    out: str | Path | None,
    resume: str | Path | None,
    samples: int | None,
    progress: bool,
    command: str | None,
) -> RunResult:
    """load → open the run → train → publish (``after_training``); other ranks stop after training."""
    world = distributed.current()
    prep.check_processes(world.world)
    loaded = _load(prep, app, world, samples)
    run_dir, info = _open_run(prep, app, loaded, world, out=out, resume=resume, command=command)
    trainer, result = _train(app, prep.config, loaded, run_dir, info, world, resume=resume, progress=progress)
    if world.enabled:  # training is over: rank 0 goes on alone, the others are done
        distributed.leave()
        if not world.is_main:
            return RunResult(run_dir, loaded.app, {}, [], result, None, main=False)
    cfg, instance, train, holdout = prep.config, loaded.app, loaded.train, loaded.holdout
    trained = Trained(
        app, info["plugin"], instance, run_dir, info, cfg, prep.label, train, holdout, result, trainer, world.world
    )
    return after_training(trained, samples)


@dataclass
class Loaded:
    """A run's app with its data read, split and fitted, and what training needs: nothing written yet."""

    app: App
    train: Any
    holdout: Any
    data: TensorData | torch.utils.data.Dataset
    callbacks: list[Callback]


def _load(prep: Prepared, app: str, world: distributed.DistInfo, samples: int | None) -> Loaded:
    """Read, split and fit the data; size the epochs; the callbacks (their errors come before any file)."""
    app_cls, cfg = prep.app_cls, prep.config
    unroll.check_settings(app_cls, cfg, world.world)
    if cfg.dp_epsilon > 0:
        from ganapps.core.privacy import check_settings

        check_settings(app_cls, cfg, world.world)
    instance = app_cls(prep.options)
    instance.train_config = cfg
    instance.data_label = prep.label
    real = load_real(instance, prep.source, prep.label)
    train_split, holdout = instance.split(real, cfg.holdout, cfg.seed)
    if len(train_split) == 0:
        raise DataError(f"--data {prep.label}: no training rows left after the {cfg.holdout:.0%} holdout split")
    if cfg.dp_epsilon > 0:
        from ganapps.core.privacy import check_delta

        check_delta(cfg, len(train_split))
    instance.fit(train_split)
    if world.enabled:
        distributed.check_same(f"app {app}'s fit()", *instance.export_state())
    data = instance.dataset(train_split)
    if not prep.epochs_given and app_cls.default_steps:
        cfg.epochs, per_epoch = sized_epochs(app_cls, cfg, len(data), world.world)
        steps = cfg.epochs * per_epoch
        _say(world, "%d epochs of %d steps (about %d steps; --epochs sets them)", cfg.epochs, per_epoch, steps)
    callbacks = _callbacks(instance, cfg, train_split, holdout, samples)
    return Loaded(instance, train_split, holdout, data, callbacks)


def _open_run(
    prep: Prepared,
    app: str,
    loaded: Loaded,
    world: distributed.DistInfo,
    *,
    out: str | Path | None,
    resume: str | Path | None,
    command: str | None,
) -> tuple[RunDir, dict[str, Any]]:
    """The run directory (new, or the resumed one if its data are unchanged) and its ``run.json``."""
    fp = fingerprint(prep.source)
    run_dir = prep.run_dir
    if resume is not None:
        if prep.info.get("data_fingerprint") and fp and prep.info["data_fingerprint"] != fp:
            raise DataError(
                f"--resume: the data at {prep.label} changed since the run started; start a new run instead"
            )
    elif world.enabled:  # rank 0 makes the directory and tells the others
        run_dir = RunDir(Path(distributed.on_main(lambda: str(RunDir.create(out, app).path))))
    else:
        run_dir = RunDir.create(out, app)
    assert run_dir is not None
    plugin = get_registry().apps[app].plugin
    info = _run_info(prep, app, plugin, command, fp, (len(loaded.train), len(loaded.holdout)), world)
    if world.is_main:
        run_dir.write_info(info)
    _say(world, "writing the run to %s", run_dir.path)
    return run_dir, info


def _train(
    app: str,
    cfg: TrainConfig,
    loaded: Loaded,
    run_dir: RunDir,
    info: dict[str, Any],
    world: distributed.DistInfo,
    *,
    resume: str | Path | None,
    progress: bool,
) -> tuple[Trainer, TrainResult]:
    """Train (from the run's checkpoint when resuming); an interruption or a failure is noted in ``run.json``."""
    trainer = Trainer(loaded.app, cfg, run_dir=run_dir, callbacks=loaded.callbacks, progress=progress)
    try:
        result = trainer.fit(loaded.data, resume=str(run_dir.last_checkpoint) if resume else None)
    except KeyboardInterrupt:
        if world.is_main:
            run_dir.write_info({**info, "status": "interrupted"})
        raise RunInterrupted(
            f"interrupted at step {trainer.global_step}; checkpoint saved. Resume with: "
            f"ganapps run {app} --resume {run_dir.path}"
        ) from None
    except BaseException as exc:
        if world.is_main:
            run_dir.write_info({**info, "status": "failed", "error": f"training failed: {one_line(exc)}"})
        raise
    trainer.finalize()
    return trainer, result


def _say(world: distributed.DistInfo, msg: str, *args: Any) -> None:
    """Log what a run is doing: at info level from rank 0, at debug level from the others."""
    (log.info if world.is_main else log.debug)(msg, *args)


def _callbacks(instance: App, cfg: TrainConfig, train: Any, holdout: Any, samples: int | None) -> list[Callback]:
    """The Trainer callbacks that ``--eval-every`` and ``--patience`` ask for."""
    callbacks: list[Callback] = []
    if cfg.eval_every:
        callbacks.append(
            EvaluateEvery(cfg.eval_every, holdout, _sample_count(instance, len(train), len(holdout), samples))
        )
        if cfg.patience and instance.monitor:
            callbacks.append(EarlyStopping(cfg.patience, instance.monitor))
    elif cfg.patience:
        raise ConfigError("option --patience needs --eval-every (early stopping watches evaluations)")
    return callbacks


def _run_info(
    prep: Prepared,
    app: str,
    plugin: str,
    command: str | None,
    fp: dict[str, Any],
    rows: tuple[int, int],
    world: distributed.DistInfo,
) -> dict[str, Any]:
    """``run.json`` of a run starting (or resuming) training."""
    label, cfg = prep.label, prep.config
    info = {
        **prep.info,
        "app": app,
        "plugin": plugin,
        "status": "running",
        "command": command or " ".join(sys.argv),
        "data": label if not label.startswith("<") else None,
        "data_fingerprint": fp,
        "rows": {"train": rows[0], "holdout": rows[1]},
        "options": dataclasses.asdict(prep.options),
        "train": dataclasses.asdict(cfg),
        "ganapps_version": ganapps_version(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "started": prep.info.get("started") or _now(),
    }
    if world.enabled:
        info["distributed"] = {
            "processes": world.world,
            "nodes": distributed.nodes(),
            "backend": distributed.backend(),
            "global_batch": cfg.batch_size * world.world,
        }
    return info


@dataclass
class Trained:
    """A run whose training is over: what the steps after it need, and the step under way."""

    app: str
    plugin: str
    instance: App
    run_dir: RunDir
    info: dict[str, Any]
    config: TrainConfig
    label: str
    train: Any
    holdout: Any
    result: TrainResult
    trainer: Trainer
    processes: int
    stage: str = "calibration"


def after_training(done: Trained, samples: int | None) -> RunResult:
    """Calibrate, save the bundle, generate the sample, evaluate it and write metrics.json and the report.

    Whatever fails here becomes a one-line :class:`RunFailed` (exit status 2 on the command line):
    ``run.json`` gets ``"status": "failed"`` and ``"error"``, and a bundle already saved stays.
    """
    try:
        done.instance.calibrate(done.train)
        done.stage = "saving the bundle"
        save_bundle(done.instance, done.run_dir.bundle, plugin=done.plugin)
        return _sample_and_report(done, samples)
    except KeyboardInterrupt:
        done.run_dir.write_info({**done.info, "status": "interrupted", "error": f"interrupted during {done.stage}"})
        raise RunInterrupted(f"interrupted during {done.stage}, after training; {_kept(done)}") from None
    except Exception as exc:
        reason = f"{done.stage} failed: {one_line(exc)}"
        log.debug("%s after training", reason, exc_info=exc)  # -v shows the traceback
        done.run_dir.write_info({**done.info, "status": "failed", "error": reason, "failed": _now()})
        raise RunFailed(f"{done.app}: {reason} (after training; {_kept(done)})", done.run_dir.path) from None


def _kept(done: Trained) -> str:
    """What a failed run still offers."""
    if (done.run_dir.bundle / "config.json").exists():
        return f"the trained model is saved in {done.run_dir.bundle}"
    return f"no bundle was saved; the training checkpoint is {done.run_dir.last_checkpoint}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _sample_and_report(done: Trained, samples: int | None) -> RunResult:
    """Generate and save the sample, evaluate it, write metrics.json and the report (``done.stage`` follows)."""
    instance, run_dir, result = done.instance, done.run_dir, done.result
    n = _sample_count(instance, len(done.train), len(done.holdout), samples)
    done.stage = "generating the sample"
    seed_everything(done.config.seed, done.config.deterministic)
    with torch.no_grad():
        synthetic = instance.generate(n)
    done.stage = "writing the sample"
    samples_path = instance.save_samples(synthetic, run_dir.path / f"synthetic{instance.output_suffix}")
    done.stage = "evaluation"
    evaluation, diagnostics = evaluate_samples(instance, done.holdout, synthetic, done.train)
    diagnostics = result.diagnostics + diagnostics
    metrics = {
        "app": done.app,
        "metrics": evaluation.metrics,
        "diagnostics": [d.to_dict() for d in diagnostics],
        "training": {
            "steps": result.steps,
            "seconds": round(result.seconds, 3),
            "stopped_early": result.stopped_early,
            "stop_reason": done.trainer.stop_reason,
            "processes": done.processes,
        },
        "samples": {"n": n, "path": samples_path.name},
        "notes": evaluation.notes,
    }
    if result.privacy is not None:
        metrics["differential_privacy"] = result.privacy
    done.stage = "writing metrics.json"
    write_json(run_dir.metrics_path, metrics)
    done.stage = "writing the report"
    finished = _now()
    _report(done, evaluation, diagnostics, f"{samples_path.name} ({n})", finished)
    done.stage = "writing run.json"
    run_dir.write_info({**done.info, "status": "finished", "finished": finished})
    for d in diagnostics:
        log.warning("%s: %s Remedy: %s", d.code, d.message, d.remedy)
    return RunResult(run_dir, instance, metrics, diagnostics, result, samples_path)


def _report(done: Trained, evaluation: Evaluation, diagnostics: list[Diagnostic], sample: str, finished: str) -> None:
    """``report.html`` of a trained and evaluated run: its metrics explained, what to run next, its settings."""
    from ganapps.core.privacy import PRIVACY_MEANINGS

    run_dir, result, cfg, trainer = done.run_dir, done.result, done.config, done.trainer
    write_report(
        run_dir.report_path,
        title=f"ganapps {done.app} — {run_dir.path.name}",
        summary={
            "app": f"{done.app} ({done.plugin})",
            "data": done.label,
            "rows (train / holdout)": f"{len(done.train)} / {len(done.holdout)}",
            "device": _device_text(trainer.device, done.info.get("distributed")),
            "seed": cfg.seed,
            "epochs": cfg.epochs,
            "steps": result.steps,
            "training time (s)": round(result.seconds, 2),
            "stopped": trainer.stop_reason or "completed",
            **({"differential privacy": privacy_text(result.privacy)} if result.privacy else {}),
            "synthetic sample": sample,
            "command": done.info["command"],
        },
        metrics=evaluation.metrics,
        meanings=metric_meanings(done.instance),
        settings=settings_of(done.info, finished),
        next_steps=done.instance.next_commands(shlex.quote(str(run_dir.path)), done.info.get("data")),
        diagnostics=diagnostics,
        history=result.history,
        figures=evaluation.figures,
        epoch_images=sorted(run_dir.samples.glob("*_epoch*.png")) if run_dir.samples.exists() else [],
        notes=evaluation.notes,
        checks=["discriminator overpowering", "oscillation", "mode collapse"],
        privacy=result.privacy,
        privacy_meanings={**PRIVACY_MEANINGS, **prefixed("preprocessing", done.instance.dp_meanings)},
    )


def privacy_text(p: dict[str, Any]) -> str:
    """The report's line on a DP run's budget."""
    return (
        f"ε = {p['epsilon_spent']:.3g} of {p['epsilon']:g} spent (δ = {p['delta']:.2g}); DP-SGD on "
        f"{', '.join(p['private_networks'])}: σ = {p['noise_multiplier']:.4g}, q = {p['sample_rate']:.4g}, "
        f"{p['steps_taken']} of {p['steps']} steps (below: the whole accounting)"
    )


def metric_meanings(app: App) -> dict[str, MetricMeaning]:
    """The app's metric meanings, and those of the registered extra metrics (their descriptions)."""
    extra = {f"extra.{m.name}.*": MetricMeaning(m.description) for m in get_registry().metrics_for(app.kind)}
    return {**extra, **app.metric_meanings}


def _device_text(device: torch.device, dist_info: dict[str, Any] | None) -> str:
    if not dist_info:
        return str(device)
    d = dist_info
    return (
        f"{device.type} × {d['processes']} processes on {d['nodes']} node(s) ({d['backend']}), "
        f"global batch {d['global_batch']}"
    )


def evaluate_samples(app: App, real: Any, synthetic: Any, train: Any = None) -> tuple[Evaluation, list[Diagnostic]]:
    """The app's evaluation, registered extra metrics, and sample-based diagnostics."""
    evaluation = app.evaluate(real, synthetic, train=train)
    for metric in get_registry().metrics_for(app.kind):
        extra = evaluation.metrics.setdefault("extra", {})
        fn = functools.partial(metric.fn, real=real, synthetic=synthetic, app=app)
        # a plugin's metric fails alone, whatever it raises
        measure(extra, metric.name, fn, evaluation.notes, label=f"metric {metric.name} ({metric.plugin})", reraise=())
    diagnostics = list(evaluation.diagnostics)
    real_vec, fake_vec = app.sample_vectors(real), app.sample_vectors(synthetic)
    if real_vec is not None and fake_vec is not None:
        d = check_diversity(real_vec, fake_vec)
        if d:
            diagnostics.append(d)
    diagnostics += app.diagnose(real, synthetic)
    return evaluation, diagnostics


def generate(
    path: str | Path,
    n: int,
    *,
    condition: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    device: str = "auto",
) -> Any:
    """``n`` samples from a run directory or bundle, returned as the app makes them (a polars
    DataFrame for tables, arrays or images...), like SDV's ``sample()``; :func:`generate_file`
    writes them."""
    return _generate(path, n, condition, options, seed, device)[1]


def generate_file(
    path: str | Path,
    n: int,
    out: str | Path | None = None,
    *,
    condition: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    seed: int = 0,
    device: str = "auto",
) -> Path:
    """:func:`generate`, then write the samples to ``out`` (by suffix; default RUN/generated-N.<suffix>)."""
    app, samples = _generate(path, n, condition, options, seed, device)
    if out is None:
        base = Path(path) if (Path(path) / "run.json").exists() else Path(".")
        out = base / f"generated-{n}{app.output_suffix}"
    return app.save_samples(samples, Path(out))


def _generate(
    path: str | Path, n: int, condition: dict[str, Any] | None, options: dict[str, Any] | None, seed: int, device: str
) -> tuple[App, Any]:
    if n < 1:
        raise ConfigError("option -n must be at least 1")
    app = load_bundle(path, device=device)
    gen_opts = build(app.GenerateOptions, options or {}, where=f"{app.name} generate option")
    seed_everything(seed)
    with torch.no_grad():
        return app, app.generate(n, condition=condition or None, **dataclasses.asdict(gen_opts))


def evaluate_run(
    path: str | Path,
    *,
    data: Any = None,
    synthetic: str | Path | None = None,
    n: int | None = None,
    device: str = "cpu",
) -> tuple[Evaluation, list[Diagnostic]]:
    """Evaluate a run again: fresh samples (or a given file) against the run's holdout split."""
    app = load_bundle(path, device=device)
    config = bundle_config(path)
    cfg = app.train_config
    if data is None:
        try:
            data = RunDir.open(Path(path).parent if Path(path).name == "bundle" else path).read_info().get("data")
        except ConfigError:
            data = None
        if data is None:
            raise ConfigError("option --data is required: the bundle does not record its training data")
    source, app.data_label = resolve_data(data, type(app))
    real = app.load_data(source)
    train_split, holdout = app.split(real, cfg.holdout, cfg.seed)
    if synthetic is not None:
        samples = app.load_samples(Path(synthetic))
    else:
        count = n or int(app.default_num_samples(len(train_split), len(holdout)))
        seed_everything(cfg.seed, cfg.deterministic)
        with torch.no_grad():
            samples = app.generate(count)
    log.info("evaluating %s (%s)", config["app"], path)
    return evaluate_samples(app, holdout, samples, train_split)
