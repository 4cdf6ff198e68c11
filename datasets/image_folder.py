"""Image-folder adapter: a folder of pictures -> one uint8 array of square RGB faces.

Decoding thousands of JPEGs dominates start-up time, so the decoded array is cached on disk,
keyed by the folder's content (names, sizes, mtimes) and the requested size.

Resize filter: LANCZOS. It is Pillow's sharpest antialiased filter, so downscaling (the
usual case: 96 px or phone photos -> 64 px) neither aliases nor blurs, and it is exact
(no ``reducing_gap`` shortcut), so a test can reproduce a pixel with Pillow alone. Its
extra cost on very large photos is paid once, thanks to the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import PIL
import torch
from PIL import Image, ImageOps

from benchmarks.errors import UserError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})
MIN_SIZE = 8
# Bump when decoding changes, so old caches are not reused for new semantics.
_PIPELINE_VERSION = 1
# Errors Pillow raises for unreadable, corrupt or truncated files.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


@dataclass
class ImageArray:
    """Decoded images (N, size, size, 3) uint8 and the file names they came from, in order."""

    images: np.ndarray
    names: list[str]
    from_cache: bool = False
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)


def natural_key(name: str) -> tuple:
    """Sort key so that ``2.jpg`` comes before ``10.jpg``; ties broken by the raw name."""
    parts = re.split(r"(\d+)", name.lower())
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def list_image_files(folder: Path) -> list[Path]:
    """Image files directly in ``folder`` in natural order (hidden files are ignored)."""
    if not folder.is_dir():
        raise UserError(f"image folder {folder} does not exist or is not a folder")
    files = [
        p
        for p in folder.iterdir()
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


def _to_8bit_gray(img: Image.Image) -> Image.Image:
    """16-bit / int / float grayscale -> 8-bit; Pillow's own convert would clip at 255."""
    arr = np.asarray(img, dtype=np.float64)
    if arr.max(initial=0) > 255:
        arr = arr / 257.0  # 16-bit range onto 8-bit
    return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")


