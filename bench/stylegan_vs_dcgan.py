"""stylegan vs dcgan on the shipped digits at equal wall time (issue 20): judge-space Fréchet distance,
precision/recall and mode coverage, all read by ONE judge per split, trained here.

Splits (the engine's own, so each run's held-out digits are the ones it never trained on):
  test: the apps train on mnist-sample's training split (seed s, 20% held out); scored on those 1,000 held-out
        digits — touched once, after the defaults were fixed.
  val:  the apps train on 80% of that training split and are scored on the other 20% (800 digits inside
        the training span); defaults (R1 γ, widths, progressive or not) are chosen here.

Equal wall time: each variant's adversarial-phase speed (s/step) is probed once (24 steps; dcgan: 40, cached in
``rate-*.json``); its run gets ``--max-steps`` = judge steps + budget / rate, and the cell records the
adversarial seconds it actually took (from the step log). Variants with stylegan's networks (R1 γ,
mixing, path length) are given the steps of stylegan's rate, so they get at most the budget; a progressive
run's rate is its mean over a whole schedule (its probe would time only the 4 px stage). Cells say the time. Both apps read 32×32 digits (dcgan at
``--image-size 32``; both resize MNIST's 28 px bilinearly). One JSON per cell in bench/stylegan_vs_dcgan/,
cells already there are skipped, so the script resumes:

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/stylegan_vs_dcgan.py \
        --split val --variants dcgan stylegan --seeds 0 --budget 60
    .venv/bin/python bench/stylegan_vs_dcgan.py --table     # the table of every cell (no training)

Since stop 30 the stylegan app's samples are clamped to [-1, 1] (what users get); its cells since are named
``…-clamped.json`` and the table's ``samples`` column tells them from the earlier raw readings. A new
variant's rate is best probed beside the reference (``--paired-rates --variants …``): the box's speed drifts.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganapps.core import run
from ganapps.core.data import split_indices
from ganapps.core.judge import DigitClassifier
from ganapps.core.metrics import frechet_distance, precision_recall
from ganapps.core.plugins import dataset_path
from ganapps.datasets.digits import load_digits

HERE = Path(__file__).parent / "stylegan_vs_dcgan"
SIZE, BATCH, N_SAMPLES = 32, 32, 1000
#: variant → (app, app options, engine settings); each at its app's defaults unless named
VARIANTS: dict[str, tuple[str, dict, dict]] = {
    "dcgan": ("dcgan", {"image_size": SIZE}, {}),
    # the app's defaults; the val cells "-gamma1", "-lean", "-progressive" ran under the first defaults
    # ("stylegan-first": 8 mapping layers, γ 0.1), which validation replaced by map2's (2 layers, γ 0.01);
    # every "stylegan" and "stylegan-progressive" cell before branch stylegan3 ran without --augment
    # (= "stylegan-noaug"), which validation then set to color,translation,cutout (= "stylegan-aug-ctc")
    "stylegan": ("stylegan", {}, {}),
    "stylegan-first": ("stylegan", {"mapping_layers": 8, "r1_gamma": 0.1}, {}),  # the first defaults
    "stylegan-progressive": ("stylegan", {"progressive": True}, {}),
    "stylegan-gamma1": ("stylegan", {"r1_gamma": 1.0}, {}),
    "stylegan-narrow": ("stylegan", {"max_channels": 32}, {}),
    "stylegan-wide": ("stylegan", {"g_channels": 32, "d_channels": 32, "max_channels": 128}, {}),
    "stylegan-lean": ("stylegan", {"pl_weight": 0.0, "mixing": 0.0}, {}),  # no path length, no mixing
    # StyleGAN2-ADA's small-image ("cifar") settings: 2 mapping layers, γ 0.01, no path length, no mixing
    "stylegan-cifar": ("stylegan", {"mapping_layers": 2, "r1_gamma": 0.01, "pl_weight": 0.0, "mixing": 0.0}, {}),
    "stylegan-map2": ("stylegan", {"mapping_layers": 2, "r1_gamma": 0.01}, {}),  # the same, with PL and mixing
    # DiffAugment (branch stylegan3): the policies on every image D sees; "-lrX": Adam lr X for G and D
    # (times the lazy-regularisation factor c = k/(k+1), as the app sets them)
    "stylegan-noaug": ("stylegan", {"augment": "none"}, {}),  # the defaults before --augment (= -map2's cells)
    "stylegan-aug-tc": ("stylegan", {"augment": "translation,cutout"}, {}),
    "stylegan-aug-ctc": ("stylegan", {"augment": "color,translation,cutout"}, {}),
    "stylegan-aug-t": ("stylegan", {"augment": "translation"}, {}),
    "stylegan-aug-ct": ("stylegan", {"augment": "color,translation"}, {}),  # stop 33: no cutout
    "stylegan-aug-ctc-gamma0.1": ("stylegan", {"augment": "color,translation,cutout", "r1_gamma": 0.1}, {}),
    **{
        f"stylegan-{aug}lr{lr:g}": ("stylegan", opts, {"lr": {"discriminator": lr * 16 / 17, "generator": lr * 4 / 5}})
        for aug, opts in (("", {}), ("aug-ctc-", {"augment": "color,translation,cutout"}))
        for lr in (1e-3, 5e-4)
    },
    # stop 30 (branch stylegan4), on top of the defaults (augment color,translation,cutout): G twice as wide
    # (D unchanged), no path length and no mixing (cheaper steps, timed by their own rate: more steps),
    # batch 64 (own rate: fewer steps), D's Adam lr half of G's
    "stylegan-g32": ("stylegan", {"g_channels": 32}, {}),
    "stylegan-nopl-nomix": ("stylegan", {"pl_weight": 0.0, "mixing": 0.0}, {}),
    "stylegan-b64": ("stylegan", {}, {"batch_size": 64}),
    "stylegan-dlr1e-3": ("stylegan", {}, {"lr": {"discriminator": 1e-3 * 16 / 17, "generator": 2e-3 * 4 / 5}}),
    # stop 33: "stylegan-mbstd32", D's minibatch-stddev group over the whole batch (StyleGAN2-ADA's cifar
    # config), needs commit 176d365, whose app had the option ``mbstd_group`` (no change: 485 vs 481; removed);
    # D's or G's Adam lr doubled (the default 2e-3 for both; D at half was worse, above)
    "stylegan-dlr4e-3": ("stylegan", {}, {"lr": {"discriminator": 4e-3 * 16 / 17, "generator": 2e-3 * 4 / 5}}),
    "stylegan-glr4e-3": ("stylegan", {}, {"lr": {"discriminator": 2e-3 * 16 / 17, "generator": 4e-3 * 4 / 5}}),
    # stop 34: samples from G's live weights, not their EMA (0.998, warmed up as (1 + t) / (10 + t): at step
    # 342 it averages over roughly the last 40 steps, while the collapse hops between classes every ~40)
    "stylegan-ema0": ("stylegan", {}, {"ema": 0.0}),
    # stop 34: progressive growing under today's defaults (its cells so far ran without augmentation or unclamped)
    "stylegan-aug-ctc-progressive": ("stylegan", {"augment": "color,translation,cutout", "progressive": True}, {}),
    # stop 35 (a read of the code against StyleGAN2 and its reference found no bug; four suspects, seed 0 at 90 s):
    # "stylegan-plwarm" (the path-length target a from the first batch's mean, not 0), "stylegan-tanh" (tanh on
    # G's output) and "stylegan-nonoise" (no noise inputs) ran at commit c1281f7, whose app had the options
    # pl_warm_start, tanh and noise (534, 1724 and 612 against the default's 481); the code went, the cells stay
    "stylegan-nopl": ("stylegan", {"pl_weight": 0.0}, {}),
}


#: variants timed with stylegan's rate (same networks; lean and cifar skip the path-length step, so they get
#: at most the budget). A progressive run's probe would time only its cheap 4 px stage: its rate file holds
#: the mean over a whole schedule, from its validation cell (327 steps through all stages).
SAME_WIDTHS = ("stylegan-first", "stylegan-gamma1", "stylegan-lean", "stylegan-cifar", "stylegan-map2")
SAME_WIDTHS += ("stylegan-noaug", *(v for v in VARIANTS if v.startswith("stylegan-lr")))
#: augmented variants are timed with the costliest policy's rate (color, translation, cutout), so each gets at
#: most the budget; the learning rate does not change a step's cost
AUGMENTED = (*(v for v in VARIANTS if v.startswith("stylegan-aug-") and not v.endswith("-progressive")),)
AUGMENTED += ("stylegan-dlr1e-3", "stylegan-dlr4e-3")
AUGMENTED += ("stylegan-glr4e-3", "stylegan-ema0")
#: cheaper than the default (no path-length step), so at most the budget
AUGMENTED += ("stylegan-nopl",)


def to_32(x: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(x).float().div(127.5).sub(1.0)
    return F.interpolate(t, size=(SIZE, SIZE), mode="bilinear", align_corners=False)


def splits(split: str, seed: int, tmp: Path) -> tuple[str, np.ndarray, np.ndarray]:
    """(data for the app, indices of its training digits, indices of the digits it is scored on)."""
    source = dataset_path("mnist-sample")
    x, y = load_digits(source)
    train, held = split_indices(len(x), 0.2, seed)
    if split == "test":
        return str(source), train, held
    path = tmp / f"train-s{seed}.npz"
    np.savez(path, x=x[train][:, 0], y=y[train])
    inner, val = split_indices(len(train), 0.2, seed)
    return str(path), train[inner], train[val]


def train_judge(images: torch.Tensor, labels: torch.Tensor) -> DigitClassifier:
    """The bench's judge: the digit apps' classifier, 3 epochs on the training digits, seed 0."""
    torch.manual_seed(0)
    judge = DigitClassifier(1, SIZE, 10)
    opt = torch.optim.Adam(judge.parameters(), lr=1e-3)
    for _ in range(3):
        for idx in torch.randperm(len(images)).split(64):
            opt.zero_grad()
            F.cross_entropy(judge(images[idx]), labels[idx]).backward()
            opt.step()
    return judge.eval()


@torch.no_grad()
def read(judge: DigitClassifier, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    feats = torch.cat([judge.features(images[a : a + 500]) for a in range(0, len(images), 500)])
    return feats, judge.head(feats).argmax(1)


def scores(judge: DigitClassifier, fake: torch.Tensor, real: torch.Tensor, train: torch.Tensor) -> dict:
    f_fake, p_fake = read(judge, fake)
    f_real, _ = read(judge, real)
    f_train, _ = read(judge, train[: len(real)])
    hist = torch.bincount(p_fake, minlength=10).float() / len(p_fake)
    n = min(len(f_real), len(f_fake))
    return {
        "frechet_distance": frechet_distance(f_fake, f_real),
        "frechet_distance_real_vs_real": frechet_distance(f_train, f_real),
        **precision_recall(f_real[:n], f_fake[:n]),
        "class_coverage": float((hist >= 0.02).float().mean()),
        "class_entropy": float(-(hist[hist > 0] * hist[hist > 0].log()).sum() / math.log(10)),
    }


def adversarial_seconds(history: list[dict]) -> tuple[float, int]:
    """Seconds and steps of the adversarial phase, from the step log."""
    before = [r["time"] for r in history if r["phase"] != "adversarial"]
    adv = [r for r in history if r["phase"] == "adversarial"]
    return adv[-1]["time"] - (before[-1] if before else 0.0), len(adv)


def train_variant(variant: str, data: str, seed: int, max_adv_steps: int, out: Path):
    app, options, engine = VARIANTS[variant]
    options = {**options, "classifier_epochs": 1}  # the app's own judge; the bench reads with its own
    n, batch = len(load_digits(data)[0]), engine.get("batch_size", BATCH)
    per_epoch = (n - int(round(n * 0.2))) // batch  # the judge's one epoch, and the adversarial epochs
    # epochs that cover the steps (a progressive run spreads its stages over them), cut by --max-steps
    epochs = math.ceil(max_adv_steps / per_epoch)
    train = {"seed": seed, "batch_size": batch, "epochs": epochs, "max_steps": per_epoch + max_adv_steps, **engine}
    return run(app, data, options=options, train=train, out=out, progress=False, samples=N_SAMPLES)


def rate(variant: str, data: str, tmp: Path) -> float:
    """Adversarial s/step of a variant (24 steps after 4 warm-up ones), cached in HERE/rate-VARIANT.json."""
    if variant in SAME_WIDTHS:
        variant = "stylegan"
    elif variant.endswith("-progressive"):  # a growing schedule's mean rate (augmentation's cost is in the noise)
        variant = "stylegan-progressive"
    elif variant in AUGMENTED:
        variant = "stylegan-aug-ctc"
    path = HERE / f"rate-{variant}.json"
    if path.exists():
        return json.loads(path.read_text())["seconds_per_step"]
    history = train_variant(variant, data, 0, 28, tmp / f"probe-{variant}").train.history
    adv = [r["time"] for r in history if r["phase"] == "adversarial"]
    value = (adv[-1] - adv[3]) / (len(adv) - 4)
    path.write_text(json.dumps({"variant": variant, "seconds_per_step": value, "steps": len(adv) - 4}, indent=1))
    return value


def paired_rates(variants: list[str]) -> None:
    """Rate files for ``variants`` probed beside stylegan-aug-ctc in one go, as that file's rate × the ratio of
    the two probes: the box's speed drifts by ±40 % over hours, so a lone probe hours after the reference's
    would time the load, not the variant (stop 30's first stylegan-nopl-nomix probe: 0.38 s/step)."""
    reference = json.loads((HERE / "rate-stylegan-aug-ctc.json").read_text())["seconds_per_step"]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = splits("val", 0, tmp)[0]
        probes = {}
        for v in ["stylegan-aug-ctc", *variants]:
            adv = [
                r["time"] for r in train_variant(v, data, 0, 28, tmp / v).train.history if r["phase"] == "adversarial"
            ]
            probes[v] = (adv[-1] - adv[3]) / (len(adv) - 4)
    for v in variants:
        value = reference * probes[v] / probes["stylegan-aug-ctc"]
        note = f"paired probe: {probes[v]:.3f} s/step beside stylegan-aug-ctc's {probes['stylegan-aug-ctc']:.3f}"
        row = {"variant": v, "seconds_per_step": value, "steps": 24, "note": note + f", × its file's {reference:.3f}"}
        (HERE / f"rate-{v}.json").write_text(json.dumps(row, indent=1))
        print(f"rate-{v}.json: {value:.3f} s/step ({note})")


def cell(split: str, variant: str, seed: int, budget: float) -> None:
    # since stop 30 the stylegan app clamps its samples to [-1, 1] (what users get); its cells before were
    # read raw, so its cells since are named apart (dcgan's tanh samples read the same either way)
    clamped = VARIANTS[variant][0] == "stylegan"
    path = HERE / f"{split}-{variant}-s{seed}-b{budget:g}{'-clamped' if clamped else ''}.json"
    if path.exists():
        print(f"skip {path.name}")
        return
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data, train_idx, eval_idx = splits(split, seed, tmp)
        steps = max(1, round(budget / rate(variant, data, tmp)))
        t0 = time.perf_counter()
        result = train_variant(variant, data, seed, steps, tmp / "run")
        wall = time.perf_counter() - t0
        seconds, done = adversarial_seconds(result.train.history)
        x, y = load_digits(dataset_path("mnist-sample"))
        real_train, real_eval = to_32(x[train_idx]), to_32(x[eval_idx])
        judge = train_judge(real_train, torch.from_numpy(y[train_idx].astype(np.int64)))
        torch.manual_seed(1000 + seed)
        with torch.no_grad():
            fake = result.app.generate(N_SAMPLES)[0]
        m = scores(judge, fake, real_eval, real_train)
        own = result.metrics["metrics"].get("frechet_distance")
    row = {"split": split, "variant": variant, "seed": seed, "budget_s": budget, "adversarial_seconds": seconds,
           "adversarial_steps": done, "run_wall_seconds": wall,
           "samples": "clamped" if clamped else "as generated", "metrics": m, "app_own_judge_frechet": own,
           "command": " ".join(["bench/stylegan_vs_dcgan.py", *sys.argv[1:]])}  # fmt: skip
    path.write_text(json.dumps(row, indent=1))
    print(f"{path.name}: FD {m['frechet_distance']:.2f} in {seconds:.0f} s ({done} steps)")


def table(per_seed: bool = False) -> None:
    rows: dict[tuple, list] = {}
    for p in sorted(HERE.glob("*-s*-b*.json")):
        if p.name.startswith("rate-"):  # rate-stylegan-b64.json
            continue
        r = json.loads(p.read_text())
        read = "tanh" if r["variant"] == "dcgan" else r.get("samples", "raw")
        key = (r["split"], r["variant"], r["budget_s"], read, r["seed"] if per_seed else -1)
        rows.setdefault(key, []).append(r)
    keys = ["frechet_distance", "precision", "recall", "class_coverage", "frechet_distance_real_vs_real"]
    print("| split | variant | samples | budget s | seeds | adv. s | steps | " + " | ".join(keys) + " |")
    print("|" + "---|" * (7 + len(keys)))
    for (split, variant, budget, read, _), rs in sorted(rows.items()):
        mean = {k: np.mean([r["metrics"][k] for r in rs]) for k in keys}
        secs = np.mean([r["adversarial_seconds"] for r in rs])
        steps = np.mean([r["adversarial_steps"] for r in rs])
        vals = " | ".join(f"{mean[k]:.3f}" if k != "frechet_distance" else f"{mean[k]:.2f}" for k in keys)
        seeds = ",".join(str(r["seed"]) for r in rs)
        print(f"| {split} | {variant} | {read} | {budget:g} | {seeds} | {secs:.0f} | {steps:.0f} | {vals} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=["val", "test"], default="val")
    ap.add_argument("--variants", nargs="+", default=["dcgan", "stylegan"], choices=sorted(VARIANTS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--budget", type=float, default=60.0, help="Adversarial-phase seconds per run.")
    ap.add_argument("--table", action="store_true", help="Print the table of the cells done, train nothing.")
    ap.add_argument("--per-seed", action="store_true", help="With --table: a row per seed, not their mean.")
    ap.add_argument("--paired-rates", action="store_true", help="Probe --variants beside stylegan-aug-ctc (rates).")
    args = ap.parse_args()
    HERE.mkdir(exist_ok=True)
    if args.table:
        table(args.per_seed)
        return
    if args.paired_rates:
        paired_rates(args.variants)
        return
    for seed in args.seeds:
        for variant in args.variants:
            cell(args.split, variant, seed, args.budget)


if __name__ == "__main__":
    main()
