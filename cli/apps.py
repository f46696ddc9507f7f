"""``ganapps apps``: the registered applications, or one app's options."""

from __future__ import annotations

import dataclasses
import json

import click

from ganapps.cli.options import click_type, print_table
from ganapps.core.config import field_types
from ganapps.core.plugins import get_registry


@click.command("apps")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(name: str | None, as_json: bool) -> None:
    """List applications (name, kind, description, plugin), or show one app's options."""
    registry = get_registry()
    if name:
        cls = registry.app(name)
        info = {
            "name": cls.name,
            "kind": cls.kind,
            "description": cls.description,
            "plugin": registry.apps[name].plugin,
            "capabilities": cls.capabilities(),
            "default_dataset": cls.default_dataset,
            "train_defaults": cls.train_defaults,
            "options": _fields(cls.Options),
            "generate_options": _fields(cls.GenerateOptions),
        }
        if as_json:
            click.echo(json.dumps(info, indent=2, default=str))
            return
        click.echo(f"{cls.name} ({cls.kind}, plugin {info['plugin']}): {cls.description}")
        click.echo(f"default data: {cls.default_dataset or '(none; --data is required)'}")
        defaults = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in cls.train_defaults.items())
        click.echo("engine defaults: " + (defaults or "the engine's own (ganapps run --help)"))
        for title, rows in (("run options", info["options"]), ("generate options", info["generate_options"])):
            if rows:
                click.echo(f"\n{title}:")
                table = [(r["option"], r["value"], r["default"], r["help"]) for r in rows]
                print_table(table, ["option", "value", "default", "help"])
        return
    # from each app's registration: no app module is imported to list them
    rows = [(a.name, a.kind, a.description, a.plugin) for a in sorted(registry.apps.values(), key=lambda a: a.name)]
    if as_json:
        click.echo(
            json.dumps([dict(zip(("name", "kind", "description", "plugin"), r, strict=True)) for r in rows], indent=2)
        )
        return
    print_table(rows, ["name", "kind", "description", "plugin"])


def _fields(cls: type) -> list[dict[str, str]]:
    if not dataclasses.is_dataclass(cls):
        return []
    types_ = field_types(cls)
    out = []
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        kind, multiple, flag = click_type(types_[f.name])
        name = f.name.replace("_", "-")
        if flag:
            value, option, shown = "flag", f"--[no-]{name}", ("on" if default else "off")
        else:
            value = "|".join(kind.choices) if isinstance(kind, click.Choice) else _VALUE.get(kind, "TEXT")
            value += " (repeatable)" if multiple else ""
            option = f"--{name}"
            shown = " ".join(map(str, default)) if isinstance(default, list | tuple) else str(default)
            shown = ", ".join(f"{k}={v}" for k, v in default.items()) if isinstance(default, dict) else shown
        out.append(
            {
                "option": option,
                "type": str(types_[f.name]).replace("typing.", ""),
                "value": value,
                "default": "—" if default is None or shown == "" else shown,
                "help": f.metadata.get("help", ""),
            }
        )
    return out


_VALUE = {int: "INTEGER", float: "NUMBER", str: "TEXT"}
