"""pix2pix and CycleGAN: data formats, CLI end to end, translate, bundles, metrics, bad input (32×32 images)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from ganapps.cli.main import cli
from ganapps.core import TrainConfig, Trainer, load_bundle, run
from ganapps.core.metrics import psnr, ssim
from ganapps.core.testing import unexplained
from ganapps.plugins.translation.cyclegan import CycleGAN, CycleGANOptions, ImagePool
from ganapps.plugins.translation.metrics import Extractor, l1
from ganapps.plugins.translation.networks import PatchDiscriminator, unet_depth

TINY = ["--crop-size", "32", "--load-size", "36", "--ngf", "8", "--ndf", "8"]


def invoke(*args: str):
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result


def fails(*args: str):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output.strip()


def _pair(rng: np.random.Generator, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """A: coloured blocks; B: the same layout in other colours (a learnable pixel-wise mapping)."""
    a = np.zeros((size, size, 3), np.uint8)
    for _ in range(4):
        y, x = rng.integers(0, size - 8, 2)
        a[y : y + 8, x : x + 8] = rng.integers(60, 255, 3)
    return a, 255 - a


@pytest.fixture
def aligned(tmp_path: Path) -> Path:
    """12 aligned A|B pairs (64×32) and a stray text file."""
    folder = tmp_path / "aligned"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        a, b = _pair(rng)
        Image.fromarray(np.concatenate([a, b], 1)).save(folder / f"{i}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder to translate: three images, a text file and a broken PNG."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        Image.fromarray(_pair(rng, 40)[0]).save(folder / f"p{i}.jpg")
    (folder / "readme.txt").write_text("stray")
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    return folder


def test_pix2pix_aligned_cli_translate_generate_bundle(in_tmp: Path, aligned: Path, photos: Path) -> None:
    invoke("run", "pix2pix", "--data", str(aligned), *TINY, "--epochs", "2", "--batch-size", "2", "--out", "run")
    r = in_tmp / "run"
    for rel in ("bundle/weights.safetensors", "report.html", "synthetic.png", "samples/translations_epoch002.png"):
        assert (r / rel).exists(), rel
    metrics = json.loads((r / "metrics.json").read_text())
    m = metrics["metrics"]
    assert m["held_out_pairs"] == 2 and metrics["training"]["steps"] == 2 * 5  # 10 train pairs, batch 2
    for key in ("l1", "psnr", "ssim", "l1_untrained", "fd_random_cnn", "kd_random_cnn", "fd_random_cnn_untrained"):
        assert np.isfinite(m[key]), key
    assert 0 < m["l1"] < m["l1_untrained"]  # L1 (λ=100) learns the colour mapping within 10 steps
    assert any("NOT FID" in n for n in metrics["notes"])
    report = (r / "report.html").read_text()
    assert "ssim" in report and report.count("<img") >= 4
    assert unexplained(report) == [] and "untrained generator</span>" in report

    out = invoke("translate", "run", "--input", str(photos), "--out", "translated").output
    assert sorted(p.name for p in (in_tmp / "translated").iterdir()) == ["p0.png", "p1.png", "p2.png"]
    assert "readme.txt" in out and "broken.png" in out and "translated 3 images" in out
    assert Image.open(in_tmp / "translated" / "p0.png").size == (32, 32)
    invoke("translate", "run", "--input", str(photos), "--out", "kept", "--keep-size")
    assert Image.open(in_tmp / "kept" / "p0.png").size == (40, 40)

    invoke("generate", "run", "-n", "2", "--out", "gen.npz")
    with np.load(in_tmp / "gen.npz") as z:
        assert z["AtoB_input"].shape == (2, 3, 32, 32) and z["AtoB_output"].shape == (2, 3, 32, 32)
    assert "-n/--samples 50" in fails("generate", "run", "-n", "50", "--out", "x.png")
    assert "translates AtoB only" in fails(
        "translate", "run", "--input", str(photos), "--out", "o", "--direction", "BtoA"
    )
    assert "not a folder" in fails("translate", "run", "--input", "nowhere", "--out", "o")

    app = load_bundle(r)  # bundle round trip: eval-mode translation is deterministic and matches the CLI's
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(app.translate(x), app.translate(x))
    invoke("evaluate", "run", "--out", "eval.json")
    evaluated = json.loads((in_tmp / "eval.json").read_text())["metrics"]
    assert evaluated["l1"] == pytest.approx(m["l1"], abs=1e-6)


def test_pix2pix_learns_the_mapping(tmp_path: Path) -> None:
    """20 aligned pairs, 12 epochs: on the held-out pairs the generator's L1 error falls well below the untrained
    generator's (the baseline, same seed, measured in the same run)."""
    rng = np.random.default_rng(0)
    (tmp_path / "aligned").mkdir()
    for i in range(20):
        Image.fromarray(np.concatenate(_pair(rng), 1)).save(tmp_path / "aligned" / f"{i}.png")
    opts = {"crop_size": 32, "load_size": 36, "ngf": 8, "ndf": 8}
    train = {"epochs": 12, "batch_size": 2, "seed": 0}
    m = run("pix2pix", tmp_path / "aligned", options=opts, train=train, out=tmp_path / "r", progress=False).metrics
    m = m["metrics"]
    assert m["held_out_pairs"] == 4 and m["l1"] < 0.8 * m["l1_untrained"], m  # 0.24 vs 0.42 when written


