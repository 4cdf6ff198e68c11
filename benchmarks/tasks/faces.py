"""The VAE study on a folder of face images, as runner cells.

Logs the optimised objective (with its KL weight) and the true negative ELBO (weight 1)
separately, in nats per image, so runs with different KL weights stay comparable.
"""

from __future__ import annotations

import ctypes
import json
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from benchmarks.cache_dir import cache_root
from benchmarks.errors import UserError
from benchmarks.tasks.registry import Task, register_task
from benchmarks.training.loop import RecordEpochs, fit
from benchmarks.training.optim import build_optimizer, check_training
from benchmarks.training.progress import EpochProgress
from benchmarks.training.seeding import seed_everything
from benchmarks.training.train_config import TrainConfig
from benchmarks.training.vae_objective import (
    active_units,
    check_beta,
    evaluating,
    importance_weighted_nll,
    vae_loss,
)
from datasets.image_folder import UnitImages, load_image_folder, split_indices
from models import build_model
from models.vae import check_image_size
from tracking import plots
from tracking.history import MetricHistory
from tracking.image_grids import image_grid, interpolation_strip, side_by_side

LOSS_TERMS = ("objective", "neg_elbo", "recon", "kl")
# Images the importance-weighted estimate decodes at once: it bounds that estimate's memory
# (~250 MB lower peak than 2048 for 64x64 images) without changing its value.
IW_DECODES_AT_ONCE = 1024
# Validation passes go in batches of this size: at 256 their activations (~0.5 GB) set
# the peak memory of a faces run on all images (perf: 1.8-1.95 GB); evaluation is a few
# percent of a cell, so its batch size barely changes the time.
EVAL_BATCH = 64


@dataclass
class FacesDataConfig:
    path: str = "anime_faces/images"
    image_size: int = 64
    limit: int = 0  # use only the first N images (natural name order); 0 = all
    val_fraction: float = 0.1
    split_seed: int = 0


@dataclass
class VaeModelConfig:
    name: str = "vae_fc"  # vae_fc (original study) | vae_conv (transposed-conv decoder)
    latent_dim: int = 32


@dataclass
class VaeLossConfig:
    kl_weight: float = 1.0  # beta; the original study compares 1, 100 and 0
    iw_samples: int = 50  # k of the importance-weighted -log p(x) estimate
    iw_images: int = 256  # validation images that estimate uses (it costs k decodes each)


@dataclass
class VaeTrainConfig(TrainConfig):
    epochs: int = 5
    lr: float = 1e-3


@dataclass
class FacesConfig:
    data: FacesDataConfig = field(default_factory=FacesDataConfig)
    model: VaeModelConfig = field(default_factory=VaeModelConfig)
    loss: VaeLossConfig = field(default_factory=VaeLossConfig)
    train: VaeTrainConfig = field(default_factory=VaeTrainConfig)


@dataclass
class FacesData:
    source: Path
    names: list[str]
    train: UnitImages  # (N, 3, S, S), read as float in [0, 1]; a float tensor works too
    val: UnitImages
    from_cache: bool


def data_key(config: FacesConfig) -> str:
    return json.dumps(asdict(config.data), sort_keys=True)


def cache_dir() -> Path:
    return cache_root() / "images"


def load_data(config: FacesConfig, data_dir: Path | None) -> FacesData:
    if config.data.limit < 0:
        raise UserError(f"data.limit must be >= 0 (0 = all images), got {config.data.limit}")
    folder = Path(config.data.path)
    if data_dir is not None and not folder.is_absolute():
        folder = Path(data_dir) / folder
    if not folder.is_dir():
        raise UserError(f"image folder {folder} does not exist")
    images = load_image_folder(folder, size=config.data.image_size,
                               limit=config.data.limit or None, cache_dir=cache_dir())
    if len(images) < 2:
        raise UserError(f"image folder {folder} needs at least 2 readable images to split")
    train_idx, val_idx = split_indices(len(images), config.data.val_fraction,
                                       config.data.split_seed)
    if len(val_idx) == 0:
        raise UserError("data.val_fraction must leave at least one validation image")
    return FacesData(source=folder, names=images.names,
                     train=UnitImages(images.images[train_idx]),
                     val=UnitImages(images.images[val_idx]), from_cache=images.from_cache)


