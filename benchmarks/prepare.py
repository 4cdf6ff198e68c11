"""``prepare covid``: the data side of the COVID study as files, without training.

Everything is computed first and each file is written through a temporary name, so a
failure leaves no half-written output.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from benchmarks.errors import UserError
from datasets.covid import CovidData, CovidDataConfig, csv_text, load_covid
from tracking import plots  # matplotlib only; no tracking store is touched


def prepare_covid(config: CovidDataConfig, out_dir: Path) -> CovidData:
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out {out_dir} is a file, not a folder")
    data = load_covid(config)
    correlation_rows = []
    for name, row in zip(data.countries, data.correlation):
        entry = {"country": name}
        entry.update({other: "" if np.isnan(v) else round(float(v), 6)
                      for other, v in zip(data.countries, row)})
        correlation_rows.append(entry)
    outputs = {
        "correlation.csv": csv_text(correlation_rows).encode(),
        "countries.csv": csv_text(data.country_table()).encode(),
        "summary.json": (json.dumps(data.summary(), indent=2) + "\n").encode(),
        "correlation.png": plots.png_bytes(
            plots.correlation_heatmap(data.correlation, data.countries)),
        "correlation_top25.png": plots.png_bytes(
            plots.correlation_heatmap(data.correlation, data.countries, top_n=25)),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, blob in outputs.items():
        _write_atomic(out_dir / name, blob)
    return data


def _write_atomic(path: Path, blob: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(blob)
    os.replace(tmp, path)
