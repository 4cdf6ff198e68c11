"""datasets.covid_csv.read_confirmed_csv: both layouts, dirty cells, every malformed input."""

from __future__ import annotations

import csv
import warnings
from datetime import date

import numpy as np
import pytest

from benchmarks.errors import UserError
from datasets.covid_csv import AGGREGATED, CSSE, read_confirmed_csv

HOMEWORK = "covid/covid_19_homework.csv"
CSSE_2020 = "covid/time_series_covid19_confirmed_global_2020-05-02.csv"
CSSE_2023 = "covid/time_series_covid19_confirmed_global_2023-03-09.csv"


def _read_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean file must not warn
        return read_confirmed_csv(path)


def _write(tmp_path, text: str, name: str = "x.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- the two layouts


def test_csse_layout_keeps_every_row_and_crosses_month_ends(write_csse):
    path = write_csse(
        [("North", "A", 1, 2, 3), ("South", "A", 10, 20, 30), ("", "B", 0, 0, 5)],
        dates=("1/31/20", "2/1/20", "2/2/20"),
    )
    raw = _read_quietly(path)
    assert raw.layout == CSSE and raw.path == path
    assert raw.countries == ["A", "A", "B"]  # province rows are not summed here
    assert raw.dates == [date(2020, 1, 31), date(2020, 2, 1), date(2020, 2, 2)]
    assert raw.counts.dtype == np.int64
    np.testing.assert_array_equal(raw.counts, [[1, 2, 3], [10, 20, 30], [0, 0, 5]])


def test_aggregated_layout_three_header_rows(tmp_path):
    text = (
        ",Lat,Long,2/28/20,2/29/20,3/1/20\n"  # 2020 is a leap year
        ",sum,sum,sum,sum,sum\n"
        "Country/Region,,,,,\n"
        "Albania,41.0,20.0,0,1,4\n"
        '"Korea, South",36.0,128.0,7,9,12\n'
    )
    raw = _read_quietly(_write(tmp_path, text))
    assert raw.layout == AGGREGATED
    assert raw.countries == ["Albania", "Korea, South"]
    assert raw.dates == [date(2020, 2, 28), date(2020, 2, 29), date(2020, 3, 1)]
    np.testing.assert_array_equal(raw.counts, [[0, 1, 4], [7, 9, 12]])


def test_byte_order_mark_and_padded_cells_are_accepted(tmp_path):
    text = "\ufeffProvince/State,Country/Region,Lat,Long,1/22/20, 1/23/20\n,X,0,0, 3 ,4\n"
    raw = _read_quietly(_write(tmp_path, text))
    assert raw.layout == CSSE and raw.dates[1] == date(2020, 1, 23)
    np.testing.assert_array_equal(raw.counts, [[3, 4]])


def test_real_homework_file(data_dir):
    raw = _read_quietly(data_dir / HOMEWORK)
    with (data_dir / HOMEWORK).open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert raw.layout == AGGREGATED
    assert len(raw.countries) == len(rows) - 3 == 185
    assert raw.dates[0] == date(2020, 1, 22) and raw.dates[-1] == date(2020, 4, 12)
    italy = next(r for r in rows if r[0] == "Italy")
    assert raw.counts[raw.countries.index("Italy")].tolist() == [int(v) for v in italy[3:]]


@pytest.mark.parametrize(("name", "last"), [(CSSE_2020, date(2020, 5, 2)),
                                             (CSSE_2023, date(2023, 3, 9))])
def test_real_csse_files(data_dir, name, last):
    with (data_dir / name).open(newline="") as handle:
        rows = list(csv.reader(handle))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the 2020 file has dirty cells (tested below)
        raw = read_confirmed_csv(data_dir / name)
    assert raw.layout == CSSE
    assert raw.countries == [r[1] for r in rows[1:]]  # every row, cruise ships included
    assert raw.dates[0] == date(2020, 1, 22) and raw.dates[-1] == last
    assert len(raw.dates) == (last - date(2020, 1, 22)).days + 1
    assert raw.counts.shape == (len(rows) - 1, len(rows[0]) - 4)


# ---------------------------------------------------------------- dirty cells


def test_dirty_cells_keep_leading_integer_and_warn_naming_them(write_csse):
    path = write_csse([("", "A", "5", "12 (ANOMALY)", "13"), ("", "B", "1", "2", "3abc")])
    with pytest.warns(UserWarning) as caught:
        raw = read_confirmed_csv(path)
    np.testing.assert_array_equal(raw.counts, [[5, 12, 13], [1, 2, 3]])
    assert len(caught) == 1
    message = str(caught[0].message)
    assert str(path) in message
    assert "line 2 (A) column 1/23/20: '12 (ANOMALY)'" in message
    assert "line 3 (B) column 1/24/20: '3abc'" in message


def test_real_spain_anomaly_cells(data_dir):
    with pytest.warns(UserWarning, match=r"Spain.*4/24/20.*202990 \(ANOMALY ORIGIN\)"):
        raw = read_confirmed_csv(data_dir / CSSE_2020)
    spain = raw.countries.index("Spain")
    day = raw.dates.index(date(2020, 4, 24))
    assert raw.counts[spain, day] == 202990
    assert raw.counts[spain, day + 2] == 207634  # '207634(ANOMALY)', no space


@pytest.mark.parametrize("cell", ["abc", "", "-5", "(7)", "²", "١٢"])
def test_cell_without_leading_integer_names_file_row_and_column(write_csse, cell):
    path = write_csse([("", "A", 1, 2, 3), ("", "B", 1, cell, 3)])
    with pytest.raises(UserError) as err:
        read_confirmed_csv(path)
    assert str(err.value) == f"{path}: line 3 (B) column 1/23/20: {cell!r} is not a count"


# ---------------------------------------------------------------- malformed files


def _error(path) -> str:
    with pytest.raises(UserError) as err:
        read_confirmed_csv(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_missing_file(tmp_path):
    assert _error(tmp_path / "nope.csv").endswith("no such file")


def test_directory_is_not_a_file(tmp_path):
    assert _error(tmp_path).endswith("is a folder, not a CSV file")


@pytest.mark.parametrize("text", ["", "\n\n\n", "\ufeff"])
def test_empty_file(tmp_path, text):
    assert _error(_write(tmp_path, text)).endswith("the file is empty")


def test_binary_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 10)
    assert "not a UTF-8 text CSV" in _error(path)


def test_latin1_file(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("Province/State,Country/Region,Lat,Long,1/22/20\n,Côte,0,0,1\n"
                     .encode("latin-1"))
    assert "not a UTF-8 text CSV" in _error(path)


@pytest.mark.parametrize("text", [
    "a,b,c\n1,2,3\n",
    "Country/Region,Lat,Long,1/22/20\nX,0,0,1\n",
    ",Lat,Long,1/22/20\n,sum,sum,sum\n",  # aggregated but only two header rows
    ",Lat,Long,1/22/20\n,mean,mean,mean\nCountry/Region,,,\nX,0,0,1\n",
])
def test_neither_layout(tmp_path, text):
    assert "neither a JHU CSSE confirmed file" in _error(_write(tmp_path, text))


def test_header_only_has_no_data_rows(tmp_path):
    path = _write(tmp_path, "Province/State,Country/Region,Lat,Long,1/22/20,1/23/20\n")
    assert _error(path).endswith("no data rows after the header")


@pytest.mark.parametrize("header", ["Province/State,Country/Region,Lat,Long",
                                    ",Lat,Long\n,sum,sum\nCountry/Region,,"])
def test_no_date_columns(tmp_path, header):
    assert _error(_write(tmp_path, header + "\n")).endswith("no date columns in the header")


@pytest.mark.parametrize("label", ["Jan 22", "1/22/2020", "2020-01-22", "13/1/20", "2/30/20"])
def test_header_cell_not_a_date(write_csse, label):
    path = write_csse([("", "A", 1, 2)], dates=("1/21/20", label))
    assert _error(path).endswith(f"header cell {label!r} is not a m/d/yy date")


def test_duplicated_date_column(write_csse):
    path = write_csse([("", "A", 1, 2, 3)], dates=("1/22/20", "1/23/20", "01/23/20"))
    assert _error(path).endswith("date column '01/23/20' appears twice")


@pytest.mark.parametrize(("dates", "gap"), [
    (("1/22/20", "1/24/20"), "2020-01-22 is followed by 2020-01-24"),
    (("1/23/20", "1/22/20"), "2020-01-23 is followed by 2020-01-22"),
])
def test_dates_not_consecutive(write_csse, dates, gap):
    assert _error(write_csse([("", "A", 1, 2)], dates=dates)).endswith(
        f"date columns are not consecutive days ({gap})")


def test_short_and_long_rows(write_csse, tmp_path):
    path = write_csse([("", "A", 1, 2, 3), ("", "B", 1, 2)])
    assert "line 3 has 6 cells, the header has 7" in _error(path)
    path = write_csse([("", "A", 1, 2, 3, 4)], name="long.csv")
    assert "line 2 has 8 cells, the header has 7" in _error(path)


def test_truncated_real_file(data_dir, tmp_path):
    """Cut the real homework file in the middle of its 21st line."""
    lines = (data_dir / HOMEWORK).read_text(encoding="utf-8").splitlines(keepends=True)
    cut = lines[20][: len(lines[20]) // 2]
    path = tmp_path / "cut.csv"
    path.write_text("".join(lines[:20]) + cut, encoding="utf-8")
    n_cells = len(next(csv.reader([cut])))
    assert f"line 21 has {n_cells} cells, the header has 85" in _error(path)


def test_empty_country_name(write_csse):
    assert "line 2 has an empty Country/Region" in _error(write_csse([("P", " ", 1, 2, 3)]))


def test_line_numbers_count_blank_lines(tmp_path):
    """A blank line before the bad row must not shift the line number in the error."""
    text = "Province/State,Country/Region,Lat,Long,1/22/20\n,A,0,0,1\n\n,B,0,0,x\n"
    assert "line 4 (B) column 1/22/20: 'x' is not a count" in _error(_write(tmp_path, text))


def test_count_too_large_for_int64(write_csse):
    path = write_csse([("", "A", 1, 2, "99999999999999999999")])
    assert _error(path).endswith("column 1/24/20: '99999999999999999999' is too large")
