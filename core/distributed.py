"""Data-parallel training over ``torch.distributed``: the process group, DDP replicas, SyncBatchNorm.

One process per device (started by torchrun, or by ``ganapps run APP --nproc N``) runs the same
pipeline on its own shard of every batch. How the Trainer keeps the processes equivalent to one
process training on the concatenated batch:

- **Gradients.** Every network that an optimizer updates is wrapped in
  ``DistributedDataParallel``. The wrappers stand in ``app.nets`` only while a step of that
  optimizer runs (:meth:`Replicas.step`); frozen networks (the discriminator during a generator
  step) stay plain modules, so DDP never meets parameters with ``requires_grad=False``, and the
  gradient flowing through them into the updated network is unchanged. DDP averages the updated
  networks' gradients over processes during backward: with equal shard sizes, the mean of the
  per-process mean losses is the mean loss over the concatenated batch, so the averaged gradient
  is that batch's gradient. Steps may call a network several times, and through
  ``torch.autograd.grad(create_graph=True)`` (gradient penalties): DDP's hooks sit on the
  parameters' gradient accumulators, which run once per backward with every contribution summed.
- **State.** Identical gradients give identical optimizer steps, so parameters, optimizer
  states and the generator EMA stay identical in every process. Floating buffers (batch-norm
  running statistics) are averaged after every iteration (:meth:`Replicas.sync_buffers`).
- **Batch norm.** With ``--sync-bn`` batch-norm layers normalise with the statistics of the
  global batch (:class:`SyncBatchNorm` on CPU, ``torch.nn.SyncBatchNorm`` on CUDA) and share
  their parameters and buffers with the layers they replace, which come back for inference.
- **Randomness.** Each process re-seeds from ``(seed, rank)`` after the networks are built
  (identically): noise differs between processes and a run is still reproducible.
- **Files.** Only rank 0 writes; checkpoints hold every rank's random state. Ctrl-C reaches
  the processes at different moments; they vote after every iteration whether anyone saw it
  (:meth:`Replicas.anyone`) and stop together one iteration later, so the checkpoint is consistent.

Evaluation, per-epoch figures, generation and bundles see the plain modules.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganapps.core.devices import resolve_device
from ganapps.core.errors import BundleError, ConfigError, DataError, GanappsError

log = logging.getLogger("ganapps.distributed")

#: how long a process waits in a collective (rank 0 evaluates alone at epoch ends while the others wait)
TIMEOUT = datetime.timedelta(minutes=60)


@dataclass(frozen=True)
class DistInfo:
    """Rank and world size of this process; rank 0 alone writes files."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def current() -> DistInfo:
    """The running process group, or a single-process one."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistInfo()


# ----------------------------------------------------------------- process group
def launched() -> bool:
    """Whether a launcher (torchrun) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def launched_rank() -> int:
    """This process's rank as the launcher set it (0 outside a launcher)."""
    return int(os.environ.get("RANK", "0"))


