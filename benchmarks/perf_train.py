"""``perf`` sections 1-3 on the training path: the suite's trainer against a minimal
hand-written loop, tracking on against off, and the image adapter against a tensor.

The suite side is the task's own: ``capture_training`` runs a task's ``run_cell`` up to
its call of ``fit`` and keeps the model, optimizer, step, batches and hooks it passes, so
``fit`` then runs with exactly the cell's step and batches (without evaluation, so the
batches alone are timed). The minimal side is a textbook loop on the same model, data and
batch size. The two alternate round by round, so a change of machine load hits both.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from benchmarks.perf_common import NullTracker, StepClock, load1, median, torch_threads
from benchmarks.perf_table import Row, Target
from benchmarks.tasks import covid, faces
from benchmarks.training.loop import BaseHook, fit
from benchmarks.training.seeding import seed_everything
from datasets.covid import CovidDataConfig

HOMEWORK_CSV = "covid/covid_19_homework.csv"
GRID_EPOCHS = 15  # what benchmarks/grids/quick.toml trains a COVID cell for
TRAINER_TARGET = Target(">=", 0.9, ">= 0.90 x minimal")
TRACKING_TARGET = Target("<=", 0.10, "<= 0.10 extra")
DATA_TARGET = Target(">=", 0.9, ">= 0.90 x in-memory")


class _Captured(Exception):
    pass


@dataclass
class Training:
    """What a task's ``run_cell`` hands to ``fit``."""

    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    step: object
    batches: object
    hooks: list
    threads: int  # intra-op threads the cell trains on

    def run_epoch(self, clock: StepClock | None = None) -> float:
        """One epoch through ``fit`` with the cell's step, batches and hooks; seconds."""
        hooks = [*self.hooks, clock] if clock else self.hooks
        batches = clock.wrap(self.batches) if clock else self.batches
        start = time.perf_counter()
        fit(self.model, self.optimizer, self.step, batches, lambda epoch: {}, 1, hooks=hooks)
        return time.perf_counter() - start


def capture_training(task, config, data) -> Training:
    """Run ``task.run_cell`` (tracking off) until it calls ``fit``; keep fit's arguments
    and the number of threads the cell set for training."""
    captured: dict = {}

    def spy(model, optimizer, step, batches, evaluate, epochs, hooks=()):
        captured.update(model=model, optimizer=optimizer, step=step, batches=batches,
                        hooks=list(hooks), threads=torch.get_num_threads())
        raise _Captured

    real = task.fit
    task.fit = spy
    try:
        task.run_cell(config, data, NullTracker(), progress=False)
    except _Captured:
        pass
    finally:
        task.fit = real
    if not captured:
        raise RuntimeError(f"{task.__name__}.run_cell never called fit")
    return Training(**captured)


# ---- COVID: trainer vs minimal loop ------------------------------------------------------

def covid_config(epochs: int) -> covid.CovidConfig:
    """The issue's COVID cell: LSTM, L = 14, batch 64, on the course's file."""
    return covid.CovidConfig(
        data=CovidDataConfig(path=HOMEWORK_CSV, window=14),
        model=covid.RecurrentModelConfig(name="lstm"),
        train=covid.TrainConfig(epochs=epochs, batch_size=64),
    )


class MinimalCovid:
    """A textbook loop: same model and optimizer (the task's ``build``), windows, batch."""

    def __init__(self, config: covid.CovidConfig, data) -> None:
        seed_everything(config.train.seed)
        self.model, self.optimizer = covid.build(config)
        self.x, self.y = torch.from_numpy(data.train.x), torch.from_numpy(data.train.y)
        self.batch = config.train.batch_size

    def run_epoch(self) -> float:
        start = time.perf_counter()
        self.model.train()
        order = torch.randperm(len(self.y))
        for i in range(0, len(order), self.batch):
            idx = order[i : i + self.batch]
            loss = F.cross_entropy(self.model(self.x[idx]), self.y[idx])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return time.perf_counter() - start


