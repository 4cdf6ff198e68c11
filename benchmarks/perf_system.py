"""``perf`` sections 3-6 outside the training loop: COVID windows, grid scaling, the
machine's matmul ceiling against the VAE step, and a faces run's peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from benchmarks.perf_common import load1, median, repeat_timed, torch_threads
from benchmarks.perf_flops import count_flops
from benchmarks.perf_table import Row, Target
from benchmarks.tasks import faces
from benchmarks.training.vae_objective import vae_loss

REPO_ROOT = Path(__file__).resolve().parents[1]
GLOBAL_2023_CSV = "covid/time_series_covid19_confirmed_global_2023-03-09.csv"
QUICK_GRID = REPO_ROOT / "benchmarks" / "grids" / "quick.toml"
CEILING_TARGET = Target(">=", 0.30, ">= 0.30 of matmul")
GRID_TARGET = Target("<=", 0.65, "<= 0.65 x 1 worker")
MEMORY_TARGET = Target("<", 2.0, "< 2.0 GB")


# ---- section 5: machine ceiling ----------------------------------------------------------

def matmul_gflops(n: int, threads: int, warmup: int = 1, repeats: int = 5) -> float:
    """Median float32 GFLOP/s of ``torch.mm`` on two n x n matrices."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    with torch_threads(threads):
        seconds = repeat_timed(lambda: torch.mm(a, b, out=out), warmup, repeats)
    return 2 * n**3 / median(seconds) / 1e9


@dataclass
class StepVariant:
    name: str
    heap_reuse: bool = True  # faces.reuse_freed_memory around the steps
    channels_last: bool = True  # VAE.input_memory_format
    pool_then_relu: bool = True  # the encoder's max-pool / ReLU order
    fused_adam: bool = True
    kept: str = ""  # what the suite does about it


KEPT = StepVariant("as shipped: channels-last input, pool then ReLU, heap reuse, fused Adam",
                   kept="the suite's step")
VARIANTS = (
    StepVariant("before: NCHW encoder input", channels_last=False, kept="kept channels-last"),
    StepVariant("before: ReLU then max-pool", pool_then_relu=False,
                kept="kept pool then ReLU"),
    StepVariant("before: glibc default heap (mmap per big tensor)", heap_reuse=False,
                kept="kept heap reuse"),
    StepVariant("before: Adam's default (foreach) update", fused_adam=False,
                kept="kept fused Adam"),
    StepVariant("before: all four", heap_reuse=False, channels_last=False,
                pool_then_relu=False, fused_adam=False, kept=""),
)


def relu_then_pool(encoder: nn.Sequential) -> nn.Sequential:
    """The VAE encoder in the original layer order (ReLU before max-pool), same layers."""
    conv1, bn1, pool1, _, conv2, bn2, pool2, _, flatten = encoder
    return nn.Sequential(conv1, bn1, nn.ReLU(), pool1, conv2, bn2, nn.ReLU(), pool2, flatten)


def _vae_state(variant: StepVariant, batch: int):
    config = faces.FacesConfig(train=faces.VaeTrainConfig(batch_size=batch))
    torch.manual_seed(0)
    model, optimizer = faces.build(config)
    if not variant.channels_last:
        model.input_memory_format = torch.contiguous_format
    if not variant.pool_then_relu:
        model.encoder = relu_then_pool(model.encoder)
    if not variant.fused_adam:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr)
    return model, optimizer, torch.rand(batch, 3, 64, 64)


def _vae_step(state):
    """The faces task's training step (forward, vae_loss, backward, Adam) on one batch."""
    model, optimizer, x = state
    model.train()

    def step():
        recon, mu, logvar = model(x)
        terms = vae_loss(recon, x, mu, logvar, 1.0)
        _ = {k: float(v.detach()) for k, v in terms.items()}  # as the task's step does
        optimizer.zero_grad(set_to_none=True)
        terms["objective"].backward()
        optimizer.step()

    return step


def _vae_steps(state, heap_reuse: bool, warmup: int, steps: int) -> list[float]:
    step = _vae_step(state)
    if heap_reuse:
        with faces.reuse_freed_memory():
            return repeat_timed(step, warmup, steps)
    return repeat_timed(step, warmup, steps)


# Operators that do the step's counted FLOPs (convolutions and linear layers, both ways)
MATRIX_OPS = frozenset({"aten::mkldnn_convolution", "aten::convolution_backward",
                        "aten::mm", "aten::addmm", "aten::bmm"})


