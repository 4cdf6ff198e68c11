"""datasets.covid.load_covid end to end on a hand-made file, plus the real files."""

from __future__ import annotations

import math
import warnings
from datetime import date

import numpy as np
import pytest

from benchmarks.errors import UserError
from datasets.covid import CovidDataConfig, load_covid
from datasets.imbalance import class_weights

# Cumulative counts for 1/22..1/29 (8 days -> 7 daily values).
ROWS = [
    ("", "Diamond Princess", *[5] * 8),  # daily all 0: constant, no partner
    ("North", "France", 5, 5, 6, 7, 9, 11, 14, 17),  # the two provinces sum to
    ("South", "France", 5, 6, 7, 9, 11, 14, 17, 21),  # 10,11,13,16,20,25,31,38
    ("", "Germany", 0, 2, 6, 12, 20, 30, 42, 56),
    ("", "Italy", 0, 7, 13, 18, 22, 25, 27, 28),
    ("", "Spain", 0, 1, 4, 5, 8, 9, 12, 13),
]
DATES = tuple(f"1/{d}/20" for d in range(22, 30))
DAILY = {
    "Diamond Princess": [0, 0, 0, 0, 0, 0, 0],
    "France": [1, 2, 3, 4, 5, 6, 7],
    "Germany": [2, 4, 6, 8, 10, 12, 14],  # 2 x France: correlation 1
    "Italy": [7, 6, 5, 4, 3, 2, 1],  # reversed France: correlation -1
    # centred France [-3..3] . (Spain - 13/7) = (18 - 16 + 6 - 6 + 16 - 18) / 7 = 0
    "Spain": [1, 3, 1, 3, 1, 3, 1],
}


@pytest.fixture
def hand_file(write_csse):
    return write_csse(ROWS, dates=DATES)


def _load(path, **options):
    return load_covid(CovidDataConfig(path=str(path), **{"window": 3, **options}))


