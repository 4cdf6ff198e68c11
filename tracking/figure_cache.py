"""PNG figures that depend only on their inputs, drawn once and kept on disk.

The full correlation heatmap takes about 2 s to draw and is the same for every cell of a
data file; without a cache every worker process of a grid, and every later grid, draws it
again. Files are named by a hash of the inputs and of ``plots.py`` (so a changed plot is
redrawn), written through a temporary name, and checked for PNG's first and last bytes
when read, so a damaged file is redrawn rather than logged.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path

from tracking import plots

_PNG_START = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"
_PLOTS_SOURCE = Path(plots.__file__)


def figure_key(*parts: bytes | str) -> str:
    """Hash of ``parts`` and of the plotting code."""
    digest = hashlib.sha256(_PLOTS_SOURCE.read_bytes())
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


def cached_png(folder: Path, key: str, draw: Callable[[], bytes]) -> bytes:
    """The PNG stored under ``key`` in ``folder``, else ``draw()``, stored for next time.
    An unwritable folder only costs the redraw (with a warning)."""
    path = folder / f"{key}.png"
    try:
        png = path.read_bytes()
        if png.startswith(_PNG_START) and png.endswith(_PNG_END):
            return png
    except OSError:
        pass
    png = draw()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(png)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # e.g. the folder is a file: nothing to remove
            tmp.unlink()
        warnings.warn(f"could not keep a figure in {folder}: {exc}", stacklevel=2)
    return png
