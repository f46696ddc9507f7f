"""``ganapps evaluate RUN``: evaluate a run again, on fresh samples or a given file."""

from __future__ import annotations

import json

import click

from ganapps.cli.options import device_option
from ganapps.core.io import write_json


@click.command("evaluate")
@click.argument("run", type=click.Path())
@click.option("--data", "-d", help="Real data to compare with (default: the run's data and holdout split).")
@click.option("--synthetic", type=click.Path(), help="Evaluate this sample file instead of fresh samples.")
@click.option("-n", "--num", "n", type=int, help="Number of fresh samples (default: the app's).")
@click.option("--out", "-o", type=click.Path(), help="Also write the metrics to this JSON file.")
@device_option()
def command(run: str, data: str | None, synthetic: str | None, n: int | None, out: str | None, device: str) -> None:
    """Print the app's metrics and diagnostics for RUN as JSON (always JSON: no --json needed)."""
    from ganapps.core.pipeline import evaluate_run

    evaluation, diagnostics = evaluate_run(run, data=data, synthetic=synthetic, n=n, device=device)
    result = {
        "metrics": evaluation.metrics,
        "diagnostics": [d.to_dict() for d in diagnostics],
        "notes": evaluation.notes,
    }
    if out:
        write_json(out, result)
    click.echo(json.dumps(result, indent=2, default=float))
