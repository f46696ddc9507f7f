"""Engine configuration and typed option dataclasses shared by the CLI, TOML files and bundles."""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ganapps.core.errors import ConfigError

Device = Literal["auto", "cpu", "cuda", "mps"]
Precision = Literal["auto", "off", "bf16", "fp16"]


@dataclass
class TrainConfig:
    """Settings of the training engine; every app shares them, apps change the defaults."""

    epochs: int = field(default=5, metadata={"help": "Epochs of the main (adversarial) phase."})
    batch_size: int = field(default=64, metadata={"help": "Samples per batch."})
    device: Device = field(default="auto", metadata={"help": "auto picks cuda, then mps, then cpu."})
    seed: int = field(default=0, metadata={"help": "Random seed; same seed, data and device give the same run."})
    amp: Precision = field(
        default="auto", metadata={"help": "Mixed precision: auto (bf16/fp16 on CUDA, off elsewhere), off, bf16, fp16."}
    )
    n_critic: int = field(default=1, metadata={"help": "Discriminator updates per generator update."})
    unroll: int = field(
        default=0,
        metadata={
            "help": "Unrolled GAN: each generator step looks this many discriminator updates ahead, "
            "differentiated through (Metz et al. 2017; docs/unrolled.md; 0 = off)."
        },
    )
    lr: dict[str, float] = field(
        default_factory=dict,
        metadata={"help": "Learning rate per optimizer (NAME=VALUE) or for all (VALUE); TTUR by naming two."},
    )
    grad_clip: float = field(default=0.0, metadata={"help": "Clip each optimizer's gradient norm to this (0 = off)."})
    ema: float = field(default=0.0, metadata={"help": "Generator EMA decay, e.g. 0.999 (0 = off)."})
    holdout: float = field(default=0.2, metadata={"help": "Share of real data held out for evaluation."})
    checkpoint_every: int = field(
        default=0, metadata={"help": "Also checkpoint every N steps (0 = only at the end of epochs)."}
    )
    checkpoint_seconds: float = field(
        default=30.0,
        metadata={
            "help": "Checkpoint at the end of an epoch only if N seconds have passed since the last one "
            "(0 = every epoch); always at the end of each phase, of the run and on Ctrl-C."
        },
    )
    eval_every: int = field(
        default=0, metadata={"help": "Evaluate every N epochs during training (0 = only at the end)."}
    )
    patience: int = field(
        default=0, metadata={"help": "Early stopping: stop after N evaluations without improvement (0 = off)."}
    )
    max_steps: int = field(default=0, metadata={"help": "Stop after this many steps in total (0 = no limit)."})
    log_every: int = field(default=1, metadata={"help": "Write the step log every N steps."})
    num_workers: int = field(default=0, metadata={"help": "DataLoader worker processes for file-backed datasets."})
    deterministic: bool = field(
        default=True, metadata={"help": "Use deterministic algorithms (bit-for-bit repeatable on one device)."}
    )
    sync_bn: bool = field(
        default=False,
        metadata={"help": "Distributed runs: batch norm uses the statistics of the global batch (SyncBatchNorm)."},
    )
    dp_epsilon: float = field(
        default=0.0,
        metadata={
            "help": "Differential privacy: train the networks that see real rows with DP-SGD to this ε, "
            "all data paths included (docs/privacy.md; 0 = off; needs ganapps[dp])."
        },
    )
    dp_delta: float = field(default=0.0, metadata={"help": "DP δ (0 = 1/(10·n) for n training rows, below 1/n)."})
    dp_max_grad_norm: float = field(
        default=1.0, metadata={"help": "DP-SGD: clip each real row's gradient to this L2 norm before the noise."}
    )


