"""One generic training loop for every study; what to log or plot is left to hooks.

The loop knows nothing of tasks: a ``step`` turns a batch into a loss (plus values worth
logging), ``evaluate`` returns the epoch's metrics, and hooks receive both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Protocol

import torch

StepFn = Callable[[torch.nn.Module, object], tuple[torch.Tensor, dict[str, float]]]


class DivergedError(RuntimeError):
    """Training produced a non-finite loss; the cell is failed rather than kept."""


class Hook(Protocol):
    def on_batch_end(self, iteration: int, values: dict[str, float]) -> None: ...

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None: ...


class BaseHook:
    """No-op hook to subclass, so hooks implement only what they need."""

    def on_batch_end(self, iteration: int, values: dict[str, float]) -> None:
        pass

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        pass


class RecordEpochs(BaseHook):
    """Keep each epoch's metrics in ``history`` and send them to the tracker (step = epoch)."""

    def __init__(self, history, tracker) -> None:
        self.history = history
        self.tracker = tracker

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        self.history.add(epoch, metrics)
        self.tracker.log_metrics(metrics, step=epoch)


def fit(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    step: StepFn,
    batches: Callable[[int], Iterable],
    evaluate: Callable[[int], dict[str, float]],
    epochs: int,
    hooks: Iterable[Hook] = (),
) -> dict[str, float]:
    """Train for ``epochs`` epochs; return the last epoch's metrics.

    ``batches(epoch)`` yields that epoch's batches (so shuffling can be seeded per epoch).
    A hook may raise ``StopIteration`` from ``on_epoch_end`` to stop early (pruning).
    """
    hooks = list(hooks)
    iteration = 0
    metrics: dict[str, float] = {}
    for epoch in range(1, epochs + 1):
        model.train()
        for batch in batches(epoch):
            loss, values = step(model, batch)
            if not math.isfinite(loss.item()):
                raise DivergedError(f"loss became {loss.item()} at epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            iteration += 1
            for hook in hooks:
                hook.on_batch_end(iteration, values)
        model.eval()
        with torch.no_grad():
            metrics = evaluate(epoch)
        try:
            for hook in hooks:
                hook.on_epoch_end(epoch, metrics)
        except StopIteration:
            break
    return metrics
