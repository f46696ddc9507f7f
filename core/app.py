"""The app contract: what a GAN application gives the engine.

An app is a class. It loads and preprocesses its data, builds named networks, names its
optimizers, and gives one step function per network group returning a dict of losses
(``"loss"`` is back-propagated, the rest is logged). The engine does devices, mixed precision,
backward, stepping, EMA, checkpoints, logging and diagnostics. After training the app can
``generate``, ``evaluate`` and, for scoring apps, ``score``.

Apps that need more than one alternating pair of updates describe their training as
:class:`Phase` objects (autoencoder pre-training, then adversarial training, for instance);
apps with several generators put them under one optimizer (CycleGAN) by listing several
networks in one :class:`OptimizerSpec`.
"""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from ganapps.core.config import TrainConfig
from ganapps.core.data import TensorData, split_data
from ganapps.core.io import table_name
from ganapps.core.meanings import MetricMeaning
from ganapps.core.unroll import Unroll

Losses = dict[str, Any]
StepFn = Callable[[Any], Losses]


@dataclass
class NoOptions:
    """Options of an app that has none."""


@dataclass
class OptimizerSpec:
    """One optimizer: the networks it updates and its hyper-parameters.

    ``schedule`` maps a 0-based epoch of the phase using this optimizer to a learning-rate
    multiplier (e.g. CycleGAN's linear decay); it is stepped at the end of each such epoch.
    ``fused`` asks for torch's fused Adam/AdamW kernel (one call per step instead of a few per
    parameter: faster for small networks, equal up to float rounding).
    """

    name: str
    networks: tuple[str, ...]
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = 0.0
    algorithm: Literal["adam", "adamw", "rmsprop", "sgd"] = "adam"
    schedule: Callable[[int], float] | None = None
    fused: bool = False


@dataclass
class Step:
    """One update inside a training iteration.

    ``fn(batch)`` returns losses; the engine back-propagates ``"loss"`` and steps ``optimizer``.
    ``every=k`` runs the step on every k-th iteration of its phase (``n_critic`` for a generator).
    ``role`` tells the diagnostics which losses are the discriminator's and the generator's.
    The engine freezes every network the step's optimizer does not update; ``differentiable``
    names those to leave trainable, e.g. a generator whose output a critic step computes once
    and the generator step that follows reuses (the critic step must then ``.detach()`` it).
    """

    name: str
    fn: StepFn
    optimizer: str
    every: int = 1
    role: Literal["discriminator", "generator", "other"] = "other"
    ema: bool = False
    differentiable: tuple[str, ...] = ()


@dataclass
class Phase:
    """A stage of training with its own steps and number of epochs."""

    name: str
    steps: list[Step]
    epochs: int


@dataclass
class Diagnostic:
    """A warning about training health, with the standard remedy."""

    code: str
    message: str
    remedy: str
    severity: Literal["warning", "info"] = "warning"

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclass
class Progress:
    """Where training stands; the Trainer keeps it current so steps can anneal or schedule."""

    phase: str = ""
    epoch: int = 0
    global_step: int = 0
    phase_step: int = 0
    phase_steps: int = 0


