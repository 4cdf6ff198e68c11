"""datasets.windows: window t is x[t:t+L], label 1 iff x[t+L] > x[t+L-1]; input scaling."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.errors import UserError
from datasets.windows import check_window, scale_windows, sliding_windows, windows_for_rows


def test_sliding_windows_hand_values():
    x = np.array([1, 2, 2, 3, 1])  # T = 5, L = 2: T - L = 3 windows (t = 0, 1, 2)
    inputs, labels = sliding_windows(x, 2)
    np.testing.assert_array_equal(inputs, [[1, 2], [2, 2], [2, 3]])
    # t=0: x[2]=2 > x[1]=2? no (a tie is 0); t=1: 3 > 2 yes; t=2: 1 > 3 no
    np.testing.assert_array_equal(labels, [0, 1, 0])
    assert labels.dtype == np.int64


def test_longest_window_gives_one_window():
    inputs, labels = sliding_windows(np.array([5, 1, 0, 4]), 3)  # T - L = 4 - 3 = 1
    np.testing.assert_array_equal(inputs, [[5, 1, 0]])
    np.testing.assert_array_equal(labels, [1])  # 4 > 0


def test_negative_values_and_window_one():
    inputs, labels = sliding_windows(np.array([-3, -1, -2, 0]), 1)
    np.testing.assert_array_equal(inputs, [[-3], [-1], [-2]])
    np.testing.assert_array_equal(labels, [1, 0, 1])  # -1>-3, -2>-1 no, 0>-2


def test_labels_match_the_definition_on_random_series():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, size=40)
    for window in (1, 4, 39):
        inputs, labels = sliding_windows(x, window)
        assert len(inputs) == len(labels) == len(x) - window
        for t in range(len(x) - window):
            assert inputs[t].tolist() == x[t : t + window].tolist()
            assert labels[t] == int(x[t + window] > x[t + window - 1])


@pytest.mark.parametrize("window", [0, -1, 2.0, True, "3", None])
def test_bad_window_values(window):
    with pytest.raises(UserError, match=r"window length must be a whole number >= 1, got "):
        check_window(window, 10)


@pytest.mark.parametrize("window", [10, 11])
def test_window_too_long(window):
    with pytest.raises(UserError, match=rf"window length {window} is too long for a series of "
                                        r"10 days \(at most 9\)"):
        sliding_windows(np.arange(10), window)


def test_windows_for_rows_stacks_in_row_order_with_owner():
    values = np.array([[1, 2, 3, 4], [9, 8, 7, 6], [0, 5, 5, 6]])
    inputs, labels, owner = windows_for_rows(values, [2, 0], window=2)
    # row 2: [0,5],[5,5] labels 5>5 no, 6>5 yes; row 0: [1,2],[2,3] labels 1, 1
    np.testing.assert_array_equal(inputs, [[0, 5], [5, 5], [1, 2], [2, 3]])
    np.testing.assert_array_equal(labels, [0, 1, 1, 1])
    np.testing.assert_array_equal(owner, [2, 2, 0, 0])


def test_windows_for_no_rows_are_empty_but_shaped():
    inputs, labels, owner = windows_for_rows(np.zeros((2, 6)), [], window=3)
    assert inputs.shape == (0, 3) and labels.shape == (0,) and owner.shape == (0,)
    with pytest.raises(UserError, match="too long"):
        windows_for_rows(np.zeros((2, 6)), [], window=6)


def test_scaling_none_is_float32_identity():
    x = np.array([[1, -2, 300]])
    out = scale_windows(x, "none")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1.0, -2.0, 300.0]])


def test_scaling_log1p_is_sign_preserving():
    out = scale_windows(np.array([[0, 1, -3, math.e - 1]]), "log1p")
    # log1p(0)=0, log1p(1)=ln 2, -log1p(3) = -ln 4, log1p(e-1) = 1
    np.testing.assert_allclose(out, [[0.0, math.log(2), -math.log(4), 1.0]], rtol=1e-6)


def test_scaling_standardize_is_per_window():
    x = np.array([[1, 2, 3], [10, 10, 10], [0, 0, 6]])
    out = scale_windows(x, "standardize")
    # [1,2,3]: mean 2, population std sqrt(2/3) -> +-1/sqrt(2/3) = +-1.2247449
    s = 1 / math.sqrt(2 / 3)
    # [0,0,6]: mean 2, std sqrt((4+4+16)/3) = sqrt(8) -> [-2, -2, 4] / sqrt(8)
    r8 = math.sqrt(8)
    np.testing.assert_allclose(out, [[-s, 0, s], [0, 0, 0], [-2 / r8, -2 / r8, 4 / r8]],
                               rtol=1e-6, atol=1e-7)
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(x, [[1, 2, 3], [10, 10, 10], [0, 0, 6]])  # input untouched


def test_unknown_scaling_lists_valid_ones():
    with pytest.raises(UserError, match="unknown scaling 'zscore'; valid: none, log1p, "
                                        "standardize"):
        scale_windows(np.zeros((1, 2)), "zscore")
