"""Issue 18: ``tabular``'s DP cells of two bench/dp_utility.py rounds side by side, with the rivals and
the non-DP cells of the newer round (the table of bench/RESULTS.md; no training).

    .venv/bin/python bench/dp_utility_compare.py --before bench/dp_utility_r3 --after bench/dp_utility_r4 --eps 3
    .venv/bin/python bench/dp_utility_compare.py --before bench/dp_utility_n5000_r3 \\
        --after bench/dp_utility_n5000_r4 --eps 3 --within [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dp_utility_report import load, mean  # noqa: E402

RIVALS = ("dpctgan", "patectgan", "mst")


def cell(cells: dict, dataset: str, synth: str, eps: float | None) -> str:
    recs = cells.get((dataset, synth, eps))
    if not recs:
        return "–"
    q, m = mean(recs, "quality_test"), mean(recs, "ml")
    return "–" if q is None or m is None else f"{q:.3f} / {m:.3f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True)
    p.add_argument("--after", required=True)
    p.add_argument("--eps", type=float, default=3.0)
    p.add_argument("--within", action="store_true", help="ML against the non-DP cell: the 10% goal")
    p.add_argument("--seed", type=int, help="only this seed's cells (default: the mean over the seeds)")
    args = p.parse_args()
    before, after = load(Path(args.before)), load(Path(args.after))
    if args.seed is not None:
        before, after = ({k: [r for r in v if r["seed"] == args.seed] for k, v in c.items()} for c in (before, after))
    datasets = sorted({d for d, s, e in after if s == "ours" and e == args.eps})
    rivals = [r for r in RIVALS if any((d, r, args.eps) in after for d in datasets)]
    head = ["dataset", f"ε = {args.eps:g}, before → after: quality_test / ML", *rivals, "non-DP ours"]
    print("| " + " | ".join(head) + " |")
    print("|---" * len(head) + "|")
    for d in datasets:
        change = f"{cell(before, d, 'ours', args.eps)} → **{cell(after, d, 'ours', args.eps)}**"
        row = [d, change, *(cell(after, d, r, args.eps) for r in rivals), cell(after, d, "ours", None)]
        print("| " + " | ".join(row) + " |")
    both = [d for d in datasets if before.get((d, "ours", args.eps))]
    for key in ("quality_test", "ml"):  # the mean change over the tables both rounds ran
        moves = [mean(after[(d, "ours", args.eps)], key) - mean(before[(d, "ours", args.eps)], key) for d in both]
        print(f"mean change of {key} over {len(both)} tables: {sum(moves) / max(len(both), 1):+.3f}")
    if args.within:
        for d in datasets:
            dp, full = mean(after[(d, "ours", args.eps)], "ml"), mean(after.get((d, "ours", None), []), "ml")
            if dp is not None and full:
                gap = (full - dp) / full
                print(
                    f"{d}: ML {dp:.3f} vs non-DP {full:.3f}: {100 * gap:.1f}% below ({'met' if gap <= 0.1 else 'missed'})"
                )


if __name__ == "__main__":
    main()
