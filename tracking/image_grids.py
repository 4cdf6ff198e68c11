"""Image grids for VAE artifacts with Pillow only (no matplotlib), so they stay pixel-exact.

Small images are enlarged by an integer factor with NEAREST, so 64 px faces stay visible
in the MLflow UI without blurring what the model actually produced.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

BACKGROUND = (255, 255, 255)
TARGET_TILE = 128  # auto scale enlarges tiles to at least this many pixels when possible


def to_uint8_nhwc(images: np.ndarray | torch.Tensor) -> np.ndarray:
    """uint8 (N, H, W, 3) array, or float tensor (N, 3, H, W) in [0, 1] -> uint8 NHWC."""
    if isinstance(images, torch.Tensor):
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"expected a (N, 3, H, W) tensor, got {tuple(images.shape)}")
        arr = images.detach().cpu().float().clamp(0, 1).mul(255).round().to(torch.uint8)
        return arr.permute(0, 2, 3, 1).numpy()
    arr = np.asarray(images)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"expected uint8 (N, H, W, 3), got {arr.dtype} {arr.shape}")
    return arr


def auto_scale(height: int) -> int:
    """Integer enlargement so tiles reach TARGET_TILE px (64 px -> 2x, >= 128 px -> 1x)."""
    return max(1, TARGET_TILE // max(1, height))


def _tile(image: np.ndarray, scale: int) -> Image.Image:
    tile = Image.fromarray(image, "RGB")
    if scale == 1:
        return tile
    return tile.resize((tile.width * scale, tile.height * scale), Image.Resampling.NEAREST)


def image_grid(
    images: np.ndarray | torch.Tensor, ncols: int = 8, pad: int = 2, scale: int | None = None
) -> Image.Image:
    """Images in row-major order, ``pad`` px between tiles and around the border.

    Size: width = cols * (W*scale + pad) + pad, height = rows * (H*scale + pad) + pad.
    """
    arr = to_uint8_nhwc(images)
    n, h, w, _ = arr.shape
    if n == 0 or ncols < 1 or pad < 0:
        raise ValueError(f"need >= 1 image, ncols >= 1, pad >= 0 (got {n}, {ncols}, {pad})")
    scale = auto_scale(h) if scale is None else scale
    cols, rows = min(ncols, n), math.ceil(n / min(ncols, n))
    th, tw = h * scale, w * scale
    grid = Image.new("RGB", (cols * (tw + pad) + pad, rows * (th + pad) + pad), BACKGROUND)
    for i in range(n):
        r, c = divmod(i, cols)
        grid.paste(_tile(arr[i], scale), (pad + c * (tw + pad), pad + r * (th + pad)))
    return grid


def side_by_side(
    originals: np.ndarray | torch.Tensor,
    recons: np.ndarray | torch.Tensor,
    ncols: int = 8,
    pad: int = 2,
    gap: int = 16,
    scale: int | None = None,
) -> Image.Image:
    """Two panels, originals left and reconstructions right, image i at the same spot."""
    left, right = to_uint8_nhwc(originals), to_uint8_nhwc(recons)
    if left.shape != right.shape:
        raise ValueError(f"originals {left.shape} and reconstructions {right.shape} differ")
    a = image_grid(left, ncols, pad, scale)
    b = image_grid(right, ncols, pad, scale)
    out = Image.new("RGB", (a.width + gap + b.width, a.height), BACKGROUND)
    out.paste(a, (0, 0))
    out.paste(b, (a.width + gap, 0))
    return out


def interpolation_strip(
    frames: np.ndarray | torch.Tensor, pad: int = 2, scale: int | None = None
) -> Image.Image:
    """All frames in one row (e.g. start, 7 steps, end)."""
    arr = to_uint8_nhwc(frames)
    return image_grid(arr, ncols=max(1, len(arr)), pad=pad, scale=scale)
