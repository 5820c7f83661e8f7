"""Reading results: the best trial, the incumbent trajectory, a pandas DataFrame."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from hpo.core.trial import Trial, TrialStatus
from hpo.core.types import Objective


def best_trial(trials: Iterable[Trial]) -> Trial | None:
    """The trial with the lowest loss at the highest budget any trial reached.

    Comparing at the highest budget avoids crowning a configuration that only looked good at a
    low fidelity. Ties go to the lower trial id. None when nothing was observed yet.
    """
    with_obs = [t for t in trials if t.observations]
    if not with_obs:
        return None
    top = max(t.budget for t in with_obs)
    at_top = [t for t in with_obs if t.budget == top]
    return min(at_top, key=lambda t: (t.loss, t.id))


def incumbent_trajectory(trials: Iterable[Trial], *, at_budget: float | None = None,
                         ) -> list[tuple[float, float, float]]:
    """``(time, cumulative budget, best loss)`` after every observation, in time order.

    Args:
        at_budget: only observations at (or above) this budget can become the incumbent
            (e.g. the fidelity maximum, for "best full-fidelity result so far"). Every
            observation still counts towards the cumulative budget.
    """
    rows = []
    for trial in trials:
        previous = 0.0
        for obs in trial.observations:
            rows.append((obs.time, obs.budget - previous, obs.loss, obs.budget))
            previous = obs.budget
    rows.sort(key=lambda r: r[0])
    best, spent, out = math.inf, 0.0, []
    for ts, used, loss, budget in rows:
        spent += used
        if at_budget is None or budget >= at_budget:
            best = min(best, loss)
        out.append((ts, spent, best))
    return out


def status_counts(trials: Iterable[Trial]) -> dict[str, int]:
    """Trials per status, keyed by the status string, every status present (zeros included)."""
    counts = {status.value: 0 for status in TrialStatus}
    for trial in trials:
        counts[trial.status.value] += 1
    return counts


def dataframe(trials: Iterable[Trial], objective: Objective) -> Any:
    """One row per observation (one row with NaN metrics for a trial without any).

    Columns: ``trial_id``, ``status``, ``reason``, ``parent_id``, ``budget``, ``step``, ``loss``
    (what the method minimises: the metric, negated when maximising; ``inf`` for a NaN / inf
    result), ``value`` (the objective metric as reported), ``cost``, ``time``, every *other*
    reported metric as ``metric/<name>`` and every hyperparameter as ``config/<name>``.
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for trial in trials:
        base = {"trial_id": trial.id, "status": trial.status.value, "reason": trial.reason,
                "parent_id": trial.parent_id}
        config = {f"config/{k}": v for k, v in trial.config.items()}
        if not trial.observations:
            rows.append({**base, "budget": math.nan, "step": math.nan, "loss": math.nan,
                         "value": math.nan, "cost": 0.0, "time": trial.created, **config})
        for obs in trial.observations:
            metrics = {f"metric/{k}": v for k, v in obs.metrics.items() if k != objective.metric}
            value = obs.metrics.get(objective.metric, objective.value(obs.loss))
            rows.append({**base, "budget": obs.budget, "step": obs.step, "loss": obs.loss,
                         "value": value, "cost": obs.cost, "time": obs.time, **metrics,
                         **config})
    columns = ["trial_id", "status", "reason", "parent_id", "budget", "step", "loss", "value",
               "cost", "time"]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    return frame
