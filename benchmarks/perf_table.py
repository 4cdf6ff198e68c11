"""The ``perf`` table: one row per measurement, each with its target beside it.

Written three ways from the same rows: an aligned text table for the terminal, CSV and
Markdown. Speed targets live here, in the printout, never in timed unit tests.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

COLUMNS = ("section", "measurement", "suite", "reference", "value", "target", "met",
           "threads", "load_1min", "note")


@dataclass(frozen=True)
class Target:
    """``value op bound``, e.g. ``ratio >= 0.9``; ``text`` is what the table shows."""

    op: str  # ">=", "<=", "<", ">"
    bound: float
    text: str

    def met(self, value: float) -> bool:
        return {">=": value >= self.bound, "<=": value <= self.bound,
                "<": value < self.bound, ">": value > self.bound}[self.op]


@dataclass
class Row:
    section: str  # "1 trainer", "2 tracking", ...
    measurement: str
    suite: str = ""  # the suite's figure, with its unit
    reference: str = ""  # what it is compared with, with its unit
    value: float | None = None  # the number the target applies to (ratio, GB, ...)
    target: Target | None = None
    threads: str = ""
    load: float | None = None  # 1-minute load average when the measurement started
    note: str = ""
    error: str = ""

    @property
    def met(self) -> str:
        if self.error:
            return "ERROR"
        if self.target is None or self.value is None:
            return "-"
        return "yes" if self.target.met(self.value) else "NO"

    def cells(self) -> list[str]:
        value = "" if self.value is None else _number(self.value)
        note = f"error: {self.error}" if self.error else self.note
        return [self.section, self.measurement, self.suite, self.reference, value,
                self.target.text if self.target else "", self.met, self.threads,
                "" if self.load is None else f"{self.load:.2f}", note]


def _number(value: float) -> str:
    if value != value:  # NaN
        return "nan"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"


def header_lines(meta: dict[str, str]) -> list[str]:
    return [f"{key}: {value}" for key, value in meta.items()]


def to_text(rows: list[Row], meta: dict[str, str]) -> str:
    """Aligned plain-text table for the terminal (notes on their own lines below)."""
    shown = [c for c in COLUMNS if c != "note"]
    table = [list(shown)] + [r.cells()[:-1] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(shown))]
    out = header_lines(meta) + [""]
    for n, line in enumerate(table):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [(r.section, r.measurement, r.cells()[-1]) for r in rows if r.cells()[-1]]
    if notes:
        out += ["", "notes:"]
        out += [f"  [{section}] {name}: {note}" for section, name, note in notes]
    return "\n".join(out) + "\n"


def to_csv(rows: list[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(row.cells())
    return buffer.getvalue()


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(rows: list[Row], meta: dict[str, str], title: str = "Performance") -> str:
    lines = [f"# {title}", ""]
    lines += [f"- {line}" for line in header_lines(meta)]
    lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def write_tables(rows: list[Row], meta: dict[str, str], out_dir: Path,
                 stem: str) -> list[Path]:
    """``out_dir/stem.csv`` and ``out_dir/stem.md``, each written through a temp name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in ((".csv", to_csv(rows)), (".md", to_markdown(rows, meta))):
        path = out_dir / f"{stem}{suffix}"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        written.append(path)
    return written
