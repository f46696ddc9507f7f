"""The root ``ganapps`` group: version, logging, one-line errors with exit status 2."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from ganapps.core.errors import GanappsError
from ganapps.core.version import ganapps_version


class UserError(click.ClickException):
    """Bad input: printed as one line, exit status 2 (or the error's own code)."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


#: the root's options a user may also put after the subcommand (`ganapps run tabular -q`)
ANYWHERE = {"-q", "--quiet", "-v", "--verbose", "-vv", "-vvv"}


class Root(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Move -q/-v given after the subcommand to the front, where the root group reads them."""
        end = args.index("--") if "--" in args else len(args)
        moved = [a for a in args[:end] if a in ANYWHERE]
        return super().parse_args(ctx, [*moved, *(a for a in args[:end] if a not in ANYWHERE), *args[end:]])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GanappsError as exc:
            raise UserError(str(exc), getattr(exc, "exit_code", 2)) from None


class TqdmHandler(logging.Handler):
    """Log lines that do not tear progress bars."""

    def emit(self, record: logging.LogRecord) -> None:
        from tqdm.auto import tqdm  # here, not at the top: listing commands never log (~0.1 s saved)

        msg = self.format(record)
        tqdm.write(msg, file=sys.stderr)


def setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    root = logging.getLogger("ganapps")
    root.handlers.clear()
    handler = TqdmHandler()
    handler.setFormatter(logging.Formatter("%(message)s" if level > logging.DEBUG else "%(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


@click.group(cls=Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(ganapps_version(), "--version", prog_name="ganapps")
@click.option("-v", "--verbose", count=True, help="More log output.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors (no progress bars).")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """ganapps: domain GAN applications — train, generate, evaluate, score.

    \b
    Quick start:
      ganapps apps                      list the applications
      ganapps run cgan --epochs 3       train on the shipped digits sample
      ganapps generate RUN -n 64 --label 3 --out threes.png
    """
    setup_logging(verbose, quiet)
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    ctx.obj["verbose"] = verbose


def _add_commands() -> None:
    from ganapps.cli import apps, compare, datasets, evaluate, generate, plugins, run, score
    from ganapps.core.plugins import register_commands

    for module in (apps, run, generate, evaluate, score, compare, datasets, plugins):
        cli.add_command(module.command)
    register_commands(cli)


_add_commands()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ganapps")
