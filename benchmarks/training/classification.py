"""Imbalance-aware metrics for the rise/fall classifier and its baselines.

Accuracy alone rewards always saying "fall", so every split also gets rise-class F1,
macro-F1, balanced accuracy, precision, recall and ROC AUC.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from datasets.imbalance import predict_rise

METRIC_NAMES = ("accuracy", "f1", "macro_f1", "balanced_accuracy", "precision", "recall",
                "roc_auc")


def classification_metrics(labels: np.ndarray, p_rise: np.ndarray,
                           threshold: float = 0.5) -> dict[str, float]:
    """Metrics of the rule ``p_rise > threshold`` against ``labels`` (NaN when undefined)."""
    y = np.asarray(labels)
    if len(y) == 0:
        return {name: float("nan") for name in METRIC_NAMES}
    pred = predict_rise(p_rise, threshold)
    both = len(np.unique(y)) == 2
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "f1": float(f1_score(y, pred, pos_label=1, zero_division=0)),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=[0, 1], zero_division=0)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)) if both else float("nan"),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "roc_auc": float(roc_auc_score(y, p_rise)) if both else float("nan"),
    }


def confusion(labels: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """2x2 counts, rows = true (fall, rise), columns = predicted (fall, rise)."""
    out = np.zeros((2, 2), dtype=np.int64)
    np.add.at(out, (np.asarray(labels), np.asarray(pred)), 1)
    return out
