"""Grid files: TOML naming an experiment and, per study, fixed settings and swept lists.

```toml
experiment = "covid-quick"
[[study]]
task = "covid"
seeds = [0, 1]
[study.config.train]          # fixed settings, nested like the config
epochs = 10
[study.sweep]                 # dotted key -> list; the runner expands the product
"model.name" = ["rnn", "lstm", "gru"]
"data.window" = [7, 14]
```
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.config import build_config, config_hash, merge, set_dotted
from benchmarks.errors import UserError
from benchmarks.tasks.registry import get_task

GRID_KEYS = {"experiment", "description", "study"}
STUDY_KEYS = {"task", "seeds", "config", "sweep"}


@dataclass
class Cell:
    """One run of the grid: a task, its resolved config, and how it is recognised."""

    task: str
    config: Any
    label: str  # short human name: the swept values and the seed
    config_hash: str
    group_hash: str  # the same for every seed of one configuration


@dataclass
class Grid:
    experiment: str
    description: str
    cells: list[Cell]
    source: str  # the grid file's text, kept as an artifact of the parent run


def load_grid(path: str | Path, overrides: dict[str, Any] | None = None) -> Grid:
    """Parse and expand a grid file; ``overrides`` (dotted key -> value) win over it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such grid file")
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML ({exc})") from None
    unknown = sorted(set(raw) - GRID_KEYS)
    if unknown:
        raise UserError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; "
                        f"valid: {', '.join(sorted(GRID_KEYS))}")
    if not isinstance(raw.get("experiment"), str) or not raw["experiment"].strip():
        raise UserError(f"{path}: 'experiment' (the MLflow experiment name) is required")
    studies = raw.get("study")
    if not isinstance(studies, list) or not studies:
        raise UserError(f"{path}: needs at least one [[study]] table")
    cells: list[Cell] = []
    for number, study in enumerate(studies, start=1):
        cells.extend(_expand_study(study, f"{path} study {number}", overrides or {}))
    return Grid(experiment=raw["experiment"], description=raw.get("description", ""),
                cells=cells, source=text)


def _expand_study(study: dict, where: str, overrides: dict[str, Any]) -> list[Cell]:
    if not isinstance(study, dict):
        raise UserError(f"{where} must be a table ([[study]]), got {study!r}")
    unknown = sorted(set(study) - STUDY_KEYS)
    if unknown:
        raise UserError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                        f"valid: {', '.join(sorted(STUDY_KEYS))}")
    if "task" not in study:
        raise UserError(f"{where}: 'task' is required")
    try:
        task = get_task(study["task"])
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None
    seeds = study.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or \
            not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise UserError(f"{where}: 'seeds' must be a non-empty list of whole numbers")
    sweep = study.get("sweep", {})
    if not isinstance(sweep, dict):
        raise UserError(f"{where}: 'sweep' must be a table of dotted key = [values]")
    # an override is for every cell, so it also replaces a sweep over the same key
    sweep = {key: [overrides[key]] if key in overrides else values
             for key, values in sweep.items()}
    if "train.seed" in overrides:
        seeds = [overrides["train.seed"]]
    for key, values in sweep.items():
        if not isinstance(values, list) or not values:
            raise UserError(f"{where}: sweep {key!r} must be a non-empty list")
    base = study.get("config", {})
    for key, value in overrides.items():
        base = merge(base, _dotted_tree(key, value))
    keys = list(sweep)
    cells = []
    for combo in itertools.product(*(sweep[k] for k in keys)):
        for seed in seeds:
            tree = base
            for key, value in zip(keys, combo):
                tree = merge(tree, _dotted_tree(key, value))
            tree = merge(tree, {"train": {"seed": seed}})
            config = build_config(task.config_class, tree, where=f"{where} config")
            try:  # names, sizes and weights are checked now, before any run exists
                task.check(config)
            except UserError as exc:
                raise UserError(f"{where}: {exc}") from None
            label = " ".join([f"{k.split('.')[-1]}={v}" for k, v in zip(keys, combo)]
                             + [f"seed={seed}"])
            cells.append(Cell(task=task.name, config=config, label=f"{task.name} {label}",
                              config_hash=config_hash(task.name, config),
                              group_hash=config_hash(task.name, config, ignore_seed=True)))
    return cells


def _dotted_tree(dotted: str, value: Any) -> dict:
    tree: dict = {}
    set_dotted(tree, dotted, value)
    return tree
