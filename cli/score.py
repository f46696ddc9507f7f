"""``ganapps score RUN --data FILE --out FILE``: score a table with a scoring app's bundle."""

from __future__ import annotations

import click

from ganapps.cli.options import device_option


@click.command("score")
@click.argument("run", type=click.Path())
@click.option(
    "--data",
    "-d",
    required=True,
    help="Table to score (.csv, .tsv, .parquet; any size) or a sample dataset name (`ganapps datasets list`).",
)
@click.option("--out", "-o", required=True, type=click.Path(), help="Scores file (.csv, .tsv or .parquet).")
@click.option(
    "--chunk-size",
    type=int,
    default=None,
    help="Rows per chunk (memory grows with it). Default: 250,000; 100,000 rows per Arrow batch on Spark.",
)
@device_option("With cpu or auto, an app's torch-free scorer is used when its plugin has one (fraud does).")
@click.option(
    "--engine",
    type=click.Choice(["local", "spark"]),
    default="local",
    show_default=True,
    help="spark: score --data (Parquet files, dir or glob; CSV) on Apache Spark into an --out directory "
    "(pip install 'ganapps[spark]', Java 17+).",
)
@click.option(
    "--master",
    default=None,
    help="Spark master for --engine spark: local[2], yarn, k8s://... (default: spark-submit's, else local[*]).",
)
@click.pass_context
def command(
    ctx: click.Context,
    run: str,
    data: str,
    out: str,
    chunk_size: int | None,
    device: str,
    engine: str = "local",
    master: str | None = None,
) -> None:
    """Score every row of --data with RUN (a run directory or bundle of a scoring app, e.g. fraud).

    Streams the file in chunks (bounded memory), reads columns by name (extra ones are
    ignored), writes one row per input row; rows with unparsable values get an `error`.
    """
    from ganapps.core.errors import ConfigError
    from ganapps.core.plugins import dataset_path
    from ganapps.core.scoring import CHUNK_ROWS, load_scorer, score_file

    quiet = (ctx.find_root().obj or {}).get("quiet", False)
    data = str(dataset_path(data) or data)  # a sample dataset's name, as `ganapps run --data NAME` takes
    if master is not None and engine != "spark":
        raise ConfigError("option --master needs --engine spark")
    if engine == "spark":  # input columns + results, written as a Parquet directory by Spark
        from ganapps.integrations.spark import score_path

        rows = 100_000 if chunk_size is None else chunk_size
        s = score_path(run, data, out, master=master, device=device, batch_rows=rows, progress=not quiet)
    else:
        scorer = load_scorer(run, device=device)
        rows = CHUNK_ROWS if chunk_size is None else chunk_size
        s = score_file(scorer, data, out, chunk_rows=rows, progress=not quiet)
    rate = s.rows / s.seconds if s.seconds > 0 else float("inf")
    counts = "".join(f", {v:,} {k}" for k, v in s.counts.items())
    errors = f", {s.errors:,} with errors" if s.errors else ""
    click.echo(f"scored {s.rows:,} rows in {s.seconds:.1f} s ({rate:,.0f} rows/s){counts}{errors} -> {s.out}")
