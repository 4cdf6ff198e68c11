"""datasets.imbalance: class weights, resampling, and the two decision rules."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.errors import UserError
from datasets.imbalance import (
    best_threshold,
    class_counts,
    class_weights,
    predict_rise,
    resample_indices,
)

LABELS = np.array([0, 1, 0, 0, 1, 0, 0, 0])  # 6 falls, 2 rises


def test_class_counts_and_inverse_frequency_weights():
    np.testing.assert_array_equal(class_counts(LABELS), [6, 2])
    np.testing.assert_array_equal(class_counts(np.array([0, 0])), [2, 0])
    # n / (k * count): 8 / (2 * 6) = 2/3, 8 / (2 * 2) = 2
    weights = class_weights(LABELS)
    assert weights.dtype == np.float32
    np.testing.assert_allclose(weights, [2 / 3, 2.0], rtol=1e-6)


def test_class_weights_need_every_class():
    with pytest.raises(UserError, match=r"needs every class in training, counts are \[3 0\]"):
        class_weights(np.array([0, 0, 0]))


@pytest.mark.parametrize("strategy", ["none", "class_weight"])
def test_no_resampling(strategy):
    np.testing.assert_array_equal(resample_indices(LABELS, strategy, seed=0), np.arange(8))


def test_oversample_repeats_minority_to_majority_size():
    idx = resample_indices(LABELS, "oversample", seed=0)
    assert len(idx) == 12  # 2 classes x 6
    np.testing.assert_array_equal(class_counts(LABELS[idx]), [6, 6])
    assert set(idx[LABELS[idx] == 0]) == {0, 2, 3, 5, 6, 7}  # every fall kept once
    assert np.all(np.diff(idx) >= 0)
    np.testing.assert_array_equal(idx, resample_indices(LABELS, "oversample", seed=0))
    for seed in range(50):  # oversampling never drops a rare window, whatever the seed
        idx = resample_indices(LABELS, "oversample", seed=seed)
        assert set(idx[LABELS[idx] == 1].tolist()) == {1, 4}
        np.testing.assert_array_equal(class_counts(LABELS[idx]), [6, 6])


def test_undersample_keeps_minority_and_drops_majority():
    idx = resample_indices(LABELS, "undersample", seed=0)
    np.testing.assert_array_equal(class_counts(LABELS[idx]), [2, 2])
    assert {1, 4} <= set(idx.tolist())
    assert len(set(idx.tolist())) == 4  # no repeats when undersampling
    picks = {tuple(resample_indices(LABELS, "undersample", seed=s)) for s in range(10)}
    assert len(picks) > 1  # the seed matters


def test_resampling_single_class_and_empty():
    np.testing.assert_array_equal(resample_indices(np.array([1, 1]), "oversample", 0), [0, 1])
    assert len(resample_indices(np.array([], dtype=np.int64), "undersample", 0)) == 0


def test_unknown_strategy_lists_valid_ones():
    with pytest.raises(UserError, match="unknown imbalance strategy 'smote'; valid: none, "
                                        "class_weight, oversample, undersample"):
        resample_indices(LABELS, "smote", seed=0)


def test_predict_rise_is_strict():
    p = np.array([0.2, 0.5, 0.50001, 0.9])
    np.testing.assert_array_equal(predict_rise(p), [0, 0, 1, 1])  # a tie goes to fall
    np.testing.assert_array_equal(predict_rise(p, threshold=0.1), [1, 1, 1, 1])


def test_best_threshold_maximises_rise_f1():
    p = np.array([0.1, 0.4, 0.6, 0.9])
    y = np.array([0, 1, 0, 1])
    # t=0.5: pred 0011, tp 1, F1 = 2*1/(2+2) = 0.5
    # t=0.25: pred 0111, tp 2, F1 = 2*2/(3+2) = 0.8   <- best
    # t=0.75: pred 0001, tp 1, F1 = 2/(1+2) = 0.67; t<0.1: all rise, F1 = 4/(4+2) = 0.67
    assert best_threshold(p, y) == pytest.approx(0.25)


def test_best_threshold_prefers_half_on_ties_and_needs_windows():
    assert best_threshold(np.array([0.2, 0.8]), np.array([0, 1])) == 0.5
    assert best_threshold(np.array([0.3, 0.3]), np.array([0, 0])) == 0.5  # F1 is 0 anyway
    with pytest.raises(UserError, match="needs validation windows"):
        best_threshold(np.array([]), np.array([]))
