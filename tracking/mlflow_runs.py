"""The run hierarchy in MLflow: one experiment per grid, a parent run per invocation and a
child run per cell. This module and its siblings are the only code that imports mlflow.

The client API is used throughout (no global active run), so several cells or processes
never share hidden state.
"""

from __future__ import annotations

import io
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import torch
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tracking import plots
from tracking.liveness import current_owner, owner_alive
from tracking.store import local_artifact_root, store_init_lock

PARAM_BATCH = 100  # MLflow accepts at most 100 params per log_batch call
METRIC_BATCH = 1000
FLUSH_SECONDS = 2.0
MAX_PARAM_CHARS = 6000


class TrackingSession:
    """A connection to one tracking store."""

    def __init__(self, tracking_uri: str) -> None:
        self.uri = tracking_uri
        with store_init_lock(tracking_uri):  # two fresh processes must not both migrate
            self.client = MlflowClient(tracking_uri=tracking_uri)
            self.client.search_experiments(max_results=1)

    def experiment_id(self, name: str) -> str:
        """Get or create the experiment; safe when two processes race to create it."""
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                self.client.restore_experiment(found.experiment_id)
            return found.experiment_id
        try:
            return self.client.create_experiment(name,
                                                 artifact_location=self._artifacts_for(name))
        except MlflowException:
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def _artifacts_for(self, name: str) -> str | None:
        root = local_artifact_root(self.uri)
        if root is None:
            return None
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        return f"{root}/{safe}"

    def finished_run(self, experiment_id: str, config_hash: str):
        """The FINISHED child run of a cell, if an earlier invocation completed it."""
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.config_hash = '{config_hash}' and "
                          "attributes.status = 'FINISHED'",
            max_results=1,
        )
        return runs[0] if runs else None

    def fail_stale_runs(self, experiment_id: str) -> list[str]:
        """Mark FAILED the RUNNING runs whose owning process on this host is gone."""
        stale = []
        for run in self.client.search_runs([experiment_id],
                                           filter_string="attributes.status = 'RUNNING'",
                                           max_results=5000):
            if owner_alive(run.data.tags.get("owner", "")) is False:
                self.client.set_tag(run.info.run_id, "error",
                                    "stale: its process died without ending the run "
                                    f"(owner {run.data.tags.get('owner')})")
                self.client.set_terminated(run.info.run_id, "FAILED")
                stale.append(run.info.run_name or run.info.run_id)
        return stale

    def running_elsewhere(self, experiment_id: str, config_hash: str) -> bool:
        """Is another live process on this host running this cell right now?"""
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.config_hash = '{config_hash}' and "
                          "attributes.status = 'RUNNING'",
        )
        return any(owner_alive(r.data.tags.get("owner", "")) for r in runs)

    def start_run(self, experiment_id: str, name: str, tags: dict[str, str],
                  parent: RunTracker | str | None = None) -> RunTracker:
        tags = dict(tags, owner=current_owner())
        if parent is not None:
            tags["mlflow.parentRunId"] = parent if isinstance(parent, str) else parent.run_id
        run = self.client.create_run(experiment_id, run_name=name, tags=tags)
        return RunTracker(self.client, run.info.run_id)


class RunTracker:
    """Log into one run: buffered metrics, params, artifacts, and a status at the end."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self._metrics: list[Metric] = []
        self._last_flush = time.monotonic()

    def log_params(self, params: dict[str, Any]) -> None:
        items = [Param(k, _param_value(v)) for k, v in params.items()]
        for i in range(0, len(items), PARAM_BATCH):
            self.client.log_batch(self.run_id, params=items[i : i + PARAM_BATCH])

    def set_tags(self, tags: dict[str, str]) -> None:
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        """Queue metrics at ``step``; they reach the store in batches, not one call each."""
        now = int(time.time() * 1000)
        self._metrics.extend(Metric(k, float(v), now, step) for k, v in metrics.items())
        if len(self._metrics) >= METRIC_BATCH or \
                time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        while self._metrics:
            chunk, self._metrics = self._metrics[:METRIC_BATCH], self._metrics[METRIC_BATCH:]
            self.client.log_batch(self.run_id, metrics=chunk)
        self._last_flush = time.monotonic()

    def log_text(self, text: str, artifact_file: str) -> None:
        self.client.log_text(self.run_id, text, artifact_file)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / Path(artifact_file).name
            path.write_bytes(data)
            self.log_file(path, str(Path(artifact_file).parent).strip("."))

    def log_file(self, path: Path, artifact_dir: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_dir or None)

    def log_figure(self, figure, artifact_file: str) -> None:
        """Save a matplotlib figure as PNG and close it (figures hold a lot of memory)."""
        self.log_bytes(plots.png_bytes(figure), artifact_file)

    def log_image(self, image, artifact_file: str) -> None:
        """Save a Pillow image as PNG."""
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        self.log_bytes(buffer.getvalue(), artifact_file)

    def log_model_state(self, state_dict: dict, artifact_file: str) -> None:
        """Weights only (load with ``torch.load(..., weights_only=True)``)."""
        buffer = io.BytesIO()
        torch.save(state_dict, buffer)
        self.log_bytes(buffer.getvalue(), artifact_file)

    def finish(self) -> None:
        self.flush()
        self.client.set_terminated(self.run_id, RunStatus.to_string(RunStatus.FINISHED))

    def fail(self, error: BaseException, status: str = "FAILED") -> None:
        """End FAILED (or KILLED) with the error as a tag and the traceback as an artifact."""
        try:
            self.flush()
        except Exception:  # noqa: BLE001 - the store may be what failed; keep the status
            self._metrics.clear()
        message = f"{type(error).__name__}: {error}"
        self.client.set_tag(self.run_id, "error", message[:5000])
        self.log_text("".join(traceback.format_exception(error)), "error_traceback.txt")
        self.client.set_terminated(self.run_id, status)


def _param_value(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."
