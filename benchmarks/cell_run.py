"""Run one grid cell as a tracked child run, in this process or in a worker process.

A cell that raises ends FAILED with the error as a tag and the traceback as an artifact;
Ctrl-C or SIGTERM ends it KILLED. Either way the caller gets a result line, never a lost run.
"""

from __future__ import annotations

import atexit
import ctypes
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import torch

from benchmarks.config import flatten, to_dict
from benchmarks.grid import Cell
from benchmarks.interrupts import raise_interrupt
from benchmarks.provenance import code_version, data_checksum
from benchmarks.tasks.registry import get_task
from benchmarks.toml_writer import to_toml
from tracking.mlflow_runs import TrackingSession

Outcome = tuple[str, str | None, float]  # (label, error or None, seconds)


def data_key_of(cell: Cell) -> str:
    return f"{cell.task}:{get_task(cell.task).data_key(cell.config)}"


def run_one_cell(session: TrackingSession, experiment_id: str, parent_run_id: str,
                 cell: Cell, data, progress: bool) -> Outcome:
    started = time.monotonic()
    task = get_task(cell.task)
    tags = {"task": cell.task, "config_hash": cell.config_hash, "run_kind": "cell",
            "group_hash": cell.group_hash, "grid_label": cell.label,
            "code_version": code_version(), "data_checksum": data_checksum(data)}
    run = session.start_run(experiment_id, cell.label, tags, parent=parent_run_id)
    try:
        run.log_params(flatten(cell.config))
        run.log_text(to_toml(to_dict(cell.config)), "config.toml")
        final = task.run_cell(cell.config, data, run, progress=progress)
        run.set_tags({"headline": _headline(final)})
        run.finish()
        return cell.label, None, time.monotonic() - started
    except KeyboardInterrupt as exc:
        run.fail(exc, status="KILLED")
        raise
    except Exception as exc:  # noqa: BLE001 - any failure ends this cell, not the grid
        run.fail(exc)
        return cell.label, f"{type(exc).__name__}: {exc}", time.monotonic() - started


def _headline(final: dict[str, float]) -> str:
    keys = ("test_accuracy", "test_f1", "val_neg_elbo")
    return ", ".join(f"{k}={final[k]:.4f}" for k in keys if k in final)


# ---- worker processes -------------------------------------------------------------------

_WORKER: dict = {}


def pool_of(workers: int):
    """A spawn pool whose processes split the CPU threads between them."""
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    return context.Pool(workers, initializer=_init_worker, initargs=(threads,),
                        maxtasksperchild=None)


def _init_worker(threads: int) -> None:
    torch.set_num_threads(threads)
    _die_with_parent()
    atexit.register(_exit_now)
    for signum in (signal.SIGTERM, signal.SIGINT):  # Ctrl-C reaches the workers too
        signal.signal(signum, _on_stop_signal)


def _exit_now() -> None:
    """A worker's last exit step: skip tearing down the interpreter (torch, MLflow, ...),
    which took 1-2 s at the end of every parallel grid. Runs after the pool's own clean-up
    (``multiprocessing.util._exit_function``) and after every cell's run has finished."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _on_stop_signal(signum, frame):
    """Inside a cell: interrupt it, so it ends KILLED. Idle: exit at once and quietly
    (the pool's own loop would print a traceback for an interrupt it never expects)."""
    if _WORKER.get("in_cell"):
        raise_interrupt(signum, frame)
    os._exit(128 + signum)


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the runner dies (even by SIGKILL), so no orphan goes on
    running a cell that the next runner will redo."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def run_in_worker(job) -> Outcome:
    """Pool entry point: load (and memoise) the cell's data, then run it quietly."""
    tracking_uri, experiment_id, parent_run_id, cell, data_dir = job
    if "session" not in _WORKER:
        _WORKER["session"] = TrackingSession(tracking_uri)
        _WORKER["data"] = {}
    key = data_key_of(cell)
    if key not in _WORKER["data"]:
        _WORKER["data"][key] = get_task(cell.task).load_data(
            cell.config, Path(data_dir) if data_dir else None)
    _WORKER["in_cell"] = True
    try:
        return run_one_cell(_WORKER["session"], experiment_id, parent_run_id, cell,
                            _WORKER["data"][key], progress=False)
    except KeyboardInterrupt:  # the cell is recorded KILLED; the runner is stopping
        os._exit(128 + signal.SIGTERM)
    finally:
        _WORKER["in_cell"] = False
