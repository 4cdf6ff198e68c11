"""Per-epoch metric values kept in memory, so plots need no round trip to the store."""

from __future__ import annotations

from collections import defaultdict


class MetricHistory:
    def __init__(self) -> None:
        self.values: dict[str, list[tuple[int, float]]] = defaultdict(list)

    def add(self, step: int, metrics: dict[str, float]) -> None:
        for key, value in metrics.items():
            self.values[key].append((step, float(value)))

    def series(self, key: str) -> tuple[list[int], list[float]]:
        points = self.values.get(key, [])
        return [s for s, _ in points], [v for _, v in points]

    def __contains__(self, key: str) -> bool:
        return key in self.values
