"""Recurrent sequence classifier: one module, the cell type picked by registry name."""

from __future__ import annotations

import torch
import torch.nn as nn

from models.registry import register_model

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class RecurrentClassifier(nn.Module):
    """Stacked RNN/LSTM/GRU over a (batch, time, features) sequence -> class logits.

    Defaults are the original study's: input size 1, hidden size 2, 3 layers, 2 logits
    read from the last time step. It returns logits only; losses live outside the model.
    """

    def __init__(
        self,
        cell: str = "rnn",
        input_size: int = 1,
        hidden_size: int = 2,
        num_layers: int = 3,
        dropout: float = 0.0,
        num_classes: int = 2,
    ) -> None:
        super().__init__()
        self.cell = cell
        self.rnn = _CELLS[cell](
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:  # (batch, time) -> (batch, time, 1)
            x = x.unsqueeze(-1)
        out, _ = self.rnn(x)
        return self.head(out[:, -1, :])


def _factory(cell: str):
    def build(**kwargs) -> RecurrentClassifier:
        return RecurrentClassifier(cell=cell, **kwargs)

    build.__doc__ = f"{cell.upper()} sequence classifier."
    return build


for _cell in _CELLS:
    register_model(_cell)(_factory(_cell))
