"""Plain nn.Modules: sequence classifiers and VAEs. Importing this package registers them."""

from models import (
    recurrent,  # noqa: F401  (registers rnn, lstm, gru)
    vae,  # noqa: F401
)
from models.registry import build_model, model_names, register_model

__all__ = ["build_model", "model_names", "register_model"]
