"""``tune``: Optuna studies on the real data, in real Optuna and MLflow stores in temp dirs.

End-to-end runs go through the CLI in subprocesses (tiny settings via ``--set``, the search
space still varies); pruning, the faces objective and bad input run in-process.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from benchmarks.cli import build_parser, main
from benchmarks.config import build_config, flatten
from benchmarks.grid import load_grid
from benchmarks.search_spaces import SPECS, sample
from benchmarks.tasks.registry import get_task
from benchmarks.tune import (
    PruningHook,
    build_setup,
    fail_stale_trials,
    open_study,
    run_one_trial,
)
from tracking.liveness import current_owner
from tracking.mlflow_runs import TrackingSession

REPO = Path(__file__).resolve().parents[1]
# Fixing the data keys lets every trial share one loaded dataset (and its rendered
# heatmaps); the model and optimizer keys are still searched.
FIXED = {"train.epochs": "2", "train.batch_size": "512", "data.window": "5",
         "data.scaling": "log1p", "data.imbalance": "class_weight"}
TINY = [part for key, value in FIXED.items() for part in ("--set", f"{key}={value}")]
TINY.append("--quiet")


def tune_command(tmp: Path, *extra: str, storage: str | None = None) -> list[str]:
    storage = storage or f"sqlite:///{tmp / 'optuna.db'}"
    return [sys.executable, "-m", "benchmarks", "tune", "covid",
            "--tracking-uri", f"sqlite:///{tmp / 'mlflow.db'}", "--storage", storage,
            "--out", str(tmp / "best.toml"), *TINY, *extra]


def child_env(tmp: Path, data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return dict(env, BENCH_DATA_DIR=str(data_dir), BENCH_CACHE_DIR=str(tmp / "cache"))


def run_tune(tmp: Path, data_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(tune_command(tmp, *extra), cwd=REPO, env=child_env(tmp, data_dir),
                          capture_output=True, text=True, timeout=600)


def snapshot(tmp: Path, storage: str | None = None) -> dict:
    """The study's trials and the MLflow runs, read right after a command finished."""
    storage = storage or f"sqlite:///{tmp / 'optuna.db'}"
    study = optuna.load_study(study_name="tune-covid", storage=_storage(storage))
    client = MlflowClient(f"sqlite:///{tmp / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("tune-covid")
    runs = client.search_runs([experiment.experiment_id])
    return {"trials": study.get_trials(), "client": client,
            "parents": [r for r in runs if r.data.tags.get("run_kind") == "tune"],
            "children": [r for r in runs if r.data.tags.get("run_kind") == "trial"]}


def _storage(storage: str):
    if "://" in storage:
        return storage
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(storage))


@pytest.fixture(scope="module")
def twice(tmp_path_factory, data_dir):
    """``tune covid --trials 4`` run twice on one store; a snapshot after each run."""
    tmp = tmp_path_factory.mktemp("tune")
    first = run_tune(tmp, data_dir, "--trials", "4")
    after_first = snapshot(tmp) if first.returncode == 0 else None
    toml_after_first = (tmp / "best.toml").read_text() if first.returncode == 0 else ""
    second = run_tune(tmp, data_dir, "--trials", "4")
    return {"tmp": tmp, "first": first, "second": second, "after_first": after_first,
            "toml_after_first": toml_after_first}


