"""``python -m benchmarks tune``: Optuna studies over a task's search space, tracked in MLflow.

Every trial is one run of the task's ordinary cell (same code as a grid), scored on the
validation split only; its per-epoch value is reported to Optuna so weak trials are pruned.
The study lives in an Optuna storage (SQLite by default, or a journal file several
processes and machines can share), so rerunning the same command continues it. The best
configuration is written as a grid file: running that grid is how the test split is scored.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.config import build_config, config_hash, flatten, merge, set_dotted, to_dict
from benchmarks.errors import UserError
from benchmarks.interrupts import sigterm_as_interrupt
from benchmarks.provenance import data_checksum
from benchmarks.search_spaces import Objective, objective_for, sample, spec_for
from benchmarks.tasks.registry import get_task
from benchmarks.toml_writer import to_toml
from tracking.liveness import current_owner, owner_alive

PRUNERS = ("median", "halving", "none")
JOURNAL_SUFFIXES = (".log", ".journal")
SQLITE_TIMEOUT_S = 60  # several processes share one SQLite file: wait for its lock
HIDDEN_ARTIFACTS = ("confusion_matrix.png", "learning_curves.png")  # they show test data


@dataclass
class TuneSetup:
    """Everything a worker needs to run trials; plain data, so it pickles for spawn."""

    task: str
    study_name: str
    storage: str  # resolved: a database URL or an absolute journal file path
    objective: Objective
    base_tree: dict  # task defaults < tuning defaults < --set, as a nested dict
    overrides: dict  # the user's --set values: left out of the search space
    data_dir: Path
    tracking_uri: str
    pruner: str
    threads: int
    quiet: bool
    code_version: str = ""
    experiment_id: str = ""
    parent_run_id: str = ""
    deadline: float | None = None  # time.time() after which no trial starts


# ---------------------------------------------------------------------- command line


def add_tune_parser(sub) -> None:
    """Register ``tune`` on the CLI's subcommands."""
    tune = sub.add_parser("tune", help="tune a task's settings with Optuna, on validation")
    tune.add_argument("task", choices=["covid", "faces"])
    tune.add_argument("--trials", type=int, required=True,
                      help="how many more trials to run in this invocation")
    tune.add_argument("--storage", help="Optuna storage: a database URL or a journal file "
                      "ending in .log/.journal (default: optuna.db beside the MLflow db)")
    tune.add_argument("--study", help="study name (default tune-TASK); also the experiment")
    tune.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    tune.add_argument("--threads", type=int,
                      help="torch threads per worker (default: CPUs // workers)")
    tune.add_argument("--timeout", type=float, help="start no trial after S seconds")
    tune.add_argument("--objective", choices=["f1", "balanced_accuracy", "neg_elbo"],
                      help="validation metric (covid: f1 or balanced_accuracy; "
                           "faces: neg_elbo)")
    tune.add_argument("--pruner", choices=PRUNERS, default="median")
    tune.add_argument("--out", help="best config as a grid file "
                      "(default reports/STUDY-best.toml)")
    tune.add_argument("--data-dir", help="data folder (default $BENCH_DATA_DIR or ./data)")
    tune.add_argument("--tracking-uri", help="MLflow tracking URI")
    tune.add_argument("--quiet", action="store_true", help="no per-trial lines")
    tune.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                      help="fix a setting for every trial (removes it from the search)")
    tune.set_defaults(func=cmd_tune)


def cmd_tune(args) -> int:
    """Check everything, then run the trials and write the study's best config."""
    from tracking.mlflow_runs import TrackingSession

    _quiet_optuna()
    setup = build_setup(args)
    study = open_study(setup)
    session = TrackingSession(setup.tracking_uri)
    setup.experiment_id = session.experiment_id(setup.study_name)
    stale = session.fail_stale_runs(setup.experiment_id) + fail_stale_trials(study)
    if stale and not setup.quiet:
        print(f"marked FAILED {len(stale)} runs/trials of a killed earlier invocation",
              file=sys.stderr)
    parent = _start_parent(session, setup, args)
    setup.parent_run_id = parent.run_id
    if args.timeout is not None:
        setup.deadline = time.time() + args.timeout
    started = time.monotonic()
    try:
        crashed = run_workers(setup, args.trials, args.workers)
    except KeyboardInterrupt as exc:
        parent.fail(exc, status="KILLED")
        raise
    return finish(study, setup, parent, args, crashed, time.monotonic() - started)


