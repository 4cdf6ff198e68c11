"""Comparison tables built from cell runs: aggregation over seeds, best marks, pivot views."""

from __future__ import annotations

import math

import pytest

from benchmarks.export import aggregate, build_tables, render
from tracking.read_runs import CellRun


def covid_run(model: str, window: int, optimizer: str, seed: int, f1: float,
              acc: float) -> CellRun:
    params = {"model.name": model, "data.window": str(window), "train.optimizer": optimizer,
              "train.seed": str(seed), "train.lr": "0.01"}
    return CellRun(run_id=f"{model}{window}{optimizer}{seed}", name="", task="covid",
                   group=f"{model}-{window}-{optimizer}", params=params,
                   metrics={"test_f1": f1, "test_accuracy": acc})


RUNS = [
    covid_run("rnn", 7, "adam", 0, 0.30, 0.80), covid_run("rnn", 7, "adam", 1, 0.50, 0.90),
    covid_run("rnn", 14, "adam", 0, 0.20, 0.85),
    covid_run("lstm", 7, "adam", 0, 0.45, 0.70),
    covid_run("lstm", 14, "adam", 0, 0.60, 0.75),
    covid_run("rnn", 7, "sgd", 0, 0.10, 0.88),
    covid_run("lstm", 14, "sgd", 0, 0.00, 0.88),
]


def test_aggregate_is_sample_std_and_exactly_zero_for_equal_values():
    agg = aggregate([0.3, 0.5, float("nan")])
    assert (agg.mean, agg.n) == (pytest.approx(0.4), 2)
    assert agg.std == pytest.approx(math.sqrt(0.02))  # ((0.1)^2 + (0.1)^2) / (2 - 1)
    assert aggregate([0.047] * 3).std == 0.0
    assert aggregate([0.1, 0.2, 0.7]).text() == "0.3333 ± 0.32"


def test_one_row_per_configuration_with_seeds_aggregated():
    main = build_tables(RUNS)[0]
    assert not main.pivot and main.task == "covid"
    assert main.header[:4] == ["data.window", "model.name", "train.optimizer", "n"]
    rows = {tuple(r[:3]): r for r in main.rows}
    f1 = main.header.index("test F1 (rise)")
    assert rows[("7", "rnn", "adam")][3] == "2"
    assert rows[("7", "rnn", "adam")][f1] == "0.4 ± 0.14"
    best_f1_rows = [tuple(r[:3]) for r, marks in zip(main.rows, main.best) if f1 in marks]
    assert best_f1_rows == [("14", "lstm", "adam")]


def test_pivot_per_optimizer_and_metric_marks_the_best_cell_type_per_window():
    pivots = [t for t in build_tables(RUNS) if t.pivot]
    titles = [t.heading for t in pivots]
    assert titles == [
        "covid: test F1 (rise) by model.name x data.window, train.optimizer = adam",
        "covid: test F1 (rise) by model.name x data.window, train.optimizer = sgd",
        "covid: test acc by model.name x data.window, train.optimizer = adam",
        "covid: test acc by model.name x data.window, train.optimizer = sgd",
    ]
    adam_f1 = pivots[0]
    assert adam_f1.header == ["model.name", "data.window=7", "data.window=14"]
    assert adam_f1.rows == [["rnn", "0.4 ± 0.14", "0.2"], ["lstm", "0.45", "0.6"]]
    assert adam_f1.best == [set(), {1, 2}]  # lstm wins at L=7 (0.45 > 0.40) and at L=14
    sgd_f1 = pivots[1]
    assert sgd_f1.rows == [["rnn", "0.1", ""], ["lstm", "", "0"]]  # missing cells stay empty
    adam_acc = pivots[2]
    assert adam_acc.best == [{1, 2}, set()]  # accuracy: rnn 0.85 at both windows


def test_windows_sort_by_value_and_csv_leaves_pivots_out():
    runs = [covid_run(m, w, "adam", 0, 0.1 * i, 0.5)
            for m in ("gru", "rnn") for i, w in enumerate((28, 3, 10))]
    pivot = [t for t in build_tables(runs) if t.pivot][0]
    assert pivot.header == ["model.name", "data.window=3", "data.window=10", "data.window=28"]
    text = render(build_tables(RUNS), "csv", "x")
    assert len(text.strip().splitlines()) == 1 + 6  # header + one line per configuration
    markdown = render(build_tables(RUNS), "md", "x")
    assert "## covid: test acc by model.name x data.window, train.optimizer = sgd" in markdown


def test_no_pivot_when_one_axis_is_not_swept():
    runs = [covid_run(m, 7, "adam", 0, 0.3, 0.8) for m in ("rnn", "gru")]
    assert [t.pivot for t in build_tables(runs)] == [False]
