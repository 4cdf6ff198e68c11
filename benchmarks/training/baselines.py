"""Honest reference points on the same split: what a model must beat to mean anything."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def majority_p_rise(train_labels: np.ndarray, n: int) -> np.ndarray:
    """Always predict the training majority: p(rise) is 1 or 0 for every window."""
    majority = 1.0 if np.mean(train_labels) > 0.5 else 0.0
    return np.full(n, majority)


def logistic_p_rise(train_x: np.ndarray, train_y: np.ndarray,
                    *eval_x: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    """Standardised logistic regression on the same windows; p(rise) for each eval set."""
    classes = np.unique(train_y)
    if len(classes) < 2:  # one training class: sklearn refuses to fit; predict that class
        only = float(classes[0]) if len(classes) else 0.0
        return [np.full(len(x), only) for x in eval_x]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    model.fit(train_x, train_y)
    return [model.predict_proba(x)[:, 1] if len(x) else np.zeros(0) for x in eval_x]