def _check_args(args) -> None:
    if args.trials < 1:
        raise UserError(f"--trials must be >= 1, got {args.trials}")
    if args.workers < 1:
        raise UserError(f"--workers must be >= 1, got {args.workers}")
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads must be >= 1, got {args.threads}")
    if args.timeout is not None and args.timeout <= 0:
        raise UserError(f"--timeout must be > 0 seconds, got {args.timeout}")


def build_setup(args) -> TuneSetup:
    """Resolve flags and validate the config, space and data before anything is written."""
    from benchmarks.cli import parse_overrides, resolve_data_dir
    from benchmarks.provenance import code_version
    from tracking.store import resolve_tracking_uri

    _check_args(args)
    overrides = parse_overrides(args.set)
    objective = objective_for(args.task, args.objective)
    base_tree = base_config_tree(args.task, overrides)
    uri = resolve_tracking_uri(args.tracking_uri)
    setup = TuneSetup(
        task=args.task, study_name=args.study or f"tune-{args.task}",
        storage=resolve_storage(args.storage, uri), objective=objective,
        base_tree=base_tree, overrides=overrides,
        data_dir=resolve_data_dir(args.data_dir).resolve(), tracking_uri=uri,
        pruner=args.pruner, threads=args.threads or default_threads(args.workers),
        quiet=args.quiet, code_version=code_version())
    probe = probe_config(setup)
    cached_data(get_task(setup.task), probe, setup.data_dir)
    return setup


def default_threads(workers: int) -> int:
    """Share the CPUs between workers: oversubscribed torch threads slow everyone down."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, cpus // workers)


def _quiet_optuna() -> None:
    """Per-trial lines are ours; Optuna's info logs and experimental notes are noise here."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


# ---------------------------------------------------------------------- configs


def _dotted(values: dict[str, Any]) -> dict:
    tree: dict = {}
    for key, value in values.items():
        set_dotted(tree, key, value)
    return tree


def base_config_tree(task: str, overrides: dict[str, Any]) -> dict:
    """Cheap tuning defaults, then the user's ``--set`` values; a validation split is a must."""
    tree = merge(_dotted(spec_for(task).defaults), _dotted(overrides))
    config = build_config(get_task(task).config_class, tree, where="--set")
    val_fraction = getattr(config.data, "val_fraction", None)
    if val_fraction is not None and val_fraction <= 0:
        raise UserError("tuning needs a validation split, but data.val_fraction is "
                        f"{val_fraction}; tuning never scores on the test split")
    return tree


def config_for(setup: TuneSetup, chosen: dict[str, Any]):
    """The task's config for one trial: the base tree with the sampled values on top."""
    task = get_task(setup.task)
    config = build_config(task.config_class, merge(setup.base_tree, _dotted(chosen)),
                          where="tune")
    task.check(config)
    return config


def base_values(setup: TuneSetup) -> dict[str, Any]:
    task = get_task(setup.task)
    return flatten(build_config(task.config_class, setup.base_tree, where="--set"))


def probe_config(setup: TuneSetup):
    """A config using one value of every searched key: catches a bad key or data early."""

    class FirstValues:
        def suggest_categorical(self, name, choices):
            return choices[0]

        def suggest_int(self, name, low, high, log=False):
            return low

        def suggest_float(self, name, low, high, log=False):
            return low

    chosen = sample(FirstValues(), setup.task, base_values(setup), set(setup.overrides))
    return config_for(setup, chosen)


_DATA: dict[str, Any] = {}


def cached_data(task, config, data_dir: Path):
    """Load each distinct data config once per process (trials often share a window)."""
    key = f"{task.name}:{task.data_key(config)}"
    if key not in _DATA:
        _DATA[key] = task.load_data(config, data_dir)
    return _DATA[key]


# ---------------------------------------------------------------------- Optuna study


