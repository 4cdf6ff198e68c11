"""Every registered model through one forward pass; registry errors; study defaults."""

from __future__ import annotations

import pytest
import torch

import models
from benchmarks.errors import UserError
from models.registry import _MODELS, build_model

RECURRENT = {"rnn", "lstm", "gru"}
VAES = {"vae_fc", "vae_conv"}


def _shipped() -> list[str]:
    """Models registered by the models package (tests may register throwaway ones)."""
    return [n for n in models.model_names() if _MODELS[n].__module__.startswith("models.")]


def test_registry_holds_the_known_models():
    assert set(_shipped()) == RECURRENT | VAES
    assert models.model_names() == sorted(models.model_names())


@pytest.mark.parametrize("name", _shipped())
def test_forward_pass(name):
    torch.manual_seed(0)
    if name in RECURRENT:
        model = build_model(name)
        x = torch.randn(4, 7)
        logits = model(x)
        assert logits.shape == (4, 2)
        torch.testing.assert_close(model(x.unsqueeze(-1)), logits)  # (batch, L, 1) input
        assert torch.isfinite(logits).all()
        logits.sum().backward()  # gradients reach the recurrent weights
        assert all(p.grad is not None for p in model.parameters())
    elif name in VAES:
        recon, mu, logvar = build_model(name, image_size=16)(torch.rand(2, 3, 16, 16))
        assert recon.shape == (2, 3, 16, 16)
        assert mu.shape == logvar.shape == (2, 32)
    else:
        pytest.fail(f"model {name!r} is registered but this test does not know its kind")


@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_original_study_defaults(name):
    model = build_model(name)
    assert model.rnn.input_size == 1
    assert model.rnn.hidden_size == 2
    assert model.rnn.num_layers == 3
    assert model.rnn.batch_first
    assert model.head.in_features == 2 and model.head.out_features == 2
    assert model.cell == name


@pytest.mark.parametrize("name", sorted(RECURRENT))
def test_logits_come_from_the_last_time_step(name):
    torch.manual_seed(0)
    model = build_model(name, hidden_size=4, num_layers=1).eval()
    x = torch.randn(3, 6)
    out, _ = model.rnn(x.unsqueeze(-1))
    torch.testing.assert_close(model(x), model.head(out[:, -1, :]))


def test_options_are_passed_through():
    model = build_model("gru", hidden_size=8, num_layers=2, dropout=0.1)
    assert model.rnn.hidden_size == 8 and model.rnn.num_layers == 2
    assert model.rnn.dropout == pytest.approx(0.1)
    assert build_model("lstm", num_layers=1, dropout=0.5).rnn.dropout == 0.0  # 1 layer: none
    assert isinstance(build_model("lstm").rnn, torch.nn.LSTM)
    assert isinstance(build_model("rnn").rnn, torch.nn.RNN)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(UserError) as err:
        build_model("transformer")
    assert str(err.value) == ("unknown model 'transformer' (model.name); valid models: "
                              + ", ".join(models.model_names()))
