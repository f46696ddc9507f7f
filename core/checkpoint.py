"""Training checkpoints: state dicts and plain values only, loaded with ``weights_only=True``."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from ganapps.core.errors import BundleError
from ganapps.core.io import atomic_path

CHECKPOINT_FORMAT = 1


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write a checkpoint atomically: a crash mid-write leaves the previous one intact."""
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint, refusing pickled objects (only tensors and plain values load)."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"no checkpoint at {path}: nothing to resume")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise BundleError(
            f"{path} holds pickled objects beyond tensors and plain values; refusing to load it "
            f"({str(exc).splitlines()[0][:120]})"
        ) from None
    except (RuntimeError, EOFError, OSError) as exc:
        raise BundleError(f"{path} is not a readable checkpoint: {str(exc).splitlines()[0][:160]}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise BundleError(f"{path} is not a ganapps checkpoint")
    return state
