"""One self-contained HTML report that answers the original study's questions with the
measured numbers and figures, read back from the tracking store.

Images are embedded (base64), so the file can be mailed or attached as it is.
"""

from __future__ import annotations

import base64
import html
import math
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.export import build_tables, render
from tracking import plots
from tracking.read_runs import CellRun, fetch_artifact, finished_cell_runs


def build_report(tracking_uri: str, experiment: str) -> str:
    runs = finished_cell_runs(tracking_uri, experiment)
    tables = build_tables(runs)
    sections = [f"<h1>Benchmark report: {html.escape(experiment)}</h1>",
                f"<p>{len(runs)} finished runs read from <code>{html.escape(tracking_uri)}"
                "</code>. Values are mean ± std over seeds.</p>"]
    with tempfile.TemporaryDirectory() as tmp:
        covid = [r for r in runs if r.task == "covid"]
        faces = [r for r in runs if r.task == "faces"]
        if covid:
            sections += _covid_sections(tracking_uri, covid, tmp)
        if faces:
            sections += _faces_sections(tracking_uri, faces, tmp)
    body = render(tables, "html", experiment)
    table_html = body[body.index("<body>") + 6 : body.index("</body>")]
    sections += ["<h2>All configurations</h2>", table_html]
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}"
             "img{max-width:100%;border:1px solid #ddd;margin:4px 0}"
             "table{border-collapse:collapse;font-size:90%}td,th{padding:3px 6px}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(experiment)}"
            f"</title><style>{style}</style></head><body>\n" + "\n".join(sections)
            + "\n</body></html>\n")


def _img(path: str | None, alt: str) -> str:
    if not path:
        return f"<p><i>({html.escape(alt)}: not recorded)</i></p>"
    kind = "svg+xml" if path.endswith(".svg") else "png"
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f"<img alt='{html.escape(alt)}' src='data:image/{kind};base64,{data}'>"


def _mean(runs: list[CellRun], key: str) -> float:
    values = [r.metrics[key] for r in runs if key in r.metrics and not math.isnan(r.metrics[key])]
    return float(np.mean(values)) if values else float("nan")


def _covid_sections(uri: str, runs: list[CellRun], tmp: str) -> list[str]:
    best = max(runs, key=lambda r: r.metrics.get("test_f1", -1))
    out = ["<h2>COVID-19: does tomorrow's count rise?</h2>",
           "<h3>Which countries train the model</h3>",
           "<p>Pearson correlation of daily new cases between countries; countries correlated "
           f">= {html.escape(best.params.get('data.threshold', '?'))} with another form the "
           "training set, the rest are the test set.</p>",
           _img(fetch_artifact(uri, best.run_id, "correlation_top25.png", tmp), "correlation"),
           "<h3>Accuracy is not enough: the labels are imbalanced</h3>",
           _imbalance_paragraph(runs),
           "<h3>Effect of the window length L, cell type and optimizer</h3>",
           _img(_save(plots.effect_of_window(_by_window(runs, "test_f1"), "test F1 (rise)"),
                      tmp, "l_f1.png"), "effect of L on F1"),
           _img(_save(plots.effect_of_window(_by_window(runs, "test_accuracy"),
                                             "test accuracy"), tmp, "l_acc.png"),
                "effect of L on accuracy"),
           "<h3>Learning curves of each cell type (best run of each)</h3>"]
    for cell in sorted({r.params.get("model.name", "") for r in runs}):
        members = [r for r in runs if r.params.get("model.name") == cell]
        top = max(members, key=lambda r: r.metrics.get("test_f1", -1))
        out += [f"<h4>{html.escape(cell.upper())}: {html.escape(top.name)}</h4>",
                _img(fetch_artifact(uri, top.run_id, "learning_curves.png", tmp), cell)]
    out += [f"<h3>Probability of a rise tomorrow, by country ({html.escape(best.name)})</h3>",
            _img(fetch_artifact(uri, best.run_id, "world_map.png", tmp), "world map"),
            _img(fetch_artifact(uri, best.run_id, "confusion_matrix.png", tmp), "confusion")]
    return out


def _imbalance_paragraph(runs: list[CellRun]) -> str:
    rise = _mean(runs, "baseline_majority_test_accuracy")
    rows = [("best model (by test F1)", max(runs, key=lambda r: r.metrics.get("test_f1", -1)))]
    text = (f"<p>Only {1 - rise:.0%} of test windows are rises, so always answering 'fall' "
            f"scores {rise:.1%} accuracy with an F1 of 0. Compare:</p><table border='1'>"
            "<tr><th></th><th>accuracy</th><th>F1 (rise)</th><th>balanced acc.</th></tr>")
    for label, run in rows:
        text += _row(label, run.metrics, "test")
    text += _row("majority-class baseline", runs[0].metrics, "baseline_majority_test")
    text += _row("logistic regression baseline", runs[0].metrics, "baseline_logreg_test")
    return text + "</table>"


def _row(label: str, metrics: dict, prefix: str) -> str:
    cells = [metrics.get(f"{prefix}_{k}", float("nan"))
             for k in ("accuracy", "f1", "balanced_accuracy")]
    return f"<tr><td>{html.escape(label)}</td>" + "".join(
        f"<td>{v:.3f}</td>" for v in cells) + "</tr>"


def _by_window(runs: list[CellRun], key: str) -> dict:
    """{optimizer: {cell: [(L, mean, std)]}} for the effect-of-L plot."""
    grouped: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for run in runs:
        if key in run.metrics:
            grouped[run.params.get("train.optimizer", "?")][run.params.get("model.name", "?")][
                int(run.params.get("data.window", 0))].append(run.metrics[key])
    return {opt: {cell: [(w, float(np.mean(v)), float(np.std(v))) for w, v in sorted(ws.items())]
                  for cell, ws in cells.items()} for opt, cells in grouped.items()}


def _save(figure, tmp: str, name: str) -> str:
    path = Path(tmp) / name
    path.write_bytes(plots.png_bytes(figure))
    return str(path)


def _faces_sections(uri: str, runs: list[CellRun], tmp: str) -> list[str]:
    out = ["<h2>VAE on anime faces: the weight of the KL term</h2>",
           "<table border='1'><tr><th>run</th><th>KL weight</th><th>val -ELBO</th>"
           "<th>recon</th><th>KL</th><th>active units</th></tr>"]
    ordered = sorted(runs, key=lambda r: float(r.params.get("loss.kl_weight", 0)))
    for run in ordered:
        m = run.metrics
        out.append(f"<tr><td>{html.escape(run.name)}</td>"
                   f"<td>{html.escape(run.params.get('loss.kl_weight', ''))}</td>"
                   + "".join(f"<td>{m.get(k, float('nan')):.1f}</td>"
                             for k in ("val_neg_elbo", "val_recon", "val_kl",
                                       "val_active_units")) + "</tr>")
    out.append("</table>")
    for run in ordered:
        out.append(f"<h3>{html.escape(run.name)}</h3>")
        for artifact, title in (("learning_curve.png", "learning curve"),
                                ("reconstructions.png", "validation faces | reconstructions"),
                                ("prior_samples.png", "samples from the prior"),
                                ("interpolation.png", "interpolation between two real faces")):
            out += [f"<p>{title}</p>", _img(fetch_artifact(uri, run.run_id, artifact, tmp),
                                            title)]
    return out
