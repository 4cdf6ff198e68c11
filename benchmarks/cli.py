"""``python -m benchmarks``: the command-line contract of DESIGN section 5.

User mistakes (bad file, grid or flag) end with one ``error:`` line and exit status 2;
warnings about the data are printed as one ``warning:`` line each.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

from benchmarks.errors import UserError

DATA_DIR_ENV = "BENCH_DATA_DIR"


def resolve_data_dir(flag: str | None) -> Path:
    """``--data-dir``, else ``$BENCH_DATA_DIR``, else ``./data``; it must exist."""
    chosen = flag or os.environ.get(DATA_DIR_ENV) or "data"
    path = Path(chosen)
    if not path.is_dir():
        raise UserError(f"data directory {path} does not exist (set --data-dir or "
                        f"{DATA_DIR_ENV}; the README says where to get the data)")
    return path


def parse_overrides(pairs: list[str]) -> dict:
    """``--set data.window=7`` pairs; values are read as TOML (so 7 is an int, "x" a string,
    bare words a string)."""
    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {pair!r}: expected KEY=VALUE, e.g. data.window=7")
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        out[key.strip()] = value
    return out


def cmd_run(args) -> int:
    from benchmarks.grid import load_grid
    from benchmarks.runner import run_grid
    from tracking.store import resolve_tracking_uri

    grid = load_grid(args.grid, parse_overrides(args.set))
    data_dir = resolve_data_dir(args.data_dir)
    uri = resolve_tracking_uri(args.tracking_uri)
    result = run_grid(grid, uri, data_dir, fresh=args.fresh, quiet=args.quiet,
                      grid_name=Path(args.grid).name, workers=args.workers)
    print(f"experiment {grid.experiment!r}: {result.summary()}")
    print(f"tracking store: {uri}  (browse with: python -m benchmarks ui)")
    return 1 if result.failed else 0


def cmd_prepare(args) -> int:
    from benchmarks.prepare import prepare_covid
    from datasets.covid import CovidDataConfig

    config = CovidDataConfig(path=str(args.data), start=args.start, end=args.end,
                             threshold=args.threshold, window=args.window)
    data = prepare_covid(config, Path(args.out))
    summary = data.summary()
    print(f"{summary['n_countries']} countries ({summary['n_train_countries']} train, "
          f"{summary['n_test_countries']} test), {summary['n_train_windows']} train and "
          f"{summary['n_test_windows']} test windows; wrote {args.out}/")
    return 0


def cmd_export(args) -> int:
    from benchmarks.export import build_tables, render
    from tracking.read_runs import finished_cell_runs
    from tracking.store import resolve_tracking_uri

    uri = resolve_tracking_uri(args.tracking_uri)
    text = render(build_tables(finished_cell_runs(uri, args.experiment)), args.format,
                  args.experiment)
    if args.out:
        write_atomic(Path(args.out), text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def cmd_report(args) -> int:
    from benchmarks.report import build_report
    from tracking.store import resolve_tracking_uri

    text = build_report(resolve_tracking_uri(args.tracking_uri), args.experiment)
    out = Path(args.out or f"reports/{args.experiment}.html")
    write_atomic(out, text)
    print(f"wrote {out}")
    return 0


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary name so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def cmd_ui(args) -> int:
    from tracking.store import DEFAULT_STORE_DIR, resolve_tracking_uri

    uri = resolve_tracking_uri(args.tracking_uri)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
               "--host", args.host, "--port", str(args.port)]
    if uri.startswith("sqlite:///"):
        command += ["--default-artifact-root", (DEFAULT_STORE_DIR / "artifacts").resolve()
                    .as_uri()]
    print(f"MLflow UI on http://{args.host}:{args.port} for {uri} (Ctrl-C stops it)")
    return subprocess.call(command)


class OneLineErrors(argparse.ArgumentParser):
    """Flag mistakes are one ``error:`` line (with a pointer to --help), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrors(prog="python -m benchmarks",
                           description="Experiment-tracked benchmark suite.")
    sub = parser.add_subparsers(dest="command", required=True,
                                parser_class=OneLineErrors)

    run = sub.add_parser("run", help="run a grid file, tracked in MLflow")
    run.add_argument("grid", help="grid TOML file, e.g. benchmarks/grids/quick.toml")
    run.add_argument("--data-dir", help=f"data folder (default ${DATA_DIR_ENV} or ./data)")
    run.add_argument("--tracking-uri", help="MLflow tracking URI (default "
                     "$MLFLOW_TRACKING_URI or sqlite:///mlruns/mlflow.db)")
    run.add_argument("--workers", type=int, default=1, help="parallel worker processes")
    run.add_argument("--fresh", action="store_true", help="rerun cells already finished")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config key for every cell, e.g. train.epochs=3")
    run.set_defaults(func=cmd_run)

    prepare = sub.add_parser("prepare", help="write a study's prepared data to files")
    prep_sub = prepare.add_subparsers(dest="study", required=True)
    covid = prep_sub.add_parser("covid", help="correlation, country split and windows")
    covid.add_argument("--data", required=True, type=Path, help="confirmed-cases CSV")
    covid.add_argument("--start", help="first date, ISO (default: first in file)")
    covid.add_argument("--end", help="last date, ISO (default: last in file)")
    covid.add_argument("--threshold", type=float, default=0.7,
                       help="min correlation with another country to be in training set C")
    covid.add_argument("--window", type=int, default=5, help="window length L")
    covid.add_argument("--out", required=True, help="output folder")
    covid.set_defaults(func=cmd_prepare)

    export = sub.add_parser("export", help="comparison table of an experiment's runs")
    export.add_argument("--experiment", required=True, help="experiment (grid) name")
    export.add_argument("--format", default="md", choices=["csv", "md", "latex", "html"])
    export.add_argument("--out", help="output file (default: standard output)")
    export.add_argument("--tracking-uri")
    export.set_defaults(func=cmd_export)

    report = sub.add_parser("report", help="self-contained HTML report of an experiment")
    report.add_argument("--experiment", required=True)
    report.add_argument("--out", help="output file (default reports/EXPERIMENT.html)")
    report.add_argument("--tracking-uri")
    report.set_defaults(func=cmd_report)

    from benchmarks.perf import add_perf_parser
    from benchmarks.tune import add_tune_parser

    add_tune_parser(sub)
    add_perf_parser(sub)

    ui = sub.add_parser("ui", help="start the MLflow UI on the local store")
    ui.add_argument("--port", type=int, default=5000)
    ui.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    ui.add_argument("--tracking-uri")
    ui.set_defaults(func=cmd_ui)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warnings.showwarning = _one_line_warning
    try:
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the running cell was marked KILLED; rerun to resume",
              file=sys.stderr)
        return 130
