"""Built-in plugin: image-to-image translation apps ``pix2pix`` and ``cyclegan``, and ``ganapps translate``."""

from __future__ import annotations

from collections.abc import Callable

import click

from ganapps.core.hookspecs import hookimpl


@hookimpl
def register_apps(register: Callable[[type], None]) -> None:
    # imported when the apps are asked for, so that loading plugins stays light (no torch)
    from ganapps.plugins.translation.cyclegan import CycleGAN
    from ganapps.plugins.translation.pix2pix import Pix2Pix

    register(Pix2Pix)
    register(CycleGAN)


@hookimpl
def register_commands(cli: click.Group) -> None:
    from ganapps.plugins.translation.translate import command

    cli.add_command(command)
