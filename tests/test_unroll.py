"""--unroll K (core/unroll.py): the unrolled generator loss against a hand-written one, the plain
step at K = 0, batch-norm buffers, the Trainer, the CLI and the Python API, and the refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import CliRunner
from torch import Tensor, nn

from ganapps.cli.main import cli
from ganapps.core import App, ConfigError, TrainConfig, Trainer, Unroll, run
from ganapps.core import losses as L
from ganapps.core.config import build
from ganapps.core.rundir import RunDir
from ganapps.core.testing import RingApp, RingOptions
from ganapps.core.unroll import Unroller

LR = 0.1
N = 16


class Linear(App):
    """G(z) = Az + b, D(x) = wᵀx + c, least-squares losses: small enough to unroll by hand."""

    name = "linear"

    def __init__(self, bn: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        D: nn.Module = nn.Linear(2, 1)
        if bn:
            D = nn.Sequential(nn.BatchNorm1d(2), nn.Linear(2, 1))
        self.nets = nn.ModuleDict({"generator": nn.Linear(2, 2), "discriminator": D})

    def fakes(self, real: Tensor) -> Tensor:
        return self.nets.generator(torch.randn(len(real), 2))

    def d_loss(self, real: Tensor, fake: Tensor) -> Tensor:
        return L.d_lsgan(self.nets.discriminator(real), self.nets.discriminator(fake))

    def g_loss(self, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        return {"loss": L.g_lsgan(self.nets.discriminator(fake))}

    def generator_step(self, real: Tensor) -> dict[str, Tensor]:
        return self.g_loss(real, self.fakes(real))

    def unrolled(self, rule: str = "sgd") -> Unroll:
        return Unroll(self.fakes, self.d_loss, self.g_loss, rule=rule)  # type: ignore[arg-type]


def real_batch() -> Tensor:
    return torch.randn(N, 2, generator=torch.Generator().manual_seed(1)) + 2.0


def g_grads(app: Linear, k: int | None, rule: str = "sgd") -> list[Tensor]:
    """∂(generator loss)/∂θ_G: the plain step (k None) or the engine's unrolled one."""
    opt = torch.optim.Adam(app.nets.discriminator.parameters(), lr=LR)
    step = app.generator_step if k is None else Unroller(app, app.unrolled(rule), k, opt)
    torch.manual_seed(5)
    loss = step(real_batch())["loss"]
    return list(torch.autograd.grad(loss, list(app.nets.generator.parameters())))


def by_hand(app: Linear, k: int, rule: str) -> list[Tensor]:
    """The same gradient from the closed-form least-squares D gradient, unrolled k times."""
    A = app.nets.generator.weight.detach().clone().requires_grad_(True)
    b = app.nets.generator.bias.detach().clone().requires_grad_(True)
    w = app.nets.discriminator.weight.detach().clone()
    c = app.nets.discriminator.bias.detach().clone()
    r = real_batch()
    torch.manual_seed(5)
    f = torch.randn(N, 2) @ A.T + b
    m = v = (torch.zeros_like(w), torch.zeros_like(c))
    for t in range(1, k + 1):
        dr, df = r @ w.T + c - 1, f @ w.T + c  # D(x) − 1 on real rows, D(G(z)) on fakes
        gw = (dr * r).mean(0, keepdim=True) + (df * f).mean(0, keepdim=True)
        gc = dr.mean(0) + df.mean(0)
        if rule == "sgd":
            w, c = w - LR * gw, c - LR * gc
        else:  # Adam from zero moments, β = (0.9, 0.999), ε = 1e-8
            m = (0.9 * m[0] + 0.1 * gw, 0.9 * m[1] + 0.1 * gc)
            v = (0.999 * v[0] + 0.001 * gw**2, 0.999 * v[1] + 0.001 * gc**2)
            step = [
                LR * (mi / (1 - 0.9**t)) / ((vi / (1 - 0.999**t)).sqrt() + 1e-8) for mi, vi in zip(m, v, strict=True)
            ]
            w, c = w - step[0], c - step[1]
    loss = 0.5 * ((f @ w.T + c - 1) ** 2).mean()
    return list(torch.autograd.grad(loss, [A, b]))


def test_zero_steps_is_the_plain_generator_step_exactly() -> None:
    app = Linear()
    for a, b in zip(g_grads(app, 0), g_grads(app, None), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("k", "rule"), [(1, "sgd"), (3, "sgd"), (2, "adam")])
