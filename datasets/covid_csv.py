"""Read a confirmed-cases CSV in either known layout into one cumulative series per row.

Two layouts exist in the wild and the study must accept both:
- the Johns Hopkins CSSE global file (Province/State, Country/Region, Lat, Long, dates...),
  several rows per country for some countries;
- the course's pre-aggregated file: three header rows, then one row per country.
Dirty cells such as ``"202990 (ANOMALY)"`` keep their leading integer with a warning naming
them; anything worse is a one-line error naming file, row and column.
"""

from __future__ import annotations

import csv
import re
import warnings
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks.errors import UserError

CSSE = "csse"
AGGREGATED = "aggregated"
_LEADING_INT = re.compile(r"\s*([0-9]+)")  # ASCII digits only: int() rejects "²"


@dataclass
class RawSeries:
    """Rows of cumulative counts as read, before any per-country summing."""

    path: Path
    layout: str  # CSSE or AGGREGATED
    countries: list[str]  # Country/Region of each row (repeats allowed for CSSE)
    dates: list[date]
    counts: np.ndarray  # int64, (rows, dates)


def read_confirmed_csv(path: str | Path) -> RawSeries:
    """Parse ``path``, detecting its layout; raise UserError on anything malformed."""
    path = Path(path)
    rows, line_numbers = _read_rows(path)
    layout, header, data_rows, n_header_rows = _detect_layout(path, rows)
    value_start = 4 if layout == CSSE else 3
    country_col = 1 if layout == CSSE else 0
    dates = _parse_dates(path, header[value_start:])
    if not data_rows:
        raise UserError(f"{path}: no data rows after the header")
    counts = np.zeros((len(data_rows), len(dates)), dtype=np.int64)
    countries: list[str] = []
    dirty: list[str] = []
    width = len(header)
    for i, row in enumerate(data_rows):
        line = line_numbers[n_header_rows + i]  # blank lines are skipped, not renumbered
        if len(row) != width:
            raise UserError(
                f"{path}: line {line} has {len(row)} cells, the header has {width} "
                "(truncated or malformed file?)"
            )
        name = row[country_col].strip()
        if not name:
            raise UserError(f"{path}: line {line} has an empty Country/Region")
        countries.append(name)
        for j, cell in enumerate(row[value_start:]):
            counts[i, j] = _parse_count(path, line, header[value_start + j], name, cell, dirty)
    if dirty:
        shown = "; ".join(dirty[:10]) + (f"; ... ({len(dirty)} cells)" if len(dirty) > 10 else "")
        warnings.warn(f"{path}: kept the leading integer of non-integer cells: {shown}",
                      stacklevel=2)
    return RawSeries(path=path, layout=layout, countries=countries, dates=dates, counts=counts)


def _read_rows(path: Path) -> tuple[list[list[str]], list[int]]:
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a CSV file")
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            rows, line_numbers = [], []
            for row in reader:
                if row:
                    rows.append(row)
                    line_numbers.append(reader.line_num)
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 text CSV ({exc.reason})") from None
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV ({exc})") from None
    if not rows:
        raise UserError(f"{path}: the file is empty")
    return rows, line_numbers


def _detect_layout(path: Path, rows: list[list[str]]):
    head = [cell.strip() for cell in rows[0]]
    if head[:4] == ["Province/State", "Country/Region", "Lat", "Long"]:
        return CSSE, head, rows[1:], 1
    if (
        len(rows) >= 3
        and head[:3] == ["", "Lat", "Long"]
        and [c.strip() for c in rows[1][1:3]] == ["sum", "sum"]
        and rows[2][0].strip() == "Country/Region"
    ):
        return AGGREGATED, head, rows[3:], 3
    raise UserError(
        f"{path}: neither a JHU CSSE confirmed file (header 'Province/State,Country/Region,"
        "Lat,Long,dates...') nor the aggregated course file (three header rows)"
    )


def _parse_dates(path: Path, labels: list[str]) -> list[date]:
    if not labels:
        raise UserError(f"{path}: no date columns in the header")
    dates = []
    for label in labels:
        try:
            dates.append(datetime.strptime(label.strip(), "%m/%d/%y").date())
        except ValueError:
            raise UserError(f"{path}: header cell {label!r} is not a m/d/yy date") from None
    for prev, cur, label in zip(dates, dates[1:], labels[1:]):
        if cur == prev:
            raise UserError(f"{path}: date column {label!r} appears twice")
        if cur != prev + timedelta(days=1):
            raise UserError(
                f"{path}: date columns are not consecutive days ({prev.isoformat()} is "
                f"followed by {cur.isoformat()})"
            )
    return dates


def _parse_count(path: Path, line: int, column: str, name: str, cell: str,
                 dirty: list[str]) -> int:
    text = cell.strip()
    match = _LEADING_INT.match(text)
    if match and len(match.group(1)) > 18:  # would overflow int64
        raise UserError(f"{path}: line {line} ({name}) column {column}: {cell!r} is too large")
    if match and match.end() == len(text):
        return int(text)
    if match:
        dirty.append(f"line {line} ({name}) column {column}: {cell!r}")
        return int(match.group(1))
    raise UserError(
        f"{path}: line {line} ({name}) column {column}: {cell!r} is not a count"
    )
