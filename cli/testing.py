"""Test helpers that drive the command line in-process (click's CliRunner): for ganapps' own tests
and plugin authors' (``from ganapps.cli.testing import cli_ok, cli_fails``)."""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner

from ganapps.cli.main import cli


def cli_ok(*args: str) -> Any:
    """Run ``ganapps -q ARGS`` in-process (click's CliRunner) and assert it succeeded; the result."""
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code == 0, result.output
    return result


def cli_fails(*args: str) -> str:
    """Run ``ganapps -q ARGS`` and assert the bad-input contract: exit 2, one line, no traceback; the line."""
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]
