"""Model bundles: JSON config + JSON schema + safetensors weights. Never pickled objects.

A bundle directory holds everything needed to rebuild an app for generation or scoring:

- ``config.json``: app name, plugin, ganapps version, the app's options and engine settings;
- ``schema.json``: the app's fitted preprocessing state (column specs, vocabularies...);
- ``weights.safetensors``: network weights (``nets.<network>.<parameter>``) and the app's
  extra fitted arrays (``tensors.<name>``).

Loading reads only JSON and safetensors, so a bundle from a stranger cannot run code.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganapps.core.errors import BundleError, ConfigError
from ganapps.core.io import atomic_dir, atomic_path, read_json, write_json
from ganapps.core.version import ganapps_version

if TYPE_CHECKING:  # torch is imported by the functions that need it: reading a config stays light
    import torch
    from torch import nn

    from ganapps.core.app import App

FORMAT = "ganapps-bundle/1"
WEIGHTS = "weights.safetensors"


def flatten_state(nets: nn.ModuleDict, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """All weights and extra tensors as one flat, contiguous, unshared dict for safetensors."""
    import torch

    flat: dict[str, torch.Tensor] = {}
    for name, module in nets.items():
        if "." in name:
            raise BundleError(f"network name {name!r} must not contain a dot")
        module = getattr(module, "module", module)  # unwrap DistributedDataParallel
        for key, value in module.state_dict().items():
            flat[f"nets.{name}.{key}"] = value.detach().cpu().contiguous().clone()
    for key, value in tensors.items():
        flat[f"tensors.{key}"] = torch.as_tensor(value).detach().cpu().contiguous().clone()
    return flat


def split_state(flat: dict[str, torch.Tensor]) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    nets: dict[str, dict[str, torch.Tensor]] = {}
    tensors: dict[str, torch.Tensor] = {}
    for key, value in flat.items():
        kind, _, rest = key.partition(".")
        if kind == "nets":
            net, _, param = rest.partition(".")
            nets.setdefault(net, {})[param] = value
        elif kind == "tensors":
            tensors[rest] = value
    return nets, tensors


def save_bundle(app: App, path: str | Path, *, plugin: str = "", extra: dict[str, Any] | None = None) -> Path:
    """Write ``app`` (built and trained) as a bundle directory at ``path``, atomically."""
    from safetensors.torch import save_file

    schema, tensors = app.export_state()
    config = {
        "format": FORMAT,
        "app": app.name,
        "plugin": plugin,
        "ganapps_version": ganapps_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "options": dataclasses.asdict(app.options),
        "train": dataclasses.asdict(app.train_config),
        **(extra or {}),
    }
    with atomic_dir(path) as tmp:
        write_json(tmp / "config.json", config)
        write_json(tmp / "schema.json", schema)
        with atomic_path(tmp / WEIGHTS) as weights:  # for its mode: safetensors alone writes 0600
            save_file(flatten_state(app.nets, tensors), str(weights), metadata={"format": FORMAT})
    return Path(path)


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Load a safetensors file, refusing anything else (pickles included)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.exists():
        raise BundleError(f"{path} is missing")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise BundleError(
            f"{path} is not a valid safetensors file ({str(exc).splitlines()[0]}); ganapps never loads pickled weights"
        ) from None


def read_arrays(path: str | Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(network → parameter → array, name → array) of a bundle as numpy arrays, without importing torch.

    For torch-free scorers (see the ``register_scorers`` hook); safetensors only, never pickles.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    p = resolve_bundle_path(path) / WEIGHTS
    if not p.exists():
        raise BundleError(f"{p} is missing")
    try:
        flat = load_file(str(p))
    except (SafetensorError, OSError, ValueError, TypeError) as exc:
        raise BundleError(
            f"{p} is not a valid safetensors file ({str(exc).splitlines()[0]}); ganapps never loads pickled weights"
        ) from None
    return split_state(flat)  # type: ignore[arg-type]


def bundle_config(path: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a bundle or of a run directory's bundle."""
    p = resolve_bundle_path(path)
    config = read_json(p / "config.json")
    if config.get("format") != FORMAT:
        raise BundleError(f"{p} is not a ganapps bundle (format {config.get('format')!r})")
    return config


def resolve_bundle_path(path: str | Path) -> Path:
    """Accept a bundle directory or a run directory containing ``bundle/``."""
    p = Path(path)
    if (p / "bundle" / "config.json").exists():
        p = p / "bundle"
    if not (p / "config.json").exists():
        raise BundleError(f"{path} is not a run directory or model bundle (no config.json)")
    return p


def load_bundle(path: str | Path, device: str | torch.device = "cpu") -> App:
    """Rebuild the app saved at ``path`` with its trained weights, ready to generate or score."""
    from torch import nn

    from ganapps.core.config import TrainConfig, build
    from ganapps.core.devices import resolve_device
    from ganapps.core.plugins import get_registry

    p = resolve_bundle_path(path)
    config = bundle_config(p)
    registry = get_registry()
    name = config.get("app", "")
    if name not in registry.apps:
        plugin = config.get("plugin") or "its plugin"
        raise BundleError(f"bundle {p} needs app {name!r} ({plugin}), which is not installed")
    cls = registry.apps[name].cls
    try:
        options = build(cls.Options, config.get("options", {}), where=f"{name} option")
        train = build(TrainConfig, config.get("train", {}), where="train setting")
    except ConfigError as exc:
        raise BundleError(f"bundle {p}: {exc}") from None
    app = cls(options)
    app.train_config = train
    schema = read_json(p / "schema.json")
    nets_state, tensors = split_state(read_weights(p / WEIGHTS))
    app.import_state(schema, tensors)
    app.nets = nn.ModuleDict(app.build())
    for net_name, module in app.nets.items():
        if net_name not in nets_state:
            raise BundleError(f"bundle {p} has no weights for network {net_name!r}")
        try:
            module.load_state_dict(nets_state[net_name], strict=True)
        except RuntimeError as exc:
            raise BundleError(f"bundle {p}: weights of {net_name!r} do not fit: {str(exc).splitlines()[0]}") from None
    app.device = resolve_device(str(device)) if isinstance(device, str) else device
    app.nets.to(app.device)
    app.nets.eval()
    return app
