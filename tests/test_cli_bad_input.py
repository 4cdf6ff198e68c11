"""Bad files, grids and flags through the real CLI: exit 2, one ``error:`` line, no output.

DESIGN section 6: every bad input gets one clear line naming the thing and the problem, a
non-zero exit, no traceback, and no half-written result (no prepared files, no runs).
"""

from __future__ import annotations

import csv
import sqlite3
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from datasets.covid_csv import read_confirmed_csv

HOMEWORK = "covid/covid_19_homework.csv"
CSSE_2020 = "covid/time_series_covid19_confirmed_global_2020-05-02.csv"
CSSE_HEAD = "Province/State,Country/Region,Lat,Long"


def _one_error_line(result, *needles: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0]
    return lines[0]


def _truncated_homework(data_dir, path):
    """The real file cut in the middle of its 21st line."""
    lines = (data_dir / HOMEWORK).read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:20]) + lines[20][: len(lines[20]) // 2], encoding="utf-8")


BAD_FILES = {
    "empty.csv": ("", ["the file is empty"]),
    "neither.csv": ("a,b,c\n1,2,3\n", ["neither a JHU CSSE confirmed file"]),
    "nodates.csv": (f"{CSSE_HEAD}\n,X,1,2\n", ["no date columns in the header"]),
    "dup.csv": (f"{CSSE_HEAD},1/22/20,1/22/20\n,X,1,2,1,2\n", ["'1/22/20' appears twice"]),
    "gap.csv": (f"{CSSE_HEAD},1/22/20,1/24/20\n,X,1,2,1,2\n",
                ["not consecutive days (2020-01-22 is followed by 2020-01-24)"]),
    "cell.csv": (f"{CSSE_HEAD},1/22/20,1/23/20,1/24/20\n,X,1,2,1,2,3\n,Y,1,2,1,abc,3\n",
                 ["line 3 (Y) column 1/23/20: 'abc' is not a count"]),
    "cut.csv": (None, ["line 21 has", "cells, the header has 85", "truncated"]),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_prepare_bad_file(cli, data_dir, tmp_path, name):
    text, needles = BAD_FILES[name]
    path = tmp_path / name
    if text is None:
        _truncated_homework(data_dir, path)
    else:
        path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    result = cli("prepare", "covid", "--data", path, "--out", out)
    _one_error_line(result, f"error: {path}: ", *needles)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("flags", "needles"), [
    (["--window", "0"], ["window length must be a whole number >= 1, got 0"]),
    (["--window", "81"], ["window length 81 is too long for a series of 81 days"]),
    (["--threshold", "-1"], ["threshold -1.0 puts every country in the training set"]),
    (["--threshold", "1.01"], ["threshold", "1.01", "[-1, 1]"]),
    (["--threshold", "0.9999999"], ["threshold 0.9999999 puts no country in the training set"]),
    (["--start", "2020-04-13"], ["start 2020-04-13 is after end 2020-04-12"]),
    (["--start", "2020-01-01"], ["window 2020-01-01..2020-04-12 is outside"]),
    (["--end", "12/04/2020"], ["end", "'12/04/2020' is not an ISO date"]),
])
def test_prepare_bad_flag(cli, data_dir, tmp_path, flags, needles):
    out = tmp_path / "out"
    result = cli("prepare", "covid", "--data", data_dir / HOMEWORK, *flags, "--out", out)
    _one_error_line(result, *needles)
    assert not out.exists()


def test_prepare_missing_file(cli, tmp_path):
    result = cli("prepare", "covid", "--data", tmp_path / "nope.csv", "--out", tmp_path / "o")
    _one_error_line(result, f"{tmp_path / 'nope.csv'}: no such file")
    assert not (tmp_path / "o").exists()


def test_prepare_non_numeric_flag_is_one_line(cli, data_dir, tmp_path):
    result = cli("prepare", "covid", "--data", data_dir / HOMEWORK, "--window", "five",
                 "--out", tmp_path / "o")
    _one_error_line(result, "--window", "five")


def test_prepare_out_is_a_file(cli, data_dir, tmp_path):
    out = tmp_path / "out"
    out.write_text("keep me", encoding="utf-8")
    result = cli("prepare", "covid", "--data", data_dir / HOMEWORK, "--out", out)
    _one_error_line(result, str(out))
    assert out.read_text(encoding="utf-8") == "keep me"


def test_prepare_dirty_cells_warn_and_keep_leading_integer(cli, data_dir, tmp_path):
    out = tmp_path / "out"
    result = cli("prepare", "covid", "--data", data_dir / CSSE_2020, "--out", out)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: "), result.stderr
    assert str(data_dir / CSSE_2020) in lines[0]
    assert "(Spain) column 4/24/20: '202990 (ANOMALY ORIGIN)'" in lines[0]
    assert "(Spain) column 4/26/20: '207634(ANOMALY)'" in lines[0]
    assert (out / "summary.json").is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = read_confirmed_csv(data_dir / CSSE_2020)
    row = raw.countries.index("Spain")
    assert raw.counts[row, raw.dates.index(date(2020, 4, 24))] == 202990
    with (data_dir / CSSE_2020).open(newline="") as handle:
        spain = next(r for r in csv.reader(handle) if r[1] == "Spain")
    assert spain[4 + raw.dates.index(date(2020, 4, 24))] == "202990 (ANOMALY ORIGIN)"


# ---------------------------------------------------------------- run GRID

GRID = """experiment = "bad-input"
[[study]]
task = "covid"
seeds = [0]
[study.config.data]
path = "{path}"
window = 5
[study.config.train]
epochs = 1
batch_size = 256
{extra}
[study.sweep]
"model.name" = {models}
"""


def _runs(db) -> int:
    """Runs in the tracking db (0 if it was never created)."""
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        tables = {r[0] for r in con.execute("select name from sqlite_master")}
        return con.execute("select count(*) from runs").fetchone()[0] if "runs" in tables else 0


# name -> grid text options, or another data dir / grid path (relative to the case folder)
RUN_CASES = {
    "unknown_model": {"models": '["lstm", "transformer"]'},
    "unknown_optimizer": {"extra": 'optimizer = "adamw"'},
    "unknown_key": {"extra": "epochz = 2"},
    "missing_data_dir": {"data_dir": "/nonexistent"},
    "missing_grid": {"grid": "missing/grid.toml"},
    "bad_data_file": {"data_dir": "data"},  # holds a truncated copy of the homework file
}


@pytest.fixture(scope="module")
def run_results(cli, data_dir, tmp_path_factory):
    """Each case once, all at the same time (each CLI start imports torch and mlflow)."""
    folders = {name: tmp_path_factory.mktemp(name) for name in RUN_CASES}

    def launch(name):
        case, folder = RUN_CASES[name], folders[name]
        grid = folder / case.get("grid", "grid.toml")
        if "grid" not in case:
            grid.write_text(GRID.format(path=HOMEWORK, extra=case.get("extra", ""),
                                        models=case.get("models", '["lstm"]')), encoding="utf-8")
        if case.get("data_dir") == "data":
            (folder / "data" / "covid").mkdir(parents=True)
            _truncated_homework(data_dir, folder / "data" / HOMEWORK)
        chosen = folder / case["data_dir"] if "data_dir" in case else data_dir
        db = folder / "store" / "mlflow.db"
        return cli("run", grid, "--data-dir", chosen, "--tracking-uri", f"sqlite:///{db}",
                   "--quiet")

    with ThreadPoolExecutor(max_workers=len(RUN_CASES)) as pool:
        results = dict(zip(RUN_CASES, pool.map(launch, RUN_CASES)))
    return {name: (folders[name], results[name]) for name in RUN_CASES}


def _run_error(run_results, name: str, *needles: str) -> None:
    folder, result = run_results[name]
    _one_error_line(result, *needles)
    assert _runs(folder / "store" / "mlflow.db") == 0
    assert not (folder / "store" / "artifacts").exists()


def test_run_unknown_model(run_results):
    grid = run_results["unknown_model"][0] / "grid.toml"
    _run_error(run_results, "unknown_model", str(grid), "unknown model 'transformer'",
               "valid models: gru, lstm, rnn")


def test_run_unknown_optimizer(run_results):
    grid = run_results["unknown_optimizer"][0] / "grid.toml"
    _run_error(run_results, "unknown_optimizer", str(grid), "unknown optimizer 'adamw'",
               "valid: adam, sgd")


def test_run_unknown_config_key(run_results):
    grid = run_results["unknown_key"][0] / "grid.toml"
    _run_error(run_results, "unknown_key", str(grid), "config.train: unknown key(s) epochz",
               "valid: epochs, batch_size")


def test_run_missing_data_dir(run_results):
    _run_error(run_results, "missing_data_dir", "data directory /nonexistent does not exist")


def test_run_missing_grid_file(run_results):
    grid = run_results["missing_grid"][0] / "missing" / "grid.toml"
    _run_error(run_results, "missing_grid", f"{grid}: no such grid file")


def test_run_bad_data_file_writes_no_run(run_results):
    path = run_results["bad_data_file"][0] / "data" / HOMEWORK
    _run_error(run_results, "bad_data_file", f"{path}: line 21 has")
