"""The tabular suite: ``ganapps compare`` over the dev tables in ``../shared/data/tables``.

Each table runs as its own ``compare`` call (its own folder under ``--out``, so a long suite keeps
what finished), 3,000 training and 1,000 real test rows per seed, every synthesizer at its own
defaults (SDV's neural ones train 300 epochs) unless ``--epochs`` gives the equal-epochs view.
Then one markdown table per metric group is printed and written to ``suite.md``, with the
targets of issue 16 checked per table: ``tabular`` at least the best rival on quality and ML
efficacy (mean over seeds), and its fit time at most a third of SDV CTGAN's.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/tabular_suite.py \
        --apps tabular,sdv-gaussiancopula,sdv-tvae,sdv-ctgan --seeds 1 --out bench/tabular_suite_seed0
    .venv/bin/python bench/tabular_suite.py --report bench/tabular_suite_3seeds bench/tabular_suite_ctgan  # merged, no runs
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GANAPPS_SHARED_DATA", REPO.parent / "shared" / "data"))
COLUMNS = ("quality_train", "quality_test", "column_shapes", "pair_trends", "ml", "dcr_ratio", "fit_seconds")


def run_suite(args: argparse.Namespace) -> None:
    import torch

    from ganapps.tabular.compare import compare

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    manifest = json.loads((SHARED / "tables" / "MANIFEST.json").read_text())
    for entry in manifest:
        if args.tables and entry["file"] not in args.tables:
            continue
        out = Path(args.out) / entry["file"].split(".")[0]
        if (out / "compare.json").exists() and not args.again:
            continue
        compare(
            SHARED / "tables" / entry["file"],
            entry["target"],
            apps=args.apps.split(","),
            seeds=args.seeds,
            train_rows=args.train_rows,
            test_rows=args.test_rows,
            epochs=args.epochs,
            device="cpu",
            out=out,
            progress=False,
            html=not args.no_html,
            command=f"bench/tabular_suite.py {entry['file']}",
        )
        print(f"done {entry['file']}", flush=True)


def fmt(cell: dict[str, Any], key: str) -> str:
    if not cell or cell.get("mean") is None:
        return "–"
    mean, digits = cell["mean"], 1 if key == "fit_seconds" else 3
    text = f"{mean:.{digits}f}"
    if cell.get("n", 0) > 1 and cell.get("low") is not None:
        text += f" ±{(cell['high'] - cell['low']) / 2:.{digits}f}"
    return text


def report(folders: list[Path]) -> str:
    """Markdown rows per table and app, merged over ``folders`` (a later folder's app row wins)."""
    boards: dict[str, dict[str, Any]] = {}
    for folder in folders:
        for path in sorted(folder.glob("*/compare.json")):
            for t in json.loads(path.read_text())["tables"]:
                boards.setdefault(t["name"], {}).update(t["leaderboard"])
    lines = [f"| table | app | {' | '.join(COLUMNS)} |", "|" + "---|" * (len(COLUMNS) + 2)]
    checks = []
    for name, board in sorted(boards.items()):
        ceiling = [a for a in board if not a.startswith(("tabular", "sdv-"))]
        for app in sorted(set(board) - set(ceiling), key=lambda a: (a != "tabular", a)) + ceiling:
            cells = [fmt(board[app]["metrics"].get(k, {}), k) for k in COLUMNS]
            lines.append(f"| {name} | {app} | {' | '.join(cells)} |")
        checks.append(check(name, board))
    return "\n".join(lines + ["", *checks]) + "\n"


def check(name: str, board: dict[str, Any]) -> str:
    """Issue 16's targets on one table, as a line."""

    def mean(app: str, key: str) -> float | None:
        return (board.get(app) or {}).get("metrics", {}).get(key, {}).get("mean")

    rivals = [a for a in board if a.startswith("sdv-")]
    parts = []
    for key in ("quality_train", "quality_test", "ml"):
        ours = mean("tabular", key)
        best = max((m for a in rivals if (m := mean(a, key)) is not None), default=None)
        if ours is not None and best is not None:
            parts.append(f"{key} {ours - best:+.3f} vs best rival ({'met' if ours >= best else 'NOT met'})")
    ct, ours = mean("sdv-ctgan", "fit_seconds"), mean("tabular", "fit_seconds")
    if ct and ours:
        parts.append(f"fit time {ours / ct:.2f}× SDV CTGAN's ({'met' if ours <= ct / 3 else 'NOT met'})")
    return f"- {name}: " + "; ".join(parts)


def paired(folders: list[Path]) -> str:
    """Per table: tabular − the best rival per seed (same splits), mean and 95% t-interval, merged
    over ``folders`` (a later folder's run of an app and seed wins), and the fit-time ratio."""
    import numpy as np
    from scipy import stats

    lines = []
    tables = sorted({p.parent.name for f in folders for p in f.glob("*/compare.json")})
    for table in tables:
        values: dict[str, dict[int, dict[str, float]]] = {}
        for folder in folders:
            path = folder / table / "compare.json"
            for r in json.loads(path.read_text())["tables"][0]["runs"] if path.exists() else []:
                if not r.get("error"):
                    values.setdefault(r["app"], {})[r["seed"]] = r["values"]
        if "tabular" not in values:
            continue
        parts = []
        for key in ("quality_train", "quality_test", "ml"):
            means = {a: np.mean([v[key] for v in values[a].values()]) for a in values if a.startswith("sdv-")}
            if not means:  # a folder with tabular alone: nothing to pair with
                continue
            best = max(means, key=means.get)
            d = np.array([values["tabular"][s][key] - values[best][s][key] for s in sorted(values["tabular"])])
            h = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            parts.append(f"{key} {d.mean():+.3f} vs {best} ({d.mean() - h:+.3f}…{d.mean() + h:+.3f})")
        fit = {
            a: np.mean([v["fit_seconds"] for v in values[a].values()]) for a in ("tabular", "sdv-ctgan") if a in values
        }
        if len(fit) == 2:
            parts.append(
                f"fit {fit['tabular']:.1f} s / SDV CTGAN's {fit['sdv-ctgan']:.1f} s = {fit['tabular'] / fit['sdv-ctgan']:.2f}"
            )
        lines.append(f"- {table}: " + "; ".join(parts))
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--apps", default="tabular,sdv-gaussiancopula,sdv-tvae,sdv-ctgan")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--train-rows", type=int, default=3000)
    p.add_argument("--test-rows", type=int, default=1000)
    p.add_argument("--epochs", type=int, default=None, help="equal-epochs view: every neural app trains this many")
    p.add_argument("--tables", nargs="*", help="files of MANIFEST.json (default: all)")
    p.add_argument("--out", default=str(REPO / "bench" / "tabular_suite"))
    p.add_argument("--again", action="store_true", help="rerun tables that already have a compare.json")
    p.add_argument("--no-html", action="store_true")
    p.add_argument("--report", nargs="+", help="only print the tables of earlier --out folders, merged")
    args = p.parse_args()
    if not args.report:
        run_suite(args)
    folders = [Path(f) for f in args.report] if args.report else [Path(args.out)]
    text = report(folders) + "\nPaired over seeds:\n" + paired(folders)
    if not args.report:
        (folders[0] / "suite.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
