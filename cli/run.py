"""``ganapps run APP``: train, generate a sample, evaluate, report. One sub-command per app."""

from __future__ import annotations

import dataclasses
import shlex
import sys
from typing import Any

import click

from ganapps.cli.options import dataclass_options, given
from ganapps.core.config import TrainConfig, read_toml
from ganapps.core.errors import PluginError
from ganapps.core.plugins import get_registry
from ganapps.core.registry import AppInfo

COMMON = [
    click.Option(["--data", "-d"], help="Data file or folder, or a dataset name (`ganapps datasets list`)."),
    click.Option(["--out", "-o"], type=click.Path(), help="Run directory (default runs/<app>-<timestamp>)."),
    click.Option(
        ["--config"], type=click.Path(), help="TOML file: engine settings at top level, app options under [options]."
    ),
    click.Option(["--resume"], type=click.Path(), help="Resume the run in this directory from its last checkpoint."),
    click.Option(["--samples"], type=int, help="Number of synthetic samples to generate and evaluate."),
]
TRAIN_NAMES = [f.name for f in dataclasses.fields(TrainConfig)]
COMMON_NAMES = {"data", "out", "config", "resume", "samples", *TRAIN_NAMES}


def make_command(info: AppInfo) -> click.Command:
    cls = info.cls
    clash = (
        {f.name for f in dataclasses.fields(cls.Options)} & COMMON_NAMES
        if dataclasses.is_dataclass(cls.Options)
        else set()
    )
    if clash:
        raise PluginError(f"app {cls.name} ({info.plugin}) has options that clash with engine options: {sorted(clash)}")
    option_names = [f.name for f in dataclasses.fields(cls.Options)] if dataclasses.is_dataclass(cls.Options) else []

    @click.pass_context
    def callback(ctx: click.Context, **kw: Any) -> None:
        from ganapps.core.pipeline import run

        quiet = (ctx.find_root().obj or {}).get("quiet", False)
        result = run(
            cls.name,
            kw["data"],
            options=given(kw, option_names),
            train=given(kw, TRAIN_NAMES),
            config_file=read_toml(kw["config"]) if kw["config"] else None,
            out=kw["out"],
            resume=kw["resume"],
            samples=kw["samples"],
            progress=not quiet,
            command="ganapps " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
        )
        click.echo(f"run directory: {result.run_dir.path}")
        click.echo(f"  bundle:   {result.run_dir.bundle}")
        click.echo(f"  samples:  {result.samples_path}")
        click.echo(f"  metrics:  {result.run_dir.metrics_path}")
        click.echo(f"  report:   {result.run_dir.report_path}")
        headline = {k: v for k, v in result.metrics["metrics"].items() if isinstance(v, int | float)}
        if headline:
            click.echo("  " + ", ".join(f"{k}={v:.4g}" for k, v in list(headline.items())[:8]))
        if result.diagnostics:
            click.echo(f"  {len(result.diagnostics)} training warning(s): see the report")

    params = [*COMMON, *dataclass_options(TrainConfig), *dataclass_options(cls.Options)]
    epilog = f"Engine defaults for {cls.name}: {cls.train_defaults}." if cls.train_defaults else None
    return click.Command(
        cls.name, params=params, callback=callback, help=cls.description, epilog=epilog, no_args_is_help=False
    )


class RunGroup(click.Group):
    """Sub-commands are built from the registered apps."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(get_registry().apps)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        registry = get_registry()
        if name not in registry.apps:
            return None
        return make_command(registry.apps[name])

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            known = ", ".join(self.list_commands(ctx)) or "none"
            raise click.UsageError(f"unknown app {name!r} (available: {known})", ctx)
        return super().resolve_command(ctx, args)


@click.group("run", cls=RunGroup)
def command() -> None:
    """Train APP on --data, generate a synthetic sample, evaluate it and write report.html.

    Every engine setting (epochs, batch size, device, seed, learning rates, EMA, checkpoints...)
    and every app option is a flag; `ganapps run APP --help` lists them.
    """
