"""Studies the runner knows, by the name a grid file uses in ``task = "..."``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.errors import UserError


@dataclass(frozen=True)
class Task:
    """How to resolve, load and run one study's cells.

    ``data_key`` says which configs share loaded data, so a grid loads each file once;
    ``check`` (build the model and optimizer) and ``load_data`` run for every cell before
    any MLflow run exists, so bad input leaves the store untouched.
    """

    name: str
    config_class: type
    data_key: Callable[[Any], str]
    load_data: Callable[[Any, Any], Any]
    run_cell: Callable[..., dict[str, float]]
    check: Callable[[Any], None]
    cost: float = 1.0  # rough relative cost of a cell: parallel grids start the big ones first
    # Work every cell of one loaded data set repeats and keeps in a cache (figures of the
    # data alone). With --workers the runner does it once, while the workers start.
    warm_up: Callable[[Any], None] | None = None


_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    _TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    _load_builtin_tasks()
    if name not in _TASKS:
        raise UserError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(_TASKS))}")
    return _TASKS[name]


def task_names() -> list[str]:
    _load_builtin_tasks()
    return sorted(_TASKS)


def _load_builtin_tasks() -> None:
    from benchmarks.tasks import covid, faces  # noqa: F401
