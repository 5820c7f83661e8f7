"""The one-call API: ``hpo.tune(objective, space, method=..., ...)``."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpo.core.methods import Method
from hpo.core.scale import Scaling
from hpo.core.study import Study
from hpo.core.trial import Trial
from hpo.core.types import Config, Direction, Fidelity
from hpo.core.types import Objective as ObjectiveSpec
from hpo.errors import HPOWarning, IntegrationError, LimitError
from hpo.execution.callbacks import check_callbacks
from hpo.execution.executors import Executor, Objective
from hpo.execution.loop import Limits, check_run_options, run
from hpo.execution.relaunch import MAX_RELAUNCHES
from hpo.execution.segment import refuse_in_spawned_import
from hpo.space.search_space import SearchSpace


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` returns.

    Attributes:
        best_config: hyperparameters of the best trial (None if nothing finished).
        best_value: its objective metric, in the metric's own sign.
        best_trial: its :class:`~hpo.trial.Trial` snapshot.
        dataframe: every trial and observation (see ``Study.dataframe``).
        study: the study (reopenable from its directory when ``storage`` was given).
    """

    best_config: Config | None
    best_value: float | None
    best_trial: Trial | None
    dataframe: Any
    study: Study


def tune(objective: Objective, space: SearchSpace | Mapping[str, Any], *,
         metric: str = "loss", mode: Direction | str = "min", method: str | Method = "random",
         fidelity: Fidelity | None = None, max_trials: int | None = None,
         max_budget: float | None = None, max_cost: float | None = None,
         max_wall_s: float | None = None, workers: int = 1, seed: int | None = None,
         storage: str | os.PathLike[str] | None = None, executor: Executor | None = None,
         progress: bool | None = None, backend: str = "local",
         resources: Mapping[str, float] | None = None, max_concurrent: int | None = None,
         ray_address: str | None = None, max_failures: int = 0,
         trial_timeout_s: float | None = None,
         max_relaunches: int = MAX_RELAUNCHES,
         callbacks: list[Any] | None = None, scaling: Scaling | None = None) -> TuneResult:
    """Tune ``objective`` over ``space`` and return the best config and all results.

    Args:
        objective: ``objective(trial) -> None | float | dict``; ``trial.config`` holds the
            hyperparameters, ``trial.report(...)`` records intermediate results (see
            :mod:`hpo.execution.handle`).
        space: a :class:`SearchSpace` or a dict of parameters / Ray Tune domains.
        metric: the metric to optimise; ``mode``: ``"min"`` or ``"max"``.
        method: ``"random"``, ``"sh"``, ``"hyperband"``, ``"asha"``, ``"dehb"``, ``"de"`` (see
            ``hpo.available_methods()``) or a method object with options, e.g.
            ``schedulers.ASHA(eta=4)``.
        fidelity: the resumable resource axis, required by multi-fidelity methods.
        max_trials, max_budget, max_cost, max_wall_s: stop criteria (at least one unless the
            method's schedule is finite, e.g. ``Hyperband(iterations=1)``). ``max_wall_s`` also
            stops the trials still running then; the next run resumes them (see
            :class:`~hpo.execution.loop.Limits`).
        trial_timeout_s: wall seconds one segment of a trial may run before the trial is FAILED
            as timed out (its worker process is terminated; with ``workers=1`` the objective is
            interrupted by a signal, which cannot stop a long call into C code:
            :mod:`hpo.execution.deadline`). Local backend only.
        max_relaunches: relaunches of a trial whose process died without progress (e.g. the
            objective calls ``sys.exit``) before the trial is failed (default 2; local backend;
            :mod:`hpo.execution.relaunch`).
        workers: parallel workers (1: in this process; more: local worker processes).
        seed: master seed (recorded; None draws one).
        storage: a directory for the journal and checkpoints. Rerunning with the same
            directory resumes an interrupted run.
        executor: a custom executor instead of the default.
        progress: print a progress line to stderr (None: only on a terminal).
        backend: ``"local"`` (the embedded executors) or ``"ray"`` (Ray Tune; starts or joins
            a local Ray runtime, or the cluster at ``ray_address``). With Ray:
            ``resources`` per trial (``{"cpu": 1, "gpu": 0.5}``), ``max_concurrent`` trials
            (default: what the resources allow), ``max_failures`` retries of a crashed trial.
        scaling: the scale axes, target and proxy ladder of a scaling study
            (:class:`~hpo.core.scale.Scaling`); each trial then runs at a scale the method
            picks (``trial.scale``), e.g. with ``method="transfer"``.
        callbacks: :class:`~hpo.execution.callbacks.Callback` objects (e.g. the trackers of
            :mod:`hpo.integrations.trackers`) told of every trial start, recorded report and
            end; their errors are warnings. Local backend only (with Ray Tune, pass
            ``hpo.integrations.ray_trackers.RayTracker(tracker)`` in Ray's ``RunConfig``).

    Raises:
        ValueError: no stop criterion and an endless method, or invalid limits.
        HPOError: in a script without ``if __name__ == "__main__":``, when worker processes
            re-import it and so start the tuning call again.
    """
    refuse_in_spawned_import()
    check_run_options(trial_timeout_s, max_relaunches)
    limits = Limits(max_trials=max_trials, max_budget=max_budget, max_cost=max_cost,
                    max_wall_s=max_wall_s)
    finite = getattr(method, "iterations", None) is not None
    if not limits.any and not finite:
        raise ValueError("give at least one stop criterion: max_trials, max_budget, max_cost "
                         "or max_wall_s")
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    if backend == "ray" and callbacks:
        raise IntegrationError(f"callbacks={callbacks!r} are only supported by the local "
                               "backend; with Ray Tune pass hpo.integrations.ray_trackers."
                               "RayTracker(tracker) in RunConfig(callbacks=[...])")
    check_callbacks(callbacks)
    if backend == "ray" and trial_timeout_s is not None:
        raise LimitError(f"trial_timeout_s={trial_timeout_s!r} is only supported by the local "
                         "backend")
    study = Study(space, ObjectiveSpec(metric, Direction.parse(mode)), method=method,
                  fidelity=fidelity,
                  seed=seed, storage=storage, scaling=scaling)
    if backend == "ray":
        from hpo.integrations.ray_backend import run_ray

        run_ray(study, objective, limits=limits, resources=resources,
                max_concurrent=max_concurrent, address=ray_address, max_failures=max_failures)
    else:
        run(study, objective, executor=executor, workers=workers, limits=limits,
            progress=progress, trial_timeout_s=trial_timeout_s, max_relaunches=max_relaunches,
            callbacks=callbacks)
    best = study.best()
    value = None
    if best is not None and math.isfinite(best.loss):
        value = study.objective.value(best.loss)
    elif len(study):
        warnings.warn(f"no trial produced a finite {metric} ({len(study)} trials: "
                      f"{ {s: n for s, n in study.counts().items() if n} }); best_value is None",
                      HPOWarning, stacklevel=2)
    return TuneResult(best_config=dict(best.config) if best else None, best_value=value,
                      best_trial=best, dataframe=study.dataframe(), study=study)
