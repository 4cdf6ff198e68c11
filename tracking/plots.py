"""Matplotlib figures a reader would rather look at than read: curves, heatmaps, confusion.

Functions return figures; the tracker saves and closes them.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from tracking.history import MetricHistory  # noqa: E402

SPLIT_STYLES = {"train": "tab:blue", "val": "tab:orange", "test": "tab:green"}


def learning_curves(history: MetricHistory, metrics: tuple[str, ...], title: str = ""):
    """One panel per metric, one line per split (train/val/test) over epochs."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for split, colour in SPLIT_STYLES.items():
            key = f"{split}_{metric}"
            if key in history:
                steps, values = history.series(key)
                ax.plot(steps, values, label=split, color=colour, marker="o", markersize=2.5)
        ax.set_title(metric.replace("_", " "))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(counts: np.ndarray, title: str = "", labels=("fall", "rise")):
    fig, ax = plt.subplots(figsize=(3.8, 3.4))
    ax.imshow(counts, cmap="Blues")
    total = counts.sum()
    for (i, j), value in np.ndenumerate(counts):
        share = value / total if total else 0.0
        colour = "white" if value > counts.max() / 2 else "black"
        ax.text(j, i, f"{value}\n({share:.1%})", ha="center", va="center", color=colour)
    ax.set_xticks([0, 1], labels)
    ax.set_yticks([0, 1], labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def correlation_heatmap(corr: np.ndarray, names: list[str], top_n: int | None = None):
    """Pearson matrix as a heatmap over all countries, or a readable ``top_n`` view.

    The top-N view keeps the countries whose three strongest partner correlations are
    highest: the ones that decide the training set.
    """
    matrix, labels = corr, names
    if top_n is not None and top_n < len(names):
        off = np.where(np.isnan(corr), -np.inf, corr)
        np.fill_diagonal(off, -np.inf)
        strength = np.sort(off, axis=1)[:, -3:].mean(axis=1)
        keep = np.sort(np.argsort(-strength)[:top_n])
        matrix = corr[np.ix_(keep, keep)]
        labels = [names[i] for i in keep]
    n = len(labels)
    size = max(6.0, min(26.0, 0.14 * n + 3))
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    masked = np.ma.masked_invalid(matrix)
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="lightgrey")
    image = ax.imshow(masked, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    font = 8 if n <= 40 else max(3.0, 700 / n / 2.2)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=font)
    ax.set_yticks(range(n), labels, fontsize=font)
    ax.set_title(f"Pearson correlation of daily new cases ({n} countries; grey = constant series)"
                 if top_n is None else
                 f"Pearson correlation, the {n} most strongly correlated countries")
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    fig.tight_layout()
    return fig


def close(figure) -> None:
    plt.close(figure)


def png_bytes(figure, dpi: int = 110) -> bytes:
    """Render a figure to PNG bytes and free it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return buffer.getvalue()


def vae_learning_curves(history: MetricHistory, iterations: MetricHistory, per_epoch: int,
                        title: str = ""):
    """Negative ELBO, reconstruction and KL: train per iteration (thin), train and
    validation per epoch (markers); x in epochs so both scales line up."""
    panels = (("neg_elbo", "negative ELBO (nats/image)"), ("recon", "reconstruction NLL"),
              ("kl", "KL(q(z|x) || p(z))"))
    fig, axes = plt.subplots(1, len(panels), figsize=(13.5, 3.8))
    for ax, (term, label) in zip(axes, panels):
        steps, values = iterations.series(f"iter_train_{term}")
        if steps:
            ax.plot(np.asarray(steps) / per_epoch, values, color="tab:blue", alpha=0.35,
                    linewidth=0.8, label="train (iteration)")
        for split, colour in (("train", "tab:blue"), ("val", "tab:orange")):
            steps, values = history.series(f"{split}_{term}")
            if steps:
                ax.plot(steps, values, color=colour, marker="o", label=f"{split} (epoch)")
        ax.set_title(label)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        _zoom_past_start(ax, iterations.series(f"iter_train_{term}")[1])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _zoom_past_start(ax, values: list[float]) -> None:
    """The first iterations dwarf the rest; set the y range from the last 80 %."""
    tail = np.asarray(values[len(values) // 5 :], dtype=float)
    tail = tail[np.isfinite(tail)]
    if len(tail) < 2:
        return
    low, high = np.percentile(tail, 0.5), np.percentile(tail, 99.5)
    margin = 0.15 * (high - low) + 1e-9
    ax.set_ylim(low - margin, high + 3 * margin)


def effect_of_window(series: dict, metric: str):
    """One panel per optimizer: ``metric`` against window length L, a line per cell type
    (mean over seeds, error bars = std)."""
    optimizers = sorted(series)
    fig, axes = plt.subplots(1, len(optimizers), figsize=(5.5 * len(optimizers), 3.8),
                             squeeze=False, sharey=True)
    for ax, optimizer in zip(axes[0], optimizers):
        for cell, points in sorted(series[optimizer].items()):
            windows, means, stds = zip(*points)
            ax.errorbar(windows, means, yerr=stds, marker="o", capsize=3, label=cell.upper())
        ax.set_title(f"{metric} vs window length ({optimizer})")
        ax.set_xlabel("window length L (days)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