def resolve_storage(flag: str | None, tracking_uri: str) -> str:
    """A database URL (relative SQLite paths made absolute) or an absolute journal path.

    The default sits beside a local MLflow database (mlruns/optuna.db for the default
    store), so a study and its runs stay together.
    """
    from tracking.store import DEFAULT_STORE_DIR, sqlite_uri

    if not flag:
        folder = DEFAULT_STORE_DIR
        if tracking_uri.startswith("sqlite:///"):
            folder = Path(tracking_uri[len("sqlite:///"):]).parent
        flag = sqlite_uri(Path(folder) / "optuna.db")
    if flag.endswith(JOURNAL_SUFFIXES) and "://" not in flag:
        return str(Path(flag).expanduser().resolve())
    if "://" not in flag:
        raise UserError(f"--storage {flag!r}: expected a database URL (sqlite:///path.db, "
                        "postgresql://...) or a journal file ending in .log or .journal")
    if flag.startswith("sqlite:///") and flag != "sqlite:///:memory:":
        return sqlite_uri(Path(flag[len("sqlite:///"):]).expanduser())
    return flag


def open_storage(storage: str):
    """Optuna storage object: a journal file, or a database through SQLAlchemy."""
    import optuna
    from optuna.storages.journal import JournalFileBackend

    local = _local_file(storage)
    if local is not None:
        local.parent.mkdir(parents=True, exist_ok=True)
    if "://" not in storage:
        return optuna.storages.JournalStorage(JournalFileBackend(storage))
    kwargs = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if storage.startswith(
        "sqlite") else None
    return optuna.storages.RDBStorage(storage, engine_kwargs=kwargs)


def _local_file(storage: str) -> Path | None:
    """The file a journal or SQLite storage lives in; None for a database server."""
    if "://" not in storage:
        return Path(storage)
    if storage.startswith("sqlite:///") and storage != "sqlite:///:memory:":
        return Path(storage[len("sqlite:///"):])
    return None


def redact(url: str) -> str:
    """The storage URL without its password, fit for tags and messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def make_pruner(name: str):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def open_study(setup: TuneSetup, attempts: int = 3):
    """Create or continue the study; it must be tuning the same task and metric.

    Processes starting together may race to create the tables, so opening is retried; a
    storage that still cannot be opened (bad URL, missing driver) is a user error.
    """
    import optuna

    for attempt in range(attempts):
        try:
            study = optuna.create_study(
                storage=open_storage(setup.storage), study_name=setup.study_name,
                direction=setup.objective.direction, load_if_exists=True,
                sampler=optuna.samplers.TPESampler(), pruner=make_pruner(setup.pruner))
            break
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy and driver errors vary widely
            if attempt == attempts - 1:
                raise UserError(f"--storage {redact(setup.storage)}: cannot open study "
                                f"{setup.study_name!r} ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
            time.sleep(1 + attempt)
    _check_study_identity(study, setup)
    return study


def fail_stale_trials(study) -> list[str]:
    """End FAIL the RUNNING trials whose process on this host died (SIGKILL, power loss),
    so a continued study neither counts nor waits for them."""
    from optuna.trial import TrialState

    stale = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if owner_alive(trial.user_attrs.get("owner", "")) is False:
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            stale.append(f"trial {trial.number}")
    return stale


def _check_study_identity(study, setup: TuneSetup) -> None:
    """Refuse to mix objectives in one study: its values would not be comparable."""
    wanted = {"task": setup.task, "objective": setup.objective.metric}
    for key, value in wanted.items():
        found = study.user_attrs.get(key)
        if found is None:
            study.set_user_attr(key, value)
        elif found != value:
            raise UserError(f"study {setup.study_name!r} tunes {key} {found!r}, not "
                            f"{value!r}; use another --study name")


# ---------------------------------------------------------------------- trials


class PruningHook:
    """Report the epoch's validation value to the trial; stop the cell if Optuna says so.

    ``run_cell`` lets ``optuna.TrialPruned`` propagate (the loop only swallows
    StopIteration), so the trial ends right after the epoch that was reported.
    """

    def __init__(self, trial, metric: str) -> None:
        self.trial = trial
        self.metric = metric
        self.pruned_epoch: int | None = None

    def on_batch_end(self, iteration: int, values: dict[str, float]) -> None:
        pass

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        import optuna

        if self.metric not in metrics:
            raise KeyError(f"the cell logged no {self.metric!r}; has it a validation split?")
        value = float(metrics[self.metric])
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.pruned_epoch = epoch
            raise optuna.TrialPruned(f"pruned after epoch {epoch} ({self.metric}={value:.4g})")


def _is_test_metric(key: str) -> bool:
    return key.startswith("test_") or "_test_" in key


class ValidationOnlyTracker:
    """Passes logging through but drops test-split metrics and plots, so nobody picks a
    trial by its test score; the test split is scored by running the best config's grid."""

    def __init__(self, tracker) -> None:
        self._tracker = tracker

    def __getattr__(self, name: str):
        return getattr(self._tracker, name)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        kept = {k: v for k, v in metrics.items() if not _is_test_metric(k)}
        if kept:
            self._tracker.log_metrics(kept, step=step)

    def log_figure(self, figure, artifact_file: str) -> None:
        if artifact_file in HIDDEN_ARTIFACTS:
            import matplotlib.pyplot as plt

            plt.close(figure)
            return
        self._tracker.log_figure(figure, artifact_file)


