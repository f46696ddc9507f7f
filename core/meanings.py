"""What a run's metrics mean: the rows of the report's metrics table.

An app declares, per metric key, a :class:`MetricMeaning` (``App.metric_meanings``): one line of
meaning, which direction is better, and the reference to read the value against — a stated
constant (chance) or another metric measured in the same run (the real-vs-real floor, the best
baseline). :func:`explain` turns a metrics dict into table rows; metrics without a meaning still
get a row. No torch here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

Better = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricMeaning:
    """One metric explained.

    ``key`` patterns (the ``metric_meanings`` keys) are dotted metric keys in which ``*`` stands
    for part of one segment (``baselines.*.roc_auc``, ``*_gain``); an exact key wins over patterns,
    and the most specific matching pattern over the others. ``reference`` is what to read the value against:

    - a number: a stated constant, e.g. ``0.5`` (chance for an AUC);
    - a dotted key of a metric measured in the same run, e.g. ``"frechet_distance_real_vs_real"``;
      ``*`` in it stands for what the metric's own ``*`` matched, ``{name}`` for the string metric
      ``name`` (``"baselines.{best_baseline}.pr_auc"``);
    - a tuple of such keys: the best of them by ``better`` (the best baseline of the run).
    """

    meaning: str
    better: Better | None = None
    reference: float | str | tuple[str, ...] | None = None
    #: what the reference is: "chance", "real vs real", "best baseline"...
    reference_label: str = ""


@dataclass(frozen=True)
class MetricRow:
    """One row of the report's metrics table."""

    key: str
    value: Any
    meaning: str = ""
    better: Better | None = None
    #: the reference's value, its label, and the metric key it came from ("" for a constant)
    reference: tuple[Any, str, str] | None = None


def flatten(d: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested metrics as (dotted.key, value) rows."""
    rows: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            rows.extend(flatten(v, key + "."))
        else:
            rows.append((key, v))
    return rows


def _pattern(key: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(key).replace(r"\*", "([^.]+)") + "$")


def find(key: str, meanings: Mapping[str, MetricMeaning]) -> tuple[MetricMeaning, tuple[str, ...]] | None:
    """The meaning of ``key``: an exact entry, else the most specific pattern matching it (the one
    with the most literal characters: ``fd_*_untrained`` before ``fd_*``), with what its ``*`` matched."""
    if key in meanings:
        return meanings[key], ()
    best: tuple[int, MetricMeaning, tuple[str, ...]] | None = None
    for pattern, meaning in meanings.items():
        if "*" in pattern:
            m = _pattern(pattern).match(key)
            literal = len(pattern) - pattern.count("*")
            if m and (best is None or literal > best[0]):
                best = (literal, meaning, m.groups())
    return (best[1], best[2]) if best else None


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v) if math.isfinite(v) else None


def _fill(ref: str, stars: tuple[str, ...], names: Mapping[str, str]) -> str | None:
    parts = iter(stars)
    text = re.sub(r"\*", lambda _: next(parts, "*"), ref)
    try:
        return text.format_map(names)
    except (KeyError, ValueError):
        return None


def resolve(
    meaning: MetricMeaning, stars: tuple[str, ...], flat: Mapping[str, Any], names: Mapping[str, str]
) -> tuple[Any, str, str] | None:
    """The reference of a metric: (value, label, key it came from), or None when the run lacks it."""
    ref = meaning.reference
    if ref is None:
        return None
    if not isinstance(ref, str | tuple):
        return ref, meaning.reference_label, ""
    keys = [_fill(k, stars, names) for k in ((ref,) if isinstance(ref, str) else ref)]
    found = [(k, flat[k]) for k in keys if k is not None and _number(flat.get(k)) is not None]
    if not found:
        return None
    if len(found) == 1 or meaning.better is None:
        key, value = found[0]
    else:
        pick = max if meaning.better == "higher" else min
        key, value = pick(found, key=lambda kv: float(kv[1]))
    label = meaning.reference_label
    if isinstance(ref, tuple):  # name the baseline that won: its key's segment that differs
        label = f"{label} ({_differing(key, [k for k, _ in found])})" if len(found) > 1 else label
    return value, label, key


def _differing(key: str, keys: list[str]) -> str:
    """The segment of ``key`` that tells it apart from the other ``keys`` (``gbm`` of ``gbm.var_err``)."""
    split = [k.split(".") for k in keys]
    for i, part in enumerate(key.split(".")):
        if len({s[i] if i < len(s) else "" for s in split}) > 1:
            return part
    return key


def explain(metrics: Mapping[str, Any], meanings: Mapping[str, MetricMeaning]) -> Iterator[MetricRow]:
    """Every metric, in order, with its meaning, direction and resolved reference where declared."""
    flat = dict(flatten(metrics))
    names = {k: v for k, v in flat.items() if isinstance(v, str)}
    for key, value in flat.items():
        hit = find(key, meanings)
        if hit is None:
            yield MetricRow(key, value)
            continue
        meaning, stars = hit
        yield MetricRow(key, value, meaning.meaning, meaning.better, resolve(meaning, stars, flat, names))


def prefixed(prefix: str, meanings: Mapping[str, MetricMeaning]) -> dict[str, MetricMeaning]:
    """``meanings`` for metrics nested under ``prefix`` (``"privacy"``): their keys and the metric
    keys they reference get ``prefix.`` in front (shared metric groups declare their meanings once)."""

    def ref(r: float | str | tuple[str, ...] | None) -> float | str | tuple[str, ...] | None:
        if isinstance(r, str):
            return f"{prefix}.{r}"
        if isinstance(r, tuple):
            return tuple(f"{prefix}.{k}" for k in r)
        return r

    return {f"{prefix}.{k}": replace(m, reference=ref(m.reference)) for k, m in meanings.items()}
