"""SIGTERM handled like Ctrl-C, so a stopped run is marked KILLED instead of left RUNNING."""

from __future__ import annotations

import signal


def raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_as_interrupt():
    """Install the handler; return a function that puts the previous one back."""
    try:
        previous = signal.signal(signal.SIGTERM, raise_interrupt)
    except ValueError:  # not the main thread
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)
