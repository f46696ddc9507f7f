"""When does stylegan's collapse happen, and what does clamping its samples change? (issue 20, stop 30)

Trains one validation cell of bench/stylegan_vs_dcgan.py — same split, seed, judge, options and step count
(its equal-wall-time steps for the budget) — and every ``--every`` adversarial steps reads 500 samples of
the generator's EMA weights with the bench's judge (inside the Trainer's inference context, which forks
the RNG, so the run itself is unchanged): judge-space FD against the 800 validation digits, precision and
recall, the class histogram, and the share of pixels outside [-1, 1]. Each point is read twice, raw and
clamped to [-1, 1] (what the .npz/.png writers, and since stop 30 the app's ``generate``, give users).
After training, the bench's own 1,000 final samples (same seed, same draw order) are scored both ways, so
the raw row reproduces the bench cell and the clamped one is the same model read as users see it.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/stylegan_timeline.py \
        --variant stylegan --seed 0 --budget 90 --every 38
    .venv/bin/python bench/stylegan_timeline.py --table
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import stylegan_vs_dcgan as B  # noqa: E402

from ganapps.core.plugins import dataset_path  # noqa: E402
from ganapps.core.trainer import Trainer  # noqa: E402
from ganapps.datasets.digits import load_digits  # noqa: E402

OUT = REPO / "bench" / "stylegan_timeline"
N_POINT = 500


@torch.no_grad()
def raw_samples(app, n: int) -> torch.Tensor:
    """n images straight from the generator (no clamp), drawn as the app's ``_sample`` draws them
    (z first, then 500 at a time; stylegan's noise comes from the global RNG inside synthesis)."""
    if app.name != "stylegan":
        return app.generate(n)[0]
    G = app.nets.generator
    z = torch.randn(n, app.options.z_dim)
    return torch.cat([G.synthesis(G.styles(z[a : a + 500])).float() for a in range(0, n, 500)])


def read_both(judge, fake: torch.Tensor, real: torch.Tensor, train: torch.Tensor) -> dict:
    """The bench's scores of raw and of clamped samples, and how much of the raw image lies outside [-1, 1]."""
    _, classes = B.read(judge, fake.clamp(-1, 1))
    hist = torch.bincount(classes, minlength=10).tolist()
    return {
        "raw": B.scores(judge, fake, real, train),
        "clamped": B.scores(judge, fake.clamp(-1, 1), real, train),
        "outside": float((fake.abs() > 1).float().mean()),
        "quantiles_1_50_99": [float(q) for q in torch.quantile(fake.flatten()[::7], torch.tensor([0.01, 0.5, 0.99]))],
        "class_histogram": hist,
    }


def timeline(variant: str, seed: int, budget: float, every: int) -> dict:
    points: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data, train_idx, eval_idx = B.splits("val", seed, tmp)
        x, y = load_digits(dataset_path("mnist-sample"))
        real_train, real_eval = B.to_32(x[train_idx]), B.to_32(x[eval_idx])
        judge = B.train_judge(real_train, torch.from_numpy(y[train_idx].astype(np.int64)))
        steps = max(1, round(budget / B.rate(variant, data, tmp)))
        original = Trainer._iteration

        def watched(self: Trainer, phase, batch, logging_step: bool) -> dict:
            out = original(self, phase, batch, logging_step)
            if phase.name == "adversarial" and self.phase_step % every == 0:
                with self.inference():  # EMA weights, eval mode, forked RNG: training is untouched
                    torch.manual_seed(7)
                    fake = raw_samples(self.app, N_POINT)
                points.append({"step": self.phase_step, **read_both(judge, fake, real_eval, real_train)})
                print(f"step {self.phase_step}: FD raw {points[-1]['raw']['frechet_distance']:.1f}, "
                      f"clamped {points[-1]['clamped']['frechet_distance']:.1f}, classes {points[-1]['class_histogram']}")  # fmt: skip
            return out

        Trainer._iteration = watched
        try:
            result = B.train_variant(variant, data, seed, steps, tmp / "run")
        finally:
            Trainer._iteration = original
        torch.manual_seed(1000 + seed)  # the bench's final draw
        final = read_both(judge, raw_samples(result.app, B.N_SAMPLES), real_eval, real_train)
    history = [r for r in result.train.history if r["phase"] == "adversarial"]
    d_means = []
    for a in range(0, len(history), every):
        chunk = [r for r in history[a : a + every] if "discriminator/d_real" in r]
        d_means.append({
            "steps": [chunk[0]["step"], chunk[-1]["step"]] if chunk else [],
            "d_real": float(np.mean([r["discriminator/d_real"] for r in chunk])) if chunk else None,
            "d_fake": float(np.mean([r["discriminator/d_fake"] for r in chunk])) if chunk else None,
        })  # fmt: skip
    seconds, done = B.adversarial_seconds(result.train.history)
    return {"variant": variant, "split": "val", "seed": seed, "budget_s": budget, "adversarial_steps": done,
            "adversarial_seconds": seconds, "every": every, "points": points, "final_1000": final,
            "d_sigmoid_means": d_means, "command": " ".join(["bench/stylegan_timeline.py", *sys.argv[1:]])}  # fmt: skip


def as_cell(path: Path) -> Path:
    """The timeline's final clamped scores as a bench cell (the same run and samples as the bench's cell:
    the readings fork the RNG, which the raw scores' match with the bench's un-clamped cell shows)."""
    r = json.loads(path.read_text())
    cell = B.HERE / f"val-{r['variant']}-s{r['seed']}-b{r['budget_s']:g}-clamped.json"
    row = {key: r[key] for key in ("split", "variant", "seed", "budget_s", "adversarial_seconds", "adversarial_steps")}
    row |= {"samples": "clamped", "metrics": r["final_1000"]["clamped"], "command": r["command"]}
    row["from"] = f"bench/stylegan_timeline/{path.name}: its final 1,000 samples, clamped"
    raw_cell = B.HERE / cell.name.replace("-clamped", "")
    if raw_cell.exists():  # the same run (its raw scores match), timed without the readings
        row["adversarial_seconds"] = json.loads(raw_cell.read_text())["adversarial_seconds"]
        row["from"] += f"; seconds from {raw_cell.name}, the bench's un-clamped cell of the same run"
    cell.write_text(json.dumps(row, indent=1))
    return cell


def table() -> None:
    for p in sorted(OUT.glob("*.json")):
        r = json.loads(p.read_text())
        print(f"\n{p.name}: {r['variant']}, val seed {r['seed']}, {r['adversarial_steps']} steps")
        print(
            "| step | FD raw | FD clamped | precision (clamped) | recall (clamped) | classes ≥ 2 % | outside [-1, 1] |"
        )
        print("|---|---|---|---|---|---|---|")
        for pt in [*r["points"], {"step": "final (1,000)", **r["final_1000"]}]:
            raw, cl = pt["raw"], pt["clamped"]
            print(f"| {pt['step']} | {raw['frechet_distance']:.1f} | {cl['frechet_distance']:.1f} | "
                  f"{cl['precision']:.2f} | {cl['recall']:.3f} | {round(cl['class_coverage'] * 10)} | "
                  f"{pt['outside']:.3f} |")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", default="stylegan", choices=sorted(B.VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=90.0)
    ap.add_argument("--every", type=int, default=38, help="Adversarial steps between two readings.")
    ap.add_argument("--table", action="store_true", help="Print the readings done, train nothing.")
    ap.add_argument("--as-cell", type=Path, help="Write this timeline's final clamped scores as a bench cell.")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.table:
        table()
        return
    if args.as_cell:
        print(f"wrote {as_cell(args.as_cell)}")
        return
    path = OUT / f"val-{args.variant}-s{args.seed}-b{args.budget:g}.json"
    path.write_text(json.dumps(timeline(args.variant, args.seed, args.budget, args.every), indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