def matrix_op_seconds(state, steps: int) -> float:
    """Seconds per step spent in ``MATRIX_OPS`` (torch.profiler self time): where the
    step's FLOPs are done. The rest of the step does no counted FLOPs."""
    from torch.profiler import ProfilerActivity, profile

    step = _vae_step(state)
    with faces.reuse_freed_memory():
        step()  # warm-up
        with stderr_silenced(), profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps):
                step()
    micros = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in MATRIX_OPS)
    return micros / 1e6 / steps


@contextmanager
def stderr_silenced():
    """Drop what native code writes to file descriptor 2 meanwhile: the profiler's
    library prints a 'profiler_start/stop' line each time, in the middle of the table."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def copy_gbps(threads: int, mib: int = 256, repeats: int = 5) -> float:
    """Memory bandwidth of a plain tensor copy (bytes read + written per second)."""
    a = torch.rand(mib * 2**20 // 4)
    b = torch.empty_like(a)
    with torch_threads(threads):
        seconds = repeat_timed(lambda: b.copy_(a), 1, repeats)
    return 2 * a.numel() * 4 / median(seconds) / 1e9


def measure_ceiling(n: int, thread_counts: tuple[int, ...], steps: int, rounds: int,
                    ablation: bool, batch: int = 64) -> list[Row]:
    """Per thread count: the matmul peak, the VAE step's achieved GFLOP/s as a fraction of
    it and (ablation) what each speed change is worth; variants alternate round by round."""
    variants = (KEPT, *VARIANTS) if ablation else (KEPT,)
    rows = []
    for threads in thread_counts:
        load = load1()
        states = {v.name: _vae_state(v, batch) for v in variants}
        flops = count_flops(states[KEPT.name][0], states[KEPT.name][2]).train_step
        peak = matmul_gflops(n, threads)
        seconds: dict[str, list[float]] = {v.name: [] for v in variants}
        with torch_threads(threads):
            for _ in range(rounds):
                for v in variants:
                    seconds[v.name] += _vae_steps(states[v.name], v.heap_reuse, 1, steps)
            matrix = matrix_op_seconds(states[KEPT.name], max(2, steps))
        peak = (peak + matmul_gflops(n, threads)) / 2  # before and after the steps
        step = median(seconds[KEPT.name])
        achieved = flops / step / 1e9
        rest = max(0.0, step - matrix)
        bandwidth = copy_gbps(threads)
        rows += [
            Row("5 ceiling", f"float32 matmul {n}x{n} (torch.mm)", f"{peak:.1f} GFLOP/s", "",
                peak, None, str(threads), load, "median of 5, mean of a run before and after"),
            Row("5 ceiling", f"VAE step vae_fc batch {batch} (fwd+bwd+Adam)",
                f"{achieved:.1f} GFLOP/s ({step:.2f} s/step)", f"{peak:.1f} GFLOP/s matmul",
                achieved / peak, CEILING_TARGET, str(threads), load,
                f"{flops / 1e9:.1f} GFLOP/step = 3 x conv+linear forward; median of "
                f"{len(seconds[KEPT.name])} steps"),
            Row("5 ceiling", "  of which convolutions and matrix products",
                f"{matrix * 1000:.0f} ms/step, {flops / matrix / 1e9:.1f} GFLOP/s",
                f"{peak:.1f} GFLOP/s matmul", flops / matrix / 1e9 / peak, None,
                str(threads), load, "torch.profiler self time of " + ", ".join(
                    sorted(MATRIX_OPS)) + "; all the step's counted FLOPs"),
            Row("5 ceiling", "  of which the rest (batch norm, pooling, loss, Adam, ...)",
                f"{rest * 1000:.0f} ms/step", f"{step * 1000:.0f} ms/step in all",
                rest / step, None, str(threads), load,
                "no counted FLOPs: memory traffic over the 64 MB first-block activations "
                "and the 17M-parameter optimizer state; compare the copy bandwidth"),
            Row("5 ceiling", "memory copy bandwidth (256 MiB tensor, read + write)",
                f"{bandwidth:.1f} GB/s", "", bandwidth, None, str(threads), load,
                "median of 5"),
        ]
        for v in variants[1:]:
            t = median(seconds[v.name])
            rows.append(Row("5 ceiling", f"VAE step variant: {v.name}", f"{t:.2f} s/step",
                            f"{step:.2f} s/step as shipped", t / step, None, str(threads),
                            load, f"value = time / shipped time; {v.kept}".rstrip("; ")))
        del states
    return rows


# ---- section 3: COVID windows ------------------------------------------------------------

def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure_windows(data_dir: Path | None, repeats: int, window: int = 28) -> list[Row]:
    """Time and peak traced memory of the COVID adapter on the big JHU file, and of
    windowing every country alone."""
    from datasets.covid import CovidDataConfig, load_covid
    from datasets.windows import windows_for_rows

    config = CovidDataConfig(path=GLOBAL_2023_CSV, window=window)
    load = load1()
    data = load_covid(config, data_dir)
    rows_all = list(range(len(data.countries)))
    adapter = repeat_timed(lambda: load_covid(config, data_dir), 0, repeats)
    windows = repeat_timed(lambda: windows_for_rows(data.daily, rows_all, window), 1, repeats)
    adapter_peak = _peak_bytes(lambda: load_covid(config, data_dir))
    windows_peak = _peak_bytes(lambda: windows_for_rows(data.daily, rows_all, window))
    n_all = len(rows_all) * (data.daily.shape[1] - window)
    n_split = len(data.train.y) + len(data.validation.y) + len(data.test.y)
    name = Path(GLOBAL_2023_CSV).name
    return [
        Row("3 data path", f"COVID adapter on {name}, L={window} (parse..windows)",
            f"{median(adapter):.2f} s, peak {adapter_peak / 2**20:.0f} MB", "",
            median(adapter), None, "-", load,
            f"{len(data.countries)} countries x {data.daily.shape[1]} days -> {n_split:,} "
            f"windows; median of {repeats}; peak by tracemalloc"),
        Row("3 data path", f"all windows of every country, L={window} (windows_for_rows)",
            f"{median(windows) * 1000:.0f} ms, peak {windows_peak / 2**20:.0f} MB", "",
            median(windows), None, "-", load, f"{n_all:,} windows; median of {repeats}"),
    ]


# ---- section 4: grid scaling -------------------------------------------------------------

def scaling_grid(epochs: int | None, n_cells: int):
    """``n_cells`` COVID cells of quick.toml, optionally with fewer epochs."""
    from benchmarks.grid import Grid, load_grid

    overrides = {"train.epochs": epochs} if epochs else {}
    grid = load_grid(QUICK_GRID, overrides)
    cells = [c for c in grid.cells if c.task == "covid"]
    if n_cells < len(cells):  # one window, so one dataset: a fair few-cell grid
        cells = [c for c in cells if c.config.data.window == cells[0].config.data.window]
    cells = cells[:n_cells]
    return Grid(experiment="perf-grid", description="perf: grid scaling", cells=cells,
                source=grid.source)


_GRID_CHILD = """\
import json, sys, tempfile, time
from pathlib import Path
from benchmarks.perf_system import scaling_grid
from benchmarks.runner import run_grid
epochs, n_cells, workers, data_dir, out = sys.argv[1:]
grid = scaling_grid(int(epochs) or None, int(n_cells))
with tempfile.TemporaryDirectory(prefix="perf-grid-") as tmp:
    start = time.perf_counter()
    result = run_grid(grid, f"sqlite:///{Path(tmp) / 'mlflow.db'}",
                      Path(data_dir) if data_dir else None, fresh=True, quiet=True,
                      grid_name="perf", workers=int(workers))
    seconds = time.perf_counter() - start
