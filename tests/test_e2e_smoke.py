"""End to end: the smoke grid on the real data into a real SQLite MLflow store."""

from __future__ import annotations

import base64
import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from PIL import Image

from benchmarks.grid import load_grid
from benchmarks.tasks.registry import get_task
from models import build_model

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "benchmarks" / "grids" / "smoke.toml"


def run_cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory, data_dir):
    """Run the smoke grid once for the whole module; return (uri, env, first result)."""
    tmp = tmp_path_factory.mktemp("smoke")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    env = dict(os.environ, BENCH_DATA_DIR=str(data_dir), BENCH_CACHE_DIR=str(tmp / "cache"))
    result = run_cli(["run", str(SMOKE), "--tracking-uri", uri, "--quiet"], env)
    return uri, env, result


def cell_runs(uri: str):
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("smoke")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("run_kind") == "grid"]
    cells = [r for r in runs if r.data.tags.get("run_kind") == "cell"]
    return client, parents, cells


def test_smoke_grid_finishes_with_one_child_per_cell(smoke_store):
    uri, _, result = smoke_store
    assert result.returncode == 0, result.stderr
    client, parents, cells = cell_runs(uri)
    expected = load_grid(SMOKE).cells
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(r.data.tags["config_hash"] for r in cells) == \
        sorted(c.config_hash for c in expected)
    for run in cells:
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert len(run.data.tags["data_checksum"]) == 16


def test_covid_cells_log_per_epoch_metrics_baselines_and_artifacts(smoke_store, data_dir):
    uri, _, _ = smoke_store
    client, _, cells = cell_runs(uri)
    covid = [r for r in cells if r.data.tags["task"] == "covid"]
    assert len(covid) == 2
    epochs = load_grid(SMOKE).cells[0].config.train.epochs
    for run in covid:
        history = client.get_metric_history(run.info.run_id, "test_f1")
        assert [m.step for m in history] == list(range(1, epochs + 1))
        for key in ("train_loss", "val_accuracy", "test_balanced_accuracy", "test_roc_auc",
                    "baseline_majority_test_accuracy", "baseline_logreg_test_f1"):
            assert key in run.data.metrics, key
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"learning_curves.png", "confusion_matrix.png", "correlation_heatmap.png",
                "world_map.svg", "world_map.png", "world_map_unmapped.txt",
                "country_predictions.csv", "config.toml", "model_state.pt"} <= artifacts

    # The majority baseline always says "fall" (25 % rises in training), so its accuracy is
    # the share of falls among the test windows, counted here from the adapter's labels.
    cell = load_grid(SMOKE).cells[0]
    data = get_task("covid").load_data(cell.config, data_dir)
    assert data.train.y.mean() < 0.5
    expected = 1.0 - data.test.y.mean()
    assert covid[0].data.metrics["baseline_majority_test_accuracy"] == pytest.approx(expected)
    assert covid[0].data.metrics["baseline_majority_test_f1"] == 0.0


def test_saved_weights_load_safely_and_predict_the_map(smoke_store, tmp_path, data_dir):
    uri, _, _ = smoke_store
    client, _, cells = cell_runs(uri)
    run = next(r for r in cells if r.data.params.get("model.name") == "gru")
    weights = client.download_artifacts(run.info.run_id, "model_state.pt", str(tmp_path))
    table = client.download_artifacts(run.info.run_id, "country_predictions.csv",
                                      str(tmp_path))
    model = build_model("gru")
    model.load_state_dict(torch.load(weights, weights_only=True))
    model.eval()
    cell = next(c for c in load_grid(SMOKE).cells if c.config.model.name == "gru")
    data = get_task("covid").load_data(cell.config, data_dir)
    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(data.latest)), dim=1)[:, 1].numpy()
    rows = list(csv.DictReader(io.StringIO(Path(table).read_text())))
    assert [r["country"] for r in rows] == data.countries
    np.testing.assert_allclose([float(r["p_rise"]) for r in rows], p, atol=1e-5)


def test_faces_cell_logs_elbo_terms_and_images(smoke_store):
    uri, _, _ = smoke_store
    client, _, cells = cell_runs(uri)
    (faces,) = [r for r in cells if r.data.tags["task"] == "faces"]
    m = faces.data.metrics
    assert m["val_neg_elbo"] == pytest.approx(m["val_recon"] + m["val_kl"], rel=1e-5)
    assert m["val_objective"] == pytest.approx(m["val_neg_elbo"], rel=1e-6)  # KL weight 1
    assert 0 <= m["val_active_units"] <= 32
    iw = client.get_metric_history(faces.info.run_id, "val_iw_nll")
    assert [p.step for p in iw] == [1]  # once, for the trained model (1 epoch)
    assert np.isfinite(iw[0].value) and iw[0].value > 0
    iterations = client.get_metric_history(faces.info.run_id, "iter_train_neg_elbo")
    assert [p.step for p in iterations] == list(range(1, len(iterations) + 1))
    assert len(iterations) == 6  # 192 training images / batch 32
    artifacts = {a.path for a in client.list_artifacts(faces.info.run_id)}
    assert {"learning_curve.png", "reconstructions.png", "prior_samples.png",
            "interpolation.png", "model_state.pt"} <= artifacts


def test_rerun_skips_finished_cells_and_export_matches_store(smoke_store):
    uri, env, _ = smoke_store
    _, _, before = cell_runs(uri)
    again = run_cli(["run", str(SMOKE), "--tracking-uri", uri, "--quiet"], env)
    assert again.returncode == 0, again.stderr
    assert "0 finished, 3 skipped" in again.stdout
    _, parents, after = cell_runs(uri)
    assert len(after) == len(before) and len(parents) == 2

    exported = run_cli(["export", "--experiment", "smoke", "--format", "csv",
                        "--tracking-uri", uri], env)
    assert exported.returncode == 0, exported.stderr
    rows = [r for r in csv.reader(io.StringIO(exported.stdout))]
    header = rows[0]
    by_name = {r[header.index("model.name")]: r for r in rows[1:] if r[0] == "covid"}
    for run in after:
        if run.data.tags["task"] != "covid":
            continue
        row = by_name[run.data.params["model.name"]]
        assert float(row[header.index("test F1 (rise) mean")]) == \
            pytest.approx(run.data.metrics["test_f1"], abs=1e-6)
        assert float(row[header.index("logreg acc mean")]) == \
            pytest.approx(run.data.metrics["baseline_logreg_test_accuracy"], abs=1e-6)


def test_export_writes_every_format_and_report_embeds_every_figure(smoke_store, tmp_path):
    uri, env, _ = smoke_store
    for fmt in ("csv", "md", "latex", "html"):
        out = tmp_path / f"table.{fmt}"
        result = run_cli(["export", "--experiment", "smoke", "--format", fmt, "--out", str(out),
                          "--tracking-uri", uri], env)
        assert result.returncode == 0, result.stderr
        assert "lstm" in out.read_text()
    assert r"\begin{tabular}" in (tmp_path / "table.latex").read_text()
    assert "| model.name |" in (tmp_path / "table.md").read_text()

    report = tmp_path / "report.html"
    result = run_cli(["report", "--experiment", "smoke", "--out", str(report),
                      "--tracking-uri", uri], env)
    assert result.returncode == 0, result.stderr
    page = report.read_text()
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    # correlation, 2 effect-of-L plots, 2 learning curves, map, confusion, 4 VAE figures
    assert len(images) == 11
    for blob in images:
        with Image.open(io.BytesIO(base64.b64decode(blob))) as picture:
            assert picture.size[0] > 100
    assert "not recorded" not in page
