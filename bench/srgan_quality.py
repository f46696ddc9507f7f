"""SRGAN quality: PSNR/SSIM (Y channel, 4-px border shaved) of ×4 upscalings vs bicubic on facades.

Dev data (not shipped): the 400 pix2pix facades pairs in ../shared/data/images/pix2pix/facades/train,
photo halves, centre-square and resized to 64×64 HR (16×16 LR), as the shipped sample. A seeded
split: 80 test images (touched once, ``--split test``), 64 validation images (inside the training
images: every setting was chosen on them), 256 training images. Each cell (a variant × split)
trains with the Trainer and writes its JSON into bench/srgan_quality/; cells already there are
skipped, so the script resumes under the CPU lock in chunks.

Variants: ``srresnet`` = SRResNet-MSE only (pixel MSE, no GAN phase); ``srgan`` = our default
(SRResNet-MSE pre-training, then random-feature content loss + adversarial + pixel terms, weighted
by ``--adversarial-weight`` and ``--pixel-weight``, which default to the app's defaults);
``srgan-mse`` = the GAN phase with pixel MSE as its content loss (the paper's SRGAN-MSE);
``srgan-noskip`` = ``srgan`` without our bicubic skip (the paper's generator output).
The schedule (10 SRResNet epochs + 4 GAN epochs of 256 images, batch 8: 320 + 128 steps) is
sized to the shared 2-core CPU, not tuned. ``--pixel-weight``, ``--adversarial-weight`` and
``--seeds`` (training seeds; the split stays seed 0) set the GAN phase's loss; every setting is
spelled out in the cell's file name (``srgan-val-p10g4-lr0.001-pw0.1-aw0.001-s1.json``) and JSON.
Cells named without settings (``srgan-val-glr1e-3.json``) are the first session's (seed 0, paper loss).

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/srgan_quality.py --split val
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from ganapps.core import TrainConfig, Trainer
from ganapps.core.devices import eval_mode
from ganapps.core.images import read_photos, to_float
from ganapps.plugins.srgan.app import GAN_LR, SRGAN
from ganapps.plugins.srgan.data import HRCrops, downsample
from ganapps.plugins.srgan.metrics import sr_metrics
from ganapps.plugins.srgan.model import bicubic
from ganapps.plugins.srgan.options import SRGANOptions

START = time.perf_counter()
HERE = Path(__file__).parent
DATA = HERE.parent.parent / "shared" / "data" / "images" / "pix2pix" / "facades" / "train"
OUT = HERE / "srgan_quality"
VARIANTS = {
    "srresnet": ({"content": "mse"}, 0),  # (options, adversarial epochs)
    "srgan": ({"content": "random-features"}, None),
    "srgan-mse": ({"content": "mse"}, None),
    "srgan-noskip": ({"content": "random-features", "bicubic_skip": False}, None),
}


def splits(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return {"test": order[:80], "val": order[80:144], "train": order[144:]}


def settings(name: str, args: argparse.Namespace, seed: int) -> str:
    """The cell's settings as a file-name tag (``srresnet`` has no GAN phase, so no GAN settings)."""
    lr = f"lr{args.gan_lr or GAN_LR:g}"
    if VARIANTS[name][1] == 0:
        return f"p{args.pretrain_epochs}-{lr}-s{seed}"
    return f"p{args.pretrain_epochs}g{args.epochs}-{lr}-pw{args.pixel_weight:g}-aw{args.adversarial_weight:g}-s{seed}"


def loss_means(history: list[dict], phase: str = "adversarial") -> dict[str, float]:
    """Mean of each logged generator loss term over the GAN phase (to compare the terms' scales)."""
    rows = [r for r in history if r.get("phase") == phase]
    keys = sorted({k for r in rows for k in r if k.startswith("generator/")})
    return {k: float(np.mean([r[k] for r in rows if k in r])) for k in keys}


def cell(
    name: str, split: str, hr: torch.Tensor, idx: dict[str, np.ndarray], args: argparse.Namespace, seed: int
) -> dict:
    options, adv_epochs = VARIANTS[name]
    weights = {"pixel_weight": args.pixel_weight, "adversarial_weight": args.adversarial_weight}
    opts = SRGANOptions(pretrain_epochs=args.pretrain_epochs, **{**weights, **options})
    app = SRGAN(opts)
    train = hr[idx["train"]]
    if split == "test":  # the final model sees training + validation images, as a run would
        train = hr[np.concatenate([idx["train"], idx["val"]])]
    epochs = args.epochs if adv_epochs is None else adv_epochs
    lrs = {"generator": args.gan_lr, "discriminator": args.gan_lr} if args.gan_lr else {}
    cfg = TrainConfig(epochs=epochs, batch_size=8, seed=seed, device="cpu", log_every=8, lr=lrs)
    t0 = time.perf_counter()
    result = Trainer(app, cfg, progress=False).fit(HRCrops(train, opts.crop_size))
    seconds = time.perf_counter() - t0
    real = to_float(hr[idx[split]])
    lr = downsample(real)
    with eval_mode(app.nets):
        ours = app.upscale(lr)
    return {
        "variant": name,
        "split": split,
        "seed": seed,
        "train_images": len(train),
        "eval_images": len(real),
        "pretrain_epochs": args.pretrain_epochs,
        "adversarial_epochs": epochs,
        "gan_lr": args.gan_lr or GAN_LR,
        "pixel_weight": opts.pixel_weight,
        "adversarial_weight": opts.adversarial_weight,
        "train_seconds": round(seconds, 1),
        "gan_phase_losses": loss_means(result.history),
        "ours": sr_metrics(ours, real),
        "bicubic": sr_metrics(bicubic(lr), real),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=["val", "test"], default="val")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS))
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--budget", type=float, default=200, help="start no new cell after this many seconds")
    parser.add_argument("--gan-lr", type=float, default=0.0, help="G and D learning rate of the GAN phase")
    defaults = SRGANOptions()
    parser.add_argument("--pixel-weight", type=float, default=defaults.pixel_weight, help="λ_pix of the pixel term")
    parser.add_argument("--adversarial-weight", type=float, default=defaults.adversarial_weight)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (the split is fixed)")
    args = parser.parse_args()
    hr = read_photos(DATA, 64, option="--hr-size")
    idx = splits(len(hr))
    OUT.mkdir(exist_ok=True)
    for seed in args.seeds:
        for name in args.variants:
            path = OUT / f"{name}-{args.split}-{settings(name, args, seed)}.json"
            if path.exists():
                print(f"{path.name}: done already")
                continue
            if time.perf_counter() - START > args.budget:
                print(f"{path.name}: skipped, --budget {args.budget}s spent (run again to resume)")
                continue
            result = cell(name, args.split, hr, idx, args, seed)
            path.write_text(json.dumps(result, indent=1) + "\n")
            print(path.name, json.dumps({k: result[k] for k in ("train_seconds", "ours", "bicubic")}))


if __name__ == "__main__":
    main()