class TrialBudget:
    """How many trials this invocation may still start, shared by its worker processes."""

    def __init__(self, context, trials: int) -> None:
        self._left = context.Value("i", trials)

    def take(self) -> bool:
        with self._left.get_lock():
            if self._left.value <= 0:
                return False
            self._left.value -= 1
            return True


def run_trials(setup: TuneSetup, budget: TrialBudget) -> None:
    """One worker: start trials until the budget or the time is used up."""
    import torch

    from tracking.mlflow_runs import RunTracker, TrackingSession

    torch.set_num_threads(setup.threads)
    study = open_study(setup)
    session = TrackingSession(setup.tracking_uri)
    parent = RunTracker(session.client, setup.parent_run_id)
    values = base_values(setup)
    while (setup.deadline is None or time.time() < setup.deadline) and budget.take():
        run_one_trial(study, setup, session, parent, values)


def run_one_trial(study, setup: TuneSetup, session, parent, values: dict) -> str:
    """Sample, train and score one trial in its own child run; return its final state."""
    import optuna
    from optuna.trial import TrialState

    started = time.monotonic()
    trial = study.ask()
    chosen = sample(trial, setup.task, values, set(setup.overrides))
    trial.set_user_attr("invocation", setup.parent_run_id)
    trial.set_user_attr("owner", current_owner())
    run = None
    try:
        config = config_for(setup, chosen)
        trial.set_user_attr("config", to_dict(config))
        run = _start_trial_run(session, setup, parent, trial, config)
        value = _train(trial, setup, config, run)
    except optuna.TrialPruned as exc:
        run.set_tags({"state": "PRUNED", "pruned": str(exc)})
        run.finish()
        study.tell(trial, state=TrialState.PRUNED)
        return _say(setup, trial.number, "PRUNED", str(exc), started, chosen)
    except KeyboardInterrupt as exc:
        _end_failed(run, exc, "KILLED")
        study.tell(trial, state=TrialState.FAIL)
        raise
    except Exception as exc:  # noqa: BLE001 - one bad trial (diverged, bad combo) not all
        _end_failed(run, exc, "FAILED")
        study.tell(trial, state=TrialState.FAIL)
        return _say(setup, trial.number, "FAIL", f"{type(exc).__name__}: {exc}", started,
                    chosen)
    run.set_tags({"state": "COMPLETE", "value": f"{value:.6g}"})
    run.finish()
    study.tell(trial, value)
    return _say(setup, trial.number, "COMPLETE", f"{setup.objective.metric}={value:.4f}",
                started, chosen)


def _start_trial_run(session, setup: TuneSetup, parent, trial, config):
    """The child run of one trial: flattened config as params, the trial as tags."""
    tags = {"run_kind": "trial", "task": setup.task, "study_name": setup.study_name,
            "trial_number": str(trial.number),
            "config_hash": config_hash(setup.task, config),
            "objective": setup.objective.metric, "code_version": setup.code_version}
    run = session.start_run(setup.experiment_id, f"trial {trial.number}", tags,
                            parent=parent)
    trial.set_user_attr("mlflow_run_id", run.run_id)
    run.log_params(flatten(config))
    run.log_text(to_toml(to_dict(config)), "config.toml")
    return run


