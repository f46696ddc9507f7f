"""Unrolled GAN (Metz et al. 2017): the generator step looks K discriminator updates ahead.

The generator minimises the surrogate loss f(θ_G, θ_D^K(θ_G, θ_D)), where θ_D^0 = θ_D and
θ_D^{k+1} = θ_D^k − η ∇_{θ_D} L_D(θ_G, θ_D^k) are K discriminator updates *differentiated
through*: the fakes in L_D keep their gradients, so ∂θ_D^K/∂θ_G carries how the discriminator
would react to the generator's move — the term that fights mode collapse. The real
discriminator is then updated as usual, never with the unrolled copy.

An app opts in with :meth:`App.unrolled`, returning an :class:`Unroll`: its generator's fakes for
a batch, the discriminator's loss on (batch, fakes) and the generator's losses on (batch, fakes).
The engine evaluates both losses with substituted discriminator parameters through
``torch.func.functional_call`` (no copy of the network), on copies of its buffers (batch norm's
running statistics are not updated while unrolling). docs/unrolled.md has the objective, the
choices and what each costs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call

from ganapps.core.errors import ConfigError

if TYPE_CHECKING:
    from ganapps.core.app import App, Phase
    from ganapps.core.config import TrainConfig

Params = dict[str, Tensor]


@dataclass
class Unroll:
    """What ``--unroll K`` needs from an app (returned by :meth:`App.unrolled`).

    ``fake(batch)`` draws the generator's samples for a batch, *not* detached; ``d_loss(batch,
    fake)`` is the loss the discriminator step minimises on that real batch and those fakes (it
    must not detach them); ``g_loss(batch, fake)`` the generator step's losses on those fakes
    (``"loss"`` is minimised). The app's own steps should be these functions composed, so that
    ``--unroll 0`` and the plain steps agree. ``step`` names the generator step replaced,
    ``network`` the discriminator unrolled, and ``rule`` its update: ``"adam"`` (Adam continued
    from the discriminator optimizer's moments, as the paper), ``"sgd"`` (θ − η∇, η that
    optimizer's learning rate), or ``"auto"``: adam when that optimizer is Adam or AdamW, else sgd.
    """

    fake: Callable[[Any], Any]
    d_loss: Callable[[Any, Any], Tensor]
    g_loss: Callable[[Any, Any], Mapping[str, Any]]
    step: str = "generator"
    network: str = "discriminator"
    rule: Literal["auto", "sgd", "adam"] = "auto"


def check_settings(app_cls: type[App], cfg: TrainConfig, processes: int = 1) -> None:
    """Refuse ``--unroll`` in one line where it cannot work (before any data is read)."""
    if cfg.unroll <= 0:
        return
    from ganapps.core.app import App

    if app_cls.unrolled is App.unrolled:
        raise ConfigError(
            f"option --unroll: app {app_cls.name} cannot look ahead: it does not give the engine its "
            "discriminator loss as a function of (batch, fakes) (App.unrolled, docs/unrolled.md)"
        )
    if cfg.dp_epsilon > 0:
        raise ConfigError("option --unroll: not with --dp-epsilon (the unrolled discriminator steps read real rows)")
    if processes > 1:
        raise ConfigError("option --unroll trains in one process; drop --nproc")
    if cfg.amp == "fp16":
        raise ConfigError("option --unroll: not with --amp fp16 (no loss scaling inside the unrolled steps); use bf16")


def install(
    app: App,
    phases: list[Phase],
    owned: Mapping[str, frozenset[str]],
    optimizers: Mapping[str, torch.optim.Optimizer],
    cfg: TrainConfig,
    processes: int,
    amp: torch.dtype | None,
) -> None:
    """Replace the app's generator step in ``phases`` by the unrolled one (the Trainer's set-up)."""
    check_settings(type(app), cfg, processes)
    if amp == torch.float16:
        raise ConfigError("option --unroll: not with fp16 (no loss scaling inside the unrolled steps); use --amp bf16")
    parts = app.unrolled()
    if parts is None:
        raise ConfigError(f"option --unroll: app {app.name} cannot look ahead with these options")
    owner = [name for name, nets in owned.items() if parts.network in nets]
    if not owner:
        raise ConfigError(f"option --unroll: no optimizer of app {app.name} trains {parts.network!r}")
    fn = Unroller(app, parts, cfg.unroll, optimizers[owner[0]])
    found = False
    for phase in phases:
        for i, step in enumerate(phase.steps):
            if step.name == parts.step:
                phase.steps[i], found = dataclasses.replace(step, fn=fn), True
    if not found:
        raise ConfigError(f"option --unroll: app {app.name} has no step {parts.step!r} to unroll")


class _Bound(nn.Module):
    """The app's networks behind a function, so ``functional_call`` can substitute their tensors."""

    def __init__(self, nets: nn.ModuleDict, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.nets = nets
        self.fn = fn

    def forward(self, *args: Any) -> Any:
        return self.fn(*args)


class Unroller:
    """The unrolled generator step of ``app``: a drop-in ``Step.fn``."""

    def __init__(self, app: App, parts: Unroll, k: int, optimizer: torch.optim.Optimizer) -> None:
        if parts.network not in app.nets:
            raise ConfigError(f"option --unroll: app {app.name} has no network {parts.network!r} to unroll")
        self.app, self.parts, self.k, self.optimizer = app, parts, k, optimizer
        adam = isinstance(optimizer, torch.optim.Adam | torch.optim.AdamW)
        self.rule = parts.rule if parts.rule != "auto" else ("adam" if adam else "sgd")
        self.prefix = f"nets.{parts.network}."
        self.d_loss = _Bound(app.nets, parts.d_loss)
        self.g_loss = _Bound(app.nets, parts.g_loss)

    def __call__(self, batch: Any) -> dict[str, Any]:
        fake = self.parts.fake(batch)
        params, buffers = self.start()
        for _ in range(self.k):
            params = self.update(params, buffers, batch, fake)
        losses = dict(functional_call(self.g_loss, {**params, **buffers}, (batch, fake)))
        return losses

    def start(self) -> tuple[Params, Params]:
        """θ_D^0: the live parameters as fresh leaves (the generator step does not train D), and
        copies of D's buffers, so unrolling leaves its running statistics alone."""
        net = self.app.nets[self.parts.network]
        params = {self.prefix + n: p.detach().requires_grad_(True) for n, p in net.named_parameters()}
        buffers = {self.prefix + n: b.clone() for n, b in net.named_buffers()}
        self._state = {self.prefix + n: self.optimizer.state.get(p, {}) for n, p in net.named_parameters()}
        self._moments: dict[str, tuple[Tensor, Tensor, float]] = {}
        return params, buffers

    def update(self, params: Params, buffers: Params, batch: Any, fake: Any) -> Params:
        """One discriminator update θ^{k+1} = θ^k − step(∇L_D(θ^k)), kept differentiable."""
        loss = functional_call(self.d_loss, {**params, **buffers}, (batch, fake))
        names = list(params)
        grads = torch.autograd.grad(loss, [params[n] for n in names], create_graph=True, allow_unused=True)
        group = self.optimizer.param_groups[0]
        out = {}
        for name, g in zip(names, grads, strict=True):
            if g is None:
                out[name] = params[name]
            elif self.rule == "adam":
                out[name] = params[name] - self._adam(name, g, group)
            else:
                out[name] = params[name] - group["lr"] * g
        return out

    def _adam(self, name: str, g: Tensor, group: Mapping[str, Any]) -> Tensor:
        """Adam's step for one tensor, continuing the live optimizer's moments (differentiably)."""
        b1, b2 = group["betas"]
        if name in self._moments:
            m, v, t = self._moments[name]
        else:
            state = self._state[name]
            zeros = torch.zeros_like(g)
            m, v = state.get("exp_avg", zeros).detach(), state.get("exp_avg_sq", zeros).detach()
            t = float(state.get("step", 0))
        m, v, t = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g, t + 1
        self._moments[name] = (m, v, t)
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        # √(v̂ + tiny) instead of √v̂: the same value, a finite derivative where v̂ = 0
        return group["lr"] * m_hat / (torch.sqrt(v_hat + 1e-30) + group["eps"])
