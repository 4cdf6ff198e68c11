"""Optuna tuning on top of the runner (placeholder until the tune command lands)."""

from __future__ import annotations


def add_tune_parser(sub) -> None:
    """Register ``tune`` on the CLI's subcommands."""
