"""Per-country daily new cases, their correlation matrix and the train/test country split.

Each step is a small pure function so it can be checked against hand-computed values;
DESIGN section 2 (steps 1-5) is the specification.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from benchmarks.errors import UserError
from datasets.covid_csv import RawSeries


@dataclass
class CountrySeries:
    """One row per country, one column per date; ``values`` are cumulative or daily."""

    countries: list[str]
    dates: list[date]
    values: np.ndarray  # (countries, dates)


def sum_by_country(raw: RawSeries, exclude: tuple[str, ...] = ()) -> CountrySeries:
    """Sum province rows per Country/Region; countries come out sorted by name."""
    unknown = sorted(set(exclude) - set(raw.countries))
    if unknown:
        raise UserError(f"{raw.path}: cannot exclude countries not in the file: {unknown}")
    names = sorted(set(raw.countries) - set(exclude))
    if not names:
        raise UserError(f"{raw.path}: excluding {list(exclude)} leaves no country")
    index = {name: i for i, name in enumerate(names)}
    values = np.zeros((len(names), len(raw.dates)), dtype=np.int64)
    for row, name in enumerate(raw.countries):
        if name in index:
            values[index[name]] += raw.counts[row]
    return CountrySeries(countries=names, dates=list(raw.dates), values=values)


def restrict_dates(series: CountrySeries, start: date | None, end: date | None,
                   source: str = "data") -> CountrySeries:
    """Keep the inclusive window [start, end]; default is every date in the file."""
    first, last = series.dates[0], series.dates[-1]
    start = start or first
    end = end or last
    if start > end:
        raise UserError(f"{source}: start {start.isoformat()} is after end {end.isoformat()}")
    if start < first or end > last:
        raise UserError(
            f"{source}: window {start.isoformat()}..{end.isoformat()} is outside the file's "
            f"dates {first.isoformat()}..{last.isoformat()}"
        )
    keep = [i for i, d in enumerate(series.dates) if start <= d <= end]
    return CountrySeries(series.countries, [series.dates[i] for i in keep],
                         series.values[:, keep])


def daily_new_cases(cumulative: CountrySeries, clip_negative: bool = False) -> CountrySeries:
    """First difference along dates; the first date has no value and is dropped.

    Negative values are data corrections; they are kept unless ``clip_negative``.
    """
    if len(cumulative.dates) < 2:
        raise UserError("the date window must hold at least two days to take differences")
    daily = np.diff(cumulative.values, axis=1)
    if clip_negative:
        daily = np.clip(daily, 0, None)
    return CountrySeries(cumulative.countries, cumulative.dates[1:], daily)


def correlation_matrix(daily: CountrySeries) -> np.ndarray:
    """Pearson correlation of every pair of countries; NaN where a series is constant.

    A constant series has no variance, so it correlates with nothing; the diagonal is 1
    for every non-constant country.
    """
    x = daily.values.astype(np.float64)
    centred = x - x.mean(axis=1, keepdims=True)
    norms = np.sqrt((centred**2).sum(axis=1))
    constant = norms == 0
    safe = np.where(constant, 1.0, norms)
    unit = centred / safe[:, None]
    corr = np.clip(unit @ unit.T, -1.0, 1.0)
    corr[constant, :] = np.nan
    corr[:, constant] = np.nan
    return corr


def max_partner_correlation(corr: np.ndarray) -> np.ndarray:
    """For each country, its highest correlation with another country (NaN if none)."""
    off = np.where(np.isnan(corr), -np.inf, corr)
    np.fill_diagonal(off, -np.inf)
    best = off.max(axis=1)
    return np.where(np.isneginf(best), np.nan, best)


@dataclass
class CountrySplit:
    """Country names of each set; train is DESIGN's set C minus any validation hold-out."""

    train: list[str]
    validation: list[str]
    test: list[str]


def split_countries(countries: list[str], corr: np.ndarray, threshold: float,
                    val_fraction: float = 0.0, seed: int = 0) -> CountrySplit:
    """C = countries correlated >= threshold with another country; the rest are test.

    A seeded ``val_fraction`` of C is held out as validation (for tuning and early
    stopping, never tune on test).
    """
    best = max_partner_correlation(corr)
    in_c = np.nan_to_num(best, nan=-np.inf) >= threshold
    train = [c for c, keep in zip(countries, in_c) if keep]
    test = [c for c, keep in zip(countries, in_c) if not keep]
    if not train:
        raise UserError(f"threshold {threshold} puts no country in the training set")
    if not test:
        raise UserError(f"threshold {threshold} puts every country in the training set")
    if not 0.0 <= val_fraction < 1.0:
        raise UserError(f"val_fraction must be in [0, 1), got {val_fraction}")
    validation: list[str] = []
    if val_fraction > 0:
        n_val = max(1, int(round(val_fraction * len(train))))
        if n_val >= len(train):
            raise UserError(
                f"val_fraction {val_fraction} leaves no training country ({len(train)} in C)"
            )
        rng = np.random.default_rng(seed)
        picked = set(rng.choice(len(train), size=n_val, replace=False).tolist())
        validation = [c for i, c in enumerate(train) if i in picked]
        train = [c for i, c in enumerate(train) if i not in picked]
    return CountrySplit(train=train, validation=validation, test=test)
