"""Read finished cell runs back from the store as plain rows, for tables and reports."""

from __future__ import annotations

import os
from dataclasses import dataclass

from mlflow.tracking import MlflowClient

from benchmarks.errors import UserError

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # keep CLI output clean


@dataclass
class CellRun:
    run_id: str
    name: str
    task: str
    group: str  # group_hash: one configuration, any seed
    params: dict[str, str]
    metrics: dict[str, float]  # latest value of each metric


def finished_cell_runs(tracking_uri: str, experiment: str) -> list[CellRun]:
    """Every FINISHED cell run of ``experiment`` (across all grid invocations)."""
    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        names = [e.name for e in client.search_experiments()]
        raise UserError(f"no experiment {experiment!r} in {tracking_uri}; "
                        f"experiments there: {', '.join(names) or 'none'}")
    runs, token = [], None
    while True:
        page = client.search_runs(
            [found.experiment_id],
            filter_string="tags.run_kind = 'cell' and attributes.status = 'FINISHED'",
            max_results=1000, page_token=token, order_by=["attributes.start_time ASC"],
        )
        runs.extend(page)
        token = page.token
        if not token:
            break
    return [
        CellRun(run_id=r.info.run_id, name=r.info.run_name or "", task=r.data.tags.get("task", ""),
                group=r.data.tags.get("group_hash", r.info.run_id), params=dict(r.data.params),
                metrics=dict(r.data.metrics))
        for r in runs
    ]


def fetch_artifact(tracking_uri: str, run_id: str, path: str, dest: str) -> str | None:
    """Download one artifact of a run; None if the run does not have it."""
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        return client.download_artifacts(run_id, path, dest)
    except Exception:  # noqa: BLE001 - a missing artifact only leaves a gap in the report
        return None
