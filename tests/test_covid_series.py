"""datasets.covid_series: per-country sums, date window, daily cases, correlation, split."""

from __future__ import annotations

import math
import statistics
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from benchmarks.errors import UserError
from datasets.covid_csv import CSSE, RawSeries
from datasets.covid_series import (
    CountrySeries,
    correlation_matrix,
    daily_new_cases,
    max_partner_correlation,
    restrict_dates,
    split_countries,
    sum_by_country,
)

DAYS = [date(2020, 2, 27), date(2020, 2, 28), date(2020, 2, 29), date(2020, 3, 1)]


def _raw(countries, counts) -> RawSeries:
    return RawSeries(path=Path("f.csv"), layout=CSSE, countries=countries, dates=list(DAYS),
                     counts=np.asarray(counts, dtype=np.int64))


def _series(values, names=None, dates=None) -> CountrySeries:
    values = np.asarray(values)
    names = names or [f"c{i}" for i in range(len(values))]
    return CountrySeries(names, dates or DAYS[: values.shape[1]], values)


# ---------------------------------------------------------------- step 1: sum per country


def test_sum_by_country_adds_province_rows_and_sorts_names():
    raw = _raw(["Zeta", "Alpha", "Zeta", "Ship"],
               [[1, 2, 3, 4], [0, 0, 1, 1], [10, 20, 30, 40], [5, 5, 5, 5]])
    out = sum_by_country(raw)
    assert out.countries == ["Alpha", "Ship", "Zeta"]  # cruise ships kept by default
    assert out.dates == DAYS
    # Zeta = [1+10, 2+20, 3+30, 4+40]
    np.testing.assert_array_equal(out.values, [[0, 0, 1, 1], [5, 5, 5, 5], [11, 22, 33, 44]])


def test_sum_by_country_excludes_named_rows():
    raw = _raw(["B", "Ship", "A"], [[1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]])
    out = sum_by_country(raw, exclude=("Ship",))
    assert out.countries == ["A", "B"]
    np.testing.assert_array_equal(out.values, [[3] * 4, [1] * 4])


def test_sum_by_country_rejects_unknown_exclusion():
    raw = _raw(["A"], [[1, 2, 3, 4]])
    with pytest.raises(UserError, match=r"f.csv: cannot exclude .*\['Atlantis'\]"):
        sum_by_country(raw, exclude=("Atlantis", "A"))
    with pytest.raises(UserError, match=r"f.csv: excluding \['A'\] leaves no country"):
        sum_by_country(raw, exclude=("A",))


# ---------------------------------------------------------------- step 2: date window


def test_restrict_dates_is_inclusive_and_defaults_to_everything():
    series = _series([[1, 2, 3, 4]])
    assert restrict_dates(series, None, None).dates == DAYS
    out = restrict_dates(series, date(2020, 2, 28), date(2020, 2, 29))
    assert out.dates == DAYS[1:3]
    np.testing.assert_array_equal(out.values, [[2, 3]])
    out = restrict_dates(series, date(2020, 2, 29), None)
    np.testing.assert_array_equal(out.values, [[3, 4]])
    out = restrict_dates(series, DAYS[0], DAYS[0])
    assert out.dates == DAYS[:1]


def test_restrict_dates_errors_name_source_and_dates():
    series = _series([[1, 2, 3, 4]])
    with pytest.raises(UserError, match="src: start 2020-03-01 is after end 2020-02-28"):
        restrict_dates(series, date(2020, 3, 1), date(2020, 2, 28), source="src")
    with pytest.raises(UserError, match=r"src: window 2020-02-26\.\.2020-03-01 is outside "
                                        r"the file's dates 2020-02-27\.\.2020-03-01"):
        restrict_dates(series, date(2020, 2, 26), None, source="src")
    with pytest.raises(UserError, match="outside"):
        restrict_dates(series, None, date(2020, 3, 2), source="src")


# ---------------------------------------------------------------- step 3: daily new cases


def test_daily_new_cases_is_first_difference_keeping_corrections():
    # [5, 8, 7, 12] -> [8-5, 7-8, 12-7] = [3, -1, 5]; the first date has no value
    out = daily_new_cases(_series([[5, 8, 7, 12], [0, 0, 0, 0]]))
    assert out.dates == DAYS[1:]
    np.testing.assert_array_equal(out.values, [[3, -1, 5], [0, 0, 0]])


def test_daily_new_cases_can_clip_corrections():
    out = daily_new_cases(_series([[5, 8, 7, 12]]), clip_negative=True)
    np.testing.assert_array_equal(out.values, [[3, 0, 5]])


def test_daily_new_cases_needs_two_days():
    with pytest.raises(UserError, match="at least two days"):
        daily_new_cases(_series([[5]]))


# ---------------------------------------------------------------- step 4: correlation


