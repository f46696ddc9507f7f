"""The self-contained ``report.html`` of a run: summary, next commands, diagnostics, explained metrics,
real beside synthetic figures, loss curves, settings."""

from __future__ import annotations

import base64
import html
import io
import platform
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ganapps.core.app import Diagnostic
from ganapps.core.io import write_text
from ganapps.core.meanings import MetricMeaning, MetricRow, explain


def figure_png(fig: Any, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def new_figure(width: float = 6.0, height: float = 3.6, ncols: int = 1) -> tuple[Any, Any]:
    """A matplotlib figure and its axes (an array of ``ncols`` when more than one) drawn off-screen."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(1, ncols, figsize=(width, height))


def _smooth(y: np.ndarray) -> np.ndarray:
    w = max(1, len(y) // 50)
    if w == 1:
        return y
    kernel = np.ones(w) / w
    return np.convolve(np.pad(y, (w // 2, w - 1 - w // 2), mode="edge"), kernel, mode="valid")


def loss_curves(history: Sequence[dict[str, Any]]) -> bytes | None:
    """One panel per phase with every ``*/loss`` series (smoothed, raw in light colour)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    phases: list[str] = []
    for r in history:
        if "phase" in r and r["phase"] not in phases and any(k.endswith("/loss") for k in r):
            phases.append(r["phase"])
    if not phases:
        return None
    fig, axes = plt.subplots(1, len(phases), figsize=(6 * len(phases), 3.6), squeeze=False)
    for ax, phase in zip(axes[0], phases, strict=True):
        rows = [r for r in history if r.get("phase") == phase]
        keys = sorted({k for r in rows for k in r if k.endswith("/loss")})
        for key in keys:
            pts = [(r["step"], r[key]) for r in rows if key in r and np.isfinite(r[key])]
            if not pts:
                continue
            x, y = np.array(pts).T
            line = ax.plot(x, _smooth(y), label=key.removesuffix("/loss"), lw=1.5)[0]
            ax.plot(x, y, color=line.get_color(), alpha=0.2, lw=0.6)
        ax.set_title(f"{phase} losses")
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return figure_png(fig)


def eval_curves(history: Sequence[dict[str, Any]]) -> bytes | None:
    """Metrics logged by periodic evaluation (``eval/*``) against the epoch."""
    rows = [r for r in history if any(k.startswith("eval/") for k in r)]
    if len(rows) < 2:
        return None
    keys = sorted({k for r in rows for k in r if k.startswith("eval/")})
    fig, ax = new_figure()
    for key in keys:
        pts = [(r["epoch"], r[key]) for r in rows if key in r]
        x, y = np.array(pts).T
        ax.plot(x, y, marker="o", label=key.removeprefix("eval/"))
    ax.set_xlabel("epoch")
    ax.set_title("evaluation during training")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return figure_png(fig)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
        return f"{len(v)} records (in metrics.json)"
    if isinstance(v, list) and v and all(isinstance(x, str) for x in v):
        v = ", ".join(v)
    if isinstance(v, list) and v and len(v) <= 12 and all(isinstance(x, float) for x in v):
        return "[" + ", ".join(f"{x:.4g}" for x in v) + "]"
    if isinstance(v, list) and len(v) > 12:
        v = str(v[:12])[:-1] + ", …]"
    text = str(v)
    return html.escape(text if len(text) <= 160 else text[:157] + "…")


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}"><figcaption>{html.escape(alt)}</figcaption></figure>'


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1rem;margin:1rem 0 .2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;font-size:.9rem}
th{background:#f5f5f5}.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5rem 1rem;margin:.5rem 0}
.ok{background:#eef8ee;border-left:4px solid #3a3;padding:.5rem 1rem}figure{display:inline-block;margin:.5rem}
img{max-width:100%}figcaption{font-size:.8rem;color:#555;text-align:center}code{background:#f3f3f3;padding:0 .2rem}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td.better{white-space:nowrap;color:#444}
td.meaning{color:#444;font-size:.85rem}.ref span{color:#666;font-size:.8rem}
table.metrics{width:100%;table-layout:fixed}table.metrics td{overflow-wrap:anywhere}
tr.metric td:first-child{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.82rem}
.next{background:#eef3fb;border-left:4px solid #4a7ab0;padding:.4rem 1rem;margin:.5rem 0}
.next code{display:block;white-space:pre-wrap;background:none;font-size:.88rem;margin:.2rem 0}
.next p{margin:0 0 .5rem;color:#444;font-size:.85rem}.settings{display:flex;flex-wrap:wrap;gap:0 2rem}
"""

ARROWS = {"higher": "↑ higher", "lower": "↓ lower"}


def _metric_row(row: MetricRow) -> str:
    value = (
        f"<td class='num'>{_fmt(row.value)}</td>"
        if isinstance(row.value, int | float)
        else f"<td>{_fmt(row.value)}</td>"
    )
    ref = ""
    if row.reference is not None:
        v, label, key = row.reference
        where = f" title='{html.escape(key)}'" if key else ""
        ref = f"{_fmt(v)} <span{where}>{html.escape(label)}</span>"
    return (
        f"<tr class='metric'><td>{html.escape(row.key)}</td>{value}<td class='better'>{ARROWS.get(row.better or '', '')}</td>"
        f"<td class='ref'>{ref}</td><td class='meaning'>{html.escape(row.meaning)}</td></tr>"
    )


def metrics_table(metrics: dict[str, Any], meanings: Mapping[str, MetricMeaning]) -> str:
    """The metrics as a table: metric, value, which direction is better, its reference, what it means."""
    cols = "".join(f"<col style='width:{w}%'>" for w in (27, 10, 8, 15, 40))
    head = "<tr><th>metric</th><th>value</th><th>better</th><th>reference</th><th>meaning</th></tr>"
    rows = "".join(_metric_row(r) for r in explain(metrics, meanings))
    return f"<table class='metrics'><colgroup>{cols}</colgroup>{head}{rows}</table>"


def _next_steps(commands: Sequence[tuple[str, str]]) -> str:
    items = [f"<div><code>{html.escape(cmd)}</code><p>{html.escape(what)}</p></div>" for cmd, what in commands]
    return "<h2>Next</h2><div class='next'>" + "".join(items) + "</div>"


def _settings(settings: Mapping[str, Mapping[str, Any]]) -> str:
    parts = ["<h2>Settings</h2><div class='settings'>"]
    for name, rows in settings.items():
        cells = "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v) if v != {} else '—'}</td></tr>" for k, v in rows.items()
        )
        parts.append(f"<div><h3>{html.escape(name)}</h3><table>{cells or '<tr><td>none</td></tr>'}</table></div>")
    return "".join(parts) + "</div>"


def settings_of(info: Mapping[str, Any], finished: str) -> dict[str, dict[str, Any]]:
    """The settings section from a run's ``run.json`` data: times, engine settings, app options, versions."""
    run = {"started": info.get("started", ""), "finished": finished, "data": info.get("data") or "in memory"}
    if info.get("distributed"):
        run["processes"] = info["distributed"]["processes"]
    versions = {
        "ganapps": info.get("ganapps_version", ""),
        "torch": info.get("torch_version", ""),
        "python": info.get("python_version") or platform.python_version(),
        "platform": platform.platform(terse=True),
    }
    return {
        "run": run,
        "engine": dict(info.get("train", {})),
        "app options": dict(info.get("options", {})),
        "versions": versions,
    }


def _diagnostics(diagnostics: Sequence[Diagnostic], checks: Sequence[str]) -> str:
    parts = ["<h2>Diagnostics</h2>"]
    for d in diagnostics:
        parts.append(
            f"<div class='warn'><b>{html.escape(d.code)}</b>: {html.escape(d.message)}<br>"
            f"<i>Remedy:</i> {html.escape(d.remedy)}</div>"
        )
    if not diagnostics:
        ran = ", ".join(checks) if checks else "loss and diversity checks"
        parts.append(f"<div class='ok'>No training problem detected ({html.escape(ran)}).</div>")
    return "".join(parts)


def _privacy(p: Mapping[str, Any], meanings: Mapping[str, MetricMeaning]) -> str:
    """A DP run's whole accounting (``metrics.json``'s ``differential_privacy``), explained, and what the
    app replaced or turned off to keep the run private."""
    how = f" Composition: {html.escape(str(p['composition']))}." if p.get("composition") else ""
    parts = [
        "<h2>Differential privacy</h2><p>Every path from the real rows to the model and the samples is "
        f"paid from one (ε, δ) budget or closed: docs/privacy.md lists them.{how}</p>",
        metrics_table({k: v for k, v in p.items() if k not in ("notes", "composition")}, meanings),
    ]
    if p.get("notes"):
        items = "".join(f"<li>{html.escape(str(n))}</li>" for n in p["notes"])
        parts.append(f"<p>Replaced or turned off to keep the run private:</p><ul>{items}</ul>")
    return "".join(parts)


def _figures(history: Sequence[dict[str, Any]], figures: dict[str, bytes], epoch_images: Sequence[Path]) -> list[str]:
    parts: list[str] = []
    if figures:
        parts.append("<h2>Figures</h2>")
        parts += [_img(png, name) for name, png in figures.items()]
    curves, evals = loss_curves(history), eval_curves(history)
    if curves or evals:
        parts.append("<h2>Training curves</h2>")
        if curves:
            parts.append(_img(curves, "losses per step (smoothed; raw values faint)"))
        if evals:
            parts.append(_img(evals, "metrics evaluated during training"))
    if epoch_images:
        parts.append("<h2>Samples per epoch</h2>")
        parts += [_img(p.read_bytes(), p.stem.replace("_", " ")) for p in sorted(epoch_images, key=_epoch_key)]
    return parts


def render(
    *,
    title: str,
    summary: dict[str, Any],
    metrics: dict[str, Any],
    diagnostics: Sequence[Diagnostic],
    history: Sequence[dict[str, Any]],
    figures: dict[str, bytes],
    epoch_images: Sequence[Path] = (),
    notes: Sequence[str] = (),
    checks: Sequence[str] = (),
    meanings: Mapping[str, MetricMeaning] | None = None,
    settings: Mapping[str, Mapping[str, Any]] | None = None,
    next_steps: Sequence[tuple[str, str]] = (),
    privacy: Mapping[str, Any] | None = None,
    privacy_meanings: Mapping[str, MetricMeaning] | None = None,
) -> str:
    """The report as one HTML string with embedded PNGs: run summary, what to run next, diagnostics,
    a DP run's accounting, explained metrics, real-beside-synthetic figures, training curves, samples
    per epoch, settings."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"]
    parts.append(f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>")
    parts.append("<h2>Run</h2><table>")
    parts += [f"<tr><th>{html.escape(str(k))}</th><td>{_fmt(v)}</td></tr>" for k, v in summary.items()]
    parts.append("</table>")
    if next_steps:
        parts.append(_next_steps(next_steps))
    parts.append(_diagnostics(diagnostics, checks))
    if privacy:
        parts.append(_privacy(privacy, privacy_meanings or {}))
    parts.append("<h2>Metrics</h2>" + metrics_table(metrics, meanings or {}))
    if notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    parts += _figures(history, figures, epoch_images)
    if settings:
        parts.append(_settings(settings))
    parts.append("</body></html>")
    return "\n".join(parts)


def _epoch_key(p: Path) -> tuple[str, int]:
    m = re.search(r"(.*)_epoch(\d+)$", p.stem)
    return (m.group(1), int(m.group(2))) if m else (p.stem, 0)


def write_report(path: Path, **kwargs: Any) -> Path:
    """Render and write the report atomically."""
    return write_text(path, render(**kwargs))
