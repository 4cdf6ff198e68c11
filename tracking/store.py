"""Where runs are stored: the default local SQLite store, or whatever the user points at.

MLflow 3.13+ refuses a plain file store, so the default is ``sqlite:///mlruns/mlflow.db``
with artifacts in ``mlruns/artifacts`` beside it. ``--tracking-uri`` or
``MLFLOW_TRACKING_URI`` points elsewhere (a team's tracking server).
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

DEFAULT_STORE_DIR = Path("mlruns")


def resolve_tracking_uri(cli_uri: str | None = None) -> str:
    if cli_uri:
        return cli_uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return sqlite_uri(DEFAULT_STORE_DIR / "mlflow.db")


def sqlite_uri(db_path: Path) -> str:
    return f"sqlite:///{Path(db_path).resolve()}"


def local_artifact_root(tracking_uri: str) -> str | None:
    """For a local SQLite store, keep artifacts in an ``artifacts`` folder beside the db."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db = Path(tracking_uri[len("sqlite:///"):])
    return (db.parent / "artifacts").resolve().as_uri()


@contextmanager
def store_init_lock(tracking_uri: str):
    """Serialise the first connection to a local SQLite store (it creates the tables).

    MLflow migrates a new database on first use; two processes doing it at once fail.
    Other stores need no lock.
    """
    if not tracking_uri.startswith("sqlite:///"):
        yield
        return
    db = Path(tracking_uri[len("sqlite:///"):])
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
