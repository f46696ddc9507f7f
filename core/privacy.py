"""Differential privacy for the engine: DP-SGD (opacus) on the networks that see real rows.

``--dp-epsilon E`` trains every step whose optimizer updates one of the app's
``private_networks`` with DP-SGD (Abadi et al. 2016): each batch of real rows is a Poisson sample
(each row in with probability q = batch_size / n), each row's gradient is clipped to
``--dp-max-grad-norm`` C, Gaussian noise N(0, σ²C²) is added to their sum, and the sum is divided
by the expected batch size. The other steps (the generator's) get no real rows (``batch`` is
None): they learn only through the private networks. An RDP accountant sets σ so that all the
private steps the schedule plans, composed, spend (E, δ); the run stops when they are spent.

The engine cannot see what an app's own preprocessing reads, so an app opts in by setting
``App.dp_refusal = None`` once every other path from real rows to its model is closed
(docs/privacy.md lists medgan's). opacus is imported only when DP is on.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ganapps.core.accounting import composed_noise_for, rdp_epsilon
from ganapps.core.config import TrainConfig
from ganapps.core.data import TensorData
from ganapps.core.errors import ConfigError, DataError
from ganapps.core.meanings import MetricMeaning

if TYPE_CHECKING:
    from ganapps.core.app import App, Phase, Step

#: the accountant: Rényi DP (Mironov 2017), opacus' default; PRV gives ~8% less noise but takes
#: seconds per search and returns an estimate with an error margin
ACCOUNTANT = "rdp"
INSTALL = "pip install 'ganapps[dp]'"


def default_delta(rows: int) -> float:
    """δ = 1/(10·n): a mechanism that publishes each row with probability δ would leak 0.1 rows in all."""
    return 1.0 / (10.0 * max(rows, 1))


def require_opacus() -> None:
    """A one-line ConfigError when opacus is missing."""
    try:
        import opacus  # noqa: F401
    except ImportError:
        raise ConfigError(f"option --dp-epsilon needs opacus: {INSTALL}") from None


def check_settings(app_cls: type[App], cfg: TrainConfig, processes: int = 1) -> None:
    """Refuse, in one line each, what DP-SGD cannot make private (before any data is read)."""
    if cfg.dp_epsilon <= 0:
        return
    reason = app_cls.dp_refusal
    if reason:
        raise ConfigError(f"option --dp-epsilon: app {app_cls.name} cannot train privately: {reason}")
    refusals = [
        (processes > 1, "trains in one process; drop --nproc (opacus' distributed DP-SGD is not wired in)"),
        (cfg.patience > 0, "stops early on evaluations of real rows outside the budget; drop --patience"),
        (cfg.grad_clip > 0, "clips each row's gradient (--dp-max-grad-norm); drop --grad-clip"),
        (cfg.amp in ("bf16", "fp16"), "trains in float32; use --amp off"),
        (cfg.num_workers > 0, "samples rows in memory; drop --num-workers"),
    ]
    for bad, why in refusals:
        if bad:
            raise ConfigError(f"option --dp-epsilon {why}")
    require_opacus()


def check_delta(cfg: TrainConfig, rows: int) -> None:
    """Refuse a ``--dp-delta`` at or above 1/n: it would allow publishing whole rows with probability δ."""
    if cfg.dp_epsilon > 0 and cfg.dp_delta * rows >= 1.0:
        raise ConfigError(
            f"option --dp-delta {cfg.dp_delta:g} is at least 1/n for these {rows} rows: a run that published a "
            f"whole row with probability δ would meet it; give δ below {1 / rows:.2g} (or leave it out: 1/(10·n))"
        )


@dataclass
class PrivacyPlan:
    """The budget of a DP run and what the accountant made of it."""

    epsilon: float
    delta: float
    max_grad_norm: float
    rows: int
    expected_batch: int
    sample_rate: float
    steps: int
    noise_multiplier: float
    accountant: str = ACCOUNTANT
    #: the app's preprocessing release (``App.dp_preprocessing``): a Gaussian mechanism of noise
    #: multiplier ``preprocessing_noise`` composed with the DP-SGD steps in RDP, and ``selection_delta``
    #: of δ spent on thresholding (category discovery); None/0 without one
    preprocessing_noise: float | None = None
    selection_delta: float = 0.0


#: what the engine's keys of ``metrics.json``'s ``differential_privacy`` mean (the report's privacy table);
#: an app explains the keys of its own release under ``preprocessing.`` (``App.dp_meanings``)
PRIVACY_MEANINGS: dict[str, MetricMeaning] = {
    "epsilon": MetricMeaning("ε asked (--dp-epsilon): how much any one row can change what the run releases"),
    "delta": MetricMeaning("δ: the chance the ε bound may fail (default 1/(10·n), below 1/n)"),
    "epsilon_spent": MetricMeaning(
        "ε the accountant charges for the whole run, every part composed", "lower", "epsilon", "asked"
    ),
    "epsilon_preprocessing": MetricMeaning(
        "ε of the app's noisy statistics alone, at the same δ (the parts compose in RDP; they do not add)"
    ),
    "epsilon_dp_sgd": MetricMeaning("ε of the DP-SGD steps alone, at the same δ"),
    "max_grad_norm": MetricMeaning("C: each row's gradient is clipped to this L2 norm (--dp-max-grad-norm)"),
    "noise_multiplier": MetricMeaning("σ: DP-SGD adds Gaussian noise of std σ·C to each step's summed gradients"),
    "preprocessing_noise": MetricMeaning("noise multiplier of the app's Gaussian release of statistics"),
    "rows": MetricMeaning("real training rows n (public)"),
    "expected_batch": MetricMeaning("rows a private step draws on average (Poisson sampling)"),
    "sample_rate": MetricMeaning("q: each row's chance of being in a private step's batch"),
    "steps": MetricMeaning("private steps planned: the accountant's horizon"),
    "steps_taken": MetricMeaning(
        "private steps taken (the run stops when the budget is spent)", None, "steps", "planned"
    ),
    "accountant": MetricMeaning("the privacy accountant: Rényi DP (RDP), converted to (ε, δ)"),
    "selection_delta": MetricMeaning("part of δ spent releasing values by threshold (partition selection)"),
    "preprocessing.selection_delta": MetricMeaning("the same, as the app's release reported it"),
    "private_networks": MetricMeaning("networks trained with DP-SGD: the only ones that see real rows"),
}


def noise_for(epsilon: float, delta: float, sample_rate: float, steps: int) -> float:
    """σ so that ``steps`` Poisson-subsampled Gaussian steps at rate q spend (ε, δ) (opacus' search)."""
    from opacus.accountants.utils import get_noise_multiplier

    with warnings.catch_warnings():  # "optimal order is the largest alpha": the bound is then loose, still valid
        warnings.simplefilter("ignore")
        try:
            return float(
                get_noise_multiplier(
                    target_epsilon=epsilon,
                    target_delta=delta,
                    sample_rate=sample_rate,
                    steps=steps,
                    accountant=ACCOUNTANT,
                )
            )
        except ValueError:
            raise ConfigError(
                f"option --dp-epsilon {epsilon:g} is too small for {steps} steps at sampling rate {sample_rate:.3g} "
                "(σ would pass 10⁶); raise it, or train fewer steps"
            ) from None


def spent(plan: PrivacyPlan, steps: int) -> float:
    """ε spent (at the plan's δ) after ``steps`` private steps, the app's preprocessing included."""
    if plan.preprocessing_noise is not None:
        parts = ((1.0, plan.preprocessing_noise, 1), (plan.sample_rate, plan.noise_multiplier, steps))
        return rdp_epsilon(plan.delta - plan.selection_delta, *parts)
    if steps == 0:
        return 0.0
    from opacus.accountants import create_accountant

    acc = create_accountant(mechanism=plan.accountant)
    acc.history = [(plan.noise_multiplier, plan.sample_rate, steps)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(acc.get_epsilon(delta=plan.delta))


class PoissonBatches:
    """Real rows for DP-SGD: each batch keeps every row independently with probability q.

    A batch is a pure function of (seed, phase, epoch, batch number), so a resumed run draws the
    same rows; an "epoch" is ⌊n / expected batch⌋ batches. Batches may be empty.
    """

    def __init__(self, data: Any, batch_size: int, seed: int, device: torch.device) -> None:
        if not isinstance(data, TensorData):
            raise ConfigError("option --dp-epsilon samples rows in memory: this app's data are file-backed")
        n = len(data)
        if n == 0:
            raise DataError("the training data is empty after preprocessing")
        self.data, self.seed = data, seed
        self.expected_batch = min(batch_size, n)
        self.sample_rate = self.expected_batch / n
        self.per_epoch = n // self.expected_batch
        if device.type != "cpu" and data.nbytes() < 2**30:
            self.data = data.to(device)

    def __len__(self) -> int:
        return self.per_epoch

    def epoch(self, phase: int, epoch: int, start: int = 0) -> Iterator[Any]:
        n = len(self.data)
        for b in range(start, self.per_epoch):
            g = torch.Generator()
            g.manual_seed((self.seed * 1_000_003 + phase * 10_007 + epoch * 101 + b + 1) % (2**63 - 1))
            keep = (torch.rand(n, generator=g) < self.sample_rate).nonzero().flatten()
            yield self.data.take(keep.to(self.data.tensors[0].device))


def planned_steps(phases: list[Phase], private: set[str], per_epoch: int) -> int:
    """How many private steps the whole schedule makes (each phase has at most one)."""
    total = 0
    for phase in phases:
        for step in phase.steps:
            if step.name in private:
                total += (phase.epochs * per_epoch) // step.every
    return total


def forbidden_layer(net: nn.Module) -> str | None:
    """The first layer that mixes the rows of a batch (per-row gradients then mean nothing), or None."""
    for name, mod in net.named_modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm | nn.SyncBatchNorm):
            return (
                f"{name or 'it'} is {type(mod).__name__}, which mixes the rows of a batch; use GroupNorm or LayerNorm"
            )
        if isinstance(mod, nn.InstanceNorm1d | nn.InstanceNorm2d | nn.InstanceNorm3d) and mod.track_running_stats:
            return f"{name} keeps running statistics of real rows; set track_running_stats=False"
    return None


class DPSGD:
    """Makes a Trainer's private steps DP-SGD: per-row gradient hooks, DP optimizers, the accountant."""

    def __init__(
        self,
        app: App,
        cfg: TrainConfig,
        optimizers: dict[str, torch.optim.Optimizer],
        owned: dict[str, frozenset[str]],
        phases: list[Phase],
        batches: PoissonBatches,
    ) -> None:
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer

        marked = set(app.private_networks)
        unknown = sorted(marked - set(app.nets))
        if unknown:
            raise ConfigError(f"app {app.name}'s private_networks names unknown network {unknown[0]!r}")
        self.optimizers = {name for name, nets in owned.items() if nets & marked}
        steps = [s for p in phases if p.epochs > 0 for s in p.steps if s.optimizer in self.optimizers]
        for phase in phases:
            mine = [s.name for s in phase.steps if s.optimizer in self.optimizers]
            if len(mine) > 1:
                raise ConfigError(
                    f"option --dp-epsilon: phase {phase.name!r} of app {app.name} has {len(mine)} steps on real rows "
                    f"({', '.join(mine)}); DP-SGD accounts one per batch"
                )
        self.steps = {s.name: owned[s.optimizer] for s in steps}
        nets = sorted({n for s in steps for n in owned[s.optimizer]})
        for name in nets:
            bad = forbidden_layer(app.nets[name])
            if bad:
                raise ConfigError(f"option --dp-epsilon: network {name!r} of app {app.name} sees real rows, but {bad}")
        check_delta(cfg, len(batches.data))
        delta = cfg.dp_delta or default_delta(len(batches.data))
        total = planned_steps(phases, set(self.steps), len(batches))
        if total == 0:
            raise ConfigError(f"option --dp-epsilon: app {app.name} plans no step on real rows")
        #: what the app's own preprocessing released (noisy statistics), composed with the steps below
        self.pre: dict[str, Any] | None = getattr(app, "dp_preprocessing", None)
        if self.pre:
            pre_sigma, select = float(self.pre["noise_multiplier"]), float(self.pre.get("selection_delta", 0.0))
            sigma = composed_noise_for(cfg.dp_epsilon, delta - select, batches.sample_rate, total, pre_sigma)
        else:
            pre_sigma, select = None, 0.0
            sigma = noise_for(cfg.dp_epsilon, delta, batches.sample_rate, total)
        self.plan = PrivacyPlan(
            cfg.dp_epsilon,
            delta,
            cfg.dp_max_grad_norm,
            len(batches.data),
            batches.expected_batch,
            batches.sample_rate,
            total,
            sigma,
            preprocessing_noise=pre_sigma,
            selection_delta=select,
        )
        self.samplers = {n: GradSampleModule(app.nets[n], loss_reduction="mean") for n in nets}
        for s in self.samplers.values():
            s.disable_hooks()
        for name in self.optimizers:
            optimizers[name] = DPOptimizer(
                optimizers[name],
                noise_multiplier=sigma,
                max_grad_norm=cfg.dp_max_grad_norm,
                expected_batch_size=batches.expected_batch,
                loss_reduction="mean",
            )
        self.app = app
        self.taken = 0
        self._extra: dict[tuple[str, str], int] = {}

    def sees_data(self, step: Step) -> bool:
        """Whether ``step`` gets the real batch (only private steps do)."""
        return step.name in self.steps

    @property
    def exhausted(self) -> bool:
        return self.taken >= self.plan.steps

    @contextlib.contextmanager
    def step(self, step: Step, batch: Any) -> Iterator[None]:
        """Per-row gradients on for ``step``'s networks during its forward, backward and update;
        checks that each is called once, on the real rows and a fixed number of others."""
        nets = self.steps[step.name]
        real = _rows(batch)
        calls: dict[str, list[int]] = {n: [] for n in nets}
        handles = []
        for n in nets:

            def count(_mod: nn.Module, args: tuple[Any, ...], name: str = n) -> None:
                if torch.is_grad_enabled():
                    calls[name].append(_rows(args[0]) if args else 0)

            handles.append(self.app.nets[n].register_forward_pre_hook(count))
            self.samplers[n].enable_hooks()
        try:
            with warnings.catch_warnings():  # opacus' hooks on a first layer, whose input needs no gradient
                warnings.filterwarnings("ignore", message="Full backward hook is firing")
                yield
        finally:
            for h in handles:
                h.remove()
            for n in nets:
                self.samplers[n].disable_hooks()
        self.taken += 1
        self._check_calls(step, calls, real)

    def _check_calls(self, step: Step, calls: dict[str, list[int]], real: int) -> None:
        name = self.app.name
        for net, rows in calls.items():
            if len(rows) > 1:
                raise ConfigError(
                    f"option --dp-epsilon: step {step.name!r} of app {name} calls {net!r} {len(rows)} times; a private "
                    "network must see a step's real and generated rows in one call (torch.cat), or opacus mixes rows"
                )
            if not rows:
                continue
            extra = rows[0] - real
            first = self._extra.setdefault((step.name, net), extra)
            if extra != first:
                raise ConfigError(
                    f"option --dp-epsilon: step {step.name!r} of app {name} gives {net!r} {extra} rows beside the "
                    f"{real} real ones (earlier {first}); their number must not depend on the real batch"
                )

    def summary(self) -> dict[str, Any]:
        """What metrics.json and the report say about the run's privacy."""
        out = asdict(self.plan)
        out["epsilon_spent"] = round(spent(self.plan, self.taken), 4)
        out["steps_taken"] = self.taken
        out["private_networks"] = sorted({n for nets in self.steps.values() for n in nets})
        if getattr(self.app, "dp_notes", None):
            out["notes"] = list(self.app.dp_notes)
        if self.pre:  # the split: each part alone at the RDP δ, and their composition (epsilon_spent)
            p, d = self.plan, self.plan.delta - self.plan.selection_delta
            out["composition"] = "RDP (preprocessing Gaussian release + DP-SGD steps), plus selection_delta"
            out["epsilon_preprocessing"] = round(rdp_epsilon(d, (1.0, p.preprocessing_noise or 0.0, 1)), 4)
            out["epsilon_dp_sgd"] = round(rdp_epsilon(d, (p.sample_rate, p.noise_multiplier, self.taken)), 4)
            out["preprocessing"] = {k: v for k, v in self.pre.items() if k != "noise_multiplier"}
        return out

    def close(self) -> None:
        """Remove the per-row gradient hooks and attributes: the networks are plain modules again."""
        for s in self.samplers.values():
            s._close()
        self.samplers = {}

    def state_dict(self) -> dict[str, Any]:
        return {"taken": self.taken, "noise_multiplier": self.plan.noise_multiplier}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not math.isclose(float(state["noise_multiplier"]), self.plan.noise_multiplier):
            raise ConfigError(
                f"--resume: the checkpoint's DP noise (σ = {float(state['noise_multiplier']):.4g}) was planned for "
                f"another schedule than this run's (σ = {self.plan.noise_multiplier:.4g}); a DP run resumes "
                "with its own epochs"
            )
        self.taken = int(state["taken"])


def _rows(batch: Any) -> int:
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    if isinstance(batch, tuple | list) and batch and isinstance(batch[0], torch.Tensor):
        return int(batch[0].shape[0])
    return 0


def audit_p_value(m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """P-value of "the training is (ε, δ)-DP" when ``v`` of ``r`` membership guesses about ``m``
    canaries, each put in the training set by a fair coin, are right (Steinke, Nasr & Jagielski 2023,
    "Privacy auditing with one (1) training run", Thm 3.1 and their p-value code): under (ε, δ)-DP
    the right guesses are at most Binomial(r, e^ε/(1+e^ε)), up to a term 2mδ·α."""
    from scipy.stats import binom

    q = 1.0 / (1.0 + math.exp(-epsilon))
    beta = float(binom.sf(v - 1, r, q))  # P[Binomial(r, q) >= v]
    alpha, mass = 0.0, 0.0
    for i in range(1, v + 1):
        mass += float(binom.pmf(v - i, r, q))
        alpha = max(alpha, mass / i)
    return min(1.0, beta + alpha * delta * 2 * m)


def audit_epsilon(m: int, r: int, v: int, delta: float, confidence: float = 0.95) -> float:
    """The empirical ε lower bound of a one-run audit: the largest ε that ``v`` right guesses of ``r``
    (about ``m`` canaries) reject at ``confidence``; 0 when even ε = 0 is not rejected."""
    level = 1.0 - confidence
    if audit_p_value(m, r, v, 0.0, delta) > level:
        return 0.0
    low, high = 0.0, 1.0
    while audit_p_value(m, r, v, high, delta) <= level and high < 100:
        low, high = high, high + 1.0
    for _ in range(40):
        mid = (low + high) / 2
        if audit_p_value(m, r, v, mid, delta) <= level:
            low = mid
        else:
            high = mid
    return low
