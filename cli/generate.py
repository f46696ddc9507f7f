"""``ganapps generate RUN``: samples from a saved bundle."""

from __future__ import annotations

import click

from ganapps.cli.options import dataclass_options, given, parse_pairs
from ganapps.core.bundle import bundle_config
from ganapps.core.plugins import get_registry


@click.command("generate", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("run", type=click.Path())
@click.option("-n", "--num", "n", type=int, default=100, show_default=True, help="Number of samples.")
@click.option("--out", "-o", type=click.Path(), help="Output file (.csv/.parquet for tables, .png/.npz for images...).")
@click.option("--condition", "-c", multiple=True, metavar="KEY=VALUE", help="Condition the samples (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the samples.")
@click.option("--device", default="cpu", show_default=True, help="auto, cpu, cuda or mps.")
@click.pass_context
def command(
    ctx: click.Context, run: str, n: int, out: str | None, condition: tuple[str, ...], seed: int, device: str
) -> None:
    """Generate N samples from RUN (a run directory or bundle) into --out.

    Apps add their own options (e.g. cgan's --label 3); `ganapps apps APP` lists them.
    """
    from ganapps.core.pipeline import generate

    config = bundle_config(run)
    cls = get_registry().app(config["app"])
    extra = dataclass_options(cls.GenerateOptions)
    sub = click.Command(f"generate ({cls.name})", params=extra)
    sub_ctx = sub.make_context(f"ganapps generate RUN [{cls.name} options]", list(ctx.args), parent=ctx)
    options = given(sub_ctx.params, [p.name for p in extra if p.name])
    if cls.count_option and options.get(cls.count_option) is not None:
        n = int(options[cls.count_option])  # the app's own count flag (e.g. --scenarios) wins over -n
    path = generate(
        run, n, out, condition=parse_pairs(condition, "--condition"), options=options, seed=seed, device=device
    )
    click.echo(f"wrote {n} samples to {path}")
