"""SDV's single-table synthesizers as ganapps apps, so they can be compared in one tool.

``sdv-ctgan``, ``sdv-tvae`` and ``sdv-gaussiancopula`` wrap ``sdv.single_table`` synthesizers:
the same data loading, holdout split, evaluation (SDMetrics, privacy, ML efficacy) and report as
the ``tabular`` app, with SDV doing the learning. SDV (Business Source License) is imported only
here, when one of these apps runs; no ganapps app depends on it.

SDV saves a synthesizer by pickling it (cloudpickle), and ganapps never unpickles, so these apps
write no model weights: their run directory holds the synthetic sample (``--samples N``), the
metrics and the report, and ``ganapps generate`` on their runs explains that. SDV fits the
synthesizer in ``fit()`` (its own training loop, with SDV's progress output), so the engine's
training loop has no phases to run for these apps.
"""

from __future__ import annotations

import logging
import shlex
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import polars as pl
from torch import nn

from ganapps.core.app import Evaluation, Phase
from ganapps.core.errors import BundleError, ConfigError
from ganapps.core.frames import polars_to_pandas
from ganapps.core.io import read_table
from ganapps.core.meanings import MetricMeaning
from ganapps.tabular import TabularTransformer
from ganapps.tabular.app import TableApp
from ganapps.tabular.sdv_metadata import to_sdv_metadata

log = logging.getLogger("ganapps.sdv")
TABLE = "table"


@dataclass
class SDVOptions:
    metadata: str | None = field(default=None, metadata={"help": "SDV Metadata JSON (else ganapps detects the types)."})
    target: str | None = field(default=None, metadata={"help": "Column to predict for the ML-efficacy metric."})
    verbose: bool = field(default=False, metadata={"help": "Show SDV's own training progress."})


class SDVApp(TableApp):
    """Base of the bridge apps: SDV learns in ``fit``; ganapps loads, splits, evaluates and reports."""

    Options = SDVOptions
    #: ``sdv.single_table`` class name
    synthesizer: ClassVar[str] = ""
    #: whether the synthesizer takes epochs / batch_size (the neural ones)
    neural: ClassVar[bool] = True
    metric_meanings = {
        **TableApp.metric_meanings,
        "sdv_fit_seconds": MetricMeaning("seconds SDV took to fit the synthesizer", "lower"),
    }

    def fit(self, train: pl.DataFrame) -> None:
        try:
            import sdv.single_table as single_table
            from sdv.metadata import Metadata
        except ImportError:  # pragma: no cover - sdv is a dependency, but may be removed by a user
            raise ConfigError(f"app {self.name} needs SDV: pip install sdv") from None
        overrides, primary_key = self.column_typing(train)
        # our column typing drives evaluation and the metadata SDV gets, so both systems see the same types
        t = TabularTransformer().fit(train, overrides=overrides, primary_key=primary_key, where=self.data_name())
        t.save_to(self.schema, self.tensors)
        self._tt = t
        metadata = Metadata.load_from_dict(to_sdv_metadata(t.specs, table=TABLE))
        kwargs: dict[str, Any] = {}
        if self.neural:
            cfg = self.train_config
            kwargs = {"epochs": cfg.epochs, "batch_size": cfg.batch_size, "verbose": self.options.verbose}
            kwargs["enable_gpu"] = cfg.device != "cpu"
        synth = getattr(single_table, self.synthesizer)(metadata, **kwargs)
        frame = polars_to_pandas(train)
        log.info("fitting SDV %s on %d rows%s", self.synthesizer, len(frame), "" if self.neural else "")
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SDV's FutureWarnings and its CTGAN "not recommended" note
            synth.fit({TABLE: frame})
        self.schema["sdv_fit_seconds"] = round(time.perf_counter() - start, 3)
        self._synth = synth

    def next_commands(self, run: str, data: str | None) -> list[tuple[str, str]]:
        """No ``ganapps generate``: the model is not kept. More rows come from a new run; ``compare``
        ranks this synthesizer against ours on the table."""
        if not data:
            return []
        src = shlex.quote(data)
        out = [
            (
                f"ganapps run {self.name} --data {src} --samples 10000",
                "SDV models are not saved: fit again for more rows",
            )
        ]
        if self.options.target:
            target = shlex.quote(self.options.target)
            out.append(
                (f"ganapps compare --data {src} --target {target}", "rank SDV's synthesizers and ours on this table")
            )
        return out

    def dataset(self, train: pl.DataFrame) -> list[Any]:
        return []  # SDV trained in fit(); the engine has nothing to iterate

    def build(self) -> dict[str, nn.Module]:
        return {}

    def configure_optimizers(self) -> list:
        return []

    def phases(self) -> list[Phase]:
        return []

    def generate(self, n: int, condition: Mapping[str, Any] | None = None, **_: Any) -> pl.DataFrame:
        synth = getattr(self, "_synth", None)
        if synth is None:
            raise BundleError(
                f"{self.name} runs keep no model: SDV can only save a synthesizer by pickling it, which ganapps "
                f"never loads. Re-run `ganapps run {self.name} --samples {n}` to get more rows."
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if condition:
                from sdv.sampling import Condition

                for column, value in condition.items():
                    self.tt.condition(column, value)  # ConfigError for an unknown column or value
                values = {c: self.tt.condition(c, v).value for c, v in condition.items()}
                frame = synth.sample_from_conditions([Condition(num_rows=n, column_values=values)])
            else:
                frame = synth.sample(n)
        if isinstance(frame, dict):
            frame = frame[TABLE]
        return read_table(frame, where=f"{self.name} sample")

    def headline(self) -> dict[str, Any]:
        return {"sdv_fit_seconds": self.schema["sdv_fit_seconds"]} if "sdv_fit_seconds" in self.schema else {}

    def evaluate(self, real: Any, synthetic: Any, train: Any = None) -> Evaluation:
        ev = super().evaluate(real, synthetic, train)
        ev.notes.append(
            f"Synthesizer: SDV {self.synthesizer} (Business Source License), fitted by SDV in "
            f"{self.schema.get('sdv_fit_seconds', '?')} s; no model is saved (SDV pickles its models)."
        )
        return ev


class SDVCTGAN(SDVApp):
    name = "sdv-ctgan"
    description = "SDV's CTGANSynthesizer, for comparison (no saved model: SDV pickles)"
    synthesizer = "CTGANSynthesizer"
    train_defaults = {"epochs": 300, "batch_size": 500}


class SDVTVAE(SDVApp):
    name = "sdv-tvae"
    description = "SDV's TVAESynthesizer, for comparison (no saved model: SDV pickles)"
    synthesizer = "TVAESynthesizer"
    train_defaults = {"epochs": 300, "batch_size": 500}


class SDVGaussianCopula(SDVApp):
    name = "sdv-gaussiancopula"
    description = "SDV's GaussianCopulaSynthesizer, for comparison (no saved model: SDV pickles)"
    synthesizer = "GaussianCopulaSynthesizer"
    neural = False
