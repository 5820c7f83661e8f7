"""Learning curves as GP rows: failure / divergence handling and the per-curve and total caps.

**Failures are not observations.** A curve with a non-finite loss (NaN / inf metric) is a
failure and contributes no row. Finite losses are compared with the upper Tukey fence
``q75 + 3 (q75 - q25)`` of all finite losses (with at least 8 of them): a curve is
**diverged** from its first point above the fence that is also above the curve's first loss
(the loss went up out of the range of the study); that point and the rest of the curve are
dropped and the curve is flagged. Points above the fence that are not such a rise (a bad
configuration's early losses) are clipped to the fence: the model learns that the region is bad
without an arbitrary magnitude.

**Caps** (deterministic, no random permutation): at most ``per_curve`` points of each curve
(its first, its last and log-spaced positions in between) and at most ``total`` rows. Over the
total cap rows are ranked by tier: (0) every curve's last point, (1) first points, (2) the other
points of curves still open (paused or running), (3) those of finished curves, (4) those of
curves stopped early (abandoned); within a tier later trials first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Curve:
    """One trial's learning curve: encoded config ``u``, budgets and losses (in order).

    ``state``: ``"open"`` (paused / running), ``"done"`` (reached the end) or ``"stopped"``
    (ended early: its interior points go first under the cap).
    """

    trial_id: int
    u: np.ndarray
    budgets: np.ndarray
    losses: np.ndarray
    state: str = "open"


@dataclass(frozen=True)
class CurveRows:
    """GP training rows: ``X = [u, budget / t_max]`` (n, d+1), raw losses ``y`` (n,), the trial
    of every row, and the trials whose curves were dropped (failed) or cut (diverged)."""

    X: np.ndarray
    y: np.ndarray
    trial_ids: np.ndarray
    failed: frozenset[int]
    diverged: frozenset[int]

    def __len__(self) -> int:
        return len(self.y)


def fence(curves: Sequence[Curve]) -> float:
    """The upper Tukey fence of all finite losses (``inf`` with fewer than 8)."""
    finite = [c.losses[np.isfinite(c.losses)] for c in curves]
    pooled = np.concatenate(finite) if finite else np.empty(0)
    if len(pooled) < 8:
        return float("inf")
    q25, q75 = np.quantile(pooled, [0.25, 0.75])
    return float(q75 + 3.0 * (q75 - q25))


def clean(curve: Curve, upper: float) -> tuple[np.ndarray, np.ndarray, str]:
    """``(budgets, losses, why)`` of the usable part; ``why`` is "", "failed" or "diverged"."""
    losses = np.asarray(curve.losses, dtype=np.float64)
    if not np.all(np.isfinite(losses)):
        return np.empty(0), np.empty(0), "failed"
    budgets = np.asarray(curve.budgets, dtype=np.float64)
    rise = (losses > upper) & (losses > losses[0])
    why = ""
    if rise.any():
        cut = int(np.argmax(rise))
        budgets, losses, why = budgets[:cut], losses[:cut], "diverged"
    return budgets, np.minimum(losses, upper), why


def curve_positions(n: int, per_curve: int) -> np.ndarray:
    """Indices kept of an ``n``-point curve: all, or first, last and log-spaced between."""
    if n <= per_curve:
        return np.arange(n)
    pos = np.unique(np.rint(np.geomspace(1, n, per_curve)).astype(np.int64) - 1)
    return np.union1d(pos, [0, n - 1])


_TIER_BY_STATE = {"open": 2, "done": 3, "stopped": 4}


def curve_rows(curves: Sequence[Curve], t_max: float, *, per_curve: int = 16,
               total: int = 2000) -> CurveRows:
    """The capped rows of ``curves`` (see the module docstring), in (trial, budget) order."""
    dim = len(curves[0].u) if curves else 0
    upper = fence(curves)
    failed, diverged = set(), set()
    parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
    for c in curves:
        budgets, losses, why = clean(c, upper)
        if why == "failed":
            failed.add(c.trial_id)
        elif why == "diverged":
            diverged.add(c.trial_id)
        if len(losses) == 0:
            continue
        keep = curve_positions(len(losses), per_curve)
        tiers = np.full(len(keep), _TIER_BY_STATE.get(c.state, 3))
        tiers[keep == 0] = 1
        tiers[keep == len(losses) - 1] = 0
        parts.append((c.trial_id, budgets[keep], losses[keep], tiers))
    if not parts:
        return CurveRows(np.empty((0, dim + 1)), np.empty(0), np.empty(0, dtype=np.int64),
                         frozenset(failed), frozenset(diverged))
    by_id = {c.trial_id: c for c in curves}
    ids = np.concatenate([np.full(len(p[1]), p[0]) for p in parts]).astype(np.int64)
    t = np.concatenate([p[1] for p in parts]) / float(t_max)
    y = np.concatenate([p[2] for p in parts])
    tier = np.concatenate([p[3] for p in parts])
    if len(y) > total:
        order = np.lexsort((np.arange(len(y)), -ids, tier))  # tier, later trials, position
        chosen = np.sort(order[:total])
        ids, t, y = ids[chosen], t[chosen], y[chosen]
    U = np.stack([np.asarray(by_id[int(i)].u, dtype=np.float64) for i in ids]) if dim else \
        np.empty((len(ids), 0))
    X = np.column_stack([U, t])
    return CurveRows(X, y, ids, frozenset(failed), frozenset(diverged))
