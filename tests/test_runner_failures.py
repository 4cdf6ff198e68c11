"""A cell that fails at run time ends FAILED with its error; the grid goes on."""

from __future__ import annotations

import torch
from mlflow.tracking import MlflowClient

from benchmarks.grid import load_grid
from benchmarks.runner import run_grid
from models import model_names, register_model


class NanClassifier(torch.nn.Module):
    """A real module whose logits are NaN: the loss diverges on the first batch."""

    def __init__(self, **_):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, x):
        return torch.full((x.shape[0], 2), float("nan")) * self.scale


if "nan_classifier" not in model_names():
    register_model("nan_classifier")(NanClassifier)

GRID = """
experiment = "failures"
[[study]]
task = "covid"
[study.config.data]
path = "covid/covid_19_homework.csv"
[study.config.train]
epochs = 1
batch_size = 512
[study.sweep]
"model.name" = ["nan_classifier", "gru"]
"""


def test_diverging_cell_fails_and_the_grid_goes_on(tmp_path, data_dir):
    grid_file = tmp_path / "grid.toml"
    grid_file.write_text(GRID)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = run_grid(load_grid(grid_file), uri, data_dir, quiet=True)
    assert [label for label, _ in result.failed] == ["covid name=nan_classifier seed=0"]
    assert "DivergedError" in result.failed[0][1]
    assert result.finished == ["covid name=gru seed=0"]

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("failures")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    failed = runs["covid name=nan_classifier seed=0"]
    assert failed.info.status == "FAILED"
    assert failed.data.tags["error"].startswith("DivergedError: loss became nan")
    trace = client.download_artifacts(failed.info.run_id, "error_traceback.txt",
                                      str(tmp_path))
    assert "DivergedError" in open(trace).read()
    assert runs["covid name=gru seed=0"].info.status == "FINISHED"
    parent = next(r for r in runs.values() if r.data.tags.get("run_kind") == "grid")
    assert parent.info.status == "FAILED"  # the grid reports the failure at the end

    # A rerun retries only the failed cell.
    again = run_grid(load_grid(grid_file), uri, data_dir, quiet=True)
    assert again.skipped == ["covid name=gru seed=0"]
    assert [label for label, _ in again.failed] == ["covid name=nan_classifier seed=0"]
