"""What ``python -m benchmarks tune`` searches, per task, declared in one place.

Each task has a search space (dotted config key -> range or choices), cheap defaults that
keep a trial short, and the validation metric it optimises. Keys fixed with ``--set`` are
left out of the space, so a user can pin a setting and tune the rest. Tuning never looks at
a test split: every objective here is a ``val_*`` metric.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.errors import UserError


@dataclass(frozen=True)
class Param:
    """One searched setting: categorical ``choices``, or a (log-)uniform int/float range.

    ``only_if`` sees the values chosen so far (and the fixed ones); when it is false the
    setting is not sampled and takes ``otherwise``, so the sampler never learns from a knob
    that had no effect (dropout of a single-layer net).
    """

    key: str
    choices: tuple = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False
    only_if: Callable[[dict[str, Any]], bool] | None = None
    otherwise: Any = None

    def suggest(self, trial) -> Any:
        if self.choices:
            return trial.suggest_categorical(self.key, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), log=self.log)


def choice(key: str, *options: Any) -> Param:
    return Param(key, choices=tuple(options))


def integer(key: str, low: int, high: int, log: bool = False) -> Param:
    return Param(key, low=low, high=high, log=log, integer=True)


def real(key: str, low: float, high: float, log: bool = False, **condition) -> Param:
    return Param(key, low=low, high=high, log=log, **condition)


@dataclass(frozen=True)
class Objective:
    """The validation metric a study optimises, as logged per epoch by the task."""

    metric: str
    direction: str  # "maximize" | "minimize"


@dataclass(frozen=True)
class TuneSpec:
    space: tuple[Param, ...]
    defaults: dict[str, Any]  # cheap settings for a trial; --set overrides them
    objectives: dict[str, Objective]  # --objective name -> metric; the first is the default
    then: str  # what running the best config's grid gives: the numbers tuning never saw


def _multi_layer(values: dict[str, Any]) -> bool:
    return values["model.num_layers"] > 1


COVID = TuneSpec(
    space=(
        choice("model.name", "rnn", "lstm", "gru"),
        integer("model.hidden_size", 2, 64, log=True),
        integer("model.num_layers", 1, 3),
        real("model.dropout", 0.0, 0.5, only_if=_multi_layer, otherwise=0.0),
        real("train.lr", 1e-4, 1e-1, log=True),
        choice("train.optimizer", "adam", "sgd"),
        integer("data.window", 3, 21),
        choice("data.scaling", "none", "log1p", "standardize"),
        choice("data.imbalance", "none", "class_weight", "oversample", "undersample"),
    ),
    defaults={"train.epochs": 10, "data.val_fraction": 0.2},
    objectives={"f1": Objective("val_f1", "maximize"),
                "balanced_accuracy": Objective("val_balanced_accuracy", "maximize")},
    then="score it on the test countries, over three seeds",
)

FACES = TuneSpec(
    space=(
        choice("model.name", "vae_fc", "vae_conv"),
        integer("model.latent_dim", 8, 128, log=True),
        real("train.lr", 1e-4, 1e-2, log=True),
        real("loss.kl_weight", 0.1, 10.0, log=True),
    ),
    # the importance-weighted NLL is logged, not optimised: a few samples are enough here
    defaults={"data.limit": 600, "train.epochs": 3, "loss.iw_samples": 5,
              "loss.iw_images": 64},
    objectives={"neg_elbo": Objective("val_neg_elbo", "minimize")},
    then="train it over three seeds (this study has no test split)",
)

SPECS = {"covid": COVID, "faces": FACES}


def spec_for(task: str) -> TuneSpec:
    if task not in SPECS:
        raise UserError(f"no search space for task {task!r}; tunable: {', '.join(SPECS)}")
    return SPECS[task]


def objective_for(task: str, name: str | None) -> Objective:
    """The named objective of ``task`` (its first one if ``name`` is None)."""
    objectives = spec_for(task).objectives
    if name is None:
        return next(iter(objectives.values()))
    if name not in objectives:
        raise UserError(f"--objective {name!r} does not apply to {task}; valid: "
                        f"{', '.join(objectives)}")
    return objectives[name]


def sample(trial, task: str, values: dict[str, Any], fixed: set[str]) -> dict[str, Any]:
    """Ask ``trial`` for every searched key not in ``fixed``; return dotted key -> value.

    ``values`` is the flattened base config, so conditions can read fixed settings.
    """
    values = dict(values)
    chosen: dict[str, Any] = {}
    for param in spec_for(task).space:
        if param.key in fixed:
            continue
        if param.only_if is not None and not param.only_if(values):
            value = param.otherwise
        else:
            value = param.suggest(trial)
        values[param.key] = chosen[param.key] = value
    return chosen
