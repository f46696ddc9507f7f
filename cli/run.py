"""``ganapps run APP``: train, generate a sample, evaluate, report. One sub-command per app."""

from __future__ import annotations

import dataclasses
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Any

import click

from ganapps.cli.launch import launch
from ganapps.cli.options import dataclass_options, first_sentence, given
from ganapps.core.config import TrainConfig, read_toml
from ganapps.core.errors import ConfigError, GanappsError, PluginError, RunInterrupted
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
    click.Option(
        ["--nproc"],
        type=int,
        help="Train with N processes on this machine (one per GPU, or CPU processes) under torchrun; "
        "--batch-size is per process. Across machines start torchrun yourself (docs/distributed.md).",
    ),
    click.Option(["--json", "as_json"], is_flag=True, help="Print the run's paths and headline metrics as JSON."),
]
TRAIN_NAMES = [f.name for f in dataclasses.fields(TrainConfig)]
COMMON_NAMES = {"data", "out", "config", "resume", "samples", "nproc", "json", "as_json", *TRAIN_NAMES}


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
        from ganapps.core import distributed
        from ganapps.core.pipeline import run

        quiet = (ctx.find_root().obj or {}).get("quiet", False)
        if distributed.launched_rank() > 0:  # rank 0 speaks for a distributed run; the others report errors only
            logging.getLogger("ganapps").setLevel(logging.ERROR)
        if not distributed.launched():
            nproc = _processes(kw["nproc"], kw["resume"])
            if nproc > 1:  # start N copies of this command under torchrun; they train together
                ctx.exit(_launch(ctx, cls.name, kw, option_names, nproc))
        elif kw["nproc"] is not None and kw["nproc"] < 1:
            raise ConfigError("option --nproc must be at least 1")
        try:
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
        except GanappsError as exc:
            rank = distributed.launched_rank()
            if rank > 0 and isinstance(exc, RunInterrupted):
                ctx.exit(exc.exit_code)  # rank 0 says how to resume
            if rank > 0:  # every process of a distributed run reports; say which one this is
                raise type(exc)(f"process {rank}: {exc}") from None
            raise
        if not result.main:
            return
        headline = {k: v for k, v in result.metrics["metrics"].items() if isinstance(v, int | float)}
        if kw["as_json"]:
            _echo_json(result, headline)
            return
        click.echo(f"run directory: {result.run_dir.path}")
        click.echo(f"  bundle:   {result.run_dir.bundle}")
        click.echo(f"  samples:  {result.samples_path}")
        click.echo(f"  metrics:  {result.run_dir.metrics_path}")
        click.echo(f"  report:   {result.run_dir.report_path}")
        if headline:
            click.echo("  " + ", ".join(f"{k}={v:.4g}" for k, v in list(headline.items())[:8]))
        if result.diagnostics:
            warned = sum(d.severity == "warning" for d in result.diagnostics)
            noted = len(result.diagnostics) - warned
            parts = [f"{warned} warning(s)"] * bool(warned) + [f"{noted} note(s)"] * bool(noted)
            click.echo(f"  diagnostics: {', '.join(parts)}; see the report")

    shown = dict(cls.train_defaults)  # the help shows this app's engine defaults, not the bare engine's
    if cls.default_steps and "epochs" in shown:
        shown["epochs"] = f"{shown['epochs']}, fewer when that exceeds ~{cls.default_steps:,} steps"
    params = [*COMMON, *dataclass_options(TrainConfig, defaults=shown), *dataclass_options(cls.Options)]
    epilog = f"Engine defaults for {cls.name}: {cls.train_defaults}." if cls.train_defaults else None
    if epilog and cls.dp_refusal is None and (cls.dp_train_defaults or cls.dp_default_steps):
        budget = f", fewer epochs when they exceed ~{cls.dp_default_steps:,} steps" if cls.dp_default_steps else ""
        epilog += f" Under --dp-epsilon: {cls.dp_train_defaults}{budget}."
    return click.Command(
        cls.name,
        params=params,
        callback=callback,
        help=cls.description,
        short_help=first_sentence(cls.description),  # click's own cuts "medGAN (Choi et al." short
        epilog=epilog,
        no_args_is_help=False,
    )


