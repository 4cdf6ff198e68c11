"""Sliding windows over daily series, rise/fall labels, and input scaling.

DESIGN section 2, steps 6-7: for a series x of length T and window L, window t is
x[t : t+L] and its label is 1 ("rise") when x[t+L] > x[t+L-1] (a tie is 0).
"""

from __future__ import annotations

import numpy as np

from benchmarks.errors import UserError

SCALINGS = ("none", "log1p", "standardize")


def check_window(window: int, length: int) -> None:
    """A window needs at least one following day to be labelled."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise UserError(f"window length must be a whole number >= 1, got {window!r}")
    if window > length - 1:
        raise UserError(
            f"window length {window} is too long for a series of {length} days "
            f"(at most {length - 1})"
        )


def sliding_windows(series: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """All labelled windows of one 1-D series: (T-L, L) inputs and (T-L,) labels."""
    series = np.asarray(series)
    check_window(window, len(series))
    inputs = np.lib.stride_tricks.sliding_window_view(series, window)[:-1]
    labels = (series[window:] > series[window - 1 : -1]).astype(np.int64)
    return inputs, labels


def windows_for_rows(values: np.ndarray, rows: list[int], window: int):
    """Windows of several series stacked; also returns the row each window came from."""
    check_window(window, values.shape[1])
    per_row = values.shape[1] - window
    if not rows:
        return (np.zeros((0, window), values.dtype), np.zeros(0, np.int64),
                np.zeros(0, np.int64))
    parts = [sliding_windows(values[r], window) for r in rows]
    inputs = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    owner = np.repeat(np.asarray(rows, dtype=np.int64), per_row)
    return inputs, labels, owner


def scale_windows(windows: np.ndarray, scaling: str) -> np.ndarray:
    """Scale each window independently, so no statistic leaks across countries or splits.

    ``log1p`` is sign-preserving (corrections make some daily counts negative);
    ``standardize`` maps each window to zero mean and unit variance (a flat window to 0).
    """
    x = windows.astype(np.float64)
    if scaling == "none":
        out = x
    elif scaling == "log1p":
        out = np.sign(x) * np.log1p(np.abs(x))
    elif scaling == "standardize":
        mean = x.mean(axis=-1, keepdims=True)
        std = x.std(axis=-1, keepdims=True)
        out = np.where(std > 0, (x - mean) / np.where(std > 0, std, 1.0), 0.0)
    else:
        raise UserError(f"unknown scaling {scaling!r}; valid: {', '.join(SCALINGS)}")
    return out.astype(np.float32)
