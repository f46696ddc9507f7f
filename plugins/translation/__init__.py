"""Built-in plugin: image-to-image translation apps ``pix2pix`` and ``cyclegan``, and ``ganapps translate``."""

from __future__ import annotations

from collections.abc import Callable

import click

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type | str], None]) -> None:
    register("ganapps.plugins.translation.pix2pix:Pix2Pix")
    register("ganapps.plugins.translation.cyclegan:CycleGAN")


@hookimpl
def register_commands(cli: click.Group) -> None:
    from ganapps.plugins.translation.translate import command

    cli.add_command(command)
