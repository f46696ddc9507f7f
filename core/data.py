"""Data plumbing shared by apps: in-memory tensor data, epoch-seeded batching, splits, device moves."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ganapps.core.errors import DataError


class TensorData:
    """Training data held in memory as tensors sharing their first dimension.

    Batches are cut by indexing, not by a per-sample ``Dataset``, which is what keeps tabular
    training fast. A single tensor yields plain tensor batches; several yield tuples.
    """

    def __init__(self, *tensors: torch.Tensor) -> None:
        if not tensors:
            raise ValueError("TensorData needs at least one tensor")
        n = tensors[0].shape[0]
        for t in tensors:
            if t.shape[0] != n:
                raise ValueError("all tensors of TensorData must have the same first dimension")
        self.tensors = tuple(tensors)

    def __len__(self) -> int:
        return int(self.tensors[0].shape[0])

    def to(self, device: torch.device) -> TensorData:
        return TensorData(*(t.to(device) for t in self.tensors))

    def take(self, index: torch.Tensor) -> Any:
        parts = tuple(t[index] for t in self.tensors)
        return parts[0] if len(parts) == 1 else parts

    def nbytes(self) -> int:
        return sum(t.element_size() * t.nelement() for t in self.tensors)


def epoch_permutation(n: int, seed: int, phase: int, epoch: int) -> torch.Tensor:
    """The shuffle order of one epoch, a pure function of (seed, phase, epoch) so resume can redo it."""
    g = torch.Generator()
    g.manual_seed((seed * 1_000_003 + phase * 10_007 + epoch) % (2**63 - 1))
    return torch.randperm(n, generator=g)


class EpochSampler(Sampler[int]):
    """Sampler over one rank's shard of an epoch permutation, optionally starting mid-epoch."""

    def __init__(self, order: torch.Tensor, start: int = 0) -> None:
        self.order = order
        self.start = start

    def __iter__(self) -> Iterator[int]:
        return iter(self.order[self.start :].tolist())

    def __len__(self) -> int:
        return max(0, len(self.order) - self.start)


@dataclass
class Batches:
    """Batching of training data for the Trainer: in-memory fast path or a DataLoader.

    ``rank``/``world`` shard each epoch's permutation so data-parallel workers see disjoint rows.
    """

    data: TensorData | Dataset
    batch_size: int
    seed: int
    device: torch.device
    num_workers: int = 0
    rank: int = 0
    world: int = 1

    def __post_init__(self) -> None:
        n = len(self.data)  # type: ignore[arg-type]
        if n == 0:
            raise DataError("the training data is empty after preprocessing")
        per_rank = n // self.world
        if per_rank == 0:
            raise DataError(f"{n} training rows cannot be shared by {self.world} processes")
        # Drop the ragged last batch (tiny batches destabilise batch-norm GANs), unless the data
        # are smaller than one batch, in which case the whole shard is the batch.
        self.effective_batch = min(self.batch_size, per_rank)
        self.per_epoch = per_rank // self.effective_batch
        if isinstance(self.data, TensorData) and self.device.type != "cpu" and self.data.nbytes() < 2**30:
            self.data = self.data.to(self.device)  # small in-memory data live on the accelerator

    def __len__(self) -> int:
        return self.per_epoch

    def _order(self, phase: int, epoch: int) -> torch.Tensor:
        n = len(self.data)  # type: ignore[arg-type]
        perm = epoch_permutation(n, self.seed, phase, epoch)
        used = self.per_epoch * self.effective_batch * self.world
        return perm[:used][self.rank :: self.world]

    def epoch(self, phase: int, epoch: int, start: int = 0) -> Iterator[Any]:
        """Yield the batches of one epoch from batch number ``start`` on, already on the device."""
        order = self._order(phase, epoch)
        bs = self.effective_batch
        if isinstance(self.data, TensorData):
            if order.device != self.data.tensors[0].device:
                order = order.to(self.data.tensors[0].device)
            for b in range(start, self.per_epoch):
                yield self.data.take(order[b * bs : (b + 1) * bs])
            return
        loader = DataLoader(
            self.data,
            batch_size=bs,
            sampler=EpochSampler(order, start * bs),
            num_workers=self.num_workers,
            drop_last=True,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            generator=torch.Generator().manual_seed(self.seed + 7919 * epoch + phase),
        )
        for batch in loader:
            yield to_device(batch, self.device)


def to_device(batch: Any, device: torch.device) -> Any:
    """Move tensors inside tuples, lists and dicts to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, tuple | list):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    return batch


def split_indices(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random train/holdout row indices (sorted), reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    k = int(round(n * holdout))
    if holdout > 0 and n >= 2:
        k = min(max(k, 1), n - 1)
    return np.sort(perm[k:]), np.sort(perm[:k])


def split_data(data: Any, holdout: float, seed: int) -> tuple[Any, Any]:
    """Split tensors, arrays, TensorData, pandas or polars frames into (train, holdout)."""
    n = len(data)
    train_idx, hold_idx = split_indices(n, holdout, seed)
    return take_rows(data, train_idx), take_rows(data, hold_idx)


def take_rows(data: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of any supported container."""
    if isinstance(data, TensorData):
        t = torch.as_tensor(idx, dtype=torch.long)
        return TensorData(*(x[t] for x in data.tensors))
    if isinstance(data, torch.Tensor):
        return data[torch.as_tensor(idx, dtype=torch.long)]
    if isinstance(data, np.ndarray):
        return data[idx]
    if isinstance(data, tuple | list) and data and all(hasattr(d, "__len__") for d in data):
        return type(data)(take_rows(d, idx) for d in data)
    mod = type(data).__module__
    if mod.startswith("pandas"):
        return data.iloc[idx].reset_index(drop=True)
    if mod.startswith("polars"):
        return data[idx.tolist()] if len(idx) else data.clear()
    if isinstance(data, Dataset):
        return torch.utils.data.Subset(data, idx.tolist())
    raise TypeError(f"cannot split data of type {type(data).__name__}")


def batched(n: int, batch_size: int) -> Iterator[tuple[int, int]]:
    """(start, stop) pairs covering ``range(n)`` in chunks of ``batch_size``."""
    for start in range(0, n, batch_size):
        yield start, min(n, start + batch_size)


def stack_batches(parts: Sequence[Any]) -> Any:
    """Concatenate a list of tensors (or tuples of tensors) along the first dimension."""
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(list(parts))
    return type(parts[0])(torch.cat([p[i] for p in parts]) for i in range(len(parts[0])))
