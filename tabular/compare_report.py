"""How ``ganapps compare`` shows its result: the plain-text leaderboard and the self-contained compare.html."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ganapps.core.io import write_text
from ganapps.core.report import CSS, _img, figure_png
from ganapps.tabular.compare import BY_KEY, CEILING, METRICS, PAIRED

#: the leaderboard columns printed on the terminal (compare.html shows every metric)
TEXT_KEYS = (
    "quality_train",
    "quality_test",
    "ml",
    "dcr_ratio",
    "membership_auc",
    "fit_seconds",
    "sample_seconds",
    "peak_mib",
)


def _num(v: float | None, key: str = "") -> str:
    """``v`` with as many decimals as its metric needs (scores 3; seconds and MiB fewer as they grow)."""
    if v is None:
        return "-"
    return f"{v:.{_decimals(v, key)}f}"


def _decimals(v: float, key: str) -> int:
    if key in ("fit_seconds", "sample_seconds"):
        return 3 if abs(v) < 1 else 2 if abs(v) < 10 else 1 if abs(v) < 100 else 0
    if key == "peak_mib":
        return 1 if abs(v) < 100 else 0
    if key == "rank":
        return 1
    return 3


def cell(stat: dict[str, Any], key: str = "") -> str:
    """``mean±half-width`` of a 95% interval, the mean alone for one seed, ``-`` when missing."""
    if stat.get("mean") is None:
        return "-"
    if stat.get("low") is None:
        return _num(stat["mean"], key)
    places = _decimals(stat["mean"], key)
    return f"{stat['mean']:.{places}f}±{(stat['high'] - stat['low']) / 2:.{places}f}"


#: shorter labels for the terminal
SHORT = {"quality_train": "quality train", "quality_test": "quality test", "membership_auc": "MIA AUC"}
LEGEND = (
    "* best app in the column. Better: quality and ML higher, DCR ratio near 1, MIA (membership-inference "
    "attack) AUC near 0.5, seconds and MiB lower; compare.html says what each metric means."
)


def label(key: str, entry: dict[str, Any] | None = None, short: bool = False) -> str:
    """A metric's column label; ML names the table's metric (macro_f1, r2)."""
    if key == "ml" and entry and entry.get("ml_metric"):
        return f"ML {entry['ml_metric']}"
    return SHORT.get(key, BY_KEY[key].label) if short else BY_KEY[key].label


def _row_name(app: str, board: dict[str, Any], seeds: int) -> str:
    ok = board[app]["seeds_ok"]
    if app != CEILING and ok == 0:
        return f"{app} (failed)"
    return app if ok == seeds or app == CEILING else f"{app} ({ok}/{seeds} seeds)"


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def fmt(r: Sequence[str]) -> str:
        cells = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        return "  ".join(cells).rstrip()

    return [fmt(header), "  ".join("-" * w for w in widths), *[fmt(r) for r in rows]]


def _paired_text(entry: dict[str, Any]) -> list[str]:
    lines = []
    for app, by_key in entry["paired"].items():
        by_rival: dict[str, list[str]] = {}
        for key, d in by_key.items():
            if d["mean"] is not None:
                ci = f" [{d['low']:+.3f}, {d['high']:+.3f}]" if d["low"] is not None else ""
                by_rival.setdefault(d["vs"], []).append(f"{label(key, entry, short=True)} {d['mean']:+.3f}{ci}")
        lines += [f"  {app} − {rival}: " + "; ".join(parts) for rival, parts in by_rival.items()]
    return lines


def leaderboard_text(result: dict[str, Any]) -> str:
    """The leaderboard of every table (best app per column marked ``*``), and the summary over tables."""
    seeds = result["settings"]["seeds"]
    out: list[str] = []
    for entry in result["tables"]:
        board, best = entry["leaderboard"], entry["best"]
        out.append(
            f"{entry['name']}: target {entry['target']} ({entry.get('task') or '?'}), "
            f"{entry['split']['train']} training / {entry['split']['test']} test rows, {seeds} seed(s)"
        )
        rows = []
        for app in [*result["settings"]["apps"], CEILING]:
            marks = [cell(board[app]["metrics"][k], k) + ("*" if app in best.get(k, ()) else " ") for k in TEXT_KEYS]
            rows.append([_row_name(app, board, seeds), *marks])
        out += _text_table(["app", *[label(k, entry, short=True) + " " for k in TEXT_KEYS]], rows)
        errors = [f"  {a} seed {e['seed']}: {e['error']}" for a in board for e in board[a]["errors"]]
        if errors:
            out += ["errors:", *errors]
        pairs = _paired_text(entry)
        if pairs:
            out += ["paired difference to the best other app (mean [95% interval] over seeds):", *pairs]
        out.append("")
    if result.get("summary"):
        out.append(f"summary over {len(result['tables'])} tables: mean of the table means (mean rank, 1 = best)")
        rows = []
        for app, by_key in result["summary"].items():
            rows.append(
                [app, *[f"{_num(by_key[k]['mean'], k)} ({_num(by_key[k]['rank'], 'rank')})" for k in TEXT_KEYS]]
            )
        out += _text_table(["app", *[label(k, short=True) for k in TEXT_KEYS]], rows)
        out.append("")
    out.append(LEGEND)
    return "\n".join(out)


# ---------------------------------------------------------------------------------- HTML
STYLE = (
    "body{max-width:1400px}td.best{font-weight:bold;background:#eef8ee}.wide{overflow-x:auto}"
    ".wide td{white-space:nowrap}.ci{display:block;font-size:.75rem;font-weight:normal;color:#666}"
)


def metric_chart(entry: dict[str, Any], apps: Sequence[str]) -> bytes:
    """Quality (test) and ML efficacy per app: mean and 95% interval; the real-data ceiling dashed."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    keys = ("quality_test", "ml")
    fig, axes = plt.subplots(1, len(keys), figsize=(5.2 * len(keys), 0.5 * len(apps) + 1.4), squeeze=False)
    board = entry["leaderboard"]
    for ax, key in zip(axes[0], keys, strict=True):
        for y, app in enumerate(apps):
            s = board[app]["metrics"][key]
            if s["mean"] is None:
                continue
            err = (
                [[max(0.0, s["mean"] - s["low"])], [max(0.0, s["high"] - s["mean"])]] if s["low"] is not None else None
            )
            ax.errorbar(s["mean"], y, xerr=err, fmt="o", color="#4a7ab0", capsize=3)
        ceiling = board[CEILING]["metrics"][key]["mean"]
        means = [
            board[a]["metrics"][key]["mean"] for a in [*apps, CEILING] if board[a]["metrics"][key]["mean"] is not None
        ]
        if means:  # wide intervals (few seeds) run off the axis rather than squash the means
            ax.set_xlim(min(means) - 0.1, min(1.02, max(means) + 0.1))
        if ceiling is not None:
            ax.axvline(ceiling, color="#888", ls="--", lw=1, label="real data (ceiling)")
            ax.legend(fontsize=7, loc="lower left")
        ax.set_yticks(range(len(apps)), apps, fontsize=8)
        ax.set_ylim(-0.6, len(apps) - 0.4)
        ax.invert_yaxis()
        ax.set_title(label(key, entry) + " (higher is better)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return figure_png(fig)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], wide: bool = True) -> str:
    """A table of ready ``<td>`` cells; ``wide`` ones keep each cell on one line and scroll sideways."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(cells) + "</tr>" for cells in rows)
    table = f"<table><tr>{head}</tr>{body}</table>"
    return f"<div class='wide'>{table}</div>" if wide else table


def _leaderboard_html(entry: dict[str, Any], apps: Sequence[str], seeds: int) -> str:
    board, best = entry["leaderboard"], entry["best"]
    rows = []
    for app in [*apps, CEILING]:
        cells = [f"<td>{html.escape(_row_name(app, board, seeds))}</td>"]
        for m in METRICS:
            mean, _, half = cell(board[app]["metrics"][m.key], m.key).partition("±")
            text = html.escape(mean) + (f"<span class='ci'>±{html.escape(half)}</span>" if half else "")
            cells.append(f"<td class='best'>{text}</td>" if app in best.get(m.key, ()) else f"<td>{text}</td>")
        rows.append(cells)
    parts = [_html_table(["app", *[label(m.key, entry) for m in METRICS]], rows)]
    errors = [(a, e) for a in board for e in board[a]["errors"]]
    if errors:
        items = "".join(
            f"<li><b>{html.escape(a)}</b> seed {e['seed']}: {html.escape(e['error'])}</li>" for a, e in errors
        )
        parts.append(f"<div class='warn'>Failed runs (their seeds are left out of the means):<ul>{items}</ul></div>")
    rows = []
    for app, by_key in entry["paired"].items():
        for key in PAIRED:
            d = by_key.get(key)
            if d and d["mean"] is not None:
                ci = f"[{d['low']:+.3f}, {d['high']:+.3f}]" if d["low"] is not None else "(one seed)"
                rows.append(
                    [
                        f"<td>{html.escape(x)}</td>"
                        for x in (app, label(key, entry), d["vs"], f"{d['mean']:+.3f}", ci, str(d["n"]))
                    ]
                )
    if rows:
        parts.append("<h3>Paired differences to the best other app</h3>")
        parts.append(_html_table(["app", "metric", "vs", "mean difference", "95% interval", "seeds"], rows))
    return "\n".join(parts)


def _summary_html(result: dict[str, Any]) -> str:
    apps = result["settings"]["apps"]
    rows = []
    for app in apps:
        cells = [f"<td>{html.escape(app)}</td>"]
        for m in METRICS:
            s = result["summary"][app][m.key]
            ranks = [
                result["summary"][a][m.key]["rank"] for a in apps if result["summary"][a][m.key]["rank"] is not None
            ]
            top = s["rank"] is not None and s["rank"] == min(ranks)
            text = f"{html.escape(_num(s['mean'], m.key))}<span class='ci'>rank {_num(s['rank'], 'rank')}</span>"
            cells.append(f"<td class='best'>{text}</td>" if top else f"<td>{text}</td>")
        rows.append(cells)
    n = len(result["tables"])
    intro = (
        f"<p>Mean over the {n} tables of each app's per-table mean, and below it the app's mean rank (1 = best).</p>"
    )
    return f"<h2>Summary over {n} tables</h2>{intro}" + _html_table(["app", *[m.label for m in METRICS]], rows)


def render_compare(result: dict[str, Any], figures: dict[str, dict[str, dict[str, bytes]]]) -> str:
    """compare.html as one string: settings, metric legend, leaderboards, paired differences, plots."""
    s = result["settings"]
    apps = s["apps"]
    title = "ganapps compare — " + ", ".join(t["name"] for t in result["tables"])
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"]
    parts.append(f"<style>{CSS}{STYLE}</style></head><body>")
    parts.append(f"<h1>{html.escape(title)}</h1>")
    which = "seed 0" if s["seeds"] == 1 else f"seeds 0…{s['seeds'] - 1}"
    settings = {
        "apps": ", ".join(apps),
        "seeds": f"{s['seeds']} ({which}); each seed: one split shared by every app",
        "epochs": s["epochs"] or "each app's default",
        "device": s["device"],
        "ganapps": result["ganapps_version"],
        "created": result["created"],
        "command": result.get("command") or "",
    }
    if s.get("dp_epsilon"):
        settings["differential privacy"] = (
            "app@dpε: the app trained with --dp-epsilon ε (its DP defaults, δ = 1/(10·n)); each run's "
            "accounting is in compare.json"
        )
    parts.append(
        _html_table(
            ["setting", "value"],
            [[f"<td>{html.escape(k)}</td>", f"<td>{html.escape(str(v))}</td>"] for k, v in settings.items()],
            wide=False,
        )
    )
    parts.append("<h2>What the columns mean</h2><ul>")
    parts += [
        f"<li><b>{html.escape(m.label)}</b> ({html.escape(m.better)} is better): {html.escape(m.meaning)}</li>"
        for m in METRICS
    ]
    parts.append(
        "</ul><p>Cells: mean over seeds ± half-width of a 95% t-interval (no interval with one seed); "
        "the best app per column is highlighted. <i>real data (ceiling)</i> judges the real training rows "
        "like a synthetic table: what a perfect synthesizer could reach.</p>"
    )
    if result.get("summary"):
        parts.append(_summary_html(result))
    for entry in result["tables"]:
        parts.append(
            f"<h2>{html.escape(entry['name'])}</h2><p>{entry['rows']} rows × {entry['columns']} columns; target "
            f"<code>{html.escape(entry['target'])}</code> ({html.escape(str(entry.get('task')))}); per seed "
            f"{entry['split']['train']} training and {entry['split']['test']} test rows.</p>"
        )
        parts.append(_leaderboard_html(entry, apps, s["seeds"]))
        if any(entry["leaderboard"][a]["seeds_ok"] for a in apps):
            parts.append(_img(metric_chart(entry, apps), "mean and 95% interval over seeds"))
        for app, figs in figures.get(entry["name"], {}).items():
            parts.append(f"<h3>{html.escape(app)}: real training rows vs synthetic, seed 0</h3>")
            parts += [_img(png, f"{app}: {name}") for name, png in figs.items()]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_compare_report(path: Path, result: dict[str, Any], figures: dict[str, dict[str, dict[str, bytes]]]) -> Path:
    """Render compare.html and write it atomically."""
    return write_text(path, render_compare(result, figures))
