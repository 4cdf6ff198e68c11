"""What produced a run: the code version and a checksum of the input data."""

from __future__ import annotations

import hashlib
import subprocess
from functools import lru_cache
from pathlib import Path


def data_checksum(data) -> str:
    """sha256 (first 16 hex) of the cell's input file or folder, so a changed input shows."""
    source = getattr(data, "source", None)
    if source is None or not Path(source).exists():
        return ""
    return _content_sha256(str(Path(source).resolve()))


@lru_cache(maxsize=32)
def _content_sha256(path_text: str) -> str:
    path = Path(path_text)
    digest = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode() + b"\0")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def code_version() -> str:
    """The git commit of the suite (with '+dirty' for local edits), or 'unknown'."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                                capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=5)
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
