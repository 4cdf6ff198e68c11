"""Never lose a result: SIGKILL mid-grid then resume, and two runners on one fresh store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tracking.mlflow_runs import TrackingSession
from tracking.read_runs import fetch_artifact

REPO = Path(__file__).resolve().parents[1]

GRID = """
experiment = "resilience"
[[study]]
task = "covid"
[study.config.data]
path = "covid/covid_19_homework.csv"
[study.config.train]
epochs = 3
batch_size = 256
[study.sweep]
"model.name" = {models}
"""


def start_runner(grid: Path, uri: str, data_dir: Path, *extra: str,
                 cache: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ, BENCH_DATA_DIR=str(data_dir))
    if cache is not None:
        env["BENCH_CACHE_DIR"] = str(cache)
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks", "run", str(grid), "--tracking-uri", uri,
         "--quiet", *extra],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )


def cell_runs(uri: str):
    client = TrackingSession(uri).client  # takes the store-creation lock, as runners do
    experiment = client.get_experiment_by_name("resilience")
    if experiment is None:
        return []
    runs = client.search_runs([experiment.experiment_id])
    return [r for r in runs if r.data.tags.get("run_kind") == "cell"]


def test_sigkill_mid_grid_then_rerun_leaves_one_finished_run_per_cell(tmp_path, data_dir):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(models='["rnn", "lstm", "gru"]'))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runner = start_runner(grid, uri, data_dir)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # wait until one cell is done and the next is running
        statuses = Counter(r.info.status for r in cell_runs(uri))
        if statuses["FINISHED"] >= 1 and statuses["RUNNING"] >= 1:
            break
        assert runner.poll() is None, runner.communicate()
        time.sleep(0.5)
    os.killpg(runner.pid, signal.SIGKILL)
    runner.wait()
    killed = [r for r in cell_runs(uri) if r.info.status == "RUNNING"]
    assert killed, "the killed runner should have left its cell RUNNING"

    again = start_runner(grid, uri, data_dir)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "stale runs of a killed runner marked FAILED" in out
    runs = cell_runs(uri)
    finished = Counter(r.data.tags["config_hash"] for r in runs if r.info.status == "FINISHED")
    assert len(finished) == 3 and set(finished.values()) == {1}
    stale = {r.info.run_id: r for r in runs}[killed[0].info.run_id]
    assert stale.info.status == "FAILED"
    assert stale.data.tags["error"].startswith("stale:")


def test_two_runners_on_one_fresh_store_both_finish(tmp_path, data_dir):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(models='["gru", "lstm"]'))
    uri = f"sqlite:///{tmp_path / 'fresh' / 'mlflow.db'}"
    first = start_runner(grid, uri, data_dir)
    second = start_runner(grid, uri, data_dir)
    results = [p.communicate(timeout=600) + (p.returncode,) for p in (first, second)]
    for _out, err, code in results:
        assert code == 0, err
        assert "locked" not in err.lower()
    runs = cell_runs(uri)
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.data.tags["config_hash"] for r in runs}) == 2
    client = TrackingSession(uri).client
    assert len([e for e in client.search_experiments() if e.name == "resilience"]) == 1


def test_two_workers_run_every_cell_once(tmp_path, data_dir):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(models='["rnn", "gru"]'))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cache = tmp_path / "cache"
    runner = start_runner(grid, uri, data_dir, "--workers", "2", cache=cache)
    out, err = runner.communicate(timeout=600)
    assert runner.returncode == 0, err
    assert "Traceback" not in err
    runs = cell_runs(uri)
    assert sorted(r.data.params["model.name"] for r in runs) == ["gru", "rnn"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    owners = {r.data.tags["owner"].split(":")[1] for r in runs}
    assert str(runner.pid) not in owners  # the cells ran in worker processes
    # the runner drew the heatmaps once into the figure cache; both cells logged that file
    cached = sorted((cache / "figures").glob("*.png"))
    assert len(cached) == 2  # the full heatmap and the top-25 view
    logged = {fetch_artifact(uri, r.info.run_id, "correlation_heatmap.png",
                             str(tmp_path / r.info.run_id)) for r in runs}
    assert {Path(p).read_bytes() for p in logged} <= {p.read_bytes() for p in cached}


def test_sigterm_with_workers_marks_running_cells_killed_quietly(tmp_path, data_dir):
    grid = tmp_path / "grid.toml"
    grid.write_text(GRID.format(models='["rnn", "lstm", "gru"]'))
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    runner = start_runner(grid, uri, data_dir, "--workers", "2")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # wait until the workers are inside cells
        if Counter(r.info.status for r in cell_runs(uri))["RUNNING"] >= 1:
            break
        assert runner.poll() is None, runner.communicate()
        time.sleep(0.2)
    runner.send_signal(signal.SIGTERM)  # the runner only, as `kill PID` would
    _out, err = runner.communicate(timeout=120)
    assert runner.returncode == 130, err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("interrupted:")
    statuses = Counter(r.info.status for r in cell_runs(uri))
    assert statuses["KILLED"] >= 1 and statuses["RUNNING"] == 0, statuses
