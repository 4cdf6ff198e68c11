"""VAE models: registry names, output shapes, the original parameter count, size checks."""

from __future__ import annotations

import pytest
import torch

import models  # noqa: F401  (registers the VAEs)
from benchmarks.errors import UserError
from models.registry import build_model, model_names


def _n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _linear(i: int, o: int) -> int:
    return i * o + o


def _conv(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out


def test_both_vaes_are_registered():
    assert {"vae_fc", "vae_conv"} <= set(model_names())


@pytest.mark.parametrize(("name", "size"), [("vae_fc", 64), ("vae_conv", 64), ("vae_conv", 32)])
def test_forward_shapes_and_ranges(name, size):
    torch.manual_seed(0)
    model = build_model(name, image_size=size)
    x = torch.rand(3, 3, size, size)
    recon, mu, logvar = model(x)
    assert recon.shape == (3, 3, size, size)
    assert mu.shape == logvar.shape == (3, 32) and model.latent_dim == 32
    assert 0.0 <= recon.min() and recon.max() <= 1.0
    assert model.decode(torch.zeros(2, 32)).shape == (2, 3, size, size)
    enc_mu, enc_logvar = model.encode(x)
    torch.testing.assert_close(enc_mu, mu)
    torch.testing.assert_close(enc_logvar, logvar)


def test_forward_samples_even_in_eval_mode():
    torch.manual_seed(0)
    model = build_model("vae_conv", image_size=32, latent_dim=4).eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert not torch.equal(model(x)[0], model(x)[0])


def test_vae_fc_parameter_count_matches_layer_shapes():
    encoder = _conv(3, 64, 3) + 2 * 64 + _conv(64, 128, 3) + 2 * 128  # conv + BN(weight, bias)
    head = _linear(128 * 8 * 8, 256) + _linear(256, 100) + _linear(100, 32)
    decoder = _linear(32, 128) + _linear(128, 512) + _linear(512, 1024) + _linear(1024, 64 * 64 * 3)
    expected = encoder + 2 * head + decoder
    assert expected == 17_519_496
    assert _n_params(build_model("vae_fc")) == expected


def test_latent_dim_is_configurable():
    model = build_model("vae_fc", image_size=16, latent_dim=5)
    _, mu, _ = model(torch.rand(2, 3, 16, 16))
    assert mu.shape == (2, 5) and model.latent_dim == 5


@pytest.mark.parametrize("name", ["vae_fc", "vae_conv"])
@pytest.mark.parametrize("size", [60, 4, 0])
def test_image_size_not_multiple_of_8_is_user_error(name, size):
    with pytest.raises(UserError, match=rf"image_size {size} .*multiple of 8"):
        build_model(name, image_size=size)


def test_wrong_input_size_is_user_error():
    model = build_model("vae_conv", image_size=32)
    with pytest.raises(UserError, match="image size"):
        model(torch.rand(1, 3, 64, 64))