def measure_covid_trainer(data, rounds: int) -> tuple[list[Row], int]:
    config = covid_config(epochs=1)
    load = load1()
    suite, minimal = [], []
    training = capture_training(covid, config, data)
    with torch_threads(training.threads):  # what the cell itself trains on
        textbook = MinimalCovid(config, data)
        training.run_epoch()  # warm-up
        textbook.run_epoch()
        for i in range(rounds):  # suite first, then minimal first, ...: drift cancels
            if i % 2 == 0:
                suite.append(training.run_epoch())
                minimal.append(textbook.run_epoch())
            else:
                minimal.append(textbook.run_epoch())
                suite.append(training.run_epoch())
    n = len(data.train_indices(seed=0))
    suite_rate, minimal_rate = n / median(suite), n / median(minimal)
    paired = median([m / s for s, m in zip(suite, minimal)])
    row = Row("1 trainer", "COVID LSTM L=14 batch 64: fit vs minimal loop",
              f"{suite_rate:,.0f} windows/s", f"{minimal_rate:,.0f} windows/s", paired,
              TRAINER_TARGET, f"{training.threads} (as the cell)", load,
              f"median epochs; value = median of {rounds} paired epoch ratios (order "
              f"alternating) after 1 warm-up; {n} windows/epoch")
    return [row], training.threads


# ---- COVID: tracking on vs off -----------------------------------------------------------

