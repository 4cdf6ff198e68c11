"""benchmarks.training.classification metrics and the two honest baselines."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from benchmarks.training.baselines import logistic_p_rise, majority_p_rise
from benchmarks.training.classification import METRIC_NAMES, classification_metrics, confusion


def test_metrics_hand_values():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])  # predicted at 0.5: [0, 1, 0, 1]
    m = classification_metrics(y, p)
    assert set(m) == set(METRIC_NAMES)
    assert m["accuracy"] == pytest.approx(0.5)  # 2 of 4 right
    assert m["precision"] == pytest.approx(0.5)  # tp 1 / (tp 1 + fp 1)
    assert m["recall"] == pytest.approx(0.5)  # tp 1 / (tp 1 + fn 1)
    assert m["f1"] == pytest.approx(0.5)
    assert m["macro_f1"] == pytest.approx(0.5)  # fall F1 is also 2*1/(2+2)
    assert m["balanced_accuracy"] == pytest.approx(0.5)  # (1/2 + 1/2) / 2
    # AUC: (neg, pos) pairs ranked right: (.1,.4) (.1,.9) (.6,.9) yes, (.6,.4) no -> 3/4
    assert m["roc_auc"] == pytest.approx(0.75)


def test_imbalanced_always_fall_is_not_flattered():
    y = np.array([0] * 9 + [1])
    m = classification_metrics(y, np.zeros(10))
    assert m["accuracy"] == pytest.approx(0.9)
    assert m["f1"] == 0.0 and m["recall"] == 0.0 and m["precision"] == 0.0
    assert m["balanced_accuracy"] == pytest.approx(0.5)  # (9/9 + 0/1) / 2
    # macro-F1: fall F1 = 2*9/(10+9) = 18/19, rise F1 = 0 -> 9/19
    assert m["macro_f1"] == pytest.approx(9 / 19)
    assert m["roc_auc"] == pytest.approx(0.5)  # constant scores


def test_threshold_changes_the_rule():
    y = np.array([0, 1, 1])
    p = np.array([0.2, 0.3, 0.8])
    assert classification_metrics(y, p)["recall"] == pytest.approx(0.5)  # only 0.8 > 0.5
    assert classification_metrics(y, p, threshold=0.25)["accuracy"] == pytest.approx(1.0)


def test_single_class_and_empty_splits_give_nan_not_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = classification_metrics(np.array([0, 0, 0]), np.array([0.1, 0.7, 0.2]))
    assert m["accuracy"] == pytest.approx(2 / 3)
    assert math.isnan(m["roc_auc"]) and math.isnan(m["balanced_accuracy"])
    empty = classification_metrics(np.array([]), np.array([]))
    assert set(empty) == set(METRIC_NAMES) and all(math.isnan(v) for v in empty.values())


def test_confusion_rows_true_columns_predicted():
    out = confusion(np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0]))
    np.testing.assert_array_equal(out, [[1, 1], [1, 2]])
    assert out.dtype == np.int64


@pytest.mark.parametrize(("train", "value"), [([1, 1, 0], 1.0), ([0, 0, 1], 0.0),
                                              ([0, 1], 0.0)])  # a tie is 'fall'
def test_majority_baseline(train, value):
    out = majority_p_rise(np.array(train), 5)
    assert out.shape == (5,)
    assert (out == value).all()


def test_logistic_baseline_learns_a_separable_rule():
    train_x = np.array([[0, 1], [1, 0], [1, 1], [8, 9], [9, 8], [9, 9]], dtype=np.float32)
    train_y = np.array([0, 0, 0, 1, 1, 1])
    test_x = np.array([[0, 0], [10, 10]], dtype=np.float32)
    p_train, p_test, p_none = logistic_p_rise(train_x, train_y, train_x, test_x,
                                              np.zeros((0, 2), np.float32))
    assert p_train.shape == (6,) and p_test.shape == (2,) and p_none.shape == (0,)
    assert (p_train[:3] < 0.5).all() and (p_train[3:] > 0.5).all()
    assert p_test[0] < 0.5 < p_test[1]
    assert ((0 <= p_test) & (p_test <= 1)).all()
    again = logistic_p_rise(train_x, train_y, test_x, seed=0)[0]
    np.testing.assert_array_equal(again, p_test)


def test_logistic_baseline_with_one_training_class_predicts_that_class():
    """A tiny window can hold only falls; the baseline must not crash the cell."""
    train_x = np.arange(8, dtype=np.float32).reshape(4, 2)
    (p,) = logistic_p_rise(train_x, np.zeros(4, dtype=np.int64), train_x[:3])
    np.testing.assert_array_equal(p, [0.0, 0.0, 0.0])