def _train(trial, setup: TuneSetup, config, run) -> float:
    """Run the task's cell with the pruning hook; its last validation value is the score."""
    task = get_task(setup.task)
    data = cached_data(task, config, setup.data_dir)
    run.set_tags({"data_checksum": data_checksum(data)})
    hook = PruningHook(trial, setup.objective.metric)
    final = task.run_cell(config, data, ValidationOnlyTracker(run), progress=False,
                          hooks=(hook,), artifacts=False)
    value = float(final[setup.objective.metric])
    if not math.isfinite(value):
        raise ValueError(f"{setup.objective.metric} is {value}")
    return value


def _end_failed(run, exc: BaseException, status: str) -> None:
    if run is not None:
        run.set_tags({"state": "FAIL"})
        run.fail(exc, status=status)


def _say(setup: TuneSetup, number: int, state: str, detail: str, started: float,
         chosen: dict) -> str:
    if not setup.quiet:
        params = ", ".join(f"{k}={_short(v)}" for k, v in chosen.items())
        print(f"trial {number}: {state} {detail} in {time.monotonic() - started:.1f}s "
              f"({params})", file=sys.stderr, flush=True)
    return state


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------- workers


def run_workers(setup: TuneSetup, trials: int, workers: int) -> int:
    """Run the trials here (one worker) or in spawned processes; return crashed workers."""
    context = mp.get_context("spawn")
    budget = TrialBudget(context, trials)
    restore = sigterm_as_interrupt()
    try:
        if workers == 1:
            run_trials(setup, budget)
            return 0
        return _spawn(context, setup, budget, workers)
    finally:
        restore()


def _spawn(context, setup: TuneSetup, budget: TrialBudget, workers: int) -> int:
    processes = [context.Process(target=_worker_main, args=(setup, budget),
                                 name=f"tune-worker-{i}") for i in range(workers)]
    for process in processes:
        process.start()
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        for process in processes:  # their trials end KILLED before they exit
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join()
        raise
    return sum(1 for p in processes if p.exitcode != 0)


def _worker_main(setup: TuneSetup, budget: TrialBudget) -> None:
    """Entry point of a spawned worker: same error conventions as the CLI."""
    from benchmarks.cli import _one_line_warning
    warnings.showwarning = _one_line_warning
    _quiet_optuna()
    sigterm_as_interrupt()
    try:
        run_trials(setup, budget)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


# ---------------------------------------------------------------------- results


