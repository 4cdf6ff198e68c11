"""Run a grid: load every cell's data first, then one tracked child run per cell.

Data is loaded (and validated) before anything is written to the store, so bad input
leaves no half-written experiment. A cell that raises ends FAILED with its error and the
grid goes on; a cell already FINISHED under the same config hash is skipped unless fresh.
"""

from __future__ import annotations

import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from benchmarks.cell_run import data_key_of, pool_of, run_in_worker, run_one_cell
from benchmarks.errors import UserError
from benchmarks.grid import Cell, Grid
from benchmarks.interrupts import sigterm_as_interrupt
from benchmarks.provenance import code_version
from benchmarks.tasks.registry import get_task
from tracking.mlflow_runs import TrackingSession


@dataclass
class GridResult:
    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # finished by an earlier invocation
    busy: list[str] = field(default_factory=list)  # being run by another live runner
    failed: list[tuple[str, str]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # runs of dead processes, now FAILED
    parent_run_id: str = ""
    seconds: float = 0.0

    def summary(self) -> str:
        text = (f"{len(self.finished)} finished, {len(self.skipped)} skipped (already finished),"
                f" {len(self.failed)} failed in {self.seconds:.1f}s")
        if self.busy:
            text += f"; {len(self.busy)} left to another runner that is running them"
        if self.stale:
            text += f"; {len(self.stale)} stale runs of a killed runner marked FAILED"
        for label, error in self.failed:
            text += f"\n  FAILED {label}: {error}"
        return text


def load_all_data(grid: Grid, data_dir: Path | None) -> dict[str, object]:
    """Load each distinct data config once, before any run exists (cells were checked
    when the grid was loaded)."""
    loaded: dict[str, object] = {}
    for cell in grid.cells:
        task = get_task(cell.task)
        key = data_key_of(cell)
        if key not in loaded:
            loaded[key] = task.load_data(cell.config, data_dir)
    return loaded


def run_grid(grid: Grid, tracking_uri: str, data_dir: Path | None, fresh: bool = False,
             quiet: bool = False, grid_name: str = "", workers: int = 1) -> GridResult:
    """Run every cell not yet finished; ``workers`` > 1 runs cells in parallel processes."""
    if workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    started = time.monotonic()
    with _worker_pool(workers) as pool:  # workers start up while the data is checked
        data = load_all_data(grid, data_dir)
        session = TrackingSession(tracking_uri)
        experiment_id = session.experiment_id(grid.experiment)
        result = GridResult(stale=session.fail_stale_runs(experiment_id))
        todo = []
        for cell in _unique(grid.cells):
            if not fresh and session.finished_run(experiment_id, cell.config_hash):
                result.skipped.append(cell.label)
            elif session.running_elsewhere(experiment_id, cell.config_hash):
                result.busy.append(cell.label)
            else:
                todo.append(cell)
        parent = session.start_run(experiment_id, f"grid {grid_name or grid.experiment}",
                                   {"run_kind": "grid", "grid_file": grid_name,
                                    "code_version": code_version()})
        result.parent_run_id = parent.run_id
        parent.log_text(grid.source, "grid.toml")
        parent.log_params({"n_cells": len(grid.cells), "fresh": fresh, "workers": workers})
        restore = sigterm_as_interrupt()
        bar = tqdm(total=len(todo), desc="cells", unit="cell", disable=quiet,
                   file=sys.stderr, dynamic_ncols=True)
        try:
            if pool is None:
                outcomes = (
                    run_one_cell(session, experiment_id, parent.run_id, cell,
                                 data[data_key_of(cell)], progress=not quiet)
                    for cell in todo
                )
            else:  # biggest cells first, so no worker is left alone with a long tail
                todo.sort(key=lambda cell: -get_task(cell.task).cost)
                jobs = [(tracking_uri, experiment_id, parent.run_id, cell, data_dir)
                        for cell in todo]
                outcomes = pool.imap_unordered(run_in_worker, jobs)
                _warm_up(todo, data)
            _collect(outcomes, result, bar, quiet)
        except KeyboardInterrupt as exc:
            parent.fail(exc, status="KILLED")
            raise
        finally:
            bar.close()
            restore()
    result.seconds = time.monotonic() - started
    parent.set_tags({"summary": result.summary().splitlines()[0]})
    if result.failed:
        parent.fail(RuntimeError(result.summary()))
    else:
        parent.finish()
    return result


def _warm_up(cells: list[Cell], data: dict[str, object]) -> None:
    """Do each data set's shared work (``Task.warm_up``) here, once, while the workers
    import and load, then free the data: it was loaded to check it, and each worker loads
    what it needs. A failure here only costs the workers doing it themselves."""
    for cell in cells:
        key = data_key_of(cell)
        warm_up = get_task(cell.task).warm_up
        if key in data and warm_up is not None:
            try:
                warm_up(data[key])
            except Exception as exc:  # noqa: BLE001 - the cells redo it and report it
                warnings.warn(f"warm-up of {cell.task} data failed: {exc}", stacklevel=2)
        data.pop(key, None)
    data.clear()


@contextmanager
def _worker_pool(workers: int):
    """None for one worker (cells run in this process); else a pool of ``workers``
    processes, started at once so their imports overlap the data checks. It is closed
    when the block ends (workers exit on their own, not by SIGTERM) and terminated if
    the block raises."""
    if workers == 1:
        yield None
        return
    pool = pool_of(workers)
    try:
        yield pool
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def _collect(outcomes, result: GridResult, bar, quiet: bool) -> None:
    for label, error, seconds in outcomes:
        if error is None:
            result.finished.append(label)
        else:
            result.failed.append((label, error))
        bar.update(1)
        _say(bar, quiet, f"{'FAILED' if error else 'done'} {label} ({seconds:.0f}s)"
             + (f": {error}" if error else ""))


def _unique(cells: list[Cell]) -> list[Cell]:
    """A grid that lists one configuration twice runs it once."""
    seen: set[str] = set()
    out = []
    for cell in cells:
        if cell.config_hash not in seen:
            seen.add(cell.config_hash)
            out.append(cell)
    return out


def _say(bar, quiet: bool, line: str) -> None:
    if not quiet:
        bar.write(line, file=sys.stderr)
