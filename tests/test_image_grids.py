"""Pillow image grids: sizes computed by hand and pixels landing where expected."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tracking.image_grids import image_grid, interpolation_strip, side_by_side


def _distinct_images(n: int, size: int = 64) -> np.ndarray:
    """Image i is filled with colour (i, 255 - i, 7) so every tile is identifiable."""
    out = np.zeros((n, size, size, 3), np.uint8)
    for i in range(n):
        out[i] = (i, 255 - i, 7)
    return out


def test_grid_size_for_64_images_by_hand():
    grid = image_grid(_distinct_images(64), ncols=8, pad=2, scale=2)
    # tiles 64*2 = 128 px; 8 tiles + 9 gaps of 2 px = 1024 + 18 = 1042 in both directions
    assert grid.size == (1042, 1042)
    assert grid.mode == "RGB"


def test_auto_scale_doubles_64_px_faces():
    assert image_grid(_distinct_images(64), ncols=8, pad=2).size == (1042, 1042)
    assert image_grid(_distinct_images(4, size=128), ncols=2, pad=2).size == (262, 262)


def test_pixel_of_image_i_lands_where_expected():
    images = _distinct_images(64)
    images[19, 5, 9] = (1, 2, 3)  # one marked pixel in image 19 (row 2, col 3)
    grid = np.asarray(image_grid(images, ncols=8, pad=2, scale=2))
    top, left = 2 + 2 * 130, 2 + 3 * 130  # pad + index * (tile + pad)
    assert tuple(grid[top, left]) == (19, 236, 7)
    assert tuple(grid[top + 127, left + 127]) == (19, 236, 7)
    # NEAREST 2x: the marked pixel becomes a 2x2 block at (2*5, 2*9) inside the tile
    block = grid[top + 10 : top + 12, left + 18 : left + 20]
    assert (block == (1, 2, 3)).all()
    assert tuple(grid[top - 1, left]) == (255, 255, 255)  # padding between tiles


def test_float_tensor_input_matches_uint8_input():
    images = _distinct_images(6, size=8)
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    a = np.asarray(image_grid(images, ncols=3, pad=1))
    b = np.asarray(image_grid(tensor, ncols=3, pad=1))
    np.testing.assert_array_equal(a, b)


def test_partial_last_row_is_background():
    grid = np.asarray(image_grid(_distinct_images(5, size=8), ncols=3, pad=2, scale=1))
    assert grid.shape == (2 * 10 + 2, 3 * 10 + 2, 3)
    assert (grid[12:20, 22:30] == 255).all()  # slot 6 is empty


def test_side_by_side_pairs_each_original_with_its_reconstruction():
    originals = _distinct_images(64)
    recons = 255 - originals
    out = side_by_side(originals, recons, ncols=8)
    assert out.size == (1042 + 16 + 1042, 1042)
    arr = np.asarray(out)
    top, left = 2 + 130, 2 + 5 * 130  # image 13: row 1, col 5
    assert tuple(arr[top, left]) == (13, 242, 7)
    assert tuple(arr[top, 1042 + 16 + left]) == (242, 13, 248)


def test_side_by_side_rejects_mismatched_counts():
    with pytest.raises(ValueError, match="differ"):
        side_by_side(_distinct_images(4), _distinct_images(3))


def test_interpolation_strip_is_one_row():
    strip = interpolation_strip(_distinct_images(9))
    assert strip.size == (9 * 130 + 2, 130 + 2)
    assert tuple(np.asarray(strip)[2, 2 + 8 * 130]) == (8, 247, 7)


def test_bad_input_layout_is_rejected():
    with pytest.raises(ValueError):
        image_grid(np.zeros((2, 3, 8, 8), np.uint8), ncols=2)
    with pytest.raises(ValueError):
        image_grid(torch.rand(2, 8, 8, 3), ncols=2)
