"""What a user looks at to trust freeze-thaw: predicted final losses with intervals and the
predicted continuation of every curve (read-only: nothing here changes a study's decisions).

Example:
    >>> import hpo
    >>> space = hpo.SearchSpace([hpo.Float("x", 0.0, 1.0)])
    >>> study = hpo.Study(space, "loss", method="freeze-thaw", seed=0,
    ...                   fidelity=hpo.Fidelity("epoch", 1, 9))
    >>> for _ in range(4):
    ...     t = study.ask()
    ...     _ = study.report(t.trial_id, {"loss": 1.0 + t.config["x"]}, budget=1)
    >>> list(predict_final(study).columns)[:4]
    ['trial', 'status', 'budget', 'loss']
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri

from hpo import HPOError, Study, TrialStatus
from hpo.core.protocols import StudyView
from schedulers.freeze_thaw import FreezeThaw, FreezeThawScheduler
from schedulers.freeze_thaw_rules import beat_probability
from schedulers.freeze_thaw_state import CurveState

COLUMNS = ["trial", "status", "budget", "loss", "predicted_final", "lower", "upper", "p_beat"]


def _check_level(level: float) -> float:
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise HPOError(f"interval level must be in (0, 1), got {level!r}")
    return float(ndtri(0.5 + level / 2))


def model_state(study: Study) -> tuple[FreezeThawScheduler, CurveState | None]:
    """The study's freeze-thaw scheduler (or, for a study run by another method, a private one
    fitted on its curves) and its model state, computed without any refit of the study's
    scheduler."""
    if study.fidelity is None:
        raise HPOError("curve predictions need a study with a fidelity")
    scheduler = study.scheduler
    view = study.view()
    if isinstance(scheduler, FreezeThawScheduler):
        return scheduler, scheduler.state(view, refit=False)
    private = FreezeThawScheduler(study.space, study.fidelity, FreezeThaw(), seed=study.seed)
    return private, private.state(view)


def predict_final(study: Study, *, level: float = 0.8) -> Any:
    """One row per trial with a result: its predicted loss at the maximum budget, the central
    ``level`` interval of a new observation there, and ``p_beat`` = P(final < incumbent).

    Trials that reached the maximum budget report their observed loss with a zero-width
    interval; trials the model does not use (failed, diverged) get NaN predictions.
    """
    import pandas as pd

    z = _check_level(level)
    _, state = model_state(study)
    top = float(study.fidelity.max) if study.fidelity else 0.0
    rows = []
    for t in study.trials.values():
        if not t.observations:
            continue
        mean, lo, hi, p = np.nan, np.nan, np.nan, np.nan
        if t.budget >= top * (1 - 1e-9) and t.status is not TrialStatus.FAILED:
            mean = lo = hi = t.loss
        elif state is not None and t.id in state.final:
            m, v = state.final[t.id]
            sd = float(np.sqrt(v))
            mean, lo, hi = m, m - z * sd, m + z * sd
            p = float(beat_probability(np.array([m]), np.array([v]), state.y_target)[0])
        rows.append([t.id, t.status.value, t.budget, t.loss, mean, lo, hi, p])
    return pd.DataFrame(rows, columns=COLUMNS)


def continuations(study: Study, *, level: float = 0.8,
                  trial_ids: list[int] | None = None) -> dict[int, dict[str, np.ndarray]]:
    """Per unfinished trial: the grid budgets above its budget and the predicted mean, lower and
    upper bound of its loss there (``{"budget", "mean", "lower", "upper"}``)."""
    z = _check_level(level)
    scheduler, state = model_state(study)
    if state is None:
        return {}
    view: StudyView = study.view()
    top = float(scheduler.fidelity.max)
    out = {}
    for t in view:
        if trial_ids is not None and t.id not in trial_ids:
            continue
        if not t.observations or t.budget >= top * (1 - 1e-9) or t.id not in state.final:
            continue
        budgets = np.array([b for b in scheduler.grid if b > t.budget] or [top], dtype=float)
        budgets = np.concatenate([[t.budget], budgets])
        Q = np.column_stack([np.repeat(state.u[t.id][None, :], len(budgets), 0), budgets / top])
        mean, var = state.base.predict(Q, noise=True)
        sd = np.sqrt(var)
        out[t.id] = {"budget": budgets, "mean": mean, "lower": mean - z * sd,
                     "upper": mean + z * sd}
    return out