def training_device(name: str, local_rank: int) -> torch.device:
    """The device of one process of a distributed run: GPU ``LOCAL_RANK`` of its node, or the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "mps":
        raise ConfigError("option --device: distributed training runs on CPU or CUDA, not mps")
    device = resolve_device(name)
    if device.type != "cuda":
        return device
    if device.index is not None and device.index != local_rank:
        raise ConfigError(
            f"option --device: each process of a distributed run uses GPU LOCAL_RANK of its node; "
            f"give --device cuda or auto, not {name} (choose GPUs with CUDA_VISIBLE_DEVICES)"
        )
    visible = torch.cuda.device_count()
    if local_rank >= visible:
        raise ConfigError(
            f"option --device: process {local_rank} of this node needs GPU {local_rank} but {visible} "
            f"are visible; start at most {visible} processes per node"
        )
    return torch.device("cuda", local_rank)


def init(device: str = "auto") -> bool:
    """Join the process group a launcher set up (env://): NCCL for CUDA runs, gloo otherwise.

    Returns True when this call joined it (the caller then leaves with :func:`leave`); False
    outside a launcher or when a group already exists (a user script that made its own).
    """
    if not launched() or not dist.is_available() or dist.is_initialized():
        return False
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = training_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        dist.init_process_group("nccl", timeout=TIMEOUT, device_id=dev)
    else:
        dist.init_process_group("gloo", timeout=TIMEOUT)
    log.debug("joined the process group: rank %d of %d (%s)", dist.get_rank(), dist.get_world_size(), backend())
    return True


def leave(barrier: bool = True) -> None:
    """Leave the process group, after every process got here when ``barrier``."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    if barrier:
        dist.barrier()
    dist.destroy_process_group()


def backend() -> str:
    """The process group's backend name (``gloo``, ``nccl``), or ``""`` without one."""
    return str(dist.get_backend()) if dist.is_available() and dist.is_initialized() else ""


def nodes() -> int:
    """Number of machines (torchrun agents) taking part."""
    return int(os.environ.get("GROUP_WORLD_SIZE", os.environ.get("NNODES", "1")))


# ------------------------------------------------------------------- collectives
def _comm_device() -> torch.device:
    """Where tensors must live for the group's collectives (NCCL: this process's GPU)."""
    return torch.device("cuda", torch.cuda.current_device()) if backend() == "nccl" else torch.device("cpu")


def mean_values(values: dict[str, float]) -> dict[str, float]:
    """The mean of each value over processes (every process passes the same keys)."""
    if not values:
        return values
    t = torch.tensor(list(values.values()), dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t)
    return dict(zip(values, (t / dist.get_world_size()).tolist(), strict=True))


def broadcast_flag(flag: bool) -> bool:
    """Rank 0's ``flag`` in every process."""
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=_comm_device())
    dist.broadcast(t, 0)
    return bool(t.item())


def broadcast_text(text: str) -> str:
    """Rank 0's ``text`` in every process (UTF-8 bytes in a tensor; nothing is pickled)."""
    data = torch.tensor(list(text.encode()), dtype=torch.uint8) if dist.get_rank() == 0 else torch.empty(0)
    size = torch.tensor([data.numel()], dtype=torch.int64, device=_comm_device())
    dist.broadcast(size, 0)
    buf = torch.zeros(int(size.item()), dtype=torch.uint8, device=_comm_device())
    if dist.get_rank() == 0:
        buf.copy_(data)
    dist.broadcast(buf, 0)
    return bytes(buf.cpu().tolist()).decode()


_ERRORS: dict[str, type[GanappsError]] = {e.__name__: e for e in (ConfigError, DataError, BundleError)}


def on_main(fn: Callable[[], str]) -> str:
    """Run ``fn`` on rank 0 and give its text result to every process; its error is raised everywhere."""
    reply = ""
    if dist.get_rank() == 0:
        try:
            reply = "ok:" + fn()
        except GanappsError as exc:
            reply = f"{type(exc).__name__}:{exc}"
            broadcast_text(reply)
            raise
    reply = broadcast_text(reply)
    kind, _, text = reply.partition(":")
    if kind != "ok":
        raise _ERRORS.get(kind, GanappsError)(text)
    return text


def check_same(what: str, *parts: Any) -> None:
    """Raise in every process unless ``parts`` (JSON values, tensors) are equal in all of them."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, dict) and all(isinstance(v, torch.Tensor) for v in part.values()):
            for key in sorted(part):
                h.update(key.encode())
                h.update(part[key].detach().cpu().contiguous().numpy().tobytes())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
    mine = torch.tensor(list(h.digest()), dtype=torch.uint8, device=_comm_device())
    theirs = mine.clone()
    dist.broadcast(theirs, 0)
    differs = torch.tensor([int(not torch.equal(mine, theirs))], dtype=torch.int32, device=_comm_device())
    dist.all_reduce(differs, op=dist.ReduceOp.MAX)
    if differs.item():
        raise GanappsError(
            f"{what} gave different results in different processes; it must be deterministic "
            "(seed its randomness from self.train_config.seed) for distributed training"
        )


# --------------------------------------------------------------- random streams
def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """A seed for ``rank``'s noise: different for every rank, the same in every run."""
    return int(np.random.SeedSequence([seed % 2**63, rank, step]).generate_state(1, dtype=np.uint64)[0] % 2**63)


