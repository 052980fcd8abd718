"""Timing helpers every benchmark uses: wall time per run after a warm-up, percentiles."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timings(action: Callable[[], object], *, runs: int, warmup: int = 5) -> list[float]:
    """Wall time per run in ms, after warm-up (zone tables cached, code paths hot)."""
    for _ in range(warmup):
        action()
    result = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        result.append((time.perf_counter() - started) * 1000)
    return result


def percentile(values: list[float], pct: int) -> float:
    """The pct-th percentile (inclusive method); NaN when there are too few values."""
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]
