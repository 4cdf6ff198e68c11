"""VAE loss terms and evaluation metrics, all in nats per image.

Plain functions, so the training loop can log the optimised objective (with its beta) and
the true negative ELBO (beta = 1) side by side, keeping runs with different beta comparable.
A model here is anything with ``encode(x) -> (mu, logvar)`` and ``decode(z) -> means``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.errors import UserError

_LOG_2PI = math.log(2.0 * math.pi)


def kl_per_image(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dims -> (batch,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).flatten(1).sum(dim=1)


def bernoulli_nll_per_image(recon: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) for Bernoulli means ``recon``, summed over pixels -> (batch,).

    F.binary_cross_entropy clamps its logs at -100, so saturated outputs stay finite.
    """
    bce = F.binary_cross_entropy(recon, x, reduction="none")
    return bce.flatten(1).sum(dim=1)


def check_beta(beta: float) -> float:
    if not math.isfinite(beta) or beta < 0:
        raise UserError(f"KL weight beta must be a finite number >= 0, got {beta!r}")
    return float(beta)


def vae_loss(
    recon: torch.Tensor,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
) -> dict[str, torch.Tensor]:
    """Batch means: 'objective' (recon + beta*KL, backprop this), 'neg_elbo', 'recon', 'kl'."""
    beta = check_beta(beta)
    rec = bernoulli_nll_per_image(recon, x)
    kl = kl_per_image(mu, logvar)
    return {
        "objective": (rec + beta * kl).mean(),
        "neg_elbo": (rec + kl).mean().detach(),
        "recon": rec.mean().detach(),
        "kl": kl.mean().detach(),
    }


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode (BatchNorm running stats) and no grad, restoring the previous mode after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def _device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _batches(data: torch.Tensor | Iterable, batch_size: int = 256) -> Iterator[torch.Tensor]:
    """Image batches from a tensor (chunked) or a loader yielding tensors or (x, ...) tuples."""
    if isinstance(data, torch.Tensor):
        yield from data.split(batch_size)
        return
    for batch in data:
        yield batch[0] if isinstance(batch, (tuple, list)) else batch


def active_units(model: nn.Module, data: torch.Tensor | Iterable, threshold: float = 0.01) -> int:
    """Latent dims whose posterior mean varies across data: Var_x(E_q[z|x]) > threshold.

    Burda et al. (2016): inactive dims carry no information about x.
    """
    with evaluating(model):
        device = _device(model)
        mus = [model.encode(x.to(device))[0] for x in _batches(data)]
    if not mus:
        raise ValueError("active_units needs at least one image")
    variance = torch.cat(mus).var(dim=0, correction=0)
    return int((variance > threshold).sum().item())


def _log_weights(model: nn.Module, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                 eps: torch.Tensor) -> torch.Tensor:
    """log p(x|z) + log p(z) - log q(z|x) for z = mu + sigma * eps, eps (samples, B, latent)
    -> (samples, B)."""
    z = mu + torch.exp(0.5 * logvar) * eps
    log_q = -0.5 * (eps.pow(2) + logvar + _LOG_2PI).sum(dim=-1)
    log_p_z = -0.5 * (z.pow(2) + _LOG_2PI).sum(dim=-1)
    recon = model.decode(z.flatten(0, 1))
    x_rep = x.expand(eps.shape[0], *x.shape).flatten(0, 1)
    log_p_x = -bernoulli_nll_per_image(recon, x_rep).view(eps.shape[0], -1)
    return log_p_x + log_p_z - log_q


def _iw_nll_batch(model: nn.Module, x: torch.Tensor, k: int, max_images: int) -> torch.Tensor:
    """IWAE estimate for one batch: encode it once and draw all k samples at once, then
    decode at most ``max_images`` images at a time, so the memory bound changes neither
    the cost of encoding nor the random draws."""
    mu, logvar = model.encode(x)
    eps = torch.randn((k, *mu.shape), device=mu.device, dtype=mu.dtype)
    per_chunk = max(1, max_images // x.shape[0])
    chunks = [_log_weights(model, x, mu, logvar, e) for e in eps.split(per_chunk)]
    return -(torch.logsumexp(torch.cat(chunks), dim=0) - math.log(k))


def importance_weighted_nll(
    model: nn.Module, x: torch.Tensor, k: int = 50, max_images: int = 2048
) -> torch.Tensor:
    """Estimate of -log p(x) per image (Burda et al. IWAE bound) with k posterior samples.

    k = 1 is the negative ELBO; larger k gives a tighter (lower) upper bound on -log p(x).
    Memory is bounded by decoding at most ``max_images`` images at once.
    """
    if k < 1:
        raise UserError(f"number of importance samples must be >= 1, got {k!r}")
    if x.shape[0] == 0:
        return x.new_zeros(0)
    with evaluating(model):
        x = x.to(_device(model))
        batch = max(1, min(x.shape[0], max_images))
        return torch.cat([_iw_nll_batch(model, xb, k, max_images) for xb in x.split(batch)])
