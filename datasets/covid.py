"""COVID-19 rise/fall adapter: one CSV in, labelled windows per split plus metadata out.

Everything about the data, including scaling and the class-imbalance strategy, is
decided here from ``CovidDataConfig``; the model only ever sees float windows.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks.errors import UserError
from datasets.country_codes import iso2_for
from datasets.covid_csv import read_confirmed_csv
from datasets.covid_series import (
    CountrySplit,
    correlation_matrix,
    daily_new_cases,
    max_partner_correlation,
    restrict_dates,
    split_countries,
    sum_by_country,
)
from datasets.imbalance import (
    DECISION_RULES,
    IMBALANCE_STRATEGIES,
    class_counts,
    class_weights,
    resample_indices,
)
from datasets.windows import SCALINGS, check_window, scale_windows, windows_for_rows


@dataclass
class CovidDataConfig:
    """Data options of the COVID study; defaults reproduce the original homework."""

    path: str = "covid/covid_19_homework.csv"
    start: str | None = None  # ISO date, inclusive; None = first date in the file
    end: str | None = None  # ISO date, inclusive; None = last date in the file
    exclude: list[str] = field(default_factory=list)  # e.g. ["Diamond Princess"]
    clip_negative: bool = False
    threshold: float = 0.7
    window: int = 5
    scaling: str = "none"
    imbalance: str = "none"
    decision: str = "argmax"
    val_fraction: float = 0.0
    split_seed: int = 0

    def validate(self) -> None:
        _choice("data.scaling", self.scaling, SCALINGS)
        _choice("data.imbalance", self.imbalance, IMBALANCE_STRATEGIES)
        _choice("data.decision", self.decision, DECISION_RULES)
        if self.decision == "val_threshold" and self.val_fraction <= 0:
            raise UserError("data.decision 'val_threshold' needs data.val_fraction > 0")
        if not -1.0 <= self.threshold <= 1.0:
            raise UserError(f"data.threshold must be a correlation in [-1, 1], got "
                            f"{self.threshold}")


def _choice(key: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise UserError(f"unknown {key} {value!r}; valid: {', '.join(valid)}")


def parse_day(value, key: str) -> date | None:
    """Accept TOML dates and ISO strings; the error names the key."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise UserError(f"{key} {value!r} is not an ISO date (YYYY-MM-DD)") from None


@dataclass
class WindowSet:
    """Scaled windows of one split, their labels and the country each came from."""

    x: np.ndarray  # float32 (n, L)
    y: np.ndarray  # int64 (n,)
    country: np.ndarray  # int64 (n,), index into CovidData.countries

    @property
    def positive_rate(self) -> float:
        return float(self.y.mean()) if len(self.y) else float("nan")


@dataclass
class CovidData:
    """What a COVID cell needs: splits, the correlation matrix and per-country metadata."""

    source: Path
    config: CovidDataConfig
    countries: list[str]
    dates: list[date]  # dates of the daily series
    daily: np.ndarray  # (countries, dates) daily new cases
    correlation: np.ndarray
    max_correlation: np.ndarray
    split: CountrySplit
    train: WindowSet
    validation: WindowSet
    test: WindowSet
    latest: np.ndarray  # float32 (countries, L): each country's last L days, scaled

    @property
    def train_class_counts(self) -> np.ndarray:
        return class_counts(self.train.y)

    def loss_class_weights(self) -> np.ndarray | None:
        """Cross-entropy weights under the 'class_weight' strategy, else None."""
        if self.config.imbalance != "class_weight":
            return None
        return class_weights(self.train.y)

    def train_indices(self, seed: int) -> np.ndarray:
        """Indices of training windows to use in an epoch (resampled if asked)."""
        return resample_indices(self.train.y, self.config.imbalance, seed)

    def iso2(self) -> list[str | None]:
        return [iso2_for(name) for name in self.countries]

    def country_table(self) -> list[dict]:
        """One row per country: name, ISO code ('' if none), split, best partner corr."""
        split_of = {c: "train" for c in self.split.train}
        split_of.update({c: "val" for c in self.split.validation})
        split_of.update({c: "test" for c in self.split.test})
        return [
            {"country": name, "iso2": code or "", "split": split_of[name],
             "max_correlation": "" if np.isnan(corr) else round(float(corr), 6)}
            for name, code, corr in zip(self.countries, self.iso2(), self.max_correlation)
        ]

    def summary(self) -> dict:
        """The keys DESIGN section 5 gives for ``prepare covid``'s summary.json."""
        return {
            "n_countries": len(self.countries),
            "n_train_countries": len(self.split.train) + len(self.split.validation),
            "n_test_countries": len(self.split.test),
            "n_train_windows": int(len(self.train.y) + len(self.validation.y)),
            "n_test_windows": int(len(self.test.y)),
            "train_positive_rate": _rate(np.concatenate([self.train.y, self.validation.y])),
            "test_positive_rate": _rate(self.test.y),
            "first_date": self.dates[0].isoformat(),
            "last_date": self.dates[-1].isoformat(),
        }


def csv_text(rows: list[dict]) -> str:
    """Rows as CSV text; the csv module quotes names such as 'Korea, South'."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _rate(labels: np.ndarray) -> float:
    return float(labels.mean()) if len(labels) else float("nan")


def load_covid(config: CovidDataConfig, data_dir: Path | None = None) -> CovidData:
    """Run DESIGN section 2 steps 1-8 on the configured file."""
    config.validate()
    source = Path(config.path)
    if data_dir is not None and not source.is_absolute():
        source = Path(data_dir) / source
    raw = read_confirmed_csv(source)
    per_country = sum_by_country(raw, tuple(config.exclude))
    window_days = restrict_dates(
        per_country, parse_day(config.start, "data.start"), parse_day(config.end, "data.end"),
        source=str(source),
    )
    daily = daily_new_cases(window_days, clip_negative=config.clip_negative)
    try:
        check_window(config.window, len(daily.dates))
    except UserError as exc:
        raise UserError(f"{source}: {exc}") from None
    corr = correlation_matrix(daily)
    try:
        split = split_countries(daily.countries, corr, config.threshold,
                                config.val_fraction, config.split_seed)
    except UserError as exc:
        raise UserError(f"{source}: {exc}") from None
    row = {name: i for i, name in enumerate(daily.countries)}

    def windows(names: list[str]) -> WindowSet:
        x, y, owner = windows_for_rows(daily.values, [row[n] for n in names], config.window)
        return WindowSet(scale_windows(x, config.scaling), y, owner)

    latest = scale_windows(daily.values[:, -config.window:], config.scaling)
    return CovidData(
        source=source,
        config=config,
        countries=daily.countries,
        dates=daily.dates,
        daily=daily.values,
        correlation=corr,
        max_correlation=max_partner_correlation(corr),
        split=split,
        train=windows(split.train),
        validation=windows(split.validation),
        test=windows(split.test),
        latest=latest,
    )