def test_pix2pix_two_folders_btoa_is_deterministic(tmp_path: Path) -> None:
    data = tmp_path / "pairs"
    (data / "A").mkdir(parents=True)
    (data / "B").mkdir()
    rng = np.random.default_rng(2)
    for i in range(8):
        a, b = _pair(rng)
        Image.fromarray(a).save(data / "A" / f"{i}.png")
        Image.fromarray(b).save(data / "B" / f"{i}.png")
    opts = {"crop_size": 32, "load_size": 32, "ngf": 4, "ndf": 4, "direction": "BtoA"}
    results = [
        run("pix2pix", data, options=opts, train={"epochs": 1, "batch_size": 2}, out=tmp_path / f"r{k}", progress=False)
        for k in range(2)
    ]
    w = [r.app.nets.generator.state_dict() for r in results]
    assert all(torch.equal(w[0][k], w[1][k]) for k in w[0])
    assert results[0].metrics["metrics"]["direction"] == "BtoA"
    assert results[0].app.schema["layout"] == "two folders A/ and B/"
    nothing_held = run(
        "pix2pix", data, options=opts, train={"epochs": 1, "holdout": 0}, out=tmp_path / "h0", progress=False
    )
    assert "holdout 0" in nothing_held.metrics["notes"][0] and (tmp_path / "h0" / "synthetic.png").exists()


def test_cyclegan_on_shipped_sample_both_directions(in_tmp: Path, photos: Path) -> None:
    invoke(
        "run",
        "cyclegan",
        *TINY,
        "--n-blocks",
        "1",
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--ema",
        "0.9",
        "--out",
        "run",
    )
    m = json.loads((in_tmp / "run" / "metrics.json").read_text())["metrics"]
    assert unexplained((in_tmp / "run" / "report.html").read_text()) == []
    for d in ("AtoB", "BtoA"):
        assert 0 < m[f"cycle_l1_{d}"] < 1  # pixels in [0, 1]
        # the floor (real vs real) lies below the untrained generator's distance: the metric sees translations
        assert m[f"fd_random_cnn_{d}_real_vs_real"] < m[f"fd_random_cnn_{d}_untrained"]
        assert m[f"fd_random_cnn_{d}"] > 0
    for d in ("AtoB", "BtoA"):
        invoke("translate", "run", "--input", str(photos), "--out", d, "--direction", d)
        assert len(list((in_tmp / d).glob("*.png"))) == 3
    invoke("generate", "run", "-n", "3", "--out", "gen.npz")
    with np.load(in_tmp / "gen.npz") as z:
        assert set(z.files) >= {"AtoB_output", "BtoA_output", "AtoB_reconstruction", "BtoA_reconstruction"}


def test_cyclegan_cycle_error_falls(tmp_path: Path) -> None:
    """Unpaired blocks and inverted blocks, 4 epochs: the logged cycle loss falls, and held-out images come back
    from their round trip closer than through the untrained generators (the baseline, computed here)."""
    from ganapps.plugins.translation.metrics import l1

    rng = np.random.default_rng(3)
    for domain in ("trainA", "trainB"):
        (tmp_path / "data" / domain).mkdir(parents=True)
    for i in range(16):
        Image.fromarray(_pair(rng)[0]).save(tmp_path / "data" / "trainA" / f"{i}.png")
        Image.fromarray(_pair(rng)[1]).save(tmp_path / "data" / "trainB" / f"{i}.png")
    opts = {"crop_size": 32, "load_size": 32, "ngf": 8, "ndf": 8, "n_blocks": 1}
    train = {"epochs": 4, "batch_size": 2, "seed": 0}
    r = run("cyclegan", tmp_path / "data", options=opts, train=train, out=tmp_path / "r", progress=False, samples=3)
    log = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    cycle = [x["generators/cycle_a"] + x["generators/cycle_b"] for x in log if "generators/cycle_a" in x]
    assert len(cycle) == 24 and np.mean(cycle[-3:]) < 0.8 * np.mean(cycle[:3]), cycle  # 1.25 vs 1.76 when written
    app, m = r.app, r.metrics["metrics"]
    fresh = app.untrained_generators()
    held = app.holdout_inputs(app._holdout)
    for d, back in (("AtoB", "BtoA"), ("BtoA", "AtoB")):
        untrained = l1(app.translate(app.translate(held[d], d, nets=fresh), back, nets=fresh), held[d])
        assert m[f"cycle_l1_{d}"] < 0.8 * untrained, (d, m[f"cycle_l1_{d}"], untrained)  # 0.31 vs 0.45 when written