def test_unrolled_gradient_matches_the_hand_written_one(k: int, rule: str) -> None:
    app = Linear()
    got, want, plain = g_grads(app, k, rule), by_hand(app, k, rule), g_grads(app, None)
    for a, b, p in zip(got, want, plain, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        assert not torch.allclose(a, p, rtol=1e-3, atol=1e-5)  # looking ahead changes the gradient


def test_unrolling_leaves_the_discriminator_and_its_batch_norm_alone() -> None:
    app = Linear(bn=True)
    before = {k: v.clone() for k, v in app.nets.discriminator.state_dict().items()}
    opt = torch.optim.SGD(app.nets.discriminator.parameters(), lr=LR)
    loss = Unroller(app, app.unrolled(), 3, opt)(real_batch())["loss"]
    loss.backward()
    after = app.nets.discriminator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running stats and weights untouched
    assert all(p.grad is None for p in app.nets.discriminator.parameters())
    assert all(p.grad is not None for p in app.nets.generator.parameters())


def ring(unroll: int, seed: int = 3, run_dir: RunDir | None = None, **cfg: Any) -> tuple[RingApp, Trainer]:
    app = RingApp(RingOptions(rows=128, hidden=8))
    data = app.load_data(None)
    app.fit(data)
    config = TrainConfig(epochs=2, batch_size=32, seed=seed, unroll=unroll, **cfg)
    trainer = Trainer(app, config, run_dir=run_dir, progress=False)
    trainer.fit(data)
    return app, trainer


def weights(app: App) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in app.nets.state_dict().items()}


def test_trainer_unrolls_deterministically() -> None:
    a, _ = ring(2)
    b, _ = ring(2)
    c, _ = ring(0)
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def test_resume_under_unroll_equals_the_uninterrupted_run(tmp_path: Path) -> None:
    full, _ = ring(2)
    run_dir = RunDir(tmp_path)
    ring(2, max_steps=5, run_dir=run_dir)
    app = RingApp(RingOptions(rows=128, hidden=8))
    data = app.load_data(None)
    app.fit(data)
    cfg = TrainConfig(epochs=2, batch_size=32, seed=3, unroll=2)
    Trainer(app, cfg, run_dir=run_dir, progress=False).fit(data, resume=str(run_dir.last_checkpoint))
    a, b = weights(full), weights(app)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_refusals_are_config_errors() -> None:
    class Plain(RingApp):
        unrolled = App.unrolled  # type: ignore[assignment]

    plain = Plain()
    plain.schema = {"dim": 2}
    with pytest.raises(ConfigError, match="app ring cannot look ahead"):
        Trainer(plain, TrainConfig(unroll=1)).setup()
    with pytest.raises(ConfigError, match="unroll must be >= 0"):
        Trainer(RingApp(), build(TrainConfig, {"unroll": -1}))


def one_line_error(args: list[str]) -> str:
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0 and "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["medgan", "--unroll", "5"], "app medgan cannot look ahead"),
        (["dcgan", "--unroll", "5", "--dp-epsilon", "3"], "not with --dp-epsilon"),
        (["dcgan", "--unroll", "5", "--nproc", "2"], "drop --nproc"),
        (["dcgan", "--unroll", "-1"], "unroll must be >= 0"),
    ],
)
def test_cli_refuses_in_one_line(in_tmp: Path, args: list[str], says: str) -> None:
    assert says in one_line_error(["run", *args, "--out", "run"])
    assert not (in_tmp / "run").exists()


def test_dcgan_unrolls_from_the_cli_and_cgan_from_python(in_tmp: Path, tiny_digits: Path) -> None:
    common = ["--data", str(tiny_digits), "--classifier-epochs", "0", "--max-steps", "3", "--samples", "20"]
    result = CliRunner().invoke(cli, ["-q", "run", "dcgan", *common, "--unroll", "2", "--out", "cli"])
    assert result.exit_code == 0, result.output
    config = json.loads((in_tmp / "cli" / "bundle" / "config.json").read_text())
    assert config["train"]["unroll"] == 2
    out = run(
        "cgan",
        str(tiny_digits),
        train={"unroll": 2, "max_steps": 3},
        options={"classifier_epochs": 0, "ngf": 8, "ndf": 8},
        samples=20,
        out=in_tmp / "api",
        progress=False,
    )
    assert out.train.steps == 3