@dataclass
class Evaluation:
    """What ``App.evaluate`` returns: metrics (JSON values), PNG figures, diagnostics and notes."""

    metrics: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, bytes] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class App:
    """Base class of every ganapps application. Subclass it and register it from a plugin."""

    #: unique name used on the command line, e.g. ``dcgan``
    name: ClassVar[str] = ""
    #: what it works on: image, tabular, codes, sequence, translation, scoring...
    kind: ClassVar[str] = ""
    #: one line for ``ganapps apps``
    description: ClassVar[str] = ""
    #: dataclass of the app's own options (each field becomes a ``ganapps run APP`` option)
    Options: ClassVar[type] = NoOptions
    #: dataclass of extra ``ganapps generate`` options
    GenerateOptions: ClassVar[type] = NoOptions
    #: a GenerateOptions field that, when given, sets the sample count instead of ``-n``
    #: (e.g. fints' ``--scenarios``)
    count_option: ClassVar[str | None] = None
    #: engine settings this app changes by default, e.g. ``{"epochs": 20, "batch_size": 500}``
    train_defaults: ClassVar[dict[str, Any]] = {}
    #: registered dataset used when ``--data`` is not given
    default_dataset: ClassVar[str | None] = None
    #: suffix of the synthetic sample written into the run directory
    output_suffix: ClassVar[str] = ".csv"
    #: networks that get an exponential moving average copy when ``--ema`` is on
    ema_networks: ClassVar[tuple[str, ...]] = ("generator",)
    #: networks that see real rows: under ``--dp-epsilon`` every step whose optimizer updates one of
    #: them is trained with DP-SGD (core/privacy.py) and the other steps get no real rows (batch None)
    private_networks: ClassVar[tuple[str, ...]] = ("discriminator",)
    #: why ``--dp-epsilon`` is refused for this app; None once every path from real rows to the model
    #: besides the private networks' steps (preprocessing fitted on them, options that read them) is
    #: closed or paid for in DP mode (docs/privacy.md has the checklist)
    dp_refusal: ClassVar[str | None] = (
        "it has not declared every path from real rows to its model closed (App.dp_refusal, docs/privacy.md)"
    )
    #: (metric, "min" | "max") watched by early stopping, or None
    monitor: ClassVar[tuple[str, str] | None] = None
    #: a step budget: when set and the user gives no ``epochs``, a run trains
    #: min(train_defaults epochs, ⌈default_steps / batches per epoch⌉) epochs, so small and large
    #: tables both get a sensible schedule
    default_steps: ClassVar[int | None] = None
    #: under ``--dp-epsilon``: engine settings on top of ``train_defaults`` (DP-SGD favours larger
    #: batches and fewer steps) and the step budget instead of ``default_steps``
    dp_train_defaults: ClassVar[dict[str, Any]] = {}
    dp_default_steps: ClassVar[int | None] = None
    #: what the keys of ``self.dp_preprocessing`` mean, for the report's privacy table (the engine
    #: explains its own keys: ε, δ, σ, q, steps, the split of ε)
    dp_meanings: ClassVar[Mapping[str, MetricMeaning]] = {}
    #: what each metric of :meth:`evaluate` means, which direction is better and what to read it
    #: against, by dotted metric key (``*`` = one segment); the report's metrics table shows them
    metric_meanings: ClassVar[Mapping[str, MetricMeaning]] = {}

    def __init__(self, options: Any = None) -> None:
        self.options = options if options is not None else self.Options()
        self.nets = nn.ModuleDict()
        #: fitted preprocessing state, JSON-serialisable, saved as ``schema.json`` in the bundle
        self.schema: dict[str, Any] = {}
        #: fitted arrays that are not network weights, saved beside the weights
        self.tensors: dict[str, torch.Tensor] = {}
        self.device = torch.device("cpu")
        self.train_config = TrainConfig()
        self.progress = Progress()
        #: what the user gave as ``--data`` (a path or a dataset name, as typed), set by the engine
        #: before :meth:`load_data`; messages name the data by it (:meth:`data_name`)
        self.data_label: str | None = None
        #: the run's privacy plan under ``--dp-epsilon`` (core/privacy.py's PrivacyPlan; its
        #: ``expected_batch`` is how many generated rows a private step should use), else None
        self.privacy: Any = None
        #: under ``--dp-epsilon``: what the app replaced or turned off to keep the run private, one
        #: line each (set before training; metrics.json and the report show them)
        self.dp_notes: list[str] = []

    # ----------------------------------------------------------------- data
    def data_name(self, source: Any = None) -> str:
        """How messages name the user's data: ``data_label`` when the engine set it, else the path
        ``load_data`` was given directly, else ``"data"`` (an in-memory frame)."""
        return self.data_label or table_name(source)

    def load_data(self, source: Any) -> Any:
        """Read the user's data (a path, or a DataFrame/array from the Python API)."""
        raise NotImplementedError(f"app {self.name} does not load data")

    def split(self, data: Any, holdout: float, seed: int) -> tuple[Any, Any]:
        """Split real data into (train, holdout); override for grouped or time-ordered data."""
        return split_data(data, holdout, seed)

    def fit(self, train: Any) -> None:
        """Fit preprocessing on the training split; fill ``self.schema`` and ``self.tensors``."""

    def dataset(self, train: Any) -> TensorData | torch.utils.data.Dataset:
        """The training split as engine-ready data: TensorData (fast, in memory) or a Dataset."""
        raise NotImplementedError(f"app {self.name} does not define its training dataset")

    # ------------------------------------------------------------- networks
    def build(self) -> dict[str, nn.Module]:
        """Create the networks from options and ``self.schema`` only (bundles rebuild this way)."""
        raise NotImplementedError

    def configure_optimizers(self) -> list[OptimizerSpec]:
        """Name the optimizers: by default Adam(2e-4, β=(0.5, 0.999)) for generator and discriminator."""
        return [
            OptimizerSpec("discriminator", ("discriminator",)),
            OptimizerSpec("generator", ("generator",)),
        ]

    def phases(self) -> list[Phase]:
        """The training schedule: by default one adversarial phase, D every step, G every n_critic."""
        return [
            Phase(
                "adversarial",
                [
                    Step("discriminator", self.discriminator_step, "discriminator", role="discriminator"),
                    Step(
                        "generator",
                        self.generator_step,
                        "generator",
                        every=self.train_config.n_critic,
                        role="generator",
                        ema=True,
                    ),
                ],
                epochs=self.train_config.epochs,
            )
        ]

    def discriminator_step(self, batch: Any) -> Losses:
        """Discriminator losses for one batch (``"loss"`` is minimised)."""
        raise NotImplementedError

    def generator_step(self, batch: Any) -> Losses:
        """Generator losses for one batch (``"loss"`` is minimised)."""
        raise NotImplementedError

    def unrolled(self) -> Unroll | None:
        """Opt in to ``--unroll K`` (core/unroll.py, docs/unrolled.md): return an ``Unroll`` with the
        generator's fakes for a batch and the discriminator's and generator's losses as functions of
        (batch, fakes). Default: None, and ``--unroll`` is refused for the app."""
        return None

    # -------------------------------------------------------------- outputs
    def generate(self, n: int, condition: Mapping[str, Any] | None = None, **options: Any) -> Any:
        """Draw ``n`` synthetic samples, optionally conditioned (e.g. ``{"label": 3}``)."""
        raise NotImplementedError(f"app {self.name} does not generate samples")

    def save_samples(self, samples: Any, path: Path) -> Path:
        """Write samples to ``path`` (format from the suffix) atomically; return the path."""
        from ganapps.core.io import write_table

        return write_table(samples, path)

    def load_samples(self, path: Path) -> Any:
        """Read back what :meth:`save_samples` wrote (for ``ganapps evaluate --synthetic``)."""
        from ganapps.core.io import read_table

        return read_table(path)

    def default_num_samples(self, n_train: int, n_holdout: int) -> int:
        """How many samples a run generates and evaluates when ``--samples`` is not given."""
        return max(n_train, 1)

    def evaluate(self, real: Any, synthetic: Any, train: Any = None) -> Evaluation:
        """Compare held-out real data with synthetic samples (``train`` for privacy metrics)."""
        return Evaluation()

    def diagnose(self, real: Any, synthetic: Any) -> list[Diagnostic]:
        """App-specific health checks on generated samples (collapse to one pattern...)."""
        return []

    def sample_vectors(self, samples: Any) -> torch.Tensor | None:
        """Samples as a (n, d) float tensor for the engine's diversity check; None to skip it."""
        if isinstance(samples, torch.Tensor):
            return samples.reshape(samples.shape[0], -1).float()
        return None

    def epoch_figures(self, epoch: int) -> dict[str, bytes]:
        """PNG figures to keep after each epoch of the last phase (e.g. a sample grid)."""
        return {}

    def calibrate(self, train: Any) -> None:
        """Fit what needs the trained networks (score statistics, decision thresholds) on the
        training split; called after training, before the bundle is saved. Default: nothing."""

    def score(self, data: Any, row_offset: int = 0) -> Any:
        """Score records (anomaly/fraud apps); apps that only generate leave this alone.

        ``data`` is one chunk of rows (a polars or pandas frame); ``row_offset`` is the number of
        rows before it in the file, for row numbers. ``ganapps score`` streams a file through it.
        """
        raise NotImplementedError(f"app {self.name} does not score data")

    def score_columns(self) -> dict[str, str] | None:
        """Input columns :meth:`score` needs, each with the polars dtype name it is read as
        (``"Float64"``, ``"String"``..., ``""`` to infer it): ``ganapps score`` reads only these,
        checks they exist and reads unparsable values as missing. None: every column, inferred."""
        return None

    def next_commands(self, run: str, data: str | None) -> list[tuple[str, str]]:
        """What to run next with the trained run ``run`` (a shell-quoted path), each with one line
        saying what it does; ``data`` is the run's ``--data`` (None for in-memory data). The report
        shows them. Default: ``ganapps score`` for scoring apps, ``ganapps generate`` for the others."""
        out: list[tuple[str, str]] = []
        caps = self.capabilities()
        if "score" in caps and data:
            out.append((f"ganapps score {run} --data {shlex.quote(data)} --out scores.csv", "score a file of any size"))
        if "generate" in caps:
            where = f"{run}/generated-1000{self.output_suffix}"
            out.append((f"ganapps generate {run} -n 1000", f"1,000 new samples from the trained model, into {where}"))
        return out

    # --------------------------------------------------------------- state
    def export_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """Fitted state for the bundle: JSON schema and extra tensors."""
        return self.schema, self.tensors

    def import_state(self, schema: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`export_state` returned, before :meth:`build` is called."""
        self.schema = schema
        self.tensors = tensors

    def training_state(self) -> dict[str, Any]:
        """Training-only state kept between steps (e.g. CycleGAN's image pools): checkpointed, not bundled."""
        return {}

    def load_training_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`training_state` returned, when a run resumes."""

    # ---------------------------------------------------------------- info
    @classmethod
    def capabilities(cls) -> list[str]:
        """What the app offers beyond training: generate, score."""
        caps = []
        if cls.generate is not App.generate:
            caps.append("generate")
        if cls.score is not App.score:
            caps.append("score")
        return caps