def _echo_json(result: Any, headline: dict[str, float]) -> None:
    """What ``run --json`` prints: the run's files, headline metrics and warnings."""
    rd = result.run_dir
    paths = {"run_dir": rd.path, "bundle": rd.bundle, "samples": result.samples_path}
    paths |= {"metrics": rd.metrics_path, "report": rd.report_path}
    out = {k: str(v) if v is not None else None for k, v in paths.items()}
    out |= {"metrics_headline": headline, "diagnostics": [d.to_dict() for d in result.diagnostics]}
    click.echo(json.dumps(out, indent=2, default=float))


def _processes(nproc: int | None, resume: str | None) -> int:
    """Processes to start: --nproc, or for --resume the number the run was trained with."""
    if nproc is not None:
        if nproc < 1:
            raise ConfigError("option --nproc must be at least 1")
        return nproc
    if resume is None:
        return 1
    from ganapps.core.rundir import RunDir

    info = RunDir.open(resume).read_info().get("distributed") or {}
    if int(info.get("nodes", 1)) > 1:
        raise ConfigError(
            f"--resume: {resume} was trained on {info['nodes']} machines; resume it with the same torchrun "
            f"command on each machine, adding --resume {resume}"
        )
    return int(info.get("processes", 1))


def _launch(ctx: click.Context, app: str, kw: dict[str, Any], option_names: list[str], nproc: int) -> int:
    """Check the command, then run it in ``nproc`` processes under torchrun; their exit status."""
    from ganapps.core import distributed
    from ganapps.core.pipeline import prepare
    from ganapps.core.rundir import RunDir

    logger = logging.getLogger("ganapps")
    level = logger.level
    logger.setLevel(logging.ERROR)  # rank 0 repeats any warning about the settings
    try:
        prep = prepare(
            app,
            kw["data"],
            options=given(kw, option_names),
            train=given(kw, TRAIN_NAMES),
            config_file=read_toml(kw["config"]) if kw["config"] else None,
            resume=kw["resume"],
        )
    finally:
        logger.setLevel(level)
    prep.check_processes(nproc)
    from ganapps.core.unroll import check_settings as check_unroll

    check_unroll(prep.app_cls, prep.config, nproc)
    if prep.config.dp_epsilon > 0:
        from ganapps.core.privacy import check_settings

        check_settings(prep.app_cls, prep.config, nproc)
    device = distributed.training_device(prep.config.device, 0)
    if device.type == "cuda":
        import torch

        if nproc > torch.cuda.device_count():
            raise ConfigError(
                f"option --nproc: {nproc} processes need {nproc} GPUs, {torch.cuda.device_count()} visible"
            )
    created = None
    if kw["out"] is not None and kw["resume"] is None:  # refuse a used --out now, not in N processes
        fresh = not Path(kw["out"]).exists()
        path = RunDir.create(kw["out"], app).path
        created = path if fresh else None
    code = 1
    try:
        code = launch(nproc, _argv(ctx))
    finally:
        if code and created is not None and created.exists() and not any(created.iterdir()):
            created.rmdir()  # nothing was written: leave no empty run directory behind
    return code


def _argv(ctx: click.Context) -> list[str]:
    """This command's arguments, rebuilt from the parsed values (what each process runs again)."""
    root = ctx.find_root().params
    args = ["-q"] if root.get("quiet") else []
    args += ["-v"] * int(root.get("verbose") or 0)
    args += ["run", str(ctx.info_name)]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if not isinstance(param, click.Option) or value is None or value == ():
            continue
        if param.is_flag:
            args += [param.opts[0]] if value else param.secondary_opts[:1]
        elif param.multiple:
            for v in value:
                args += [param.opts[0], str(v)]
        else:
            args += [param.opts[0], str(value)]
    return args


class RunGroup(click.Group):
    """Sub-commands are built from the registered apps."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(get_registry().apps)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        registry = get_registry()
        if name not in registry.apps:
            return None
        return make_command(registry.apps[name])

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The apps and the first sentence of each description, without importing any app."""
        apps = sorted(get_registry().apps.values(), key=lambda a: a.name)
        if apps:
            with formatter.section("Commands"):
                formatter.write_dl([(a.name, first_sentence(a.description)) for a in apps])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Tab completion of app names, from the registry alone (click's own imports every app)."""
        from click.shell_completion import CompletionItem

        if incomplete.startswith("-"):
            return super().shell_complete(ctx, incomplete)
        apps = sorted(get_registry().apps.values(), key=lambda a: a.name)
        return [
            CompletionItem(a.name, help=first_sentence(a.description)) for a in apps if a.name.startswith(incomplete)
        ]

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