def gather_rng(state: dict[str, Any]) -> list[dict[str, Any]]:
    """Every process's random state (as :func:`ganapps.core.devices.rng_state` gives it), by rank."""
    gauss = state.get("python_gauss")
    packed = {
        "torch": state["torch"],
        "numpy_keys": state["numpy_keys"],
        "numpy_pos": torch.tensor([state["numpy_pos"]], dtype=torch.int64),
        "python": state["python"],
        "python_gauss": torch.tensor([gauss is not None, gauss or 0.0], dtype=torch.float64),
    }
    if "cuda" in state:
        packed["cuda"] = torch.stack(state["cuda"])
    world, device = dist.get_world_size(), _comm_device()
    gathered: dict[str, list[torch.Tensor]] = {}
    for key, t in packed.items():
        parts = [torch.empty_like(t, device=device) for _ in range(world)]
        dist.all_gather(parts, t.to(device))
        gathered[key] = [p.cpu() for p in parts]
    out = []
    for r in range(world):
        g = gathered["python_gauss"][r]
        entry = {
            "torch": gathered["torch"][r],
            "numpy_keys": gathered["numpy_keys"][r],
            "numpy_pos": int(gathered["numpy_pos"][r].item()),
            "python": gathered["python"][r],
            "python_gauss": float(g[1]) if bool(g[0]) else None,
        }
        if "cuda" in gathered:
            entry["cuda"] = list(gathered["cuda"][r].unbind(0))
        out.append(entry)
    return out