def test_correlation_matrix_hand_values():
    values = [
        [1, 2, 3, 4],  # a: centred [-1.5, -0.5, 0.5, 1.5], squared norm 5
        [2, 4, 6, 8],  # 2a: correlation 1 with a
        [4, 3, 2, 1],  # reversed: -1 with a
        [1, 3, 2, 4],  # centred [-1.5, 0.5, -0.5, 1.5]; dot with a = 2.25-.25-.25+2.25 = 4
        [7, 7, 7, 7],  # constant: no partner, NaN everywhere (diagonal too)
    ]
    corr = correlation_matrix(_series(values, dates=[DAYS[0]] * 4))
    expected_a = [1.0, 1.0, -1.0, 4 / 5, math.nan]  # 4 / (sqrt(5) * sqrt(5))
    np.testing.assert_allclose(corr[0], expected_a, atol=1e-12)
    np.testing.assert_allclose(corr, corr.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(corr)[:4], 1.0, atol=1e-12)
    assert np.isnan(corr[4]).all() and np.isnan(corr[:, 4]).all()
    assert (np.abs(corr[:4, :4]) <= 1.0).all()


def test_correlation_matches_statistics_module_on_real_like_counts():
    rng = np.random.default_rng(0)
    values = rng.integers(-50, 100_000, size=(4, 30))
    corr = correlation_matrix(_series(values, dates=[DAYS[0]] * 30))
    for i in range(4):
        for j in range(4):
            expected = statistics.correlation(values[i].tolist(), values[j].tolist())
            assert corr[i, j] == pytest.approx(expected, abs=1e-12)


def test_all_constant_and_single_country_do_not_crash():
    corr = correlation_matrix(_series([[0, 0, 0], [3, 3, 3]]))
    assert np.isnan(corr).all()
    assert np.isnan(max_partner_correlation(corr)).all()
    corr = correlation_matrix(_series([[1, 2, 4]]))
    assert corr.shape == (1, 1) and corr[0, 0] == pytest.approx(1.0)
    assert np.isnan(max_partner_correlation(corr)).all()  # nobody else to correlate with


def test_max_partner_correlation_ignores_self_and_nan():
    corr = np.array([
        [1.0, 0.2, -0.9, np.nan],
        [0.2, 1.0, 0.5, np.nan],
        [-0.9, 0.5, 1.0, np.nan],
        [np.nan, np.nan, np.nan, np.nan],
    ])
    best = max_partner_correlation(corr)
    np.testing.assert_allclose(best[:3], [0.2, 0.5, 0.5])
    assert np.isnan(best[3])
    assert corr[0, 0] == 1.0  # the input is not modified


# ---------------------------------------------------------------- step 5: split

NAMES = ["A", "B", "C", "D", "E"]
CORR = np.array([
    [1.0, 0.7, 0.1, 0.0, np.nan],   # A-B exactly at the threshold 0.7: both in C
    [0.7, 1.0, 0.69, 0.0, np.nan],
    [0.1, 0.69, 1.0, -0.95, np.nan],  # C: best 0.69 < 0.7, a strong negative does not count
    [0.0, 0.0, -0.95, 1.0, np.nan],
    [np.nan] * 5,                   # E constant: never in C
])


def test_split_threshold_is_inclusive_and_nan_goes_to_test():
    split = split_countries(NAMES, CORR, threshold=0.7)
    assert split.train == ["A", "B"]
    assert split.test == ["C", "D", "E"]
    assert split.validation == []
    assert split_countries(NAMES, CORR, threshold=0.69).train == ["A", "B", "C"]
    # -0.5: D's best partner is 0.0 >= -0.5, E has none and stays in test
    assert split_countries(NAMES, CORR, threshold=-0.5).test == ["E"]


def test_split_needs_both_sets():
    with pytest.raises(UserError, match="threshold 0.71 puts no country in the training set"):
        split_countries(NAMES, CORR, threshold=0.71)
    corr = np.array([[1.0, 0.2], [0.2, 1.0]])
    with pytest.raises(UserError, match="threshold -1 puts every country in the training set"):
        split_countries(["A", "B"], corr, threshold=-1)


def test_split_validation_is_a_seeded_part_of_c():
    names = [f"c{i}" for i in range(10)]
    corr = np.full((10, 10), 0.9)
    corr[9, :] = corr[:, 9] = 0.1  # c9 is the only test country
    np.fill_diagonal(corr, 1.0)
    a = split_countries(names, corr, 0.7, val_fraction=0.3, seed=1)
    b = split_countries(names, corr, 0.7, val_fraction=0.3, seed=1)
    assert a == b
    assert len(a.validation) == 3 and len(a.train) == 6  # round(0.3 * 9) = 3
    assert sorted(a.train + a.validation) == names[:9]
    assert a.test == ["c9"]
    others = [split_countries(names, corr, 0.7, 0.3, seed=s).validation for s in range(2, 8)]
    assert any(v != a.validation for v in others)
    # a tiny fraction still holds out one country: max(1, round(0.01 * 9)) = 1
    assert len(split_countries(names, corr, 0.7, val_fraction=0.01).validation) == 1


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_split_rejects_bad_val_fraction(fraction):
    with pytest.raises(UserError, match="val_fraction must be in"):
        split_countries(NAMES, CORR, 0.7, val_fraction=fraction)


def test_split_validation_must_leave_training_countries():
    # C = {A, B}; round(0.8 * 2) = 2 would hold out both
    with pytest.raises(UserError, match="leaves no training country"):
        split_countries(NAMES, CORR, 0.7, val_fraction=0.8)
