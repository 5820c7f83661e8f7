"""Loss-cost Pareto metrics of a cost-aware run (issue 12): hypervolume and matched-cost regret.

A run's evaluations are ``(cost, regret)`` pairs (normalised regret of the true loss). Costs are
put on a log scale normalised by the problem's cost range, ``u = (log c - log c_lo) /
(log c_hi - log c_lo)`` clipped to [0, 1], and regrets are clipped to [0, 1], so both axes of
every problem are the unit square:

* **hypervolume**: the area of the unit square dominated by the run's Pareto front in
  ``(u, regret)``, both minimised, reference point (1, 1). 1 would be regret 0 at the lowest
  cost; a run whose every result is worse than the reference scores 0.
* **matched-cost regret** at a cost level ``c``: the best regret among the run's evaluations
  that cost at most ``c``, minus the best regret known at that cost (over every method's and
  seed's evaluations on the problem, and any extra reference points); 1 if the run has none
  that cheap. Reported at fixed fractions of the log cost range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: the cost levels of matched-cost regret, as fractions of the problem's log cost range
LEVELS = (0.25, 0.5, 0.75, 1.0)


def unit_cost(costs: Sequence[float], low: float, high: float) -> np.ndarray:
    """Costs on the normalised log scale, clipped to [0, 1]."""
    if not (0 < low < high):
        raise ValueError(f"need 0 < low < high for a log cost range, got {low}, {high}")
    c = np.maximum(np.asarray(costs, dtype=float), low)
    return np.clip((np.log(c) - math.log(low)) / (math.log(high) - math.log(low)), 0.0, 1.0)


def front(u: Sequence[float], regret: Sequence[float]) -> np.ndarray:
    """The non-dominated points (both coordinates minimised), sorted by cost: ``(k, 2)``."""
    points = np.column_stack([np.asarray(u, dtype=float), np.asarray(regret, dtype=float)])
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) == 0:
        return np.zeros((0, 2))
    points = points[np.lexsort((points[:, 1], points[:, 0]))]
    keep, best = [], math.inf
    for point in points:
        if point[1] < best:
            keep.append(point)
            best = point[1]
    return np.array(keep)


def hypervolume(u: Sequence[float], regret: Sequence[float]) -> float:
    """Area of [0, 1]^2 dominated by the front of ``(u, clip(regret, 0, 1))``, reference (1, 1)."""
    points = front(np.clip(np.asarray(u, dtype=float), 0, 1),
                   np.clip(np.asarray(regret, dtype=float), 0, 1))
    area = 0.0
    for i, (x, y) in enumerate(points):
        right = points[i + 1, 0] if i + 1 < len(points) else 1.0
        area += (right - x) * (1.0 - y)
    return float(area)


def best_at(u: Sequence[float], regret: Sequence[float], level: float) -> float:
    """The best regret among points with ``u <= level`` (``inf`` if none)."""
    u_arr, r_arr = np.asarray(u, dtype=float), np.asarray(regret, dtype=float)
    mask = (u_arr <= level + 1e-12) & np.isfinite(r_arr)
    return float(r_arr[mask].min()) if mask.any() else math.inf


def matched_cost_regret(u: Sequence[float], regret: Sequence[float], known: np.ndarray,
                        levels: Sequence[float] = LEVELS) -> list[float]:
    """Per level: the run's best regret at cost <= level minus the best known there (clipped to
    [0, 1]); ``known`` is the ``(k, 2)`` front of every evaluation on the problem."""
    out = []
    for level in levels:
        ours = min(best_at(u, regret, level), 1.0)
        reference = min(best_at(known[:, 0], known[:, 1], level), 1.0) if len(known) else 0.0
        out.append(float(np.clip(ours - min(reference, ours), 0.0, 1.0)))
    return out
