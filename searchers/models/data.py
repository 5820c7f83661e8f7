"""Training data for the GP searchers: failure penalty, outlier clipping and the row cap.

**Failed, NaN and diverged trials** never enter the model as raw values. Losses go through
:func:`penalised_targets`:

1. finite losses above the upper Tukey fence ``q75 + 3 * (q75 - q25)`` of the finite losses are
   clipped to the fence (a diverged run reporting ``1e30`` does not flatten the model);
2. non-finite losses (``inf``: a NaN / infinite metric, or a trial that FAILED before reporting
   its budget) get the **worst** clipped finite loss: the model learns that the region is bad
   without an arbitrary magnitude.

If no loss is finite there is nothing to model (:func:`penalised_targets` returns None).

**Down-sampling rule** (:func:`capped_rows`, deterministic, no random permutation): with more
than ``cap`` rows, keep the ``cap // 5`` rows of lowest loss (ties to the earlier row) and fill
the rest with the most recent rows; the kept rows stay in their original order. The best rows
pin the incumbent region, the recent ones follow where the search is now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TrainingSet:
    """GP inputs ``X`` (n, d) float64, targets ``y`` (n,) to *maximise* (minus the penalised
    loss), and the trial id of every row."""

    X: np.ndarray
    y: np.ndarray
    trial_ids: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.y)


def penalised_targets(losses: Sequence[float]) -> np.ndarray | None:
    """Clipped losses with non-finite entries replaced by the worst finite one (see module)."""
    loss = np.asarray(losses, dtype=np.float64)
    finite = np.isfinite(loss)
    if not finite.any():
        return None
    q25, q75 = np.quantile(loss[finite], [0.25, 0.75])
    fence = q75 + 3.0 * (q75 - q25)
    out = np.where(finite, np.minimum(loss, fence), np.nan)
    worst = float(np.nanmax(out))
    return np.where(finite, out, worst)


def capped_rows(losses: np.ndarray, cap: int) -> np.ndarray:
    """Indices of the rows kept under ``cap`` (see module), in increasing order."""
    n = len(losses)
    if n <= cap:
        return np.arange(n)
    n_best = cap // 5
    order = np.lexsort((np.arange(n), losses))  # by loss, then by position
    keep = set(order[:n_best].tolist())
    for i in range(n - 1, -1, -1):
        if len(keep) >= cap:
            break
        keep.add(i)
    return np.array(sorted(keep), dtype=np.int64)


def training_set(X: np.ndarray, losses: Sequence[float], trial_ids: Sequence[int],
                 cap: int) -> TrainingSet | None:
    """Penalise, cap and negate: the set a GP is fitted on, or None without a finite loss."""
    y = penalised_targets(losses)
    if y is None:
        return None
    keep = capped_rows(y, cap)
    ids = tuple(int(trial_ids[i]) for i in keep)
    return TrainingSet(np.asarray(X, dtype=np.float64)[keep], -y[keep], ids)