class TimedTracker:
    """Wraps a tracker and adds up the seconds spent inside its methods."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.seconds = 0.0

    def __getattr__(self, name: str):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return attr(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed


@dataclass
class CellTiming:
    loop: float  # run_cell start -> fit's end: batches, per-epoch evaluation, metric logging
    after: float  # fit's end -> run ended: baselines, plots, map, artifacts, finish
    setup: float = 0.0  # start_run
    loop_tracking: float = 0.0  # of ``loop``, seconds inside tracker calls
    after_tracking: float = 0.0  # of ``after``, seconds inside tracker calls (and finish)

    @property
    def total(self) -> float:
        return self.setup + self.loop + self.after


class _FitEnd(BaseHook):
    """Last hook: stamps the end of fit and how long the tracker had taken by then."""

    def __init__(self, tracker: TimedTracker) -> None:
        self.tracker, self.end, self.tracking = tracker, float("nan"), 0.0

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self.end, self.tracking = time.perf_counter(), self.tracker.seconds


def timed_cell(task, config, data, tracker, finish=None, setup: float = 0.0) -> CellTiming:
    timed = TimedTracker(tracker)
    clock = _FitEnd(timed)
    start = time.perf_counter()
    task.run_cell(config, data, timed, progress=False, hooks=(clock,))
    if finish is not None:
        getattr(timed, finish)()
    end = time.perf_counter()
    return CellTiming(loop=clock.end - start, after=end - clock.end, setup=setup,
                      loop_tracking=clock.tracking,
                      after_tracking=timed.seconds - clock.tracking)


def measure_tracking(data, epochs: int, repeats: int, threads: int) -> list[Row]:
    """A whole COVID cell with a RunTracker on a temporary sqlite store vs NullTracker.

    Two measures: the seconds spent inside the tracker's calls (exact, unaffected by a
    load change) against the rest of the cell, and the plain on/off wall-time difference.
    """
    from tracking.mlflow_runs import TrackingSession
    from tracking.store import sqlite_uri

    config = covid_config(epochs)
    load = load1()
    off, on = [], []
    with tempfile.TemporaryDirectory(prefix="perf-tracking-") as tmp:
        session = TrackingSession(sqlite_uri(Path(tmp) / "mlflow.db"))
        experiment = session.experiment_id("perf-tracking")

        def tracked() -> CellTiming:
            start = time.perf_counter()
            run = session.start_run(experiment, "perf covid", {"run_kind": "perf"})
            setup = time.perf_counter() - start
            return timed_cell(covid, config, data, run, finish="finish", setup=setup)

        # warm-up: imports, and the correlation heatmaps every cell on this data shares
        timed_cell(covid, covid_config(1), data, NullTracker())
        for i in range(repeats):  # alternating, first on then off, then off then on, ...
            pair = (lambda: on.append(tracked()),
                    lambda: off.append(timed_cell(covid, config, data, NullTracker())))
            for run in pair if i % 2 == 0 else pair[::-1]:
                run()

    def med(runs, key):
        return median([getattr(t, key) for t in runs])

    threads = f"{threads} (as the cell)"
    name = "COVID cell, MLflow sqlite"
    loop_in, loop_rest = med(on, "loop_tracking") / epochs, (
        med(on, "loop") - med(on, "loop_tracking")) / epochs
    after_in = med(on, "after_tracking") + med(on, "setup")
    after_rest = med(on, "after") - med(on, "after_tracking")
    ab_loop = med(on, "loop") / med(off, "loop") - 1
    ab_after = (med(on, "after") + med(on, "setup")) / med(off, "after") - 1
    ab_total = med(on, "total") / med(off, "total") - 1
    pairs = f"median of {repeats} on/off pair(s) after a warm-up cell"

    def whole(n_epochs: int) -> tuple[float, float]:
        return n_epochs * loop_in + after_in, n_epochs * loop_rest + after_rest

    rows = [
        Row("2 tracking", f"{name}: training loop per epoch (metric logging)",
            f"{loop_in * 1000:.0f} ms in MLflow calls", f"{loop_rest:.2f} s rest of loop",
            loop_in / loop_rest, TRACKING_TARGET, threads, load,
            f"loop = batches + per-epoch eval; on/off wall {ab_loop:+.1%}; {pairs}"),
        Row("2 tracking", f"{name}: artifacts after fit (figures to PNG, writes, finish)",
            f"{after_in:.2f} s in MLflow calls", f"{after_rest:.2f} s drawing, baselines",
            after_in / after_rest, None, threads, load,
            f"plots and map are drawn with tracking off too; on/off wall {ab_after:+.1%}"),
    ]
    for n_epochs, label in ((GRID_EPOCHS, "quick.toml"), (epochs, "as measured")):
        tracking, rest = whole(n_epochs)
        note = ("from the two rows above" if n_epochs != epochs
                else f"on/off wall {ab_total:+.1%} ({med(on, 'total'):.1f} s vs "
                     f"{med(off, 'total'):.1f} s)")
        target = TRACKING_TARGET if n_epochs == GRID_EPOCHS else None  # short: artifacts
        rows.append(Row("2 tracking", f"{name}: whole cell, {n_epochs} epochs ({label})",
                        f"{tracking:.2f} s in MLflow calls", f"{rest:.1f} s rest",
                        tracking / rest, target, threads, load, note))
    return rows


def measure_covid(data_dir: Path | None, rounds: int, epochs: int, repeats: int) -> list[Row]:
    """Section 1 (COVID trainer) and section 2 (tracking overhead) on one loaded dataset."""
    data = covid.load_data(covid_config(epochs), data_dir)
    rows, threads = measure_covid_trainer(data, rounds)
    return rows + measure_tracking(data, epochs, repeats, threads)


# ---- faces: trainer vs minimal loop, adapter vs in-memory tensor -------------------------

def faces_config(limit: int) -> faces.FacesConfig:
    """The original VAE (vae_fc), batch 64, on the first ``limit`` images."""
    return faces.FacesConfig(data=faces.FacesDataConfig(limit=limit),
                             train=faces.VaeTrainConfig(epochs=1, batch_size=64))


class MinimalFaces:
    """A textbook VAE loop (BCE summed over pixels + KL, batch mean) on the same model
    (the task's ``build``), images and batch size."""

    def __init__(self, config: faces.FacesConfig, images: torch.Tensor) -> None:
        seed_everything(config.train.seed)
        self.model, self.optimizer = faces.build(config)
        self.images, self.batch = images, config.train.batch_size
        self.beta = config.loss.kl_weight

    def run_epoch(self) -> list[float]:
        """Seconds of each full-batch step of one epoch."""
        self.model.train()
        order = torch.randperm(len(self.images))
        times = []
        for i in range(0, len(order) - self.batch + 1, self.batch):
            start = time.perf_counter()
            x = self.images[order[i : i + self.batch]]
            recon, mu, logvar = self.model(x)
            rec = F.binary_cross_entropy(recon, x, reduction="sum") / len(x)
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / len(x)
            loss = rec + self.beta * kl
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            times.append(time.perf_counter() - start)
        return times


def measure_faces(data_dir: Path | None, limit: int, rounds: int) -> list[Row]:
    """Section 1 (faces trainer) and section 3 (image adapter vs a tensor in memory)."""
    config = faces_config(limit)
    faces.load_data(config, data_dir)  # warm-up: on a cold cache this decodes and stores
    load_seconds = []
    for _ in range(3):
        start = time.perf_counter()
        data = faces.load_data(config, data_dir)
        load_seconds.append(time.perf_counter() - start)
    in_memory = faces.FacesData(source=data.source, names=data.names,
                                train=torch.rand(data.train.shape), val=data.val,
                                from_cache=False)
    n, batch = len(data.train), config.train.batch_size
    load = load1()
    steps: dict[str, list[float]] = {"adapter": [], "minimal": [], "memory": []}
    suites = {"adapter": capture_training(faces, config, data),
              "memory": capture_training(faces, config, in_memory)}
    threads = suites["adapter"].threads
    with torch_threads(threads), faces.reuse_freed_memory():  # as the cell trains
        textbook = MinimalFaces(config, data.train[:])  # float, as a textbook keeps it
        suites["adapter"].run_epoch()  # warm-up: the heap grows to its working size
        textbook.run_epoch()  # and the same for the minimal loop's own temporaries
        names = list(steps)
        for round_ in range(rounds):
            for name in names[round_ % 3:] + names[: round_ % 3]:  # order rotates
                if name == "minimal":
                    times = textbook.run_epoch()
                else:
                    clock = StepClock()
                    suites[name].run_epoch(clock)
                    times = clock.step_seconds(n, batch)
                steps[name] += times[1:]  # each epoch's first step: a warm-up
    minimal = steps["minimal"]
    suite_rate, minimal_rate = batch / median(steps["adapter"]), batch / median(minimal)
    common = (f"{n} training images; after a warm-up epoch of each loop, {rounds} round(s) "
              "of one epoch each, order rotating, first step of each dropped")
    rows = [Row("1 trainer", "faces vae_fc batch 64: fit vs minimal loop",
                f"{suite_rate:.1f} images/s", f"{minimal_rate:.1f} images/s",
                suite_rate / minimal_rate, TRAINER_TARGET, f"{threads} (as the cell)", load,
                f"median step of {len(steps['adapter'])} vs {len(minimal)}; {common}")]
    epoch_steps = n / batch
    adapter_epoch = median(load_seconds) + epoch_steps * median(steps["adapter"])
    memory_epoch = epoch_steps * median(steps["memory"])
    rows.append(Row(
        "3 data path", "faces fed by the image adapter (cache warm) vs a tensor in memory",
        f"{n / adapter_epoch:.1f} images/s", f"{n / memory_epoch:.1f} images/s",
        memory_epoch / adapter_epoch, DATA_TARGET, f"{threads} (as the cell)", load,
        f"epoch = adapter load ({median(load_seconds):.2f} s, median of 3) + steps; "
        f"{common}"))
    return rows
