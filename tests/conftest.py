"""Shared fixtures: where the repository and the real data are, and how to call the CLI."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``$BENCH_DATA_DIR`` or ../shared/data; the tests need the real files."""
    path = Path(os.environ.get("BENCH_DATA_DIR", DEFAULT_DATA_DIR)).resolve()
    if not (path / "covid").is_dir():
        pytest.fail(f"real data not found in {path} (set BENCH_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def cli():
    """``cli('prepare', 'covid', ...)`` runs ``python -m benchmarks`` from the repo root."""

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        return subprocess.run([sys.executable, "-m", "benchmarks", *map(str, args)],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                              timeout=600)

    return run


@pytest.fixture
def write_csse(tmp_path):
    """Write a JHU CSSE-layout file: ``rows`` are (province, country, counts...)."""

    def write(rows, dates=("1/22/20", "1/23/20", "1/24/20"), name="confirmed.csv") -> Path:
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["Province/State", "Country/Region", "Lat", "Long", *dates])
            for province, country, *counts in rows:
                writer.writerow([province, country, "1.0", "2.0", *counts])
        return path

    return write
