"""``python -m benchmarks perf [--quick]``: the suite against the best this machine can do.

One run measures, as ratios each with its target beside it (issue 6):

1. trainer: ``fit`` with a task's real step and batches vs a minimal hand-written loop
   (COVID LSTM, faces ``vae_fc``), same model, data, batch size and process;
2. tracking: a COVID cell with MLflow on (sqlite store) vs a do-nothing tracker;
3. data path: faces fed by the image adapter (cache warm) vs a tensor in memory, and
   the COVID adapter / windowing on the big JHU file (time, peak memory);
4. grid scaling: the COVID part of quick.toml with 2 workers vs 1;
5. machine ceiling: float32 matmul GFLOP/s vs the VAE step's achieved GFLOP/s, plus what
   each speed change of the VAE step is worth on this machine;
6. peak resident memory of a faces run in its own process.

Every measurement sets its torch threads explicitly (the table says how many), warms up,
repeats and reports medians. The machine may be shared: the 1-minute load average is
printed with the table and beside each row, so a noisy figure can be re-measured later.
The table is printed and written as CSV and Markdown into ``--out``.
"""

from __future__ import annotations

import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import torch

from benchmarks.perf_common import cpu_count, load1
from benchmarks.perf_table import Row, to_text, write_tables


@dataclass(frozen=True)
class Plan:
    """Sizes of one perf mode."""

    name: str
    covid_rounds: int  # alternating suite / minimal epochs (COVID trainer)
    covid_epochs: int  # epochs of each COVID cell in the tracking comparison
    covid_repeats: int  # on/off pairs
    faces_limit: int  # images for the faces trainer and data path
    faces_rounds: int  # rounds of suite / minimal / in-memory epochs, order rotating
    matmul_n: int
    vae_steps: int  # timed VAE steps per variant and round
    vae_rounds: int
    vae_ablation: bool
    windows_repeats: int
    # Both modes run quick.toml's 12 COVID cells as they are: with fewer or shorter cells
    # the workers' start-up (~3 s of imports each) decides the ratio, not the scaling.
    grid_epochs: int | None  # None = quick.toml's own
    grid_cells: int  # COVID cells of quick.toml (fewer than all: one window's)
    memory_limit: int  # 0 = all 6,000
    memory_val_fraction: float
    memory_epochs: int
    memory_iw_images: int


QUICK = Plan(name="quick", covid_rounds=4, covid_epochs=2, covid_repeats=1,
             faces_limit=427, faces_rounds=1, matmul_n=2048, vae_steps=4, vae_rounds=2,
             vae_ablation=False, windows_repeats=3, grid_epochs=None, grid_cells=12,
             memory_limit=100, memory_val_fraction=0.41, memory_epochs=1,
             memory_iw_images=41)
FULL = Plan(name="full", covid_rounds=10, covid_epochs=4, covid_repeats=3,
            faces_limit=1500, faces_rounds=2, matmul_n=3072, vae_steps=2, vae_rounds=3,
            vae_ablation=True, windows_repeats=5, grid_epochs=None, grid_cells=12,
            memory_limit=0, memory_val_fraction=0.1, memory_epochs=1,
            memory_iw_images=256)


def sections(plan: Plan, data_dir: Path | None) -> list[tuple[str, Callable[[], list[Row]]]]:
    """(title, measurement) in running order; each returns its table rows."""
    from benchmarks import perf_system as system
    from benchmarks import perf_train as train

    threads = cpu_count()
    counts = tuple(dict.fromkeys((threads, 1)))  # all threads, then one
    return [
        ("5 ceiling", lambda: system.measure_ceiling(plan.matmul_n, counts, plan.vae_steps,
                                                     plan.vae_rounds, plan.vae_ablation)),
        ("1+2 COVID trainer and tracking",
         lambda: train.measure_covid(data_dir, plan.covid_rounds, plan.covid_epochs,
                                     plan.covid_repeats)),
        ("1+3 faces trainer and data path",
         lambda: train.measure_faces(data_dir, plan.faces_limit, plan.faces_rounds)),
        ("3 COVID windows", lambda: system.measure_windows(data_dir, plan.windows_repeats)),
        ("4 grid", lambda: system.measure_grid(data_dir, plan.grid_epochs, plan.grid_cells)),
        ("6 memory", lambda: system.measure_memory(data_dir, plan.memory_limit,
                                                   plan.memory_val_fraction,
                                                   plan.memory_epochs,
                                                   plan.memory_iw_images, threads)),
    ]


def run_perf(plan: Plan, data_dir: Path | None, out_dir: Path,
             say: Callable[[str], None] = print) -> tuple[list[Row], dict[str, str]]:
    """Run every section (a failing one becomes an ERROR row), write and return the table."""
    started, load_start = time.perf_counter(), load1()
    ncpu = cpu_count()
    busy = load_start >= ncpu
    say(f"perf ({plan.name}): 1-minute load average {load_start:.2f} on {ncpu} CPUs"
        + (" - machine busy, figures will be noisy" if busy else ""))
    rows: list[Row] = []
    for title, measure in sections(plan, data_dir):
        t0 = time.perf_counter()
        try:
            new = measure()
        except Exception as exc:  # noqa: BLE001 - one broken section must not lose the rest
            traceback.print_exc(file=sys.stderr)
            new = [Row(title.split()[0], title, load=load1(),
                       error=f"{type(exc).__name__}: {exc}")]
        rows += new
        say(f"  {title}: {time.perf_counter() - t0:.0f} s")
    rows.sort(key=lambda r: r.section.split()[0])  # stable: order within a section kept
    meta = {
        "mode": plan.name,
        "date": datetime.now().isoformat(timespec="seconds"),
        "load average (1 min)": f"{load_start:.2f} at start, {load1():.2f} at end, on {ncpu} "
                                f"CPUs" + (" (busy: re-measure when lower)" if busy else ""),
        "machine": f"{_cpu_name()}, {ncpu} CPUs, torch {torch.__version__}",
        "threads": "set per row (torch.set_num_threads / OMP_NUM_THREADS)",
        "wall time": f"{time.perf_counter() - started:.0f} s",
    }
    write_tables(rows, meta, out_dir, f"perf_{plan.name}")
    return rows, meta


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cmd_perf(args) -> int:
    from benchmarks.cli import resolve_data_dir

    plan = QUICK if args.quick else FULL
    data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    out_dir = Path(args.out)
    rows, meta = run_perf(plan, data_dir, out_dir,
                          say=lambda line: print(line, file=sys.stderr, flush=True))
    sys.stdout.write(to_text(rows, meta))
    print(f"wrote {out_dir / f'perf_{plan.name}.csv'} and {out_dir / f'perf_{plan.name}.md'}")
    return 1 if any(r.error for r in rows) else 0


def add_perf_parser(sub) -> None:
    """Register ``perf`` on the CLI's subparsers."""
    perf = sub.add_parser("perf", help="measure the suite against this machine's best")
    perf.add_argument("--quick", action="store_true",
                      help="smaller sizes, under 3 minutes on 2 cores")
    perf.add_argument("--out", default="reports/perf",
                      help="folder for perf_MODE.csv and perf_MODE.md (default reports/perf)")
    perf.add_argument("--data-dir", help="data folder (default $BENCH_DATA_DIR or ./data)")
    perf.set_defaults(func=cmd_perf)