def test_cyclegan_optimizers_ema_and_freezing(tmp_path: Path) -> None:
    """Both generators under one optimizer, both discriminators under the other; EMA covers both generators;
    the generator step leaves the discriminators without gradients and vice versa."""
    from ganapps.datasets import HERE

    app = CycleGAN(CycleGANOptions(crop_size=32, load_size=32, ngf=4, ndf=4, n_blocks=1))
    data = app.load_data(HERE / "facades" / "cyclegan")
    train, _ = app.split(data, 0.2, 0)
    app.fit(train)
    trainer = Trainer(app, TrainConfig(epochs=4, batch_size=2, ema=0.9, device="cpu"), progress=False)
    trainer.setup()
    assert set(trainer.owned["generators"]) == {"gen_ab", "gen_ba"}
    assert set(trainer.owned["discriminators"]) == {"disc_a", "disc_b"}
    assert set(trainer.ema.modules) == {"gen_ab", "gen_ba"}
    batch = next(iter(torch.utils.data.DataLoader(app.dataset(train), batch_size=2)))
    steps = {s.name: s for s in trainer.phases[0].steps}
    trainer._update(steps["generators"], batch, True)
    nets = app.nets
    assert all(p.grad is not None for k in ("gen_ab", "gen_ba") for p in nets[k].parameters())
    assert all(p.grad is None for k in ("disc_a", "disc_b") for p in nets[k].parameters())
    before = [p.grad.clone() for p in nets.gen_ab.parameters()]
    trainer._update(steps["discriminators"], batch, True)
    assert all(p.grad is not None for k in ("disc_a", "disc_b") for p in nets[k].parameters())
    assert all(torch.equal(a, p.grad) for a, p in zip(before, nets.gen_ab.parameters(), strict=True))
    # linear decay: constant for half of the 4 epochs, then to 0
    assert [app.lr_multiplier(e) for e in range(4)] == pytest.approx([1.0, 1.0, 2 / 3, 1 / 3])
    assert trainer.schedulers.keys() == {"generators", "discriminators"}


