"""``ganapps generate RUN``: samples from a saved bundle."""

from __future__ import annotations

import json
from typing import Any

import click

from ganapps.cli.options import dataclass_options, device_option, given, parse_pairs
from ganapps.core.bundle import bundle_config
from ganapps.core.errors import BundleError, PluginError
from ganapps.core.plugins import get_registry

#: options of ``generate`` itself that take a value (to tell RUN from an option's value)
VALUE_OPTIONS = {"-n", "--num", "-o", "--out", "-c", "--condition", "--seed", "--device"}
HELP = {"-h", "--help"}


class GenerateCommand(click.Command):
    """``generate`` whose options include RUN's app's own (read from its bundle before parsing), so
    ``generate RUN --help`` lists them and a bad value gets click's ordinary usage and error lines."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["generate.app_params"] = _app_params(self, args)
        return super().parse_args(ctx, args)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        params, extra = super().get_params(ctx), ctx.meta.get("generate.app_params", [])
        if extra and params and params[-1] is self.get_help_option(ctx):
            return [*params[:-1], *extra, params[-1]]  # the help lists --help last
        return [*params, *extra]


def _app_params(command: click.Command, args: list[str]) -> list[click.Parameter]:
    """The ``GenerateOptions`` flags of the app whose run is among ``args`` (none if no run is found)."""
    cls = None
    for i, token in enumerate(_positionals(args)):
        try:
            cls = get_registry().app(bundle_config(token)["app"])
            break
        except BundleError:
            if i == 0 and args and args[0] == token and not HELP & set(args):
                raise  # RUN given first, as documented, and not a run: say so rather than "no such option"
    if cls is None:
        return []
    params = dataclass_options(cls.GenerateOptions)
    taken = {name for p in command.params for name in (p.name, *getattr(p, "opts", ()))}
    clash = sorted(o for p in params for o in (p.name, *p.opts) if o in taken)
    if clash:
        raise PluginError(f"app {cls.name}: generate options clash with ganapps generate's own: {', '.join(clash)}")
    return params


def _positionals(args: list[str]) -> list[str]:
    """Tokens of ``args`` that may be RUN: not options, not the value of one of generate's options."""
    out, skip = [], False
    for token in args:
        if skip:
            skip = False
        elif token == "--":
            continue
        elif token.startswith("-"):
            skip = token in VALUE_OPTIONS
        else:
            out.append(token)
    return out


@click.command("generate", cls=GenerateCommand)
@click.argument("run", type=click.Path())
@click.option("-n", "--num", "n", type=int, default=100, show_default=True, help="Number of samples.")
@click.option("--out", "-o", type=click.Path(), help="Output file (.csv/.parquet for tables, .png/.npz for images...).")
@click.option("--condition", "-c", multiple=True, metavar="KEY=VALUE", help="Condition the samples (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the samples.")
@device_option()
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@click.pass_context
def command(
    ctx: click.Context,
    run: str,
    n: int,
    out: str | None,
    condition: tuple[str, ...],
    seed: int,
    device: str,
    as_json: bool,
    **app_options: Any,
) -> None:
    """Generate N samples from RUN (a run directory or bundle) into --out.

    Apps add their own options (e.g. cgan's --label 3): `ganapps generate RUN --help` lists those
    of RUN's app, `ganapps apps APP` those of any app.
    """
    from ganapps.core.pipeline import generate_file

    cls = get_registry().app(bundle_config(run)["app"])
    options = given(app_options, list(app_options))
    if cls.count_option and options.get(cls.count_option) is not None:
        n = int(options[cls.count_option])  # the app's own count flag (e.g. --scenarios) wins over -n
    path = generate_file(
        run, n, out, condition=parse_pairs(condition, "--condition"), options=options, seed=seed, device=device
    )
    if as_json:
        click.echo(json.dumps({"run": run, "samples": n, "path": str(path), "seed": seed}))
    else:
        click.echo(f"wrote {n} samples to {path}")
