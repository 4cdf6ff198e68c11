"""Optimisation settings shared by every study (a study may change the defaults)."""

from dataclasses import dataclass


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 64
    optimizer: str = "adam"  # adam | sgd
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    seed: int = 0