def test_image_pool() -> None:
    torch.manual_seed(0)
    pool = ImagePool(3)
    first = torch.arange(3.0).reshape(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: the new images pass through
    new = torch.full((200, 1, 1, 1), 9.0)
    out = pool.query(new)
    old = (out < 9).sum().item()
    assert 0 < old <= 3 and len(pool.images) == 3  # about half are swapped for stored ones, at most 3 old ones exist
    assert torch.equal(ImagePool(0).query(new), new)


def test_paired_metrics_by_hand() -> None:
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert ssim(x, x) == pytest.approx(1.0, abs=1e-5)
    assert l1(x, x) == 0.0
    assert psnr(x, (x + 0.2)) == pytest.approx(10 * np.log10(1 / 0.01), rel=1e-4)  # 0.2 in [-1,1] = 0.1 in [0,1]
    # averaged over images in dB: 20 dB and 40 dB give 30 dB (not the 23 dB of the pooled error)
    y = x + torch.tensor([0.2, 0.02])[:, None, None, None]
    assert psnr(x, y) == pytest.approx(30.0, rel=1e-4)
    noisy = (x + 0.5 * torch.randn_like(x)).clamp(-1, 1)
    assert ssim(x, noisy) < ssim(x, (x + 0.05 * torch.randn_like(x)).clamp(-1, 1)) < 1.0


def test_patchgan_sees_70x70_patches_and_unet_sizes() -> None:
    D = PatchDiscriminator(3, ndf=2, n_layers=3, norm="batch").eval()  # running statistics: no global coupling
    x = torch.zeros(1, 3, 128, 128, requires_grad=True)
    out = D(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad.abs().sum((0, 1)).sum(1)).flatten()
    cols = torch.nonzero(x.grad.abs().sum((0, 1)).sum(0)).flatten()
    assert rows.max() - rows.min() + 1 == 70 and cols.max() - cols.min() + 1 == 70
    assert unet_depth(256) == 8 and unet_depth(32) == 5
    with pytest.raises(ValueError):
        unet_depth(48)


def test_inception_extractor_from_local_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.models import inception_v3

    missing = tmp_path / "none.pth"
    monkeypatch.setenv("GANAPPS_INCEPTION_WEIGHTS", str(missing))
    assert Extractor("auto").fd == "fd_random_cnn"
    with pytest.raises(Exception, match="GANAPPS_INCEPTION_WEIGHTS"):
        Extractor("inception")
    weights = tmp_path / "inception.pth"
    torch.manual_seed(0)
    torch.save(inception_v3(weights=None, aux_logits=True, init_weights=False).state_dict(), weights)
    monkeypatch.setenv("GANAPPS_INCEPTION_WEIGHTS", str(weights))
    ext = Extractor("auto")
    assert (ext.kind, ext.fd, ext.kd) == ("inception", "fid", "kid")
    images = torch.rand(3, 3, 32, 32) * 2 - 1
    assert ext.features(images, torch.device("cpu")).shape == (3, 2048)


def test_bad_input_is_one_line_naming_the_culprit(in_tmp: Path, aligned: Path, tmp_path: Path) -> None:
    wide = tmp_path / "wide"
    wide.mkdir()
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(wide / "odd.png")
    assert "odd.png" in fails("run", "pix2pix", "--data", str(wide), *TINY)
    pairs = tmp_path / "pairs"
    (pairs / "A").mkdir(parents=True)
    (pairs / "B").mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(pairs / "A" / "x.png")
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(pairs / "B" / "y.png")
    assert "x.png has no same-named image" in fails("run", "pix2pix", "--data", str(pairs), *TINY)
    unpaired = tmp_path / "unpaired"
    (unpaired / "trainA").mkdir(parents=True)
    assert "trainB/ is missing" in fails("run", "cyclegan", "--data", str(unpaired), *TINY)
    assert "--crop-size must be a power of two" in fails("run", "pix2pix", "--data", str(aligned), "--crop-size", "48")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "a.txt").write_text("x")
    assert "no readable images" in fails("run", "pix2pix", "--data", str(empty), *TINY)
    bad = fails("run", "pix2pix", "--data", str(aligned), *TINY, "--features", "inception")
    assert "--features inception" in bad and len(bad.splitlines()) == 1


def test_pix2pix_improves_on_real_facades(shared: Path, in_tmp: Path) -> None:
    """On 40 real facade pairs (32×32), 128 steps beat the untrained generator on every paired metric."""
    import shutil

    src = shared / "images" / "pix2pix" / "facades" / "train"
    data = in_tmp / "facades"
    data.mkdir()
    for i in range(1, 41):
        shutil.copy(src / f"{i}.jpg", data / f"{i}.jpg")
    invoke(
        "run",
        "pix2pix",
        "--data",
        str(data),
        *TINY,
        "--direction",
        "BtoA",
        "--epochs",
        "4",
        "--batch-size",
        "1",
        "--out",
        "run",
    )
    m = json.loads((in_tmp / "run" / "metrics.json").read_text())["metrics"]
    assert m["l1"] < m["l1_untrained"] and m["psnr"] > m["psnr_untrained"] and m["ssim"] > m["ssim_untrained"]


def test_cyclegan_resume_is_exact_with_its_image_pools(in_tmp: Path) -> None:
    common = ["--crop-size", "32", "--load-size", "32", "--ngf", "4", "--ndf", "4", "--n-blocks", "1"]
    common += ["--pool-size", "3", "--batch-size", "2", "--epochs", "2", "--seed", "5"]
    invoke("run", "cyclegan", *common, "--out", "full")
    invoke("run", "cyclegan", *common, "--max-steps", "7", "--out", "part")
    invoke("run", "cyclegan", "--resume", "part")
    a, b = load_bundle(in_tmp / "full"), load_bundle(in_tmp / "part")
    for name in ("gen_ab", "gen_ba", "disc_a", "disc_b"):
        sa, sb = a.nets[name].state_dict(), b.nets[name].state_dict()
        assert all(torch.equal(sa[k], sb[k]) for k in sa), name
