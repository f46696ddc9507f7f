"""Built-in plugin: the ``srgan`` super-resolution app and ``ganapps upscale``."""

from __future__ import annotations

from collections.abc import Callable

import click

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type | str], None]) -> None:
    register("ganapps.plugins.srgan.app:SRGAN")


@hookimpl
def register_commands(cli: click.Group) -> None:
    from ganapps.plugins.srgan.upscale import command

    cli.add_command(command)
