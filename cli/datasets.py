"""``ganapps datasets``: the sample datasets plugins ship."""

from __future__ import annotations

import json

import click

from ganapps.cli.options import print_table
from ganapps.core.plugins import get_datasets


@click.group("datasets")
def command() -> None:
    """Sample datasets usable as `--data NAME`."""


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_(as_json: bool) -> None:
    """Name, apps, rows and licence of every registered dataset."""
    items = sorted(get_datasets().values(), key=lambda d: d.name)
    if as_json:
        out = [
            {
                "name": d.name,
                "apps": list(d.apps),
                "rows": d.rows,
                "licence": d.licence,
                "path": str(d.path),
                "description": d.description,
                "source": d.source,
                "plugin": d.plugin,
            }
            for d in items
        ]
        click.echo(json.dumps(out, indent=2))
        return
    print_table([(d.name, ",".join(d.apps), d.rows, d.licence) for d in items], ["name", "apps", "rows", "licence"])


@command.command("path")
@click.argument("name")
def path(name: str) -> None:
    """Print the file or folder of dataset NAME."""
    from ganapps.core.errors import ConfigError

    datasets = get_datasets()
    if name not in datasets:
        raise ConfigError(f"unknown dataset {name!r} (available: {', '.join(sorted(datasets)) or 'none'})")
    click.echo(str(datasets[name].path))
