"""SRGAN: the loss terms by hand, sub-pixel shapes, a 1-epoch run, ``upscale``, one-line errors (tiny shapes)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from PIL import Image

from ganapps.cli.main import cli
from ganapps.core import load_bundle, run
from ganapps.core.nn import RandomFeatures
from ganapps.plugins.srgan import model as M
from ganapps.plugins.srgan.app import SRGAN
from ganapps.plugins.srgan.data import downsample
from ganapps.plugins.srgan.metrics import sr_metrics
from ganapps.plugins.srgan.options import SRGANOptions

TINY = ["--hr-size", "32", "--crop-size", "16", "--channels", "8", "--blocks", "1", "--ndf", "4"]


def invoke(*args: str):
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result


def fails(*args: str) -> str:
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert "Traceback" not in result.output and len(errors) == 1, (
        result.output
    )  # a skipped-files warning may precede it
    return errors[0]


def _images(folder: Path, n: int, size: int, seed: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        a = np.zeros((size, size, 3), np.uint8)
        for _ in range(4):  # coloured blocks: edges for SR to restore
            y, x = rng.integers(0, size - size // 4, 2)
            a[y : y + size // 4, x : x + size // 4] = rng.integers(60, 255, 3)
        Image.fromarray(a).save(folder / f"{i}.png")
    return folder


def test_subpixel_stages_upscale_by_four() -> None:
    assert M.SubPixelUpsample(8)(torch.zeros(2, 8, 5, 7)).shape == (2, 8, 10, 14)
    G = M.SRResNet(channels=8, blocks=2)
    assert G(torch.zeros(2, 3, 4, 6)).shape == (2, 3, 16, 24)
    assert sum(isinstance(m, nn_shuffle) for m in G.modules() for nn_shuffle in [torch.nn.PixelShuffle]) == 2
    D = M.Discriminator(size=32, width=4)
    assert D(torch.zeros(3, 3, 32, 32)).shape == (3,)


def test_loss_terms_match_hand_computed_values() -> None:
    logit = torch.tensor([0.0, 2.0])
    # −log σ(x): log 2 and log(1 + e⁻²)
    expected_adv = (math.log(2) + math.log(1 + math.exp(-2))) / 2
    assert M.adversarial_loss(logit).item() == pytest.approx(expected_adv, rel=1e-6)
    # −log σ(real) − log(1 − σ(fake)) with real = 0, fake = 0: 2·log 2
    assert M.discriminator_loss(torch.zeros(1), torch.zeros(1)).item() == pytest.approx(2 * math.log(2), rel=1e-6)
    sr, hr = torch.zeros(1, 3, 4, 4), torch.full((1, 3, 4, 4), 0.5)
    assert M.content_loss(sr, hr, None).item() == pytest.approx(0.25)

    class Double(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 2 * x

    assert M.content_loss(sr, hr, Double()).item() == pytest.approx(1.0)  # (2·0.5)²
    total = M.perceptual_loss(sr, hr, logit, None)  # the paper's weights: 10⁻³, no pixel term
    assert total["loss"].item() == pytest.approx(0.25 + 1e-3 * expected_adv, rel=1e-6)
    # ours: l_X + w_adv·l_Gen + λ_pix·pixel MSE, here 0.25 + 10⁻⁴·adv + 2·0.25
    ours = M.perceptual_loss(sr, hr, logit, Double(), adversarial_weight=1e-4, pixel_weight=2.0)
    assert ours["pixel"].item() == pytest.approx(0.25)
    assert ours["loss"].item() == pytest.approx(1.0 + 1e-4 * expected_adv + 2 * 0.25, rel=1e-6)
    # φ is fixed and seeded: rebuilt, it gives the same features, and it is not trained
    phi = RandomFeatures()
    x = torch.rand(1, 3, 8, 8)
    assert torch.equal(phi(x), RandomFeatures()(x)) and not any(p.requires_grad for p in phi.parameters())


def test_generator_step_is_the_perceptual_loss_with_our_pixel_term() -> None:
    torch.manual_seed(0)
    tiny = {"hr_size": 32, "crop_size": 16, "channels": 8, "blocks": 1, "ndf": 4}
    app = SRGAN(SRGANOptions(**tiny))  # the defaults: 10⁻⁴ adversarial, pixel weight 1
    app.nets = torch.nn.ModuleDict(app.build()).eval()
    hr = torch.rand(2, 3, 16, 16) * 2 - 1
    batch = (downsample(hr), hr)
    out = app.generator_step(batch)
    sr = app.nets.generator(batch[0])
    phi = RandomFeatures()
    d = app.nets.discriminator(sr)
    content = F.mse_loss(phi(sr), phi(hr))
    adversarial = F.softplus(-d).mean()
    pixel = ((sr - hr) ** 2).mean()
    assert out["loss"].item() == pytest.approx((content + 1e-4 * adversarial + pixel).item(), rel=1e-5)
    # the paper's loss (options --adversarial-weight 1e-3 --pixel-weight 0), same networks
    paper = SRGAN(SRGANOptions(**tiny, adversarial_weight=1e-3, pixel_weight=0.0))
    paper.nets = app.nets
    assert paper.generator_step(batch)["loss"].item() == pytest.approx((content + 1e-3 * adversarial).item(), rel=1e-5)
    assert app.discriminator_step(batch)["loss"].item() == pytest.approx(
        (F.softplus(-app.nets.discriminator(hr)).mean() + F.softplus(d).mean()).item(), rel=1e-5
    )
    assert app.srresnet_step(batch)["loss"].item() == pytest.approx(F.mse_loss(sr, hr).item(), rel=1e-5)


def test_metrics_are_on_luminance_and_perfect_for_identity() -> None:
    hr = torch.rand(2, 3, 24, 24) * 2 - 1
    assert sr_metrics(hr, hr)["ssim"] == pytest.approx(1.0)
    noisy = sr_metrics((hr + 0.1).clamp(-1, 1), hr)
    assert 20 < noisy["psnr"] < 60 and noisy["ssim"] < 1


def test_run_generate_upscale_and_errors(in_tmp: Path) -> None:
    data = _images(in_tmp / "hr", 10, 32)
    (data / "notes.txt").write_text("not an image")
    invoke("run", "srgan", "--data", str(data), *TINY, "--pretrain-epochs", "1", "--epochs", "1",
           "--batch-size", "4", "--out", "run")  # fmt: skip
    r = in_tmp / "run"
    m = json.loads((r / "metrics.json").read_text())["metrics"]
    assert m["held_out_images"] == 2
    for key in ("psnr", "ssim", "psnr_bicubic", "ssim_bicubic"):
        assert np.isfinite(m[key]), key
    assert (r / "report.html").read_text().count("<img") >= 2

    invoke("generate", "run", "-n", "2", "--out", "grid.png")
    grid = Image.open(in_tmp / "grid.png")
    assert grid.size == (4 * 32 + 5 * 2, 2 * 32 + 3 * 2)  # low-res | bicubic | ours | real, padded 2 px
    invoke("generate", "run", "-n", "2", "--out", "gen.npz")
    with np.load(in_tmp / "gen.npz") as z:
        assert z["low_res"].shape == (2, 3, 8, 8) and z["ours"].shape == z["real"].shape == (2, 3, 32, 32)

    low = _images(in_tmp / "low", 2, 8, seed=1)
    Image.fromarray(np.zeros((6, 10, 3), np.uint8)).save(low / "wide.png")
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(low / "tiny.png")
    (low / "readme.txt").write_text("stray")
    out = invoke("upscale", "run", "--input", str(low), "--out", "up", "--batch-size", "2").output
    assert "upscaled 3 images" in out and "readme.txt" in out and "tiny.png (too small" in out
    assert Image.open(in_tmp / "up" / "0.png").size == (32, 32) and Image.open(in_tmp / "up" / "wide.png").size == (
        40,
        24,
    )
    app = load_bundle(r)  # bundle round trip: the CLI's output is the API's
    x = torch.from_numpy(np.array(Image.open(low / "0.png"))).permute(2, 0, 1)[None].float() / 127.5 - 1
    api = ((app.upscale(x)[0].clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    assert np.array_equal(api, np.asarray(Image.open(in_tmp / "up" / "0.png")))

    (in_tmp / "empty").mkdir()
    assert "empty" in fails("upscale", "run", "--input", str(in_tmp / "empty"), "--out", "o")
    only_text = in_tmp / "text"
    only_text.mkdir()
    (only_text / "a.txt").write_text("x")
    assert "a.txt (not an image file)" in fails("upscale", "run", "--input", str(only_text), "--out", "o")
    small = _images(in_tmp / "small", 3, 24)
    assert "smaller than --hr-size 32" in fails("run", "srgan", "--data", str(small), *TINY, "--out", "x")
    assert "no readable images" in fails("run", "srgan", "--data", str(only_text), "--out", "x")
    assert "--pixel-weight must be at least 0" in fails("run", "srgan", "--data", str(data), "--pixel-weight", "-1")
    assert "--crop-size must be a multiple of 16" in fails("run", "srgan", "--data", str(data), "--crop-size", "20")


def test_python_api_on_the_shipped_sample(tmp_path: Path) -> None:
    """The shipped facades (aligned photo|label pairs: the photo halves are read), one epoch per phase."""
    options = {"hr_size": 32, "crop_size": 16, "channels": 8, "blocks": 1, "ndf": 4, "pretrain_epochs": 1}
    result = run("srgan", options=options, train={"epochs": 1, "batch_size": 8}, out=tmp_path / "r", progress=False)
    m = result.metrics["metrics"]
    assert m["held_out_images"] == 6 and m["psnr_bicubic"] > 15
    assert result.train.steps == 2 * 3  # 26 training photos, batch 8: 3 steps per phase epoch, two phases
    assert result.app.upscale(torch.zeros(1, 3, 5, 7)).shape == (1, 3, 20, 28)
