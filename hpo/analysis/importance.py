"""Hyperparameter importance: a random forest fitted to the results, permutation importance.

scikit-learn does the work (``RandomForestRegressor`` and ``sklearn.inspection.
permutation_importance``; optional extra ``importance``): the forest learns the objective from
the unit-cube coordinates of each configuration, then each parameter's importance is the drop in
the forest's R^2 when that parameter's column is shuffled, normalised to sum to one.

Multi-fidelity results are only comparable at one budget, so the fit uses the trials observed
at the highest budget that at least ``min_trials`` trials reached (each trial's loss at exactly
that budget). Seeded: the same journal and seed give the same importances.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from hpo.analysis.record import AnalysisError, StudyRecord, require

MIN_TRIALS = 5


@dataclass
class Importance:
    """Per parameter (most important first): mean and std of the normalised importance."""

    names: list[str]
    mean: list[float]
    std: list[float]
    budget: float
    n_trials: int

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.names, self.mean))


def comparable_budget(record: StudyRecord, min_trials: int = MIN_TRIALS) -> float:
    """The highest budget at which at least ``min_trials`` trials have a finite result."""
    counts: Counter[float] = Counter()
    for trial in record.require_results("parameter importance"):
        counts.update({o.budget for o in trial.observations if math.isfinite(o.loss)})
    enough = [b for b, n in counts.items() if n >= min_trials]
    if not enough:
        most = max(counts.values(), default=0)
        raise AnalysisError(f"parameter importance needs at least {min_trials} trials with a "
                            f"finite result at one budget; the study at {record.where} has at "
                            f"most {most}")
    return max(enough)


def importance(record: StudyRecord, *, min_trials: int = MIN_TRIALS, seed: int = 0,
               n_estimators: int = 100, n_repeats: int = 10) -> Importance:
    """Random-forest permutation importance of every tunable parameter.

    Raises:
        AnalysisError: fewer than ``min_trials`` comparable results, no tunable parameter, or
            scikit-learn is not installed.
    """
    ensemble = require("sklearn.ensemble", "importance")
    inspection = require("sklearn.inspection", "importance")
    if min_trials < 2:
        raise AnalysisError(f"min_trials must be at least 2, got {min_trials!r}")
    assert record.space is not None
    names = [p.name for p in record.space.coded_params]
    if not names:
        raise AnalysisError(f"parameter importance: the study at {record.where} has no "
                            "tunable parameter")
    budget = comparable_budget(record, min_trials)
    configs, losses = [], []
    for trial in record.snapshot():
        loss = trial.loss_at(budget)
        if loss is not None and math.isfinite(loss):
            configs.append(trial.config)
            losses.append(loss)
    x = record.space.encode_many(configs)
    y = np.asarray(losses, dtype=float)
    if float(np.ptp(y)) == 0.0:  # nothing to explain: every parameter is equally (un)important
        flat = [1.0 / len(names)] * len(names)
        return Importance(names, flat, [0.0] * len(names), budget, len(y))
    forest = ensemble.RandomForestRegressor(n_estimators=n_estimators, random_state=seed,
                                            min_samples_leaf=1, n_jobs=1)
    forest.fit(x, y)
    result = inspection.permutation_importance(forest, x, y, n_repeats=n_repeats,
                                               random_state=seed, n_jobs=1)
    raw = np.clip(np.asarray(result.importances), 0.0, None)  # (parameters, repeats)
    total = raw.sum(axis=0)
    share = np.divide(raw, total, out=np.full_like(raw, 1.0 / len(names)), where=total > 0)
    mean, std = share.mean(axis=1), share.std(axis=1)
    order = sorted(range(len(names)), key=lambda i: (-mean[i], names[i]))
    return Importance([names[i] for i in order], [float(mean[i]) for i in order],
                      [float(std[i]) for i in order], budget, len(y))