# -------------------------------------------------------------------- batch norm
class _AllReduceSum(torch.autograd.Function):
    """Sum over processes. Every process's loss depends on every process's input through the sum,
    so the gradient is again a sum over processes (itself differentiable, for double backward)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return _AllReduceSum.apply(grad)


class SyncBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batch norm over the global batch (every process's rows), on any device and backend.

    ``torch.nn.SyncBatchNorm`` accepts only GPU tensors; this layer does the same maths with two
    differentiable all-reduces (sum and count, then the centred sum of squares). Outside a
    process group or in eval mode it is plain batch norm.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2-D input (got {x.dim()}-D)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        self._check_input_dim(x)
        dims = [0, *range(2, x.dim())]
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.full((1,), x.numel() / x.shape[1], dtype=x.dtype, device=x.device)
        total = _AllReduceSum.apply(torch.cat([x.sum(dims), count]))
        n = total[-1]
        mean = total[:-1] / n
        var = _AllReduceSum.apply((x - mean.view(shape)).pow(2).sum(dims)) / n
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), m)
                self.running_var.lerp_((var * n / (n - 1).clamp(min=1)).to(self.running_var.dtype), m)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y


@dataclass
class _Swap:
    parent: nn.Module
    name: str
    plain: nn.Module
    sync: nn.Module


def _sync_batchnorm(module: nn.Module, cuda: bool) -> list[_Swap]:
    """Put a synchronised layer, sharing parameters and buffers, in place of each batch-norm layer."""
    swaps = []
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if not isinstance(child, nn.modules.batchnorm._BatchNorm) or isinstance(
                child, nn.SyncBatchNorm | SyncBatchNorm | nn.modules.lazy.LazyModuleMixin
            ):
                continue
            cls = nn.SyncBatchNorm if cuda else SyncBatchNorm
            sync = cls(child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats)
            for key in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                setattr(sync, key, getattr(child, key))  # the very same tensors: updates reach both
            sync.train(child.training)
            setattr(parent, name, sync)
            swaps.append(_Swap(parent, name, child, sync))
    return swaps


# ---------------------------------------------------------------------- replicas
_DDP_HINT = (
    "\n\nganapps: in distributed training each network updated by a step is wrapped in "
    "DistributedDataParallel while the step runs; every call of such a network inside the step must "
    "contribute to the step's loss (or be made under torch.no_grad()), and repeated calls must use the "
    "same parameters."
)


class _DDP(DistributedDataParallel):
    """DDP that names the cause when a step reaches past ``forward`` into the wrapped network."""

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            inner = self._modules.get("module") if name != "module" else None
            if inner is not None and hasattr(inner, name):
                raise AttributeError(
                    f"{type(inner).__name__}.{name}: in distributed training a network updated by the "
                    "running step is wrapped in DistributedDataParallel, which runs forward() only; call "
                    "the network itself in training steps (split it into several networks in build())"
                ) from None
            raise


class Replicas:
    """DDP wrappers (and synchronised batch norm) of an app's networks, used by training steps only.

    ``nets`` keeps the plain modules; :meth:`step` swaps the wrappers of the networks that a step
    updates into it for the duration of the step.
    """

    def __init__(self, nets: nn.ModuleDict, trained: Iterable[str], device: torch.device, sync_bn: bool) -> None:
        self.nets = nets
        self.swaps: list[_Swap] = []
        if sync_bn:
            for net in nets.values():
                self.swaps += _sync_batchnorm(net, cuda=device.type == "cuda")
        ids = [device.index] if device.type == "cuda" else None
        # small decisions travel over gloo on the CPU: no GPU synchronisation for them
        self.control = dist.new_group(backend="gloo") if backend() != "gloo" else None
        self._vote: tuple[Any, torch.Tensor] | None = None
        self.wrappers: dict[str, DistributedDataParallel] = {}
        trained = set(trained)
        for name in nets:
            if name not in trained:
                continue
            net = nets[name]
            net.requires_grad_(True)  # as the Trainer's freezing leaves an updated network
            if not any(True for _ in net.parameters()):
                continue
            # find_unused_parameters: an app's step may leave some parameters of a network it
            # updates without gradient; DDP then marks them ready instead of waiting for them.
            # Buffers are averaged after each iteration instead of broadcast at every call.
            self.wrappers[name] = _DDP(net, device_ids=ids, find_unused_parameters=True, forward_sync_buffers=False)

    @contextlib.contextmanager
    def step(self, names: Iterable[str]) -> Iterator[None]:
        """The DDP wrappers of ``names`` stand in ``nets`` inside the block."""
        plain = {n: self.nets[n] for n in names if n in self.wrappers}
        for name in plain:
            self.nets[name] = self.wrappers[name]
        try:
            yield
        except RuntimeError as exc:
            text = str(exc)
            if "finished reduction in the prior iteration" in text or "marked ready only once" in text:
                raise RuntimeError(text + _DDP_HINT) from exc
            raise
        finally:
            for name, module in plain.items():
                self.nets[name] = module

    def anyone(self, flag: bool) -> bool:
        """Whether ``flag`` was True in any process at the previous call: the same answer everywhere.

        The vote travels while the next iteration computes (an asynchronous all-reduce over gloo),
        so nobody waits for it; the price is that the answer comes one call late.
        """
        answer = False
        if self._vote is not None:
            work, votes = self._vote
            work.wait()
            answer = bool(votes.item())
        votes = torch.tensor([int(flag)], dtype=torch.int32)
        self._vote = (dist.all_reduce(votes, op=dist.ReduceOp.MAX, group=self.control, async_op=True), votes)
        return answer

    @torch.no_grad()
    def sync_buffers(self) -> None:
        """Average floating buffers (batch-norm running statistics) over processes."""
        buffers = [b for net in self.nets.values() for b in net.buffers() if b.is_floating_point()]
        world = dist.get_world_size()
        for dtype in dict.fromkeys(b.dtype for b in buffers):  # the same order in every process
            group = [b for b in buffers if b.dtype == dtype]
            flat = torch.cat([b.reshape(-1) for b in group])
            dist.all_reduce(flat)
            flat /= world
            for b, part in zip(group, flat.split([b.numel() for b in group]), strict=True):
                b.copy_(part.view_as(b))

    @contextlib.contextmanager
    def plain(self) -> Iterator[None]:
        """Plain batch norm in the block (inference on one process must not wait for the others)."""
        for s in self.swaps:
            setattr(s.parent, s.name, s.plain)
        try:
            yield
        finally:
            for s in self.swaps:
                setattr(s.parent, s.name, s.sync)

    def release(self) -> None:
        """Give the networks back as ``build()`` made them: plain batch norm, no wrappers."""
        if self._vote is not None:
            self._vote[0].wait()
            self._vote = None
        for s in self.swaps:
            s.plain.train(s.sync.training)
            setattr(s.parent, s.name, s.plain)
        self.swaps = []
        self.wrappers = {}