def test_tune_runs_trials_as_child_runs_and_writes_the_best_grid(twice):
    first = twice["first"]
    assert first.returncode == 0, first.stderr
    state = twice["after_first"]
    trials = state["trials"]
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 4  # the space varies
    assert all(not set(t.params) & set(FIXED) for t in trials)  # --set keys are not searched
    (parent,) = state["parents"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["study_name"] == "tune-covid"
    children = [r for r in state["children"]
                if r.data.tags["mlflow.parentRunId"] == parent.info.run_id]
    assert sorted(int(r.data.tags["trial_number"]) for r in children) == [0, 1, 2, 3]
    for run in children:
        assert run.info.status == "FINISHED"
        assert run.data.tags["state"] in ("COMPLETE", "PRUNED")
        assert run.data.params["data.val_fraction"] == "0.2"
    artifacts = {a.path for a in state["client"].list_artifacts(parent.info.run_id)}
    assert {"best_params.toml", "best_by_model.md", "optimization_history.png"} <= artifacts

    best = max((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    assert f"best val_f1 = {best.value:.4f} (trial {best.number})" in first.stdout
    grid_file = twice["tmp"] / "first_best.toml"
    grid_file.write_text(twice["toml_after_first"])
    grid = load_grid(grid_file)
    assert grid.experiment == "tuned-covid"
    assert [c.config.train.seed for c in grid.cells] == [0, 1, 2]
    cell = flatten(grid.cells[0].config)
    for key, value in best.params.items():
        assert cell[key] == value, key
    assert cell["train.epochs"] == 2 and cell["train.batch_size"] == 512  # the --set values
    assert cell == flatten(build_config(get_task("covid").config_class,
                                        best.user_attrs["config"]))


def test_rerunning_the_command_continues_the_study(twice):
    assert twice["second"].returncode == 0, twice["second"].stderr
    state = snapshot(twice["tmp"])
    assert [t.number for t in state["trials"]] == list(range(8))
    assert len(state["parents"]) == 2
    first_ids = {t.user_attrs["invocation"] for t in state["trials"][:4]}
    second_ids = {t.user_attrs["invocation"] for t in state["trials"][4:]}
    assert len(first_ids) == len(second_ids) == 1 and first_ids != second_ids
    numbers = sorted(int(r.data.tags["trial_number"]) for r in state["children"])
    assert numbers == list(range(8))


def test_the_objective_is_the_validation_f1_and_test_metrics_stay_hidden(twice):
    state = twice["after_first"]
    client = state["client"]
    runs = {r.data.tags["trial_number"]: r for r in state["children"]}
    for trial in state["trials"]:
        run = runs[str(trial.number)]
        history = client.get_metric_history(run.info.run_id, "val_f1")
        reported = {m.step: m.value for m in history}
        assert reported == pytest.approx(trial.intermediate_values)
        if trial.state == TrialState.COMPLETE:
            assert trial.value == pytest.approx(history[-1].value)
            assert max(reported) == 2  # all epochs ran
        assert not [k for k in run.data.metrics if k.startswith("test_") or "_test_" in k]
        assert "val_balanced_accuracy" in run.data.metrics


def test_two_processes_share_one_journal_study(tmp_path, data_dir):
    journal = str(tmp_path / "study.journal")
    env = child_env(tmp_path, data_dir)
    commands = [tune_command(tmp_path, "--trials", "3", "--workers", "2", storage=journal),
                tune_command(tmp_path, "--trials", "3", storage=journal)]
    processes = [subprocess.Popen(c, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for c in commands]
    outputs = [p.communicate(timeout=600) for p in processes]
    for process, (_, err) in zip(processes, outputs):
        assert process.returncode == 0, err
    state = snapshot(tmp_path, storage=journal)
    assert sorted(t.number for t in state["trials"]) == list(range(6))
    assert len(state["parents"]) == 2
    for parent in state["parents"]:
        mine = [r for r in state["children"]
                if r.data.tags["mlflow.parentRunId"] == parent.info.run_id]
        assert len(mine) == 3
    assert sorted(int(r.data.tags["trial_number"]) for r in state["children"]) == \
        list(range(6))


def test_pruning_hook_reports_each_epoch_and_prunes_a_weak_trial(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'o.db'}",
                                direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=1,
                                                                   n_warmup_steps=2))
    good = study.ask()
    good_hook = PruningHook(good, "val_f1")
    for epoch in (1, 2, 3):
        good_hook.on_epoch_end(epoch, {"val_f1": 0.8, "test_f1": 0.0})
    study.tell(good, 0.8)

    weak = study.ask()
    hook = PruningHook(weak, "val_f1")
    hook.on_epoch_end(1, {"val_f1": 0.1})  # step 1 < n_warmup_steps: never pruned
    with pytest.raises(optuna.TrialPruned):
        hook.on_epoch_end(2, {"val_f1": 0.1, "test_f1": 0.99})  # test is never looked at
    assert hook.pruned_epoch == 2
    assert weak.storage.get_trial(weak._trial_id).intermediate_values == {1: 0.1, 2: 0.1}
    with pytest.raises(KeyError, match="val_f1"):
        PruningHook(study.ask(), "val_f1").on_epoch_end(1, {"train_f1": 0.5})


def test_trials_of_a_killed_process_are_failed_on_the_next_start(tmp_path):
    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 'o.db'}")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    host = current_owner().rsplit(":", 2)[0]
    orphan, mine = study.ask(), study.ask()
    orphan.set_user_attr("owner", f"{host}:{dead.stdout.strip()}:1")
    mine.set_user_attr("owner", current_owner())
    assert fail_stale_trials(study) == [f"trial {orphan.number}"]
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.RUNNING]


def _in_process_setup(tmp_path, data_dir, task: str, *sets: str):
    args = build_parser().parse_args(
        ["tune", task, "--trials", "1", "--quiet", "--data-dir", str(data_dir),
         "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}",
         "--storage", f"sqlite:///{tmp_path / 'optuna.db'}",
         *[part for key in sets for part in ("--set", key)]])
    setup = build_setup(args)
    session = TrackingSession(setup.tracking_uri)
    setup.experiment_id = session.experiment_id(setup.study_name)
    parent = session.start_run(setup.experiment_id, "tune test", {"run_kind": "tune"})
    setup.parent_run_id = parent.run_id
    return setup, session, parent


