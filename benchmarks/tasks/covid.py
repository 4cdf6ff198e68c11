"""The COVID-19 rise/fall study as runner cells: config, data loading, one training run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.cache_dir import cache_root
from benchmarks.tasks.registry import Task, register_task
from benchmarks.training.baselines import logistic_p_rise, majority_p_rise
from benchmarks.training.classification import classification_metrics, confusion
from benchmarks.training.loop import RecordEpochs, fit
from benchmarks.training.optim import build_optimizer, check_training
from benchmarks.training.progress import EpochProgress
from benchmarks.training.seeding import seed_everything, single_thread
from benchmarks.training.train_config import TrainConfig
from datasets.covid import CovidData, CovidDataConfig, csv_text, load_covid
from datasets.imbalance import best_threshold, predict_rise
from models import build_model
from tracking import plots
from tracking.figure_cache import cached_png, figure_key
from tracking.history import MetricHistory
from tracking.worldmap import rise_probability_map


@dataclass
class RecurrentModelConfig:
    """Defaults are the original study's: tiny recurrent nets on a single input feature."""

    name: str = "rnn"  # rnn | lstm | gru (model registry)
    hidden_size: int = 2
    num_layers: int = 3
    dropout: float = 0.0


@dataclass
class CovidConfig:
    data: CovidDataConfig = field(default_factory=CovidDataConfig)
    model: RecurrentModelConfig = field(default_factory=RecurrentModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


def data_key(config: CovidConfig) -> str:
    return json.dumps(asdict(config.data), sort_keys=True)


def load_data(config: CovidConfig, data_dir: Path | None) -> CovidData:
    return load_covid(config.data, data_dir)


def _logits(model: torch.nn.Module, x: np.ndarray, batch: int = 8192) -> torch.Tensor:
    if len(x) == 0:
        return torch.zeros(0, 2)
    with torch.no_grad():
        return torch.cat([model(torch.from_numpy(x[i : i + batch]))
                          for i in range(0, len(x), batch)])


def _p_rise(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """Softmax probability of 'rise' (used only for reporting and the decision rule)."""
    return torch.softmax(_logits(model, x), dim=1)[:, 1].numpy()


def build(config: CovidConfig):
    """Model and optimizer of a cell; unknown names are user errors."""
    model = build_model(config.model.name, hidden_size=config.model.hidden_size,
                        num_layers=config.model.num_layers, dropout=config.model.dropout)
    optimizer = build_optimizer(config.train.optimizer, model.parameters(), config.train.lr,
                                config.train.momentum, config.train.weight_decay)
    return model, optimizer


def check(config: CovidConfig) -> None:
    config.data.validate()
    check_training(config.train.epochs, config.train.batch_size)
    build(config)


def run_cell(config: CovidConfig, data: CovidData, tracker, progress: bool = True,
             hooks: tuple = (), artifacts: bool = True) -> dict:
    """Train one classifier, log per-epoch metrics, baselines and artifacts; return finals.

    Extra ``hooks`` see every epoch's metrics (the tuner reports and prunes through them);
    ``artifacts=False`` skips the figures, map and weights (tuning trials).
    """
    seed_everything(config.train.seed)
    model, optimizer = build(config)
    with single_thread():  # a net this small only loses time syncing threads
        return _train_and_log(config, data, model, optimizer, tracker, progress, hooks,
                              artifacts)


def _train_and_log(config: CovidConfig, data: CovidData, model, optimizer, tracker,
                   progress: bool, hooks: tuple, artifacts: bool) -> dict:
    weights = data.loss_class_weights()
    weight = torch.from_numpy(weights) if weights is not None else None
    train_x = torch.from_numpy(data.train.x)
    train_y = torch.from_numpy(data.train.y)
    splits = {"train": data.train, "val": data.validation, "test": data.test}
    splits = {name: s for name, s in splits.items() if len(s.y)}
    history = MetricHistory()
    state = {"threshold": 0.5}

    def batches(epoch: int):
        order = data.train_indices(seed=config.train.seed * 1000 + epoch)
        rng = np.random.default_rng(config.train.seed * 1000 + epoch)
        order = torch.from_numpy(rng.permutation(order))
        for i in range(0, len(order), config.train.batch_size):
            idx = order[i : i + config.train.batch_size]
            yield train_x[idx], train_y[idx]

    def step(net, batch):
        x, y = batch
        loss = F.cross_entropy(net(x), y, weight=weight)
        return loss, {}

    def evaluate(epoch: int) -> dict[str, float]:
        logits = {name: _logits(model, s.x) for name, s in splits.items()}
        probs = {name: torch.softmax(v, dim=1)[:, 1].numpy() for name, v in logits.items()}
        if data.config.decision == "val_threshold":
            state["threshold"] = best_threshold(probs["val"], data.validation.y)
        metrics = {"decision_threshold": state["threshold"]}
        for name, s in splits.items():
            metrics[f"{name}_loss"] = float(F.cross_entropy(
                logits[name], torch.from_numpy(s.y), weight=weight))
            for key, value in classification_metrics(s.y, probs[name],
                                                     state["threshold"]).items():
                metrics[f"{name}_{key}"] = value
        return metrics

    bar = EpochProgress(config.train.epochs, enabled=progress)
    final = fit(model, optimizer, step, batches, evaluate, config.train.epochs,
                hooks=[RecordEpochs(history, tracker), bar, *hooks])
    bar.close()
    final.update(_baselines(data, seed=config.train.seed))
    tracker.log_metrics({k: v for k, v in final.items() if k.startswith("baseline_")}, step=0)
    if artifacts:
        _log_artifacts(model, data, history, state["threshold"], tracker, config)
    return final


def _baselines(data: CovidData, seed: int) -> dict[str, float]:
    """Majority class and logistic regression, scored by the same metrics on test (and val)."""
    out: dict[str, float] = {}
    evals = {"test": data.test}
    if len(data.validation.y):
        evals["val"] = data.validation
    majority = {n: majority_p_rise(data.train.y, len(s.y)) for n, s in evals.items()}
    logreg = dict(zip(evals, logistic_p_rise(data.train.x, data.train.y,
                                             *[s.x for s in evals.values()], seed=seed)))
    for base, probs in (("majority", majority), ("logreg", logreg)):
        for split, p in probs.items():
            for key, value in classification_metrics(evals[split].y, p).items():
                out[f"baseline_{base}_{split}_{key}"] = value
    return out


_HEATMAPS: dict[tuple, bytes] = {}
HEATMAPS = (("correlation_heatmap.png", None), ("correlation_top25.png", 25))


def _heatmap_png(data: CovidData, top_n: int | None) -> bytes:
    """Draw each correlation heatmap once per process, and once for all processes through
    the figure cache: it depends only on the file, the date window and the count cleaning,
    not on windows, scaling or the model."""
    c = data.config
    key = (str(data.source), c.start, c.end, tuple(c.exclude), c.clip_negative, top_n)
    if key not in _HEATMAPS:
        digest = figure_key("correlation heatmap", str(top_n), "\n".join(data.countries),
                            np.ascontiguousarray(data.correlation, dtype=np.float64).tobytes())
        _HEATMAPS[key] = cached_png(cache_root() / "figures", digest, lambda: plots.png_bytes(
            plots.correlation_heatmap(data.correlation, data.countries, top_n=top_n)))
    return _HEATMAPS[key]


def warm_up(data: CovidData) -> None:
    """Draw the heatmaps every cell of this data logs (see ``Task.warm_up``)."""
    for _, top_n in HEATMAPS:
        _heatmap_png(data, top_n)


def _log_artifacts(model, data: CovidData, history: MetricHistory, threshold: float,
                   tracker, config: CovidConfig) -> None:
    tracker.log_figure(plots.learning_curves(history, ("loss", "accuracy", "f1")),
                       "learning_curves.png")
    test_pred = predict_rise(_p_rise(model, data.test.x), threshold)
    tracker.log_figure(plots.confusion_matrix(confusion(data.test.y, test_pred),
                                              title="Test windows"), "confusion_matrix.png")
    for name, top_n in HEATMAPS:
        tracker.log_bytes(_heatmap_png(data, top_n), name)
    latest = _p_rise(model, data.latest)
    world = rise_probability_map(
        data.countries, data.iso2(), latest,
        title=f"P(rise on {data.dates[-1].isoformat()} + 1 day), {config.model.name.upper()}, "
              f"L={config.data.window}",
    )
    tracker.log_bytes(world.svg, "world_map.svg")
    tracker.log_bytes(world.png, "world_map.png")
    tracker.log_text(world.unmapped_text(), "world_map_unmapped.txt")
    table = data.country_table()
    for row, p in zip(table, latest):
        row["p_rise"] = round(float(p), 6)
    tracker.log_text(csv_text(table), "country_predictions.csv")
    tracker.log_model_state(model.state_dict(), "model_state.pt")


register_task(Task(name="covid", config_class=CovidConfig, data_key=data_key,
                   load_data=load_data, run_cell=run_cell, check=check, warm_up=warm_up))
