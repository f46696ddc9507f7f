"""Issue 18: what tabular's DP release keeps of a target's classes (no training).

For a table of bench/dp_utility.py's split, the target's true class counts in the training rows, and
what ``tabular --dp-epsilon`` releases: H (histograms in the release, the class-split ones included),
each count's noise std, the per-class calibration floor max(MIN_CLASS_ROWS, CLASS_NOISE_FACTOR · std),
the category-discovery threshold τ, and the released classes with their noisy counts (a class missing from the list was pooled into
``<other>``). Seeded exactly as a run with ``--seed 0``.

    .venv/bin/python bench/dp_class_release.py --datasets diamonds,computers --rows 3000,5000 --eps 3
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from statistics import NormalDist

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    import dp_utility as D

    from ganapps.core.accounting import gaussian_noise_for
    from ganapps.plugins.tabular.calibration import MIN_CLASS_ROWS
    from ganapps.plugins.tabular.privacy import CLASS_NOISE_FACTOR, PREPROCESSING_SHARE, SELECTION_DELTA_SHARE
    from ganapps.tabular.private import fit_private, histograms, private_specs

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", default="diamonds,computers")
    p.add_argument("--rows", default="3000,5000")
    p.add_argument("--eps", type=float, default=3.0)
    args = p.parse_args()
    for name in args.datasets.split(","):
        for rows in (int(r) for r in args.rows.split(",")):
            D.TRAIN_ROWS = rows
            table, train, _ = D.table_split(name, 0)
            target = table.target
            specs = private_specs(train, None, None, name)
            delta = 1 / (10 * train.height)
            select = delta * SELECTION_DELTA_SHARE
            sigma = gaussian_noise_for(args.eps * PREPROCESSING_SHARE, delta - select)
            t, _ = fit_private(
                train, specs, {}, noise_multiplier=sigma, select_delta=select,
                max_categories=100, seed=0, where=name, by=target,
            )  # fmt: skip
            h = histograms(specs, {}, target)
            std = sigma * math.sqrt(h)
            true = dict(train[target].value_counts().sort("count").iter_rows())
            released = dict(
                zip(t.categories(target), (round(float(c)) for c in t.category_counts(target)), strict=True)
            )
            print(f"{name} {rows} rows, ε {args.eps:g}: true {true}")
            discovered = sum(s.kind == "categorical" for s in specs)
            tau = 1 + std * NormalDist().inv_cdf(1 - select / discovered)
            floor = max(MIN_CLASS_ROWS, CLASS_NOISE_FACTOR * std)
            print(f"  H {h}, count noise std {std:.1f}, category threshold τ {tau:.0f}, class floor {floor:.0f}")
            print(f"  released (noisy counts): {released}")


if __name__ == "__main__":
    main()