def field_types(cls: type) -> dict[str, Any]:
    """Resolved type hints of a dataclass's fields."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert ``value`` (from TOML, JSON or the CLI) to type ``tp`` or raise ConfigError."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"{where}: invalid value {value!r}")
    if origin is Literal:
        if value not in args:
            choices = ", ".join(map(str, args))
            raise ConfigError(f"{where}: {value!r} is not one of {choices}")
        return value
    if origin in (list, tuple):
        if isinstance(value, str):
            value = [v for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        inner = args[0] if args else Any
        items = [_coerce(v, inner, where) for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):  # CLI: KEY=VALUE ...
            pairs = [v.partition("=") for v in value]
            bad = [v for v, (k, sep, _) in zip(value, pairs, strict=True) if not sep or not k.strip()]
            if bad:
                raise ConfigError(f"{where}: {bad[0]!r} is not NAME=VALUE")
            value = {k.strip(): v.strip() for k, _, v in pairs}
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a table of NAME = VALUE, got {value!r}")
        vt = args[1] if len(args) > 1 else Any
        return {str(k): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "1", "yes", "on", "false", "0", "no", "off"}:
            return value.lower() in {"true", "1", "yes", "on"}
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value))
        except ValueError:
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if tp is str:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected text, got {value!r}")
    return value


def build(cls: type, values: dict[str, Any], where: str = "option") -> Any:
    """Instantiate dataclass ``cls`` from a dict, converting types and refusing unknown keys."""
    types_ = field_types(cls)
    unknown = sorted(set(values) - set(types_))
    if unknown:
        known = ", ".join(sorted(types_))
        raise ConfigError(f"unknown {where} {unknown[0]!r} (known: {known})")
    kwargs = {k: _coerce(v, types_[k], f"{where} {k!r}") for k, v in values.items()}
    return cls(**kwargs)


def to_dict(obj: Any) -> dict[str, Any]:
    """A dataclass as a JSON-ready dict."""
    return dataclasses.asdict(obj)


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a run config file: engine keys at the top level, app options under ``[options]``."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    return data


def parse_lr(values: tuple[str, ...] | list[str]) -> dict[str, float]:
    """Parse ``--lr`` values: ``2e-4`` for every optimizer or ``generator=1e-4`` for one."""
    out: dict[str, float] = {}
    for item in values:
        name, sep, num = item.rpartition("=")
        key = name.strip() if sep else "*"
        try:
            out[key] = float(num)
        except ValueError:
            raise ConfigError(f"option --lr: {item!r} is not NAME=VALUE or VALUE") from None
        if out[key] <= 0:
            raise ConfigError(f"option --lr: learning rate must be positive, got {item!r}")
    return out


def validate_train(cfg: TrainConfig) -> TrainConfig:
    """Check engine settings for values that cannot work."""
    checks = [
        (cfg.epochs >= 0, "epochs must be >= 0"),
        (cfg.batch_size >= 1, "batch-size must be >= 1"),
        (cfg.n_critic >= 1, "n-critic must be >= 1"),
        (cfg.unroll >= 0, "unroll must be >= 0 (0 = off)"),
        (0.0 <= cfg.ema < 1.0, "ema must be in [0, 1)"),
        (0.0 <= cfg.holdout < 1.0, "holdout must be in [0, 1)"),
        (cfg.grad_clip >= 0, "grad-clip must be >= 0"),
        (cfg.log_every >= 1, "log-every must be >= 1"),
        (cfg.checkpoint_every >= 0, "checkpoint-every must be >= 0"),
        (cfg.checkpoint_seconds >= 0, "checkpoint-seconds must be >= 0"),
        (cfg.max_steps >= 0, "max-steps must be >= 0"),
        (cfg.num_workers >= 0, "num-workers must be >= 0"),
        (math.isfinite(cfg.dp_epsilon) and cfg.dp_epsilon >= 0, "dp-epsilon must be a finite number >= 0 (0 = off)"),
        (0.0 <= cfg.dp_delta < 1.0, "dp-delta must be in [0, 1) (0 = 1/(10·n))"),
        (math.isfinite(cfg.dp_max_grad_norm) and cfg.dp_max_grad_norm > 0, "dp-max-grad-norm must be finite and > 0"),
    ]
    for ok, msg in checks:
        if not ok:
            raise ConfigError(f"option {msg}")
    return cfg