def finish(study, setup: TuneSetup, parent, args, crashed: int, seconds: float) -> int:
    """Summarise, attach the study's plots and best config, and print where it went."""
    from optuna.trial import TrialState

    mine = [t for t in study.get_trials(deepcopy=False)
            if t.user_attrs.get("invocation") == setup.parent_run_id]
    counts = {s: sum(t.state == s for t in mine) for s in
              (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
    line = (f"{len(mine)} trials this run: {counts[TrialState.COMPLETE]} complete, "
            f"{counts[TrialState.PRUNED]} pruned, {counts[TrialState.FAIL]} failed "
            f"in {seconds:.0f}s")
    print(f"study {setup.study_name!r} ({redact(setup.storage)}): {line}")
    parent.set_tags({"summary": line})
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if complete:
        _report_best(study, complete, setup, parent, args)
    else:
        print("no trial has completed yet, so there is no best configuration")
    _log_plots(study, parent, len(complete), setup.objective.metric, setup.quiet)
    ok = crashed == 0 and (not mine or len(mine) > counts[TrialState.FAIL])
    if ok:
        parent.finish()
    else:
        parent.fail(RuntimeError(f"{line}; {crashed} worker(s) crashed"))
    return 0 if ok else 1


def _report_best(study, complete: list, setup: TuneSetup, parent, args) -> None:
    best = study.best_trial
    out = Path(args.out or f"reports/{_safe(setup.study_name)}-best.toml")
    text = best_grid_toml(setup, best, out)
    parent.log_text(text, "best_params.toml")
    table = best_by_model_markdown(complete, setup.objective)
    parent.log_text(table, "best_by_model.md")
    parent.set_tags({"best_trial": str(best.number), "best_value": f"{best.value:.6g}"})
    _write_atomic(out, text)
    print(f"best {setup.objective.metric} = {best.value:.4f} (trial {best.number})")
    print(table, end="")
    print(f"wrote {out}; {spec_for(setup.task).then}: python -m benchmarks run {out}")


def best_grid_toml(setup: TuneSetup, best, out: Path) -> str:
    """A grid file ``run`` accepts: the best trial's full config over three seeds."""
    config = dict(best.user_attrs["config"])
    config["train"] = {k: v for k, v in config["train"].items() if k != "seed"}
    header = (f"# Best trial of Optuna study {setup.study_name!r}: trial {best.number}, "
              f"{setup.objective.metric} = {best.value:.6g} (validation split only).\n"
              f"# Then {spec_for(setup.task).then}: python -m benchmarks run {out}\n"
              "# The cheap tuning settings are kept; e.g. --set train.epochs=20 changes them.\n")
    return (header + f'experiment = "tuned-{setup.task}"\n'
            f'description = "Best configuration of study {_safe(setup.study_name)}"\n\n'
            f'[[study]]\ntask = "{setup.task}"\nseeds = [0, 1, 2]\n\n'
            + to_toml(config, prefix="study.config.").lstrip("\n"))


def best_by_model_markdown(complete: list, objective: Objective) -> str:
    """Best complete trial per model.name, so cell types can be compared at a glance."""
    sign = 1 if objective.direction == "maximize" else -1
    best: dict[str, Any] = {}
    for trial in complete:
        name = trial.user_attrs["config"]["model"]["name"]
        if name not in best or sign * trial.value > sign * best[name].value:
            best[name] = trial
    lines = [f"| model.name | trial | {objective.metric} | params |", "|---|---|---|---|"]
    for name, trial in sorted(best.items(), key=lambda item: -sign * item[1].value):
        params = ", ".join(f"{k}={_short(v)}" for k, v in trial.params.items()
                           if k != "model.name")
        lines.append(f"| {name} | {trial.number} | {trial.value:.4f} | {params} |")
    return "\n".join(lines) + "\n"


def _log_plots(study, parent, n_complete: int, metric: str, quiet: bool) -> None:
    """Optimisation history and parameter importances as PNGs; skipped when undefined
    (the history needs one complete trial, the importances two)."""
    from optuna.visualization import matplotlib as optuna_plots

    plots = [("optimization_history.png", optuna_plots.plot_optimization_history, 1),
             ("param_importances.png", optuna_plots.plot_param_importances, 2)]
    for name, draw, needed in plots:
        if n_complete < needed:
            continue
        try:
            with warnings.catch_warnings():  # "few trials per regime": expected early on
                warnings.simplefilter("ignore")
                figure = draw(study, target_name=metric).figure
            figure.set_size_inches(9, 4.8)
            figure.tight_layout()  # Optuna's default layout cuts the dotted key names
            parent.log_figure(figure, name)
        except Exception as exc:  # noqa: BLE001 - a missing plot must not lose the study
            if not quiet:
                print(f"note: skipped {name} ({type(exc).__name__}: {exc})", file=sys.stderr)


def _safe(name: str) -> str:
    """A study name usable in a file name and inside a TOML string."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def _write_atomic(path: Path, text: str) -> None:
    """Write beside, then rename: a crash never leaves a half-written grid file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _start_parent(session, setup: TuneSetup, args):
    """One parent run per invocation: the trials of this command are its children."""
    tags = {"run_kind": "tune", "study_name": setup.study_name, "task": setup.task,
            "objective": setup.objective.metric, "direction": setup.objective.direction,
            "storage": redact(setup.storage), "code_version": setup.code_version}
    parent = session.start_run(setup.experiment_id, f"tune {setup.study_name}", tags)
    params = {"trials": args.trials, "workers": args.workers, "threads": setup.threads,
              "pruner": setup.pruner, "timeout": args.timeout}
    params.update({f"set.{key}": value for key, value in setup.overrides.items()})
    parent.log_params(params)
    return parent