def test_a_pruned_covid_trial_stops_early_and_its_run_says_so(tmp_path, data_dir):
    setup, session, parent = _in_process_setup(tmp_path, data_dir, "covid",
                                               "train.epochs=3", "train.batch_size=512")
    open_study(setup)
    study = optuna.load_study(study_name=setup.study_name, storage=setup.storage,
                              pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    study.add_trial(optuna.trial.create_trial(  # a trial nothing real can beat
        value=1.0, intermediate_values={1: 1.0, 2: 1.0, 3: 1.0}))
    values = flatten(build_config(get_task("covid").config_class, setup.base_tree))
    assert run_one_trial(study, setup, session, parent, values) == "PRUNED"
    trial = study.get_trials()[-1]
    assert trial.state == TrialState.PRUNED and list(trial.intermediate_values) == [1]
    run = session.client.get_run(trial.user_attrs["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["state"] == "PRUNED"
    assert [m.step for m in session.client.get_metric_history(run.info.run_id,
                                                              "val_f1")] == [1]


def test_a_faces_trial_minimises_the_validation_negative_elbo(tmp_path, data_dir):
    setup, session, parent = _in_process_setup(
        tmp_path, data_dir, "faces", "data.limit=48", "data.image_size=32",
        "train.epochs=1", "loss.iw_samples=2", "loss.iw_images=8")
    study = open_study(setup)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    values = flatten(build_config(get_task("faces").config_class, setup.base_tree))
    started = time.monotonic()
    assert run_one_trial(study, setup, session, parent, values) == "COMPLETE"
    assert time.monotonic() - started < 120
    trial = study.get_trials()[0]
    run = session.client.get_run(trial.user_attrs["mlflow_run_id"])
    assert trial.value == pytest.approx(run.data.metrics["val_neg_elbo"])
    assert math.isfinite(trial.value) and run.data.tags["state"] == "COMPLETE"
    assert set(trial.params) == {"model.name", "model.latent_dim", "train.lr",
                                 "loss.kl_weight"}


class FakeTrial:
    """Answers every suggestion with the range's top end (or the last choice)."""

    def suggest_categorical(self, name, choices):
        return choices[-1]

    def suggest_int(self, name, low, high, log=False):
        return high

    def suggest_float(self, name, low, high, log=False):
        return high


@pytest.mark.parametrize("task", sorted(SPECS))
def test_every_point_of_the_space_is_a_valid_config(task):
    """Both ends of every range and every choice build and check, so no trial fails on a
    stale key or an impossible value."""
    cls = get_task(task).config_class
    spec = SPECS[task]
    base = flatten(build_config(cls, {}))
    for param in spec.space:
        for value in param.choices or (param.low, param.high):
            value = int(value) if param.integer else value
            tree: dict = {}
            for key, item in {**spec.defaults, param.key: value}.items():
                section, name = key.split(".")
                tree.setdefault(section, {})[name] = item
            get_task(task).check(build_config(cls, tree))
    chosen = sample(FakeTrial(), task, base, fixed={"model.name"})
    assert "model.name" not in chosen and len(chosen) == len(spec.space) - 1


def test_dropout_is_only_searched_for_stacked_nets():
    base = flatten(build_config(get_task("covid").config_class, {}))
    chosen = sample(FakeTrial(), "covid", dict(base), fixed={"model.num_layers"})
    assert chosen["model.dropout"] == 0.5  # num_layers defaults to 3
    single = dict(base, **{"model.num_layers": 1})
    assert sample(FakeTrial(), "covid", single, fixed={"model.num_layers"})[
        "model.dropout"] == 0.0


@pytest.mark.parametrize("flags, needle", [
    (["--set", "data.val_fraction=0"], "data.val_fraction"),
    (["--objective", "neg_elbo"], "--objective"),
    (["--set", "model.colour=1"], "colour"),
    (["--trials", "0"], "--trials"),
    (["--storage", "study.db"], "--storage"),
])
def test_bad_input_is_one_error_line_and_writes_nothing(tmp_path, data_dir, capsys,
                                                        flags, needle):
    base = ["tune", "covid", "--trials", "1", "--data-dir", str(data_dir),
            "--tracking-uri", f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}",
            "--storage", f"sqlite:///{tmp_path / 'store' / 'optuna.db'}",
            "--out", str(tmp_path / "best.toml")]
    assert main(base + flags) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]
    assert list(tmp_path.iterdir()) == []
