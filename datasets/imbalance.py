"""Class-imbalance strategies and decision rules, owned by the data side, never the model.

Rises and falls are not balanced in the COVID windows, so accuracy alone flatters a model
that always says "fall"; these are the knobs DESIGN section 2 step 8 asks for.
"""

from __future__ import annotations

import numpy as np

from benchmarks.errors import UserError

IMBALANCE_STRATEGIES = ("none", "class_weight", "oversample", "undersample")
DECISION_RULES = ("argmax", "val_threshold")


def class_counts(labels: np.ndarray, n_classes: int = 2) -> np.ndarray:
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)


def class_weights(labels: np.ndarray, n_classes: int = 2) -> np.ndarray:
    """Inverse-frequency weights n / (k * count_c), from training labels only."""
    counts = class_counts(labels, n_classes)
    if np.any(counts == 0):
        raise UserError(f"class weighting needs every class in training, counts are {counts}")
    return (counts.sum() / (n_classes * counts)).astype(np.float32)


def resample_indices(labels: np.ndarray, strategy: str, seed: int) -> np.ndarray:
    """Training indices after over- or undersampling to equal class sizes (seeded)."""
    labels = np.asarray(labels)
    if strategy in ("none", "class_weight"):
        return np.arange(len(labels))
    if strategy not in IMBALANCE_STRATEGIES:
        raise UserError(
            f"unknown imbalance strategy {strategy!r}; valid: {', '.join(IMBALANCE_STRATEGIES)}"
        )
    if len(labels) == 0:  # nothing to balance (min/max of no class sizes would crash)
        return np.arange(0)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    target = (max if strategy == "oversample" else min)(len(g) for g in groups)
    if strategy == "oversample":  # keep every window once, then draw the extra copies
        picked = [np.concatenate([g, rng.choice(g, size=target - len(g))]) for g in groups]
    else:
        picked = [g if len(g) == target else rng.choice(g, size=target, replace=False)
                  for g in groups]
    return np.sort(np.concatenate(picked))


def predict_rise(p_rise: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Rise iff p > threshold; at 0.5 this is the argmax rule (a tie goes to 'fall')."""
    return (np.asarray(p_rise) > threshold).astype(np.int64)


def best_threshold(p_rise: np.ndarray, labels: np.ndarray) -> float:
    """The threshold that maximises rise-class F1 on validation (ties: nearest to 0.5)."""
    p = np.asarray(p_rise, dtype=np.float64)
    y = np.asarray(labels)
    if len(p) == 0:
        raise UserError("decision 'val_threshold' needs validation windows (set val_fraction)")
    cuts = np.unique(p)
    candidates = np.concatenate([[0.5], (cuts[:-1] + cuts[1:]) / 2, [cuts[0] - 1e-6]])
    best_t, best_f1 = 0.5, -1.0
    for t in sorted(candidates, key=lambda c: abs(c - 0.5)):
        pred = p > t
        tp = np.sum(pred & (y == 1))
        denom = pred.sum() + (y == 1).sum()
        f1 = 2 * tp / denom if denom else 0.0
        if f1 > best_f1 + 1e-12:
            best_t, best_f1 = float(t), f1
    return best_t
