"""A failing metric must not lose the run: said once, here.

A metric that raises after hours of training should cost that metric, not the sample, the
other metrics and the report. :func:`measure` computes one metric into a dict; when it raises,
the failure is logged as a warning and recorded in the evaluation's notes (``metrics.json``
and the report), and the run goes on. A :class:`ConfigError` (an option the user got wrong,
e.g. ``--target`` naming no column) is not swallowed: it stays a one-line error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ganapps.core.errors import ConfigError

log = logging.getLogger("ganapps.metrics")


def measure(
    metrics: dict[str, Any],
    key: str,
    fn: Callable[[], Any],
    notes: list[str],
    *,
    label: str | None = None,
    reraise: tuple[type[BaseException], ...] = (ConfigError,),
) -> bool:
    """``metrics[key] = fn()``; True when it was measured.

    When ``fn`` raises anything but ``reraise``, ``metrics`` is left without ``key``, a warning
    is logged and ``"<label> failed: <Type>: <first line of the message>"`` is appended to
    ``notes`` (``label`` defaults to ``key``); False is returned.
    """
    try:
        metrics[key] = fn()
    except reraise:
        raise
    except Exception as exc:  # noqa: BLE001 - a metric must not lose the run
        text = str(exc)
        note = f"{label or key} failed: {type(exc).__name__}: {text.splitlines()[0] if text else ''}"
        log.warning("%s", note)
        log.debug("%s", note, exc_info=exc)  # -v shows the traceback
        notes.append(note)
        return False
    return True
