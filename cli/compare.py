"""``ganapps compare``: every tabular app on the same splits of your table(s), judged by the same code."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from ganapps.cli.options import device_option

#: the same as ganapps.tabular.compare.DEFAULT_APPS (not imported here: it would load torch)
DEFAULT_APPS = "tabular,sdv-gaussiancopula,sdv-ctgan,sdv-tvae"


def parse_epsilons(text: str | None) -> list[float]:
    """``--dp-epsilon 1,3`` → [1.0, 3.0]; a one-line error for anything else."""
    from ganapps.core.errors import ConfigError

    if not text:
        return []
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(f"option --dp-epsilon takes comma-separated numbers, got {text!r}") from None


@click.command("compare")
@click.option(
    "--data", "-d", required=True, help="A table file (CSV, CSV.gz, Parquet), or a folder with MANIFEST.json."
)
@click.option("--target", "-t", help="Column ML efficacy predicts (required with a file; a MANIFEST names its own).")
@click.option("--apps", default=DEFAULT_APPS, show_default=True, help="Comma-separated tabular apps to compare.")
@click.option(
    "--seeds", type=int, default=3, show_default=True, help="Seeds 0…N-1: one split and one run per app each."
)
@click.option("--train-rows", type=int, help="Training rows per seed (default: all rows not in the test split).")
@click.option("--test-rows", type=int, help="Real test rows per seed (default: 20% of the rows, at most 1,000).")
@click.option("--epochs", type=int, help="Epochs for every neural app (default: each app's own).")
@click.option(
    "--dp-epsilon",
    "dp_epsilon",
    help="Comma-separated ε: also train each app that can train privately at each ε (entries app@dpε), "
    "to see what privacy costs on your table.",
)
@device_option()
@click.option("--out", "-o", type=click.Path(), help="Output folder (default runs/compare-<timestamp>).")
@click.option("--json", "as_json", is_flag=True, help="Print compare.json instead of the leaderboard.")
@click.pass_context
def command(
    ctx: click.Context,
    data: str,
    target: str | None,
    apps: str,
    seeds: int,
    train_rows: int | None,
    test_rows: int | None,
    epochs: int | None,
    dp_epsilon: str | None,
    device: str,
    out: str | None,
    as_json: bool,
) -> None:
    """Compare tabular synthesizers on your table: leaderboard, compare.json and compare.html.

    \b
    ganapps compare --data table.csv --target churn
    ganapps compare --data tables/ --apps tabular,sdv-gaussiancopula --seeds 5
    ganapps compare --data table.csv --target churn --apps tabular --dp-epsilon 1,3
    """
    from ganapps.tabular.compare import compare
    from ganapps.tabular.compare_report import leaderboard_text

    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    result = compare(
        data,
        target,
        apps=apps.split(","),
        seeds=seeds,
        train_rows=train_rows,
        test_rows=test_rows,
        epochs=epochs,
        device=device,
        out=out,
        progress=not quiet,
        command="ganapps " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        dp_epsilons=parse_epsilons(dp_epsilon),
    )
    if as_json:
        click.echo(Path(result["files"]["json"]).read_text(encoding="utf-8"), nl=False)
        return
    click.echo(leaderboard_text(result))
    click.echo(f"compare.json: {result['files']['json']}")
    click.echo(f"compare.html: {result['files']['html']}")
