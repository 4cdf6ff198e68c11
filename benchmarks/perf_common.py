"""Shared pieces of ``perf``: clocks, thread settings, load average, a do-nothing tracker."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager

import torch

from benchmarks.training.loop import BaseHook


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load1() -> float:
    """The 1-minute load average (what ``uptime`` shows first); NaN where unknown."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


@contextmanager
def torch_threads(n: int):
    """Run a measurement with exactly ``n`` intra-op threads, restoring the setting after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(previous)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def repeat_timed(fn: Callable[[], object], warmup: int, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


class StepClock(BaseHook):
    """A training hook that timestamps every batch end; ``wrap(batches)`` also stamps the
    start of each epoch's batches, so every step of an epoch is timed.

    A step's time runs from the previous stamp to its batch end, so it includes fetching
    its batch and the hooks before this one.
    """

    def __init__(self) -> None:
        self.epochs: list[list[float]] = []  # per epoch: start stamp, then batch ends

    def wrap(self, batches):
        def timed(epoch: int):
            self.epochs.append([time.perf_counter()])
            yield from batches(epoch)

        return timed

    def on_batch_end(self, iteration: int, values: dict[str, float]) -> None:
        self.epochs[-1].append(time.perf_counter())

    def step_seconds(self, n_items: int, batch_size: int) -> list[float]:
        """Durations of every full-batch step (a partial last batch is left out)."""
        out: list[float] = []
        partial = n_items % batch_size != 0
        for stamps in self.epochs:
            steps = [b - a for a, b in zip(stamps, stamps[1:])]
            out += steps[:-1] if partial and steps else steps
        return out


class NullTracker:
    """Tracking off: the methods a task's ``run_cell`` calls, doing nothing."""

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        pass

    def log_figure(self, figure, artifact_file: str) -> None:
        import matplotlib.pyplot as plt

        plt.close(figure)  # free it, as RunTracker does after rendering

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        pass

    def log_text(self, text: str, artifact_file: str) -> None:
        pass

    def log_image(self, image, artifact_file: str) -> None:
        pass

    def log_model_state(self, state_dict: dict, artifact_file: str) -> None:
        pass

    def flush(self) -> None:
        pass
