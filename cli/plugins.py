"""``ganapps plugins``: list, install and uninstall plugins (pip into this same environment)."""

from __future__ import annotations

import json
import subprocess
import sys

import click

from ganapps.core.plugins import plugin_info


@click.group("plugins")
def command() -> None:
    """Installed plugins and their management."""


@command.command("list")
def list_() -> None:
    """Print JSON: name, version, hooks and apps of every plugin (built-in ones included)."""
    click.echo(json.dumps(plugin_info(), indent=2))


@command.command("install", context_settings={"ignore_unknown_options": True})
@click.argument("packages", nargs=-1, required=True)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade the packages if installed.")
@click.option("-e", "--editable", is_flag=True, help="Install a local project in editable mode.")
def install(packages: tuple[str, ...], upgrade: bool, editable: bool) -> None:
    """pip-install plugin PACKAGES into the environment ganapps runs in."""
    args = [sys.executable, "-m", "pip", "install"]
    if upgrade:
        args.append("--upgrade")
    if editable:
        args.append("--editable")
    _pip(args + list(packages))


@command.command("uninstall")
@click.argument("packages", nargs=-1, required=True)
def uninstall(packages: tuple[str, ...]) -> None:
    """pip-uninstall plugin PACKAGES from this environment."""
    _pip([sys.executable, "-m", "pip", "uninstall", "-y", *packages])


def _pip(args: list[str]) -> None:
    result = subprocess.run(args, check=False)
    if result.returncode != 0:
        raise click.ClickException(f"pip exited with status {result.returncode}")
