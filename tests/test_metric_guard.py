"""A failing metric must not lose the run: ``ganapps.core.metrics.measure``, used by the
pipeline (plugin metrics), the shared table evaluation and the e-commerce evaluation."""

from __future__ import annotations

import logging

import pytest

from ganapps.core import ConfigError, hookimpl
from ganapps.core.data import TensorData
from ganapps.core.metrics import measure
from ganapps.core.pipeline import evaluate_samples
from ganapps.core.testing import RingApp, ring_data


def test_a_metric_that_works_is_recorded() -> None:
    metrics: dict = {}
    notes: list[str] = []
    assert measure(metrics, "m", lambda: 1.5, notes)
    assert metrics == {"m": 1.5} and notes == []


def test_a_failing_metric_becomes_a_note_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    metrics: dict = {"kept": 1}
    notes: list[str] = []
    with caplog.at_level(logging.WARNING, logger="ganapps"):
        assert not measure(metrics, "quality", lambda: 1 / 0, notes)
        assert not measure(metrics, "empty", lambda: (_ for _ in ()).throw(ValueError()), notes, label="the empty one")
    assert metrics == {"kept": 1}
    assert notes == ["quality failed: ZeroDivisionError: division by zero", "the empty one failed: ValueError: "]
    assert [r.getMessage() for r in caplog.records] == notes


def test_a_config_error_stays_an_error_unless_asked() -> None:
    def bad() -> None:
        raise ConfigError("--target: no column 'x'")

    with pytest.raises(ConfigError, match="no column"):
        measure({}, "ml", bad, [])
    notes: list[str] = []
    assert not measure({}, "ml", bad, notes, reraise=())
    assert notes == ["ml failed: ConfigError: --target: no column 'x'"]


def test_a_failing_plugin_metric_does_not_lose_the_evaluation(plugin) -> None:
    class MetricPlugin:
        @hookimpl
        def register_metrics(self, register):
            def boom(real, synthetic, app):
                raise ConfigError("a plugin's own trouble\nsecond line")

            register("boom", boom, kinds=("toy",))
            register("count", lambda real, synthetic, app: len(synthetic), kinds=("toy",))

    plugin(MetricPlugin(), "metric-guard-plugin")
    data = ring_data(64)
    evaluation, _ = evaluate_samples(RingApp(), TensorData(data), data[:32])
    assert evaluation.metrics["extra"] == {"count": 32} and "frechet_distance" in evaluation.metrics
    assert evaluation.notes == ["metric boom (metric-guard-plugin) failed: ConfigError: a plugin's own trouble"]
