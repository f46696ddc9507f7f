"""Click options generated from option dataclasses, and small output helpers."""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import click

from ganapps.core.config import Device, field_types, parse_lr
from ganapps.core.errors import ConfigError

#: every command's --device: the same choices and default as training's
DEVICES = typing.get_args(Device)


def device_option(note: str = "") -> Any:
    """``--device auto|cpu|cuda|mps`` (default auto: cuda, then mps, then cpu), as ``ganapps run`` has it."""
    return click.option(
        "--device",
        type=click.Choice(DEVICES),
        default="auto",
        show_default=True,
        help="auto picks cuda, then mps, then cpu." + (f" {note}" if note else ""),
    )


def click_type(tp: Any) -> tuple[Any, bool, bool]:
    """(click type, multiple, is_flag) for a dataclass field type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return click_type(inner[0])
    if origin is Literal:
        return click.Choice([str(a) for a in args]), False, False
    if origin in (list, tuple):
        inner = click_type(args[0] if args else str)[0]
        return inner, True, False
    if origin is dict:
        return str, True, False
    if tp is bool:
        return bool, False, True
    return {int: int, float: float, str: str}.get(tp, str), False, False


def dataclass_options(
    cls: type, skip: Sequence[str] = (), defaults: Mapping[str, Any] | None = None
) -> list[click.Option]:
    """One ``--field-name`` option per dataclass field; unset options stay None (defaults apply later).

    ``defaults`` replaces the field defaults shown in the help (e.g. an app's engine defaults).
    """
    if not dataclasses.is_dataclass(cls):
        return []
    types_ = field_types(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        ctype, multiple, flag = click_type(types_[f.name])
        default = (
            f.default
            if f.default is not dataclasses.MISSING
            else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else None  # type: ignore[misc]
            )
        )
        if defaults and f.name in defaults:
            default = defaults[f.name]
        shown = (
            ""
            if default in (None, {}, [], ())
            else f" [default: {str(default).lower() if isinstance(default, bool) else default}]"
        )
        help_ = f.metadata.get("help", "") + shown
        name = f.name.replace("_", "-")
        decls = [f"--{name}/--no-{name}"] if flag else [f"--{name}"]
        out.append(
            click.Option(
                [*decls, f.name],  # the bare name sets the parameter's name (the second positional is show_default)
                type=None if flag else ctype,
                multiple=multiple,
                default=None,
                help=help_,
                metavar="NAME=VALUE" if typing.get_origin(types_[f.name]) is dict else None,
            )
        )
    return out


def given(values: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The subset of ``values`` for ``names`` that the user actually set."""
    out = {}
    for k in names:
        v = values.get(k)
        if v is None or (isinstance(v, tuple) and not v):
            continue
        out[k] = list(v) if isinstance(v, tuple) else v
    if "lr" in out:
        out["lr"] = parse_lr(out["lr"])
    return out


def parse_pairs(items: Sequence[str], option: str) -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict, with a clear error for anything else."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"option {option}: {item!r} is not KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


#: words ending in a full stop that do not end a sentence
ABBREVIATIONS = ("al.", "e.g.", "i.e.", "etc.", "vs.", "cf.", "approx.", "fig.", "no.", "eq.", "ref.")


def first_sentence(text: str) -> str:
    """The first sentence of ``text`` (whitespace collapsed), for one-line help.

    Unlike click's own shortening, it is not cut at "et al.", "e.g." or an initial, nor at a width.
    """
    text = " ".join(text.split("\n\n")[0].split())
    for stop in re.finditer(r"[.!?](?= |$)", text):
        word = text[: stop.end()].rsplit(" ", 1)[-1].lstrip("(")
        if word.lower() in ABBREVIATIONS or re.fullmatch(r"[A-Z]\.", word):
            continue
        return text[: stop.end()]
    return text


def print_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """A plain aligned text table on stdout."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for j, r in enumerate(cells):
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        if j == 0:
            click.echo("  ".join("-" * w for w in widths))
