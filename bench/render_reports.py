"""Issue 17: every app's report in a real browser.

Runs each app briefly on its shipped sample (a few epochs: the numbers are not the point, the
report is), renders each run's ``report.html`` to a PNG with headless Chromium (Debian's
``/usr/bin/chromium``), prints per app how many metric rows the report explains, and runs the
commands of the report's Next section (in OUT/next/<app>) to check they work.

    OMP_NUM_THREADS=2 flock -x /tmp/ganapps-cpu.lock .venv/bin/python bench/render_reports.py --out /tmp/reports
    ... --apps medgan,fraud        some apps only;  --render-only  re-render the runs already in OUT/runs

Look at the PNGs (OUT/<app>.png); the runs stay in OUT/runs/<app>/.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: per app, the `ganapps run` flags of a short run on its default sample
_DIGITS = ["--epochs", "3", "--ngf", "32", "--ndf", "32", "--lr", "generator=6e-4", "--lr", "discriminator=6e-4"]
APPS: dict[str, list[str]] = {
    "dcgan": [*_DIGITS, "--ema", "0.999", "--samples", "500"],
    "cgan": [*_DIGITS, "--ema", "0.999", "--samples", "500"],
    "medgan": [],  # its defaults: about 1,000 steps on the 64 training patients
    "tabular": ["--epochs", "50"],
    "sdv-gaussiancopula": [],
    "ecommerce": ["--epochs", "5"],
    "fints": ["--epochs", "3", "--disc-steps", "100"],
    "fraud": ["--epochs", "10"],
    "pix2pix": ["--epochs", "2", "--ngf", "32", "--ndf", "32"],
    "cyclegan": ["--epochs", "2", "--ngf", "16", "--ndf", "16"],
}
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")


def ganapps_bin() -> str:
    """The ``ganapps`` beside this Python (the worktree's venv), else the one on PATH."""
    here = Path(sys.executable).with_name("ganapps")
    return str(here) if here.exists() else "ganapps"


def train(app: str, runs: Path) -> float:
    """``ganapps run APP`` with the short settings into ``runs/APP``; returns the seconds it took."""
    out = runs / app
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    cmd = [ganapps_bin(), "run", app, *APPS[app], "--seed", "0", "--out", str(out), "-q"]
    subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def screenshot(html: Path, png: Path, width: int = 1200, height: int = 3000) -> None:
    """Render ``html`` to ``png`` with headless Chromium (the first ``height`` pixels of the page)."""
    browser = next((shutil.which(b) for b in CHROMIUM if shutil.which(b)), None)
    if browser is None:
        raise SystemExit("no chromium on PATH (Debian: apt-get install chromium)")
    cmd = [
        browser,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--hide-scrollbars",
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        html.resolve().as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    if not png.exists() or png.stat().st_size == 0:
        raise SystemExit(f"chromium wrote no screenshot of {html}")


def explained(html: Path) -> tuple[int, int]:
    """(metric rows with a meaning, metric rows) of a report's metrics table."""
    text = html.read_text(encoding="utf-8")
    rows = re.findall(r"<tr class='metric'>(.*?)</tr>", text, flags=re.S)
    return sum("<td class='meaning'></td>" not in r for r in rows), len(rows)


def try_next(html: Path, where: Path) -> str:
    """Run each command of the report's Next section in ``where`` (those needing the user's own
    files, ``YOUR_...``, are skipped): "ok", or what failed."""
    import html as h
    import shlex

    where.mkdir(parents=True, exist_ok=True)
    text = html.read_text(encoding="utf-8")
    section = text.split("<h2>Next</h2>", 1)[-1].split("<h2>", 1)[0]
    results = []
    for cmd in re.findall(r"<code>(.*?)</code>", section):
        args = shlex.split(h.unescape(cmd))
        if any("YOUR_" in a for a in args):
            results.append("skipped (your files)")
            continue
        done = subprocess.run([ganapps_bin(), *args[1:]], cwd=where, capture_output=True, text=True, timeout=600)
        results.append("ok" if done.returncode == 0 else f"FAILED: {cmd}: {done.stdout[-300:]}{done.stderr[-300:]}")
    return ", ".join(results) or "none"


def page_height(html: Path) -> int:
    """A window height that holds the whole report (generous: the PNG is trimmed afterwards)."""
    text = html.read_text(encoding="utf-8")
    return min(30000, 2000 + 45 * text.count("<tr") + 700 * text.count("<figure"))


def trim(png: Path) -> None:
    """Cut the blank bottom of a screenshot (the window is taller than the page)."""
    from PIL import Image, ImageChops

    with Image.open(png) as im:
        rgb = im.convert("RGB")
    box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, (255, 255, 255))).getbbox()
    if box is not None and box[3] + 40 < rgb.height:
        rgb.crop((0, 0, rgb.width, box[3] + 40)).save(png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs (runs go to OUT/runs)")
    parser.add_argument("--apps", default=",".join(APPS), help="comma-separated apps (default: all)")
    parser.add_argument("--render-only", action="store_true", help="re-render the runs already in OUT/runs")
    args = parser.parse_args()
    apps = [a for a in args.apps.split(",") if a]
    unknown = sorted(set(apps) - set(APPS))
    if unknown:
        raise SystemExit(f"unknown app(s): {', '.join(unknown)} (known: {', '.join(APPS)})")
    runs = args.out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    for app in apps:
        seconds = 0.0 if args.render_only else train(app, runs)
        report = runs / app / "report.html"
        png = args.out / f"{app}.png"
        screenshot(report, png, height=page_height(report))
        trim(png)
        ok, total = explained(report)
        following = "" if args.render_only else f"  next: {try_next(report, args.out / 'next' / app)}"
        print(f"{app:20s} run {seconds:6.1f} s  metrics explained {ok}/{total}  {png}{following}", flush=True)


if __name__ == "__main__":
    main()