def _evaluate_loss(model, images: UnitImages, beta: float, batch: int = EVAL_BATCH) -> dict:
    """Loss terms averaged over ``images`` (one posterior sample each), nats per image."""
    totals = dict.fromkeys(LOSS_TERMS, 0.0)
    for x in images.split(batch):
        terms = vae_loss(*_forward(model, x), beta)
        for key in LOSS_TERMS:
            totals[key] += float(terms[key]) * len(x)
    return {key: value / len(images) for key, value in totals.items()}


def _iw_nll(model, images: UnitImages, loss: VaeLossConfig) -> float:
    """Importance-weighted -log p(x) on the first ``loss.iw_images`` validation images,
    nats per image. Computed once, for the trained model: it costs ``loss.iw_samples``
    decodes per image, as much as several epochs of training on the quick grid."""
    return float(importance_weighted_nll(model, images[: loss.iw_images], k=loss.iw_samples,
                                         max_images=IW_DECODES_AT_ONCE).mean())


def _forward(model, x):
    """(recon, x, mu, logvar): the argument order of ``vae_loss``."""
    recon, mu, logvar = model(x)
    return recon, x, mu, logvar


# glibc mallopt parameters and their defaults (malloc.h / malloc.c).
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_DEFAULT_TRIM_THRESHOLD, _DEFAULT_MMAP_MAX = 128 * 1024, 65536
_MALLOC_ENV = ("MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


@contextmanager
def reuse_freed_memory():
    """Keep memory freed by one training step in the heap for the next one (glibc only).

    A VAE step allocates and frees activations of tens of MB. glibc serves blocks that big
    with fresh ``mmap`` pages and unmaps them on free, so every step page-faults the same
    ~700 MB in again (``perf`` on 2 cores: 0.96 s vs 0.80 s per batch-64 step of
    ``vae_fc`` on one thread, 0.66 s vs 0.49 s on two; for ~200 MB more peak memory).
    Inside this block big blocks come from the heap, which is not trimmed; on exit the
    defaults are restored and the heap is trimmed back. ``usual_heap`` pauses it. Values
    computed are unchanged. Does nothing off glibc or when the user tunes malloc through
    the environment (e.g. ``MALLOC_MMAP_MAX_=65536`` keeps glibc's usual behaviour).
    """
    libc = _glibc()
    if libc is None or _HEAP_DEPTH[0]:  # not glibc, or an outer block already did it
        yield
        return
    _HEAP_DEPTH[0] += 1
    _heap_reuse(libc, True)
    try:
        yield
    finally:
        _heap_reuse(libc, False)
        _HEAP_DEPTH[0] -= 1


@contextmanager
def usual_heap():
    """Inside ``reuse_freed_memory``: glibc's usual behaviour for a while, e.g. for an
    evaluation, whose big blocks are shaped unlike a step's and would otherwise pile up
    resident beside them (peak memory, not speed, matters there)."""
    libc = _glibc() if _HEAP_DEPTH[0] else None
    if libc is None:
        yield
        return
    _heap_reuse(libc, False)
    try:
        yield
    finally:
        _heap_reuse(libc, True)


_HEAP_DEPTH = [0]


def _heap_reuse(libc, on: bool) -> None:
    libc.mallopt(_M_MMAP_MAX, 0 if on else _DEFAULT_MMAP_MAX)
    libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1 if on else _DEFAULT_TRIM_THRESHOLD)
    if not on:
        libc.malloc_trim(0)  # hand the heap's free pages back


def _glibc():
    try:
        is_glibc = os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        is_glibc = False
    if not is_glibc or any(name in os.environ for name in _MALLOC_ENV):
        return None
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def build(config: FacesConfig):
    """Model and optimizer of a cell; bad names, sizes or weights are user errors."""
    model = build_model(config.model.name, image_size=config.data.image_size,
                        latent_dim=config.model.latent_dim)
    optimizer = build_optimizer(config.train.optimizer, model.parameters(), config.train.lr,
                                config.train.momentum, config.train.weight_decay)
    return model, optimizer


def check(config: FacesConfig) -> None:
    check_beta(config.loss.kl_weight)
    check_image_size(config.data.image_size)
    check_training(config.train.epochs, config.train.batch_size)
    if config.loss.iw_samples < 1 or config.loss.iw_images < 1:
        raise UserError("loss.iw_samples and loss.iw_images must be >= 1")
    build(config)


