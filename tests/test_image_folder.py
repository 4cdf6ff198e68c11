"""Image-folder adapter on the real anime faces and on bad inputs written to tmp_path."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from benchmarks.errors import UserError
from datasets.image_folder import (
    UnitImages,
    load_image_folder,
    split_indices,
    to_float_tensor,
)

DATA_DIR = Path(
    os.environ.get("BENCH_DATA_DIR", Path(__file__).resolve().parents[1].parent / "shared" / "data")
)
FACES = DATA_DIR / "anime_faces" / "images"


@pytest.fixture(scope="module")
def faces():
    if not FACES.is_dir():
        pytest.fail(f"real data missing: {FACES} (set BENCH_DATA_DIR)")
    return load_image_folder(FACES, size=64, limit=50)


def _save(path: Path, img: Image.Image) -> Path:
    img.save(path)
    return path


def _noise(size=(48, 48), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (*size[::-1], 3), dtype=np.uint8), "RGB")


# --- real data -------------------------------------------------------------------------


def test_real_faces_shape_dtype_and_natural_order(faces):
    assert faces.images.shape == (50, 64, 64, 3)
    assert faces.images.dtype == np.uint8
    # natural order: 0..49, not 0, 1, 10, 100, ...
    assert faces.names == [f"{i}.jpg" for i in range(50)]
    assert faces.from_cache is False and faces.skipped == []


def test_real_faces_have_plausible_pixel_values(faces):
    per_image_std = faces.images.reshape(50, -1).std(axis=1)
    assert (per_image_std > 10).all()  # no blank images
    assert faces.images.min() < 30 and faces.images.max() > 225


def test_real_face_equals_pillow_resize_computed_independently(faces):
    with Image.open(FACES / "7.jpg") as img:
        img = img.convert("RGB")
    w, h = img.size
    side = min(w, h)
    box = ((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side)
    expected = np.asarray(img.crop(box).resize((64, 64), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(faces.images[7], expected)


def test_to_float_tensor_layout_and_range(faces):
    t = to_float_tensor(faces.images[:4])
    assert t.shape == (4, 3, 64, 64) and t.dtype == torch.float32
    assert 0.0 <= t.min() and t.max() <= 1.0
    assert t[2, 1, 5, 9].item() == pytest.approx(faces.images[2, 5, 9, 1] / 255.0)


def test_unit_images_read_exactly_as_float_tensor_from_a_quarter_of_the_bytes(faces):
    images = UnitImages(faces.images)
    full = to_float_tensor(faces.images)
    assert len(images) == 50 and images.shape == (50, 3, 64, 64)
    assert images.bytes.dtype == torch.uint8
    assert images.bytes.untyped_storage().nbytes() * 4 == full.untyped_storage().nbytes()
    order = torch.tensor([7, 0, 31])
    assert torch.equal(images[order], full[order])  # bit for bit, as training reads it
    assert torch.equal(images[:5], full[:5])
    chunks = list(images.split(16))
    assert [len(c) for c in chunks] == [16, 16, 16, 2]
    assert torch.equal(torch.cat(chunks), full)
    assert images[3, 0, 5, 9].item() == faces.images[3, 5, 9, 0] / np.float32(255.0)


# --- bad and unusual inputs --------------------------------------------------------------


def test_missing_folder_is_user_error(tmp_path):
    with pytest.raises(UserError, match="nowhere"):
        load_image_folder(tmp_path / "nowhere")


def test_empty_folder_is_user_error(tmp_path):
    with pytest.raises(UserError, match=str(tmp_path)):
        load_image_folder(tmp_path)


def test_folder_of_text_files_named_jpg_is_user_error(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.jpg").write_text("not an image")
    with pytest.raises(UserError, match="no readable image"):
        load_image_folder(tmp_path)


def test_truncated_jpeg_is_skipped_with_one_warning(tmp_path):
    for i in range(3):
        _save(tmp_path / f"{i}.jpg", _noise(seed=i))
    buf = io.BytesIO()
    _noise(seed=9).save(buf, "JPEG")
    (tmp_path / "5.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    with pytest.warns(UserWarning, match=r"skipped 1 .*5\.jpg") as record:
        data = load_image_folder(tmp_path, size=16)
    assert len(record) == 1
    assert data.names == ["0.jpg", "1.jpg", "2.jpg"] and data.skipped == ["5.jpg"]
    assert data.images.shape == (3, 16, 16, 3)


def test_grayscale_png_gives_three_equal_channels(tmp_path):
    gray = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (32, 1))
    _save(tmp_path / "g.png", Image.fromarray(gray, "L"))
    img = load_image_folder(tmp_path, size=32).images[0]
    np.testing.assert_array_equal(img[..., 0], img[..., 1])
    np.testing.assert_array_equal(img[..., 0], img[..., 2])
    np.testing.assert_array_equal(img[..., 0], gray)  # same size: resize is identity


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    _save(tmp_path / "g16.png", Image.fromarray(np.full((8, 8), 257 * 100, np.uint16)))
    assert (load_image_folder(tmp_path, size=8).images == 100).all()


def test_transparent_rgba_png_becomes_white(tmp_path):
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[..., 0] = 200  # red, but fully transparent
    _save(tmp_path / "a.png", Image.fromarray(rgba, "RGBA"))
    assert (load_image_folder(tmp_path, size=16).images == 255).all()


def test_half_transparent_pixel_is_composited_on_white(tmp_path):
    _save(tmp_path / "a.png", Image.new("RGBA", (8, 8), (0, 0, 0, 128)))
    img = load_image_folder(tmp_path, size=8).images[0]
    assert np.abs(img.astype(int) - 127).max() <= 1  # 255 * (1 - 128/255)


def test_palette_png_with_transparency_becomes_white(tmp_path):
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([10, 20, 30] + [0, 0, 0] * 255)
    pal.info["transparency"] = 0
    _save(tmp_path / "p.png", pal)
    assert (load_image_folder(tmp_path, size=8).images == 255).all()


def test_one_pixel_image_is_resized(tmp_path):
    _save(tmp_path / "dot.bmp", Image.new("RGB", (1, 1), (12, 34, 56)))
    data = load_image_folder(tmp_path, size=64)
    assert data.images.shape == (1, 64, 64, 3)
    assert (data.images[0] == [12, 34, 56]).all()


def test_non_square_image_is_center_cropped(tmp_path):
    arr = np.zeros((60, 100, 3), np.uint8)  # 100 wide, 60 high
    arr[:, :20] = (255, 0, 0)
    arr[:, 20:80] = (0, 255, 0)
    arr[:, 80:] = (0, 0, 255)
    _save(tmp_path / "wide.png", Image.fromarray(arr))
    img = load_image_folder(tmp_path, size=8).images[0]
    # a squashing resize would put red at column 0 and blue at column 7
    np.testing.assert_array_equal(img[4, 0], [0, 255, 0])
    np.testing.assert_array_equal(img[4, 7], [0, 255, 0])


def test_suffixes_case_insensitive_natural_order_and_others_ignored(tmp_path):
    _save(tmp_path / "10.JPG", _noise(seed=1))
    _save(tmp_path / "2.webp", _noise(seed=2))
    _save(tmp_path / "1.png", _noise(seed=3))
    _save(tmp_path / "3.gif", _noise(seed=4))
    (tmp_path / "notes.txt").write_text("ignored")
    assert load_image_folder(tmp_path, size=8).names == ["1.png", "2.webp", "10.JPG"]


def test_limit_takes_first_files_after_sorting(tmp_path):
    for i in (3, 20, 1, 100):
        _save(tmp_path / f"{i}.png", _noise(seed=i))
    assert load_image_folder(tmp_path, size=8, limit=2).names == ["1.png", "3.png"]


@pytest.mark.parametrize("kwargs", [{"size": 7}, {"size": 0}, {"limit": 0}, {"limit": -3}])
def test_bad_size_or_limit_is_user_error(tmp_path, kwargs):
    _save(tmp_path / "a.png", _noise())
    with pytest.raises(UserError):
        load_image_folder(tmp_path, **kwargs)


# --- cache ------------------------------------------------------------------------------


def test_cache_hit_then_invalidated_by_new_file(tmp_path):
    folder, cache = tmp_path / "imgs", tmp_path / "cache"
    folder.mkdir()
    for i in range(3):
        _save(folder / f"{i}.png", _noise(seed=i))
    first = load_image_folder(folder, size=16, cache_dir=cache)
    second = load_image_folder(folder, size=16, cache_dir=cache)
    assert (first.from_cache, second.from_cache) == (False, True)
    np.testing.assert_array_equal(first.images, second.images)
    assert first.names == second.names
    assert not list(cache.glob("*.tmp"))  # atomic write left no temp files

    _save(folder / "3.png", _noise(seed=3))
    third = load_image_folder(folder, size=16, cache_dir=cache)
    assert third.from_cache is False and len(third) == 4
    assert load_image_folder(folder, size=32, cache_dir=cache).from_cache is False


def test_cache_remembers_skipped_files_and_warns_again(tmp_path):
    _save(tmp_path / "0.png", _noise())
    (tmp_path / "1.png").write_text("junk")
    cache = tmp_path / "cache"
    with pytest.warns(UserWarning, match="1.png"):
        load_image_folder(tmp_path, size=8, cache_dir=cache)
    with pytest.warns(UserWarning, match="1.png"):
        assert load_image_folder(tmp_path, size=8, cache_dir=cache).from_cache


def test_damaged_cache_is_rebuilt(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    _save(folder / "0.png", _noise())
    cache = tmp_path / "cache"
    good = load_image_folder(folder, size=8, cache_dir=cache)
    (npy,) = cache.glob("*.npy")
    npy.write_bytes(npy.read_bytes()[:40])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = load_image_folder(folder, size=8, cache_dir=cache)
    assert again.from_cache is False
    np.testing.assert_array_equal(again.images, good.images)


# --- split ------------------------------------------------------------------------------


def test_split_is_seeded_disjoint_and_complete():
    train, val = split_indices(100, 0.1, seed=3)
    assert len(val) == 10 and len(train) == 90
    assert set(train).isdisjoint(val) and set(train) | set(val) == set(range(100))
    again = split_indices(100, 0.1, seed=3)
    np.testing.assert_array_equal(val, again[1])
    assert not np.array_equal(val, split_indices(100, 0.1, seed=4)[1])


def test_split_small_cases():
    assert [len(a) for a in split_indices(2, 0.01, seed=0)] == [1, 1]
    assert [len(a) for a in split_indices(5, 0.0, seed=0)] == [5, 0]
    assert [len(a) for a in split_indices(1, 0.5, seed=0)] == [1, 0]


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_split_bad_fraction_is_user_error(fraction):
    with pytest.raises(UserError):
        split_indices(10, fraction, seed=0)
