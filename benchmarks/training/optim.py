"""Optimizers by name, so a grid can sweep them as plain strings."""

from __future__ import annotations

import torch

from benchmarks.errors import UserError

OPTIMIZERS = ("adam", "sgd")


def build_optimizer(name: str, params, lr: float, momentum: float = 0.0,
                    weight_decay: float = 0.0) -> torch.optim.Optimizer:
    if lr <= 0:
        raise UserError(f"train.lr must be > 0, got {lr}")
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise UserError(f"unknown optimizer {name!r} (train.optimizer); "
                    f"valid: {', '.join(OPTIMIZERS)}")


def check_training(epochs: int, batch_size: int) -> None:
    if epochs < 1:
        raise UserError(f"train.epochs must be >= 1, got {epochs}")
    if batch_size < 1:
        raise UserError(f"train.batch_size must be >= 1, got {batch_size}")
