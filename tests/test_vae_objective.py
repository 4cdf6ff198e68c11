"""VAE loss terms against hand-computed values, and the evaluation metrics."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import models  # noqa: F401  (registers the VAEs)
from benchmarks.errors import UserError
from benchmarks.training.vae_objective import (
    active_units,
    bernoulli_nll_per_image,
    importance_weighted_nll,
    kl_per_image,
    vae_loss,
)
from models.registry import build_model


def test_kl_hand_computed():
    mu = torch.tensor([[1.0, 0.0], [0.5, -2.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)], [-1.0, 0.0]])
    # row 0: 0.5 * [(1 + 1 - 1 - 0) + (0 + 2 - 1 - ln 2)] = 0.5 * (2 - 0.693147) = 0.653426
    # row 1: 0.5 * [(0.25 + e^-1 - 1 + 1) + (4 + 1 - 1 - 0)] = 0.5 * 4.617879 = 2.308940
    expected = torch.tensor([0.653426, 2.308940])
    torch.testing.assert_close(kl_per_image(mu, logvar), expected, atol=1e-5, rtol=0)


def test_kl_is_zero_for_standard_normal_posterior():
    zeros = torch.zeros(4, 32)
    torch.testing.assert_close(kl_per_image(zeros, zeros), torch.zeros(4))


def test_bce_hand_computed():
    recon = torch.tensor([[[[0.9, 0.2]]], [[[0.5, 0.5]]]])
    x = torch.tensor([[[[1.0, 0.0]]], [[[0.5, 1.0]]]])
    # image 0: -ln 0.9 - ln 0.8 = 0.105361 + 0.223144 = 0.328504
    # image 1: -(0.5 ln 0.5 + 0.5 ln 0.5) - ln 0.5 = 2 ln 2 = 1.386294
    expected = torch.tensor([0.328504, 1.386294])
    torch.testing.assert_close(bernoulli_nll_per_image(recon, x), expected, atol=1e-5, rtol=0)


def test_bce_stays_finite_for_saturated_outputs():
    recon = torch.tensor([[0.0, 1.0]])
    x = torch.tensor([[1.0, 0.0]])
    assert torch.isfinite(bernoulli_nll_per_image(recon, x)).all()


def _random_batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    shape = (4, 3, 8, 8)
    recon, x = torch.rand(shape, generator=g), torch.rand(shape, generator=g)
    mu, logvar = torch.randn(4, 6, generator=g), torch.randn(4, 6, generator=g)
    return recon, x, mu, logvar


def test_loss_terms_and_beta():
    recon, x, mu, logvar = _random_batch()
    rec = bernoulli_nll_per_image(recon, x).mean()
    kl = kl_per_image(mu, logvar).mean()
    zero = vae_loss(recon, x, mu, logvar, beta=0.0)
    torch.testing.assert_close(zero["objective"], rec)
    torch.testing.assert_close(zero["recon"], rec)
    torch.testing.assert_close(zero["kl"], kl)
    hundred = vae_loss(recon, x, mu, logvar, beta=100.0)
    torch.testing.assert_close(hundred["objective"], rec + 100.0 * kl)
    for out in (zero, hundred):  # the true negative ELBO does not depend on beta
        torch.testing.assert_close(out["neg_elbo"], rec + kl)


def test_only_objective_carries_gradient():
    recon, x, mu, logvar = _random_batch()
    mu.requires_grad_(True)
    out = vae_loss(recon, x, mu, logvar, beta=1.0)
    assert out["objective"].requires_grad
    assert not any(out[k].requires_grad for k in ("neg_elbo", "recon", "kl"))


@pytest.mark.parametrize("beta", [-1.0, -1e-9, float("nan")])
def test_bad_beta_is_user_error(beta):
    with pytest.raises(UserError, match="beta"):
        vae_loss(*_random_batch(), beta=beta)


@pytest.fixture(scope="module")
def small_vae():
    torch.manual_seed(0)
    return build_model("vae_conv", image_size=16, latent_dim=8)


def test_importance_weighted_nll_tightens_with_k(small_vae):
    """E[k=1 estimate] = negative ELBO >= E[k=50 estimate]. The untrained gap is small (~0.02
    nats/image), so k=1 is averaged over 64 images x 50 repeats to push noise to ~0.004."""
    x = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)
    k1 = torch.stack([importance_weighted_nll(small_vae, x, k=1) for _ in range(50)])
    k50 = importance_weighted_nll(small_vae, x, k=50)
    assert k1.shape == (50, 64) and k50.shape == (64,)
    assert torch.isfinite(k1).all() and torch.isfinite(k50).all()
    assert k1.mean() > k50.mean()
    assert small_vae.training  # evaluation restored the previous mode


def test_importance_weighted_nll_chunks_batch_and_samples(small_vae):
    x = torch.rand(7, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(4)
    out = importance_weighted_nll(small_vae, x, k=5, max_images=3)
    assert out.shape == (7,) and torch.isfinite(out).all()
    with pytest.raises(UserError):
        importance_weighted_nll(small_vae, x, k=0)


def test_importance_weighted_nll_does_not_depend_on_the_decode_bound(small_vae):
    """Decoding 7 images at a time (5 chunks of one sample each) gives the estimate of one
    decode of all 35, and every chunk reuses one encoding of the batch."""
    x = torch.rand(7, 3, 16, 16, generator=torch.Generator().manual_seed(5))
    encodes = []
    real_encode = small_vae.encode

    def counting_encode(images):
        encodes.append(len(images))
        return real_encode(images)

    small_vae.encode = counting_encode
    try:
        torch.manual_seed(6)
        chunked = importance_weighted_nll(small_vae, x, k=5, max_images=7)
        torch.manual_seed(6)
        whole = importance_weighted_nll(small_vae, x, k=5, max_images=35)
    finally:
        del small_vae.encode
    assert encodes == [7, 7]
    torch.testing.assert_close(chunked, whole, rtol=1e-6, atol=1e-3)


def test_importance_weighted_nll_with_one_sample_is_the_negative_elbo_of_that_sample():
    """k = 1: -log w = recon NLL + log q(z|x) - log p(z) for the one z drawn, which for a
    decoder that ignores z is the recon NLL plus a hand-computable Gaussian term."""
    model = _ConstantDecoderVae(mu=0.5, logvar=math.log(0.25), pixel=0.8)
    x = torch.full((2, 3, 2, 2), 1.0)
    torch.manual_seed(7)
    out = importance_weighted_nll(model, x, k=1)
    torch.manual_seed(7)
    eps = torch.randn(1, 2, 1)
    z = 0.5 + 0.5 * eps
    log_q = -0.5 * (eps**2 + math.log(0.25) + math.log(2 * math.pi))
    log_p = -0.5 * (z**2 + math.log(2 * math.pi))
    expected = 12 * -math.log(0.8) + (log_q - log_p).view(2)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


class _ConstantDecoderVae(nn.Module):
    """encode -> fixed (mu, logvar) in one latent dim; decode -> every pixel ``pixel``."""

    def __init__(self, mu: float, logvar: float, pixel: float) -> None:
        super().__init__()
        self.mu, self.logvar, self.pixel = mu, logvar, pixel
        self.anchor = nn.Parameter(torch.zeros(1))

    def encode(self, x):
        n = len(x)
        return torch.full((n, 1), self.mu), torch.full((n, 1), self.logvar)

    def decode(self, z):
        return torch.full((len(z), 3, 2, 2), self.pixel)


def test_active_units_zero_when_mean_head_is_zeroed():
    torch.manual_seed(0)
    model = build_model("vae_conv", image_size=16, latent_dim=8)
    with torch.no_grad():
        model.mu_head[-1].weight.zero_()
        model.mu_head[-1].bias.zero_()
    assert active_units(model, torch.rand(20, 3, 16, 16)) == 0


class _ScaledIdentity(nn.Module):
    """A real encoder whose posterior means are x scaled per dimension."""

    def __init__(self, scales: list[float]) -> None:
        super().__init__()
        self.register_buffer("scales", torch.tensor(scales))

    def encode(self, x: torch.Tensor):
        return x * self.scales, torch.zeros_like(x)


def test_active_units_counts_dims_above_threshold():
    x = torch.randn(2000, 3, generator=torch.Generator().manual_seed(0))
    model = _ScaledIdentity([1.0, 0.05, 0.2])  # variances ~1, ~0.0025, ~0.04
    assert active_units(model, x) == 2
    loader = [(batch, torch.zeros(len(batch))) for batch in x.split(300)]
    assert active_units(model, loader) == 2
    assert active_units(model, x, threshold=0.5) == 1