Path(out).write_text(json.dumps({"cells": len(grid.cells), "seconds": seconds,
                                 "failed": [list(f) for f in result.failed]}))
"""


def grid_walls(data_dir: Path | None, epochs: int | None, n_cells: int) -> dict:
    """Wall time of ``run_grid`` with 1 and then 2 workers, each in a fresh process on a
    temporary store and an empty cache: neither run inherits imports, loaded data or
    drawn figures from this process or from the other run."""
    runs = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory(prefix="perf-grid-") as tmp:
            out = Path(tmp) / "result.json"
            command = [sys.executable, "-c", _GRID_CHILD, str(epochs or 0), str(n_cells),
                       str(workers), str(Path(data_dir).resolve()) if data_dir else "",
                       str(out)]
            env = dict(os.environ, BENCH_CACHE_DIR=str(Path(tmp) / "cache"))
            env.pop("MLFLOW_TRACKING_URI", None)
            done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True,
                                  text=True)
            if done.returncode != 0 or not out.exists():
                lines = (done.stderr or done.stdout).strip().splitlines()
                raise RuntimeError(f"grid child ({workers} workers) exited "
                                   f"{done.returncode}: {lines[-1] if lines else ''}")
            runs[str(workers)] = json.loads(out.read_text())
    return {"cells": runs["1"]["cells"], "runs": runs}


def measure_grid(data_dir: Path | None, epochs: int | None, n_cells: int) -> list[Row]:
    load = load1()
    result = grid_walls(data_dir, epochs, n_cells)
    one, two = result["runs"]["1"], result["runs"]["2"]
    grid = scaling_grid(epochs, n_cells)
    epochs_text = epochs or grid.cells[0].config.train.epochs
    row = Row("4 grid", f"quick.toml COVID part, {result['cells']} cells x {epochs_text} "
              "epochs: 2 vs 1 worker", f"{two['seconds']:.1f} s (2 workers)",
              f"{one['seconds']:.1f} s (1 worker)", two["seconds"] / one["seconds"],
              GRID_TARGET, "1 per cell (COVID cells run single-threaded)", load,
              "run_grid wall incl. data load, store, worker start-up; each in a fresh "
              "process with an empty cache, 1 worker first; one run each")
    failed = one["failed"] + two["failed"]
    if failed:
        row.error = f"{len(failed)} cells failed: {failed[0][1]}"
    return [row]


# ---- section 6: peak memory of a faces run -----------------------------------------------

MEMORY_GRID = """\
experiment = "perf-memory"
[[study]]
task = "faces"
seeds = [0]
[study.config.data]
path = "anime_faces/images"
limit = {limit}
val_fraction = {val_fraction}
[study.config.loss]
iw_images = {iw_images}
[study.config.train]
epochs = {epochs}
"""


_LAUNCHER = """\
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def peak_rss_of(command: list[str], env: dict[str, str], cwd: Path, log: Path,
                ) -> tuple[int, int]:
    """Run ``command``; return (exit code, its peak resident memory in bytes).

    The peak is ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` read by a small launcher process
    that runs the command. Read here instead, it would be wrong: Linux starts a forked
    child's high-water mark at its parent's resident size, so a child of this (large)
    process would report at least our own size. Linux gives ``ru_maxrss`` in kilobytes.
    """
    peak_file = log.with_name(log.name + ".maxrss")
    with open(log, "wb") as out:
        code = subprocess.call([sys.executable, "-c", _LAUNCHER, str(peak_file), *command],
                               env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    text = peak_file.read_text().strip() if peak_file.exists() else ""
    return code, int(text) * 1024 if text else 0


def measure_memory(data_dir: Path | None, limit: int, val_fraction: float, epochs: int,
                   iw_images: int, threads: int) -> list[Row]:
    """Peak resident memory of ``python -m benchmarks run`` on a one-cell faces grid."""
    load = load1()
    with tempfile.TemporaryDirectory(prefix="perf-memory-") as tmp:
        grid = Path(tmp) / "memory.toml"
        grid.write_text(MEMORY_GRID.format(limit=limit, val_fraction=val_fraction,
                                           iw_images=iw_images, epochs=epochs))
        command = [sys.executable, "-m", "benchmarks", "run", str(grid), "--quiet", "--fresh",
                   "--tracking-uri", f"sqlite:///{Path(tmp) / 'mlflow.db'}"]
        if data_dir is not None:
            command += ["--data-dir", str(Path(data_dir).resolve())]
        env = dict(os.environ, OMP_NUM_THREADS=str(threads),
                   BENCH_CACHE_DIR=str(faces.cache_dir().parent.resolve()))
        env.pop("MLFLOW_TRACKING_URI", None)
        start = time.perf_counter()
        code, peak = peak_rss_of(command, env, REPO_ROOT, Path(tmp) / "log.txt")
        seconds = time.perf_counter() - start
        tail = (Path(tmp) / "log.txt").read_text(errors="replace").strip().splitlines()[-1:]
    peak_gb = peak / 1e9
    images = "all" if limit == 0 else str(limit)
    row = Row("6 memory", f"faces run ({images} images, {epochs} epoch(s)), own process",
              f"{peak_gb:.2f} GB peak RSS", "", peak_gb, MEMORY_TARGET,
              f"the cell's own (OMP_NUM_THREADS={threads})", load,
              f"python -m benchmarks run, val_fraction={val_fraction}, iw_images={iw_images}; "
              f"ru_maxrss (RUSAGE_CHILDREN of a small launcher); {seconds:.0f} s wall")
    if code != 0:
        row.error = f"exit {code}: {tail[0] if tail else ''}"
    return [row]
