"""Comparison tables from the tracking store: one row per configuration, seeds aggregated.

Numbers come from the MLflow store (never from side files), as mean +- std over seeds with
n; the best value of each column is marked. Formats: csv, md, latex, html. Besides the
one-row-per-configuration table, md, latex and html show pivot views (COVID: cell type x L,
one per optimizer and main metric); csv stays one machine-readable table per task.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections import defaultdict
from dataclasses import dataclass

from benchmarks.errors import UserError
from tracking.read_runs import CellRun

FORMATS = ("csv", "md", "latex", "html")

# metric -> (column title, higher is better; None = not ranked)
COLUMNS = {
    "covid": {
        "test_accuracy": ("test acc", True),
        "test_f1": ("test F1 (rise)", True),
        "test_balanced_accuracy": ("test bal. acc", True),
        "test_roc_auc": ("test ROC AUC", True),
        "baseline_majority_test_accuracy": ("majority acc", True),
        "baseline_majority_test_f1": ("majority F1", True),
        "baseline_logreg_test_accuracy": ("logreg acc", True),
        "baseline_logreg_test_f1": ("logreg F1", True),
    },
    "faces": {
        "val_neg_elbo": ("val -ELBO", False),
        "val_recon": ("val recon", False),
        "val_kl": ("val KL", None),
        "val_active_units": ("active units", True),
        "val_iw_nll": ("val IW -log p(x)", False),
    },
}
BASELINE_PREFIX = "baseline_"
# task -> (row param, column param, metrics): one pivot per metric and per value of the
# other swept params (e.g. one per optimizer)
PIVOTS = {"covid": ("model.name", "data.window", ("test_f1", "test_accuracy"))}


@dataclass
class Aggregate:
    mean: float
    std: float
    n: int

    def text(self, digits: int = 4) -> str:
        if math.isnan(self.mean):
            return "n/a"
        if self.n < 2:
            return f"{self.mean:.{digits}g}"
        return f"{self.mean:.{digits}g} ± {self.std:.2g}"


@dataclass
class Table:
    task: str
    header: list[str]
    rows: list[list[str]]
    best: list[set[int]]  # per row, the column indexes holding that column's best value
    values: list[list[Aggregate | None]]
    title: str = ""  # heading; the task's name when empty
    pivot: bool = False  # a view of another table (left out of csv)

    @property
    def heading(self) -> str:
        return self.title or self.task


def aggregate(values: list[float]) -> Aggregate:
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return Aggregate(float("nan"), float("nan"), 0)
    mean = sum(finite) / len(finite)
    if min(finite) == max(finite):  # exactly 0, not a rounding residue such as 8.5e-18
        return Aggregate(finite[0], 0.0, len(finite))
    var = sum((v - mean) ** 2 for v in finite) / (len(finite) - 1)
    return Aggregate(mean, math.sqrt(var), len(finite))


def varying_params(runs: list[CellRun]) -> list[str]:
    """Params that differ between configurations (the ones worth a column), seed excluded."""
    keys = sorted({k for r in runs for k in r.params} - {"train.seed"})
    return [k for k in keys if len({r.params.get(k) for r in runs}) > 1]


def build_tables(runs: list[CellRun]) -> list[Table]:
    tables = []
    for task in sorted({r.task for r in runs}):
        task_runs = [r for r in runs if r.task == task]
        columns = COLUMNS.get(task, {})
        params = varying_params(task_runs)
        groups: dict[str, list[CellRun]] = defaultdict(list)
        for run in task_runs:
            groups[run.group].append(run)
        header = params + ["n"] + [t for t, _ in columns.values()]
        rows, values, configs = [], [], []
        for members in groups.values():
            aggs = [aggregate([m.metrics.get(k, float("nan")) for m in members])
                    for k in columns]
            rows.append([members[0].params.get(p, "") for p in params] + [str(len(members))]
                        + [a.text() for a in aggs])
            values.append([None] * (len(params) + 1) + aggs)
            configs.append(({p: members[0].params.get(p, "") for p in params},
                            dict(zip(columns, aggs))))
        best = _best_cells(values, [None] * (len(params) + 1) +
                           [(k, up) for k, (_, up) in columns.items()])
        tables.append(Table(task, header, rows, best, values))
        tables += pivot_tables(task, params, configs)
    return tables


def pivot_tables(task: str, params: list[str],
                 configs: list[tuple[dict[str, str], dict[str, Aggregate]]]) -> list[Table]:
    """Row param x column param grids of one metric, one per value of the other params;
    each column's best model is marked (COVID: which cell type wins at each L)."""
    if task not in PIVOTS:
        return []
    row_key, col_key, metrics = PIVOTS[task]
    if row_key not in params or col_key not in params:
        return []  # nothing swept along one axis: the main table already is the view
    others = [p for p in params if p not in (row_key, col_key)]
    fixed_values = list(dict.fromkeys(tuple(c[p] for p in others) for c, _ in configs))
    tables = []
    for metric in metrics:
        name, higher = COLUMNS[task][metric]
        for fixed in fixed_values:
            chosen = [(c, a) for c, a in configs if tuple(c[p] for p in others) == fixed]
            row_names = list(dict.fromkeys(c[row_key] for c, _ in chosen))  # as first seen
            col_names = sorted({c[col_key] for c, _ in chosen}, key=_natural)
            cell = {(c[row_key], c[col_key]): a[metric] for c, a in chosen}
            values = [[None] + [cell.get((r, col)) for col in col_names] for r in row_names]
            rows = [[r] + [a.text() if a else "" for a in vals[1:]]
                    for r, vals in zip(row_names, values)]
            best = _best_cells(values, [None] + [(metric, higher)] * len(col_names))
            where = ", ".join(f"{p} = {v}" for p, v in zip(others, fixed))
            title = f"{task}: {name} by {row_key} x {col_key}" + (f", {where}" if where else "")
            header = [row_key] + [f"{col_key}={col}" for col in col_names]
            tables.append(Table(task, header, rows, best, values, title=title, pivot=True))
    return tables


