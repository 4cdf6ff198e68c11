"""``python -m benchmarks prepare covid`` on the real homework file, checked independently.

The expected numbers are computed here from the raw CSV with the csv and statistics
modules only, not with the project's code.
"""

from __future__ import annotations

import csv
import json
import statistics

import pytest

HOMEWORK = "covid/covid_19_homework.csv"
WINDOW = 5
THRESHOLD = 0.7
SUMMARY_KEYS = {"n_countries", "n_train_countries", "n_test_countries", "n_train_windows",
                "n_test_windows", "train_positive_rate", "test_positive_rate"}


@pytest.fixture(scope="module")
def prepared(cli, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared") / "out"
    result = cli("prepare", "covid", "--data", data_dir / HOMEWORK, "--out", out)
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.fixture(scope="module")
def daily(data_dir) -> dict[str, list[int]]:
    """Daily new cases per country: first differences of the cumulative rows."""
    with (data_dir / HOMEWORK).open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[3:]  # three header rows, then one row per country
    out = {}
    for row in rows:
        counts = [int(v) for v in row[3:]]
        assert row[0] not in out  # one row per country in this file
        out[row[0]] = [b - a for a, b in zip(counts, counts[1:])]
    return out


@pytest.fixture(scope="module")
def best_partner(daily) -> dict[str, float | None]:
    """Each country's highest Pearson correlation with another; None for a flat series."""
    names = [n for n in daily if len(set(daily[n])) > 1]
    best: dict[str, float | None] = {n: None for n in daily}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            r = statistics.correlation(daily[a], daily[b])
            for x in (a, b):
                if best[x] is None or r > best[x]:
                    best[x] = r
    return best


def _rows(path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_writes_the_promised_files_and_nothing_half_written(prepared):
    out, result = prepared
    names = {p.name for p in out.iterdir()}
    assert {"correlation.csv", "correlation.png", "countries.csv", "summary.json"} <= names
    # the only extra allowed is the readable top-N heatmap (DESIGN 2, step 4)
    assert names - {"correlation.csv", "correlation.png", "countries.csv",
                    "summary.json"} <= {"correlation_top25.png"}
    assert (out / "correlation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "185 countries" in result.stdout
    assert result.stderr == ""


def test_correlation_csv_is_square_with_names_on_both_axes(prepared, daily):
    rows = _rows(prepared[0] / "correlation.csv")
    names = sorted(daily)
    assert rows[0] == ["country", *names]
    assert [r[0] for r in rows[1:]] == names  # 'Korea, South' survives quoting
    assert all(len(r) == len(names) + 1 for r in rows)
    index = {n: i for i, n in enumerate(names)}
    for a, b in [("Italy", "Spain"), ("US", "Korea, South"), ("Germany", "France")]:
        value = float(rows[1 + index[a]][1 + index[b]])
        assert value == float(rows[1 + index[b]][1 + index[a]])  # symmetric
        assert value == pytest.approx(statistics.correlation(daily[a], daily[b]), abs=2e-6)
    assert float(rows[1 + index["Italy"]][1 + index["Italy"]]) == pytest.approx(1.0)


def test_countries_csv_by_hand(prepared, daily, best_partner):
    rows = _rows(prepared[0] / "countries.csv")
    assert rows[0] == ["country", "iso2", "split", "max_correlation"]
    table = {r[0]: r for r in rows[1:]}
    assert sorted(table) == sorted(daily)
    for name, best in best_partner.items():
        _, _, split, shown = table[name]
        if best is None:
            assert (split, shown) == ("test", "")
            continue
        assert float(shown) == pytest.approx(best, abs=2e-6)
        if abs(best - THRESHOLD) > 1e-9:
            assert split == ("train" if best >= THRESHOLD else "test"), name
    assert table["Italy"][1:3] == ["it", "train"]
    assert table["Korea, South"][1] == "kr"
    assert table["Congo (Kinshasa)"][1] == "cd" and table["Congo (Brazzaville)"][1] == "cg"
    assert table["Diamond Princess"][1] == ""  # no ISO code: left empty


def test_summary_by_hand(prepared, daily, best_partner):
    summary = json.loads((prepared[0] / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    train = [n for n, b in best_partner.items() if b is not None and b >= THRESHOLD]
    test = [n for n in daily if n not in train]
    per_country = len(daily["Italy"]) - WINDOW  # T - L = 81 - 5 = 76
    assert per_country == 76

    def rises(names):  # label of window t: x[t+L] > x[t+L-1]
        return [int(daily[n][t + WINDOW] > daily[n][t + WINDOW - 1])
                for n in names for t in range(per_country)]

    assert summary["n_countries"] == 185
    assert summary["n_train_countries"] == len(train)
    assert summary["n_test_countries"] == len(test) == 185 - len(train)
    assert summary["n_train_windows"] == len(train) * per_country
    assert summary["n_test_windows"] == len(test) * per_country
    assert summary["train_positive_rate"] == pytest.approx(statistics.mean(rises(train)))
    assert summary["test_positive_rate"] == pytest.approx(statistics.mean(rises(test)))

