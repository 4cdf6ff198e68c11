"""Where derived data is kept between runs: decoded images, figures of a data set alone."""

import os
from pathlib import Path

CACHE_ENV = "BENCH_CACHE_DIR"


def cache_root() -> Path:
    """``$BENCH_CACHE_DIR``, else ``.cache`` in the working directory."""
    return Path(os.environ.get(CACHE_ENV) or ".cache")