def _natural(text: str):
    """Numbers by value (3 before 10), then anything else by text."""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text)


def _best_cells(values, directions) -> list[set[int]]:
    """Mark each model-metric column's best mean (baselines are references, not contenders)."""
    marks: list[set[int]] = [set() for _ in values]
    for col, direction in enumerate(directions):
        if direction is None or direction[1] is None or \
                direction[0].startswith(BASELINE_PREFIX):
            continue
        higher = direction[1]
        means = [(row[col].mean, i) for i, row in enumerate(values)
                 if row[col] is not None and not math.isnan(row[col].mean)]
        if not means:
            continue
        target = max(means)[0] if higher else min(means)[0]
        for mean, i in means:
            if mean == target:
                marks[i].add(col)
    return marks


def render(tables: list[Table], fmt: str, title: str) -> str:
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; valid: {', '.join(FORMATS)}")
    if not tables:
        raise UserError(f"experiment {title!r} has no finished cell runs to export")
    return {"csv": _csv, "md": _markdown, "latex": _latex, "html": _html}[fmt](tables, title)


def _csv(tables: list[Table], title: str) -> str:
    """Machine-readable: mean, std and n as separate columns, no marks."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for table in (t for t in tables if not t.pivot):
        n_keys = table.header.index("n")
        head = ["task"] + table.header[: n_keys + 1]
        for name in table.header[n_keys + 1 :]:
            head += [f"{name} mean", f"{name} std"]
        writer.writerow(head)
        for row, vals in zip(table.rows, table.values):
            line = [table.task] + row[: n_keys + 1]
            for agg in vals[n_keys + 1 :]:
                line += [_num(agg.mean), _num(agg.std)]
            writer.writerow(line)
    return out.getvalue()


def _num(value: float) -> str:
    return "" if math.isnan(value) else repr(round(value, 6))


def _markdown(tables: list[Table], title: str) -> str:
    parts = [f"# {title}\n", "Mean ± std over seeds (n runs); **bold** = best model value "
             "in the column (baselines are not ranked).\n"]
    for table in tables:
        parts.append(f"\n## {table.heading}\n")
        parts.append("| " + " | ".join(table.header) + " |")
        parts.append("|" + "---|" * len(table.header))
        for row, marks in zip(table.rows, table.best):
            cells = [f"**{c}**" if i in marks else c for i, c in enumerate(row)]
            parts.append("| " + " | ".join(cells) + " |")
    return "\n".join(parts) + "\n"


def _latex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"),
                 ("#", r"\#"), ("±", r"$\pm$")):
        text = text.replace(a, b)
    return text


def _latex(tables: list[Table], title: str) -> str:
    parts = [f"% {title}: mean $\\pm$ std over seeds; bold = best model value"]
    for table in tables:
        parts.append(f"% {table.heading}")
        parts.append(r"\begin{tabular}{" + "l" * len(table.header) + "}")
        parts.append(r"\hline")
        parts.append(" & ".join(_latex_escape(h) for h in table.header) + r" \\ \hline")
        for row, marks in zip(table.rows, table.best):
            cells = [rf"\textbf{{{_latex_escape(c)}}}" if i in marks else _latex_escape(c)
                     for i, c in enumerate(row)]
            parts.append(" & ".join(cells) + r" \\")
        parts.append(r"\hline")
        parts.append(r"\end{tabular}")
        parts.append("")
    return "\n".join(parts)


def _html(tables: list[Table], title: str) -> str:
    parts = [f"<h1>{html.escape(title)}</h1>",
             "<p>Mean ± std over seeds (n runs); <b>bold</b> = best model value in the column "
             "(baselines are not ranked).</p>"]
    for table in tables:
        parts.append(f"<h2>{html.escape(table.heading)}</h2>\n<table border='1' "
                     "cellspacing='0' cellpadding='4'>")
        parts.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
                     + "</tr>")
        for row, marks in zip(table.rows, table.best):
            cells = [f"<td><b>{html.escape(c)}</b></td>" if i in marks
                     else f"<td>{html.escape(c)}</td>" for i, c in enumerate(row)]
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</table>")
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title></head>\n<body>\n{body}\n</body></html>\n")
