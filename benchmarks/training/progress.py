"""A tqdm bar over a cell's epochs, as a training hook, that a quiet run can switch off."""

from __future__ import annotations

import sys

from tqdm import tqdm

from benchmarks.training.loop import BaseHook

SHOWN = ("train_loss", "test_f1", "val_f1", "val_neg_elbo", "train_neg_elbo")


class EpochProgress(BaseHook):
    def __init__(self, epochs: int, enabled: bool = True, desc: str = "epochs") -> None:
        self.bar = tqdm(total=epochs, desc=desc, leave=False, disable=not enabled,
                        file=sys.stderr, dynamic_ncols=True)

    def on_epoch_end(self, epoch: int, metrics: dict[str, float]) -> None:
        shown = {k: f"{metrics[k]:.3g}" for k in SHOWN if k in metrics}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