def to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB; grayscale is replicated and transparency composited on white."""
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        img = _to_8bit_gray(img)
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def center_square_box(width: int, height: int) -> tuple[int, int, int, int]:
    """Box (left, top, right, bottom) of the largest centred square."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def decode_image(path: Path, size: int) -> np.ndarray:
    """One file -> (size, size, 3) uint8: upright, RGB, centre-cropped, LANCZOS-resized."""
    with Image.open(path) as img:
        img.load()  # forces full decode, so truncated files fail here
        img = ImageOps.exif_transpose(img)
        img = to_rgb(img)
    img = img.crop(center_square_box(*img.size))
    return np.asarray(img.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def _decode_all(files: list[Path], size: int) -> ImageArray:
    """Decode every file, remembering (not raising on) the ones Pillow cannot read."""
    out = np.empty((len(files), size, size, 3), dtype=np.uint8)
    names: list[str] = []
    skipped: list[str] = []
    for path in files:
        try:
            out[len(names)] = decode_image(path, size)
        except _DECODE_ERRORS:
            skipped.append(path.name)
            continue
        names.append(path.name)
    return ImageArray(out[: len(names)], names, from_cache=False, skipped=skipped)


def _warn_skipped(folder: Path, skipped: list[str]) -> None:
    if skipped:
        shown = ", ".join(skipped[:20]) + (" ..." if len(skipped) > 20 else "")
        warnings.warn(
            f"skipped {len(skipped)} unreadable image file(s) in {folder}: {shown}",
            stacklevel=3,
        )


def _check_args(size: int, limit: int | None) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < MIN_SIZE:
        raise UserError(f"image size must be an integer >= {MIN_SIZE}, got {size!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UserError(f"image limit must be a positive integer or None, got {limit!r}")


def cache_key(files: list[Path], size: int, limit: int | None) -> str:
    """Hash of what determines the decoded array: file names, sizes, mtimes, size, limit."""
    entries = []
    for p in files:
        st = p.stat()
        entries.append([p.name, st.st_size, st.st_mtime_ns])
    payload = [_PIPELINE_VERSION, PIL.__version__, size, limit, entries]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:32]


def _cache_paths(cache_dir: Path, key: str) -> tuple[Path, Path]:
    return cache_dir / f"images-{key}.npy", cache_dir / f"images-{key}.json"


def _read_cache(cache_dir: Path, key: str, size: int) -> ImageArray | None:
    """The cached array, or None if absent or damaged (then it is simply rebuilt)."""
    npy, meta = _cache_paths(cache_dir, key)
    if not (npy.is_file() and meta.is_file()):
        return None
    try:
        info = json.loads(meta.read_text())
        images = np.load(npy, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if images.dtype != np.uint8 or images.shape != (len(info["names"]), size, size, 3):
        return None
    return ImageArray(images, list(info["names"]), True, list(info["skipped"]))


def _atomic_write(path: Path, write) -> None:
    """Write through a temp file in the same folder then rename, so readers never see half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_cache(cache_dir: Path, key: str, data: ImageArray) -> None:
    """Array first, JSON last: the JSON's presence marks a complete entry."""
    npy, meta = _cache_paths(cache_dir, key)
    info = json.dumps({"names": data.names, "skipped": data.skipped}).encode()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(npy, lambda fh: np.save(fh, data.images, allow_pickle=False))
        _atomic_write(meta, lambda fh: fh.write(info))
    except OSError as exc:
        warnings.warn(f"could not write image cache in {cache_dir}: {exc}", stacklevel=3)


def _cached_decode(files: list[Path], size: int, limit: int | None, cache_dir: Path) -> ImageArray:
    """Cache hit: no decoding at all. Miss: decode and store (only if something decoded)."""
    key = cache_key(files, size, limit)
    data = _read_cache(cache_dir, key, size)
    if data is None:
        data = _decode_all(files, size)
        if data.names:
            _write_cache(cache_dir, key, data)
    return data


def load_image_folder(
    folder: str | os.PathLike,
    size: int = 64,
    limit: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> ImageArray:
    """Decode the first ``limit`` images (natural name order) of ``folder`` to uint8 squares.

    Unreadable files are skipped with one warning; no readable image is a UserError.
    With ``cache_dir``, an unchanged folder is loaded from the cache without decoding.
    """
    _check_args(size, limit)
    folder = Path(folder)
    files = list_image_files(folder)[:limit]
    if cache_dir is None:
        data = _decode_all(files, size)
    else:
        data = _cached_decode(files, size, limit, Path(cache_dir))
    if not data.names:
        raise UserError(
            f"image folder {folder} has no readable image "
            f"({', '.join(sorted(IMAGE_SUFFIXES))}; {len(files)} candidate file(s))"
        )
    _warn_skipped(folder, data.skipped)
    return data


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded disjoint (train, val) index arrays; val gets >= 1 item if asked and n >= 2."""
    if not 0.0 <= val_fraction < 1.0:
        raise UserError(f"validation fraction must be in [0, 1), got {val_fraction!r}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    n_val = int(n * float(val_fraction) + 0.5)  # round half up
    if val_fraction > 0 and n >= 2:
        n_val = max(n_val, 1)
    n_val = min(n_val, max(n - 1, 0))  # always keep at least one training item
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def to_float_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, 3, H, W) in [0, 1], the layout models expect."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected uint8 (N, H, W, 3), got {images.dtype} {images.shape}")
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255.0).contiguous()


class UnitImages:
    """Images kept as uint8 (N, 3, H, W) that read as float32 in [0, 1], like
    ``to_float_tensor``'s output (the same values): a quarter of the memory of float
    storage (all 6,000 64x64 faces: 74 MB instead of 295 MB). Only what is read converts."""

    def __init__(self, images: np.ndarray) -> None:
        to_float_tensor(images[:0])  # same checks, nothing converted
        self.bytes = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()

    def __len__(self) -> int:
        return len(self.bytes)

    @property
    def shape(self) -> torch.Size:
        return self.bytes.shape

    def __getitem__(self, index) -> torch.Tensor:
        return _unit_float(self.bytes[index])

    def split(self, size: int):
        """Float batches of at most ``size`` images, in order."""
        for chunk in self.bytes.split(size):
            yield _unit_float(chunk)


def _unit_float(images: torch.Tensor) -> torch.Tensor:
    return images.float().div_(255.0)