def test_hand_made_file_step_by_step(hand_file):
    data = _load(hand_file)
    assert data.source == hand_file
    assert data.countries == list(DAILY)
    assert data.dates == [date(2020, 1, d) for d in range(23, 30)]
    np.testing.assert_array_equal(data.daily, list(DAILY.values()))
    np.testing.assert_allclose(data.correlation[1], [np.nan, 1, 1, -1, 0], atol=1e-12)
    np.testing.assert_allclose(data.max_correlation, [np.nan, 1, 1, 0, 0], atol=1e-12)
    assert data.split.train == ["France", "Germany"]
    assert data.split.test == ["Diamond Princess", "Italy", "Spain"]
    # T - L = 7 - 3 = 4 windows per country; increasing series rise every time
    np.testing.assert_array_equal(data.train.x[:2], [[1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(data.train.y, [1] * 8)
    np.testing.assert_array_equal(data.train.country, [1] * 4 + [2] * 4)
    # test: Diamond Princess ties (0), Italy falls (0), Spain 1,3,1,3,1,3,1 -> 1,0,1,0
    np.testing.assert_array_equal(data.test.y, [0] * 8 + [1, 0, 1, 0])
    np.testing.assert_array_equal(data.test.country, [0] * 4 + [3] * 4 + [4] * 4)
    assert data.test.x.dtype == np.float32 and data.test.x.shape == (12, 3)
    assert len(data.validation.y) == 0 and data.validation.x.shape == (0, 3)
    np.testing.assert_array_equal(data.latest, [[0, 0, 0], [5, 6, 7], [10, 12, 14],
                                                [3, 2, 1], [1, 3, 1]])


def test_summary_and_country_table(hand_file):
    data = _load(hand_file)
    assert data.summary() == {
        "n_countries": 5,
        "n_train_countries": 2,
        "n_test_countries": 3,
        "n_train_windows": 8,  # 2 countries x 4
        "n_test_windows": 12,  # 3 countries x 4
        "train_positive_rate": 1.0,
        "test_positive_rate": pytest.approx(2 / 12),
        "first_date": "2020-01-23",
        "last_date": "2020-01-29",
    }
    table = data.country_table()
    assert [list(row) for row in table] == [["country", "iso2", "split", "max_correlation"]] * 5
    assert table[0] == {"country": "Diamond Princess", "iso2": "", "split": "test",
                        "max_correlation": ""}
    assert table[1] == {"country": "France", "iso2": "fr", "split": "train",
                        "max_correlation": 1.0}
    assert [r["iso2"] for r in table] == ["", "fr", "de", "it", "es"]
    assert [r["split"] for r in table] == ["test", "train", "train", "test", "test"]
    assert table[4]["max_correlation"] == pytest.approx(0.0, abs=1e-6)


def test_date_window_exclusion_and_clipping(hand_file, write_csse):
    data = _load(hand_file, start="2020-01-25", end="2020-01-28", exclude=["Diamond Princess"],
                 window=2)
    # cumulative 1/25..1/28 -> daily 1/26..1/28; France 16,20,25,31 -> 4,5,6
    assert data.countries == ["France", "Germany", "Italy", "Spain"]
    assert data.dates == [date(2020, 1, 26), date(2020, 1, 27), date(2020, 1, 28)]
    np.testing.assert_array_equal(data.daily[0], [4, 5, 6])
    assert data.summary()["n_train_windows"] == 2  # (3 - 2) windows x 2 countries
    path = write_csse([("", "X", 0, 5, 3, 4), ("", "Y", 0, 1, 2, 4), ("", "Z", 3, 3, 3, 3)],
                      dates=DATES[:4], name="neg.csv")
    # X: 5-0, 3-5, 4-3 = 5, -2, 1
    np.testing.assert_array_equal(_load(path, window=1, threshold=-0.9).daily[0], [5, -2, 1])
    np.testing.assert_array_equal(
        _load(path, window=1, threshold=-0.9, clip_negative=True).daily[0], [5, 0, 1])


def test_scaling_and_validation_hold_out(hand_file):
    data = _load(hand_file, scaling="log1p", val_fraction=0.5, split_seed=0)
    # round(0.5 * 2) = 1 of the two C countries is held out for validation
    assert len(data.split.train) == len(data.split.validation) == 1
    assert sorted(data.split.train + data.split.validation) == ["France", "Germany"]
    assert data.summary()["n_train_countries"] == 2
    assert data.summary()["n_train_windows"] == 8
    assert {r["split"] for r in data.country_table()} == {"train", "val", "test"}
    np.testing.assert_allclose(data.latest[1], np.log1p([5, 6, 7]), rtol=1e-6)


def test_relative_path_is_under_data_dir(hand_file):
    data = load_covid(CovidDataConfig(path=hand_file.name, window=3), hand_file.parent)
    assert data.source == hand_file


@pytest.mark.parametrize(("options", "message"), [
    ({"scaling": "zscore"}, "unknown data.scaling 'zscore'; valid: none, log1p, standardize"),
    ({"imbalance": "smote"}, "unknown data.imbalance 'smote'"),
    ({"decision": "vote"}, "unknown data.decision 'vote'; valid: argmax, val_threshold"),
    ({"decision": "val_threshold"}, "needs data.val_fraction > 0"),
    ({"threshold": 1.5}, "data.threshold must be a correlation in [-1, 1], got 1.5"),
    ({"start": "22/01/2020"}, "data.start '22/01/2020' is not an ISO date"),
    ({"window": 7}, "window length 7 is too long for a series of 7 days"),
    ({"threshold": 1.0}, "threshold 1.0 puts no country in the training set"),
    ({"exclude": ["Atlantis"]}, "cannot exclude countries not in the file"),
])
def test_bad_options_are_user_errors(hand_file, options, message):
    with pytest.raises(UserError) as err:
        _load(hand_file, **options)
    assert message in str(err.value)


def test_real_homework_file(data_dir):
    config = CovidDataConfig(imbalance="class_weight")
    data = load_covid(config, data_dir)
    summary = data.summary()
    assert summary["n_countries"] == len(data.countries) == 185
    assert len(data.dates) == 81  # 82 dates in the file, the first has no difference
    assert summary["first_date"] == "2020-01-23" and summary["last_date"] == "2020-04-12"
    per_country = 81 - 5
    assert summary["n_train_windows"] == summary["n_train_countries"] * per_country
    assert summary["n_test_windows"] == summary["n_test_countries"] * per_country
    assert summary["n_train_countries"] + summary["n_test_countries"] == 185
    assert 0 < summary["test_positive_rate"] < summary["train_positive_rate"] < 0.5
    np.testing.assert_allclose(data.loss_class_weights(), class_weights(data.train.y))
    assert data.loss_class_weights()[1] > 1 > data.loss_class_weights()[0]  # rises are rare
    assert all(math.isnan(c) or -1 <= c <= 1 for c in data.max_correlation)
    by_name = {row["country"]: row for row in data.country_table()}
    assert by_name["Korea, South"]["iso2"] == "kr"
    assert by_name["MS Zaandam"]["iso2"] == ""


def test_real_csse_files_load(data_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_covid(CovidDataConfig(
            path="covid/time_series_covid19_confirmed_global_2020-05-02.csv"), data_dir)
    assert data.dates[-1] == date(2020, 5, 2)
    spain = data.countries.index("Spain")
    # cumulative 4/24 = 202990 (dirty cell), 4/23 = 213024 -> a correction of -10034
    assert data.daily[spain, data.dates.index(date(2020, 4, 24))] == 202990 - 213024
    assert data.train_indices(seed=0).tolist() == list(range(len(data.train.y)))
