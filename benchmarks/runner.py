"""Run a grid: load every cell's data first, then one tracked child run per cell.

Data is loaded (and validated) before anything is written to the store, so bad input
leaves no half-written experiment. A cell that raises ends FAILED with its error and the
grid goes on; a cell already FINISHED under the same config hash is skipped unless fresh.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from benchmarks.config import flatten, to_dict
from benchmarks.grid import Cell, Grid
from benchmarks.tasks.registry import get_task
from tracking.mlflow_runs import TrackingSession


@dataclass
class GridResult:
    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    parent_run_id: str = ""
    seconds: float = 0.0

    def summary(self) -> str:
        text = (f"{len(self.finished)} finished, {len(self.skipped)} skipped (already finished),"
                f" {len(self.failed)} failed in {self.seconds:.1f}s")
        for label, error in self.failed:
            text += f"\n  FAILED {label}: {error}"
        return text


def load_all_data(grid: Grid, data_dir: Path | None) -> dict[str, object]:
    """Check every cell and load each distinct data config once, before any run exists."""
    loaded: dict[str, object] = {}
    for cell in grid.cells:
        task = get_task(cell.task)
        task.check(cell.config)
        key = f"{cell.task}:{task.data_key(cell.config)}"
        if key not in loaded:
            loaded[key] = task.load_data(cell.config, data_dir)
    return loaded


def run_grid(grid: Grid, tracking_uri: str, data_dir: Path | None, fresh: bool = False,
             quiet: bool = False, grid_name: str = "") -> GridResult:
    started = time.monotonic()
    data = load_all_data(grid, data_dir)
    session = TrackingSession(tracking_uri)
    experiment_id = session.experiment_id(grid.experiment)
    result = GridResult()
    parent = session.start_run(experiment_id, f"grid {grid_name or grid.experiment}",
                               {"run_kind": "grid", "grid_file": grid_name,
                                "code_version": code_version()})
    result.parent_run_id = parent.run_id
    parent.log_text(grid.source, "grid.toml")
    parent.log_params({"n_cells": len(grid.cells), "fresh": fresh})
    restore = _sigterm_as_interrupt()
    bar = tqdm(grid.cells, desc="cells", unit="cell", disable=quiet, file=sys.stderr,
               dynamic_ncols=True)
    try:
        for cell in bar:
            bar.set_postfix_str(cell.label, refresh=True)
            if not fresh and session.finished_run(experiment_id, cell.config_hash):
                result.skipped.append(cell.label)
                continue
            task = get_task(cell.task)
            cell_data = data[f"{cell.task}:{task.data_key(cell.config)}"]
            error = _run_cell(session, experiment_id, parent, cell, cell_data, quiet)
            if error is None:
                result.finished.append(cell.label)
            else:
                result.failed.append((cell.label, error))
            _say(bar, quiet, f"{'FAILED' if error else 'done'} {cell.label}"
                 + (f": {error}" if error else ""))
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


def _run_cell(session: TrackingSession, experiment_id: str, parent, cell: Cell, data,
              quiet: bool) -> str | None:
    """Run one cell in its own child run; return None on success, else the error line."""
    task = get_task(cell.task)
    tags = {"task": cell.task, "config_hash": cell.config_hash, "run_kind": "cell",
            "group_hash": cell.group_hash, "grid_label": cell.label,
            "code_version": code_version(), "data_checksum": data_checksum(data)}
    run = session.start_run(experiment_id, cell.label, tags, parent=parent)
    try:
        run.log_params(flatten(cell.config))
        run.log_text(_toml(to_dict(cell.config)), "config.toml")
        final = task.run_cell(cell.config, data, run, progress=not quiet)
        run.set_tags({"headline": _headline(final)})
        run.finish()
        return None
    except KeyboardInterrupt as exc:
        run.fail(exc, status="KILLED")
        raise
    except Exception as exc:  # noqa: BLE001 - any failure ends this cell, not the grid
        run.fail(exc)
        return f"{type(exc).__name__}: {exc}"


def _headline(final: dict[str, float]) -> str:
    keys = ("test_accuracy", "test_f1", "val_neg_elbo")
    return ", ".join(f"{k}={final[k]:.4f}" for k in keys if k in final)


def _say(bar, quiet: bool, line: str) -> None:
    if not quiet:
        bar.write(line, file=sys.stderr)


def _sigterm_as_interrupt():
    """Treat SIGTERM like Ctrl-C so the running cell is marked KILLED, not left RUNNING."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


def data_checksum(data) -> str:
    """sha256 (first 16 hex) of the cell's input file or folder, so a changed input shows."""
    source = getattr(data, "source", None)
    if source is None or not Path(source).exists():
        return ""
    key = str(Path(source).resolve())
    if key not in _CHECKSUMS:
        _CHECKSUMS[key] = _content_sha256(Path(source))
    return _CHECKSUMS[key]


_CHECKSUMS: dict[str, str] = {}


def _content_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def code_version() -> str:
    """The git commit of the suite (with '+dirty' for local edits), or 'unknown'."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                                capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=5)
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _toml(tree: dict, prefix: str = "") -> str:
    """The resolved config as TOML (flat values first, then one table per section)."""
    lines = []
    for key, value in tree.items():
        if not isinstance(value, dict) and value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    for key, value in tree.items():
        if isinstance(value, dict):
            name = f"{prefix}{key}"
            lines.append(f"\n[{name}]")
            lines.append(_toml(value, prefix=f"{name}.").strip("\n"))
    return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
