"""Calibrating the learning-curve GP's extrapolations on the study's own curves.

The FT-GP's shape (an exponential-decay transient towards a smooth asymptote) fits synthetic
curves well (its z-scores of final losses are about N(0, 1), tests/searchers), but real curves
are not always of that family: on LCBench's 167168 a freeze-thaw run's predicted final losses
from a single epoch had z-scores of mean 3.8 and sd 5.6 (issue 11), so the model was about
five times too sure of them. A decision that trusts those intervals retires good trials and
thaws mediocre ones.

:func:`extrapolation_inflation` measures that over-confidence with the data at hand, as a
leave-the-future-out check in ``folds`` folds. The modelled trials whose curve spans a factor
``min_ratio`` (4) of budget or more are dealt to the folds (at most ``max_per_fold`` each). For
the trials of one fold every point but the first is removed, the model is conditioned on what
is left (the other folds' curves keep all their points, so the transient is still learned from
them) and each trial's last point is predicted (observation noise included). Holding out every
curve at once would leave no long curve to learn the transient from and bias every
prediction; holding out short curves too would measure one-step forecasts, which the model gets
right, where the decisions hinge on long ones. The factor is the mean of the squared
standardised errors, each clipped at ``clip`` (one wild curve does not decide it), bounded to
``[1, clip]``: the model's variances are only ever widened, never narrowed below what its
hyper-parameters say. With fewer than ``min_held`` held-out trials the factor is 1.

The factor is a pure function of the rows and the hyper-parameters (no randomness). It costs
``folds`` extra conditionings (Cholesky factors of at most the rows given), so the freeze-thaw
scheduler measures it at each refit only, on the rows that fit used (at most ``fit_points``),
and journals it with the fitted hyper-parameters (a replay restores it without model work).
"""

from __future__ import annotations

import numpy as np

from searchers.models.curve_data import CurveRows
from searchers.models.learning_curve import LearningCurveModel

FOLDS = 4
MAX_PER_FOLD = 16
MIN_HELD = 8
MIN_RATIO = 4.0
CLIP = 100.0


def held_out_split(rows: CurveRows, fold: int, folds: int = FOLDS,
                   max_per_fold: int = MAX_PER_FOLD,
                   min_ratio: float = MIN_RATIO) -> tuple[np.ndarray, np.ndarray]:
    """``(keep, targets)`` of one fold: a boolean mask of the rows to condition on and the
    indices of the held-out rows (the last row of each trial of the fold, whose rows other
    than its first are not kept). The trials whose last budget is at least ``min_ratio`` times
    their first are dealt to the folds in id order; a fold holds at most ``max_per_fold`` of
    them, spread over its ids."""
    keep = np.ones(len(rows), dtype=bool)
    ids = rows.trial_ids
    t = rows.X[:, -1] if len(rows) else np.empty(0)
    unique, inverse = np.unique(ids, return_inverse=True)
    lo = np.full(len(unique), np.inf)
    hi = np.full(len(unique), -np.inf)
    np.minimum.at(lo, inverse, t)
    np.maximum.at(hi, inverse, t)
    long = [int(i) for i in unique[hi >= min_ratio * lo * (1 - 1e-9)]]
    held = long[fold::folds]
    if len(held) > max_per_fold:
        picks = np.unique(np.linspace(0, len(held) - 1, max_per_fold).round().astype(np.int64))
        held = [held[int(j)] for j in picks]
    targets = []
    for i in held:
        own = np.flatnonzero(ids == i)
        order = own[np.argsort(t[own], kind="stable")]
        keep[order[1:]] = False
        targets.append(int(order[-1]))
    return keep, np.array(targets, dtype=np.int64)


def standardised_errors(model: LearningCurveModel, rows: CurveRows, *, folds: int = FOLDS,
                        max_per_fold: int = MAX_PER_FOLD, threads: int = 1) -> np.ndarray:
    """z-scores of held-out trials' last losses predicted from their first (see module)."""
    out = []
    for fold in range(folds):
        keep, targets = held_out_split(rows, fold, folds, max_per_fold)
        if len(targets) == 0 or not keep.any():
            continue
        post = model.posterior(rows.X[keep], rows.y[keep], threads=threads)
        mean, var = post.predict(rows.X[targets], noise=True)
        out.append((rows.y[targets] - mean) / np.sqrt(np.maximum(var, 1e-300)))
    return np.concatenate(out) if out else np.empty(0)


def extrapolation_inflation(model: LearningCurveModel, rows: CurveRows, *, folds: int = FOLDS,
                            max_per_fold: int = MAX_PER_FOLD, min_held: int = MIN_HELD,
                            clip: float = CLIP, threads: int = 1) -> float:
    """The factor (>= 1) by which to widen the model's predictive variances (see module)."""
    z = standardised_errors(model, rows, folds=folds, max_per_fold=max_per_fold,
                            threads=threads)
    if len(z) < min_held or not np.all(np.isfinite(z)):
        return 1.0
    return float(np.clip(np.mean(np.minimum(z * z, clip)), 1.0, clip))
