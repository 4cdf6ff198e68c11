"""Variational autoencoders for square RGB images: the original study's and an improved one.

Both share the original convolutional encoder and differ only in the decoder: ``vae_fc``
(fully connected, the original study's) and ``vae_conv`` (transposed convolutions, which
keep spatial structure and need far fewer parameters). Models return
(reconstruction, mu, logvar); the loss lives in benchmarks.training.vae_objective.
"""

from __future__ import annotations

import torch
from torch import nn

from benchmarks.errors import UserError
from models.registry import register_model


def check_image_size(image_size: int) -> int:
    """The encoder halves the side three times, so the side must be a multiple of 8."""
    if isinstance(image_size, bool) or not isinstance(image_size, int):
        raise UserError(f"image_size must be an integer, got {image_size!r}")
    if image_size < 8 or image_size % 8:
        raise UserError(
            f"image_size {image_size} is not supported: it must be a positive multiple of 8"
        )
    return image_size


def _conv_trunk() -> nn.Sequential:
    """Original encoder body: side S -> 128 channels at S/8 (for S=64: 128x8x8).

    Each block is conv + BatchNorm + ReLU + max-pool 2, computed as max-pool then ReLU:
    ReLU is monotone, so max(relu(a), relu(b)) = relu(max(a, b)) exactly, values and
    gradients alike, but the ReLU (and its backward) then touch a quarter of the
    activations. Layer indices, hence ``state_dict`` keys, are those of the original order.
    """
    return nn.Sequential(
        nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1),
        nn.BatchNorm2d(64),
        nn.MaxPool2d(2),
        nn.ReLU(inplace=True),  # in place on the pooled map, which max-pool does not keep
        nn.Conv2d(64, 128, kernel_size=3, stride=2, padding=1),
        nn.BatchNorm2d(128),
        nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
        nn.Flatten(),
    )


def _head(in_features: int, latent_dim: int, act: type[nn.Module]) -> nn.Sequential:
    """in -> 256 -> 100 -> latent, the original study's mean / log-variance head."""
    return nn.Sequential(
        nn.Linear(in_features, 256),
        act(),
        nn.Linear(256, 100),
        act(),
        nn.Linear(100, latent_dim),
    )


def _fc_decoder(latent_dim: int, image_size: int) -> nn.Sequential:
    """Original decoder: latent -> 128 -> 512 -> 1024 -> 3*S*S, sigmoid, reshaped."""
    return nn.Sequential(
        nn.Linear(latent_dim, 128),
        nn.ReLU(),
        nn.Linear(128, 512),
        nn.ReLU(),
        nn.Linear(512, 1024),
        nn.ReLU(),
        nn.Linear(1024, 3 * image_size * image_size),
        nn.Sigmoid(),
        nn.Unflatten(1, (3, image_size, image_size)),
    )


def _up(c_in: int, c_out: int) -> list[nn.Module]:
    """Double the side: ConvTranspose k4 s2 p1 + BatchNorm + ReLU."""
    return [
        nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    ]


def _conv_decoder(latent_dim: int, image_size: int) -> nn.Sequential:
    """Improved decoder: latent -> 128 x S/8 x S/8, then three 2x transposed convolutions."""
    side = image_size // 8
    return nn.Sequential(
        nn.Linear(latent_dim, 128 * side * side),
        nn.ReLU(),
        nn.Unflatten(1, (128, side, side)),
        *_up(128, 64),
        *_up(64, 32),
        nn.ConvTranspose2d(32, 3, kernel_size=4, stride=2, padding=1),
        nn.Sigmoid(),
    )


class VAE(nn.Module):
    """Gaussian encoder q(z|x) = N(mu, diag(exp(logvar))) plus a Bernoulli-mean decoder."""

    # The encoder sees its input channels-last: on CPU (oneDNN) the convolutions,
    # batch norms and max-pools of the 64-channel full-resolution stage run faster in that
    # layout (``python -m benchmarks perf`` measures it). Values agree with the default
    # layout up to float rounding; parameters and outputs keep their usual layout.
    input_memory_format = torch.channels_last

    def __init__(self, decoder: nn.Module, image_size: int, latent_dim: int) -> None:
        super().__init__()
        self.image_size = image_size
        self.latent_dim = latent_dim
        flat = 128 * (image_size // 8) ** 2
        self.encoder = _conv_trunk()
        self.mu_head = _head(flat, latent_dim, nn.ReLU)
        self.logvar_head = _head(flat, latent_dim, nn.LeakyReLU)
        self.decoder = decoder

    def _check_input(self, x: torch.Tensor) -> None:
        want = (3, self.image_size, self.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise UserError(
                f"VAE built for images {want} got input {tuple(x.shape)}; "
                "use the same image size in the data adapter and the model"
            )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, 3, S, S) in [0, 1] -> (mu, logvar), each (B, latent_dim)."""
        self._check_input(x)
        h = self.encoder(x.contiguous(memory_format=self.input_memory_format))
        return self.mu_head(h), self.logvar_head(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> Bernoulli means (B, 3, S, S) in (0, 1)."""
        return self.decoder(z)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps keeps the sample differentiable in mu and logvar."""
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Always samples z (also in eval mode): the ELBO is an expectation over q(z|x)."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def _check_latent(latent_dim: int) -> int:
    if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
        raise UserError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    return latent_dim


@register_model("vae_fc")
def vae_fc(image_size: int = 64, latent_dim: int = 32) -> VAE:
    """The original study's VAE: conv encoder, fully connected decoder."""
    size, latent = check_image_size(image_size), _check_latent(latent_dim)
    return VAE(_fc_decoder(latent, size), size, latent)


@register_model("vae_conv")
def vae_conv(image_size: int = 64, latent_dim: int = 32) -> VAE:
    """Improved VAE: same encoder, transposed-convolution decoder."""
    size, latent = check_image_size(image_size), _check_latent(latent_dim)
    return VAE(_conv_decoder(latent, size), size, latent)