def run_cell(config: FacesConfig, data: FacesData, tracker, progress: bool = True,
             hooks: tuple = (), artifacts: bool = True) -> dict:
    """Train one VAE; log per-iteration and per-epoch terms, validation metrics, artifacts.

    Extra ``hooks`` see every epoch's metrics (the tuner reports and prunes through them);
    ``artifacts=False`` skips the figures and weights (tuning trials).
    """
    # Trains on the threads it is given: all cores alone (``perf`` on a quiet 2-core
    # machine: 0.14 s per step on 2 threads, 0.23 s on 1), its share under ``--workers``.
    with reuse_freed_memory():
        return _train_and_log(config, data, tracker, progress, hooks, artifacts)


def _train_and_log(config: FacesConfig, data: FacesData, tracker, progress: bool,
                   hooks: tuple, artifacts: bool) -> dict:
    seed_everything(config.train.seed)
    beta = check_beta(config.loss.kl_weight)
    model, optimizer = build(config)
    history = MetricHistory()
    iterations = MetricHistory()
    per_epoch = max(1, -(-len(data.train) // config.train.batch_size))
    running: dict[str, list[float]] = {key: [] for key in LOSS_TERMS}

    def batches(epoch: int):
        generator = torch.Generator().manual_seed(config.train.seed * 1000 + epoch)
        order = torch.randperm(len(data.train), generator=generator)
        for i in range(0, len(order), config.train.batch_size):
            yield data.train[order[i : i + config.train.batch_size]]

    def step(net, x):
        terms = vae_loss(*_forward(net, x), beta)
        return terms["objective"], {k: float(terms[k].detach()) for k in LOSS_TERMS}

    def evaluate(epoch: int) -> dict[str, float]:
        with usual_heap():
            return _evaluate(epoch)

    def _evaluate(epoch: int) -> dict[str, float]:
        metrics = {f"train_{k}": float(np.mean(v)) for k, v in running.items() if v}
        for values in running.values():
            values.clear()
        metrics.update({f"val_{k}": v for k, v in _evaluate_loss(model, data.val, beta).items()})
        metrics["val_active_units"] = float(active_units(model, data.val.split(EVAL_BATCH)))
        return metrics

    class Log(RecordEpochs):
        def on_batch_end(self, iteration, values):
            for key, value in values.items():
                running[key].append(value)
            point = {f"iter_train_{k}": v for k, v in values.items()}
            iterations.add(iteration, point)
            tracker.log_metrics(point, step=iteration)

    bar = EpochProgress(config.train.epochs, enabled=progress)
    final = fit(model, optimizer, step, batches, evaluate, config.train.epochs,
                hooks=[Log(history, tracker), bar, *hooks])
    bar.close()
    last_epoch = history.series("val_neg_elbo")[0][-1]
    with usual_heap():
        final["val_iw_nll"] = _iw_nll(model, data.val, config.loss)
    tracker.log_metrics({"val_iw_nll": final["val_iw_nll"]}, step=last_epoch)
    if artifacts:
        _log_artifacts(model, data, history, iterations, per_epoch, config, tracker)
    return final


def _log_artifacts(model, data: FacesData, history: MetricHistory, iterations: MetricHistory,
                   per_epoch: int, config: FacesConfig, tracker) -> None:
    title = (f"{config.model.name}, KL weight {config.loss.kl_weight:g}, "
             f"latent {config.model.latent_dim}")
    tracker.log_figure(plots.vae_learning_curves(history, iterations, per_epoch, title),
                       "learning_curve.png")
    generator = torch.Generator().manual_seed(0)
    with evaluating(model):
        originals = data.val[:64]
        recon, _, _ = model(originals)
        tracker.log_image(side_by_side(originals, recon), "reconstructions.png")
        z = torch.randn(64, model.latent_dim, generator=generator)
        tracker.log_image(image_grid(model.decode(z)), "prior_samples.png")
        ends = data.val[:2]
        mu, _ = model.encode(ends)
        alphas = torch.linspace(0, 1, 9).unsqueeze(1)
        frames = model.decode((1 - alphas) * mu[0] + alphas * mu[1])
        strip = torch.cat([ends[:1], frames, ends[1:2]])
        tracker.log_image(interpolation_strip(strip), "interpolation.png")
    tracker.log_model_state(model.state_dict(), "model_state.pt")


register_task(Task(name="faces", config_class=FacesConfig, data_key=data_key,
                   load_data=load_data, run_cell=run_cell, check=check, cost=20.0))
