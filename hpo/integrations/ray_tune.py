"""Our methods inside Ray Tune: a ``Searcher`` and a ``TrialScheduler`` sharing one Study.

    from hpo.integrations.ray_tune import ray_components
    searcher, scheduler = ray_components(study)
    tune.Tuner(trainable, tune_config=tune.TuneConfig(search_alg=searcher,
               scheduler=scheduler, num_samples=-1)).fit()

* The study decides everything; the adapters translate. ``Searcher.suggest`` asks the study
  for the next action: a new config becomes a Ray trial, a resume of a paused trial is queued
  for ``choose_trial_to_run``, which hands Ray the PAUSED trial (Ray restores it from its
  last checkpoint and frees nothing while it waits: a paused trial holds no CPU or GPU).
* ``on_trial_result`` turns a result into ``study.report`` (budget = ``result[time_attr]``)
  and returns the verdict as CONTINUE / PAUSE / STOP.
* Concurrency is ours (``max_concurrent``): Ray's ConcurrencyLimiter would count paused
  trials as running and deadlock promotion-based methods.
* State lives in the study's journal. Both adapters pickle only the study directory (and the
  Ray-id map), so after ``Tuner.restore`` (or our restore) they re-link to one Study rebuilt by
  replaying the journal: rungs, brackets, pending promotions and the searcher's state come back.
  Trials the journal knows but Ray's last experiment checkpoint does not are re-created.
* Ray's ``metric`` / ``mode`` must agree with the study's objective (IntegrationError).
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ray.tune.experiment import Trial as RayTrial
from ray.tune.schedulers import TrialScheduler
from ray.tune.search import Searcher

from hpo.core.study import Study
from hpo.core.trial import TrialStatus
from hpo.errors import HPOError, IntegrationError, StorageError
from hpo.execution.loop import MAX_FAILURES_IN_A_ROW, Limits
from hpo.integrations._ray_convert import (
    check_metric_mode,
    ray_mode,
    result_to_report,
    verdict_to_ray,
)
from hpo.space.ray import flatten, unflatten
from hpo.space.search_space import SearchSpace

logger = logging.getLogger(__name__)

#: config key carrying our trial id into trainables built by ``hpo.tune(backend="ray")``
TRIAL_KEY = "__hpo_trial_id__"

#: process-wide registry so that unpickled adapters find their shared bridge again
_BRIDGES: dict[str, _Bridge] = {}


class _Bridge:
    """State shared by the two adapters: the study, id maps, queued resumes."""

    def __init__(self, study: Study, *, max_concurrent: int | None, limits: Limits,
                 time_attr: str, cost_attr: str | None) -> None:
        self.study = study
        self.max_concurrent = max_concurrent
        self.limits = limits
        self.time_attr, self.cost_attr = time_attr, cost_attr
        self.ray_to_hpo: dict[str, int] = {}
        self.hpo_to_ray: dict[int, str] = {}
        self.ray_trials: dict[str, Any] = {}
        self.resumes: deque[int] = deque()
        self.finished = False
        self.started: float | None = None
        self.embed_trial_id = False  # add TRIAL_KEY to configs (our own trainable strips it)
        self.failures_in_a_row = 0
        self.fatal: str | None = None  # why the run was stopped (all trials failing)
        #: called with (trial id, budget, Ray result) after each result the journal recorded
        self.on_recorded: Callable[[int, Any, dict], None] | None = None

    def key(self) -> dict[str, Any]:
        if self.study.directory is None:
            return {"study": None}
        return {"study": str(self.study.directory.resolve())}

    def link(self, ray_id: str, trial_id: int) -> None:
        self.ray_to_hpo[ray_id] = trial_id
        self.hpo_to_ray[trial_id] = ray_id

    def relink(self, trial: Any) -> int | None:
        """Our id of a Ray trial (recovered from its config after a restore if needed)."""
        tid = self.ray_to_hpo.get(trial.trial_id)
        if tid is None and isinstance(getattr(trial, "config", None), dict) \
                and TRIAL_KEY in trial.config:
            tid = int(trial.config[TRIAL_KEY])
            self.link(trial.trial_id, tid)
        return tid

    def config(self, trial_id: int) -> dict[str, Any]:
        config = unflatten(self.study.trials[trial_id].config)
        if self.embed_trial_id:
            config[TRIAL_KEY] = trial_id
        return config

    def active(self) -> list[int]:
        return self.study.active_ids()

    def limits_reached(self) -> bool:
        import time

        if self.started is None:
            self.started = time.monotonic()
        return self.limits.reached(self.study, time.monotonic() - self.started)


def _bridge_for(state: dict[str, Any]) -> _Bridge:
    directory = state.get("study")
    if directory is None:
        raise StorageError("cannot restore a Ray adapter of an in-memory study: give the "
                           "study a storage directory")
    bridge = _BRIDGES.get(directory)
    if bridge is None:
        bridge = _Bridge(Study.open(directory), max_concurrent=state.get("max_concurrent"),
                         limits=Limits(**state.get("limits", {})),
                         time_attr=state.get("time_attr", "training_iteration"),
                         cost_attr=state.get("cost_attr"))
        bridge.embed_trial_id = bool(state.get("embed_trial_id"))
        _BRIDGES[directory] = bridge
    return bridge


def _state(bridge: _Bridge) -> dict[str, Any]:
    limits = {k: getattr(bridge.limits, k) for k in ("max_trials", "max_budget", "max_cost",
                                                      "max_wall_s")}
    return {**bridge.key(), "max_concurrent": bridge.max_concurrent, "limits": limits,
            "time_attr": bridge.time_attr, "cost_attr": bridge.cost_attr,
            "embed_trial_id": bridge.embed_trial_id}


class RaySearcher(Searcher):
    """Ray ``Searcher`` side of :func:`ray_components` (new configs, final failures)."""

    def __init__(self, bridge: _Bridge) -> None:
        super().__init__(metric=bridge.study.objective.metric,
                         mode=ray_mode(bridge.study.objective))
        self._bridge = bridge

    def set_search_properties(self, metric: str | None, mode: str | None,
                              config: dict[str, Any], **spec: Any) -> bool:
        study = self._bridge.study
        check_metric_mode(study.objective, metric, mode, "RaySearcher")
        if config:
            given = SearchSpace.from_ray(config)
            if given != study.space:
                raise IntegrationError(
                    "RaySearcher: Ray Tune's param_space differs from the study's space; pass "
                    "the space to the Study only (or the same space to both)")
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:  # type: ignore[override]
        bridge = self._bridge
        study = bridge.study
        active = bridge.active()  # refreshes the study
        orphan = next((t for t in active if t not in bridge.hpo_to_ray), None)
        if orphan is not None:  # in the journal, unknown to Ray (e.g. after a crash)
            bridge.link(trial_id, orphan)
            return bridge.config(orphan)
        if bridge.failures_in_a_row >= MAX_FAILURES_IN_A_ROW and bridge.fatal is None:
            bridge.fatal = (f"the last {bridge.failures_in_a_row} trials all failed in Ray; "
                            "stopping (see the Ray trial errors above)")
        if bridge.fatal or bridge.limits_reached() or study.is_finished():
            if not active and not bridge.resumes:
                bridge.finished = True
                return Searcher.FINISHED
            return None
        if bridge.resumes or (bridge.max_concurrent is not None
                              and len(active) >= bridge.max_concurrent):
            return None
        ticket = study.ask()
        if ticket is None:
            return None
        if ticket.resume_from > 0:  # a promotion / thaw: the scheduler hands Ray that trial
            bridge.resumes.append(ticket.trial_id)
            return None
        bridge.link(trial_id, ticket.trial_id)
        return bridge.config(ticket.trial_id)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        tid = self._bridge.ray_to_hpo.get(trial_id)
        if not error or tid is None:
            return
        trial = self._bridge.study.trials[tid]
        self._bridge.failures_in_a_row += 1
        if not trial.status.is_terminal:
            self._bridge.study.fail(tid, "the Ray trial failed (retries per the failure "
                                         "config exhausted)")

    def get_state(self) -> dict[str, Any]:
        return {"map": dict(self._bridge.ray_to_hpo)}

    def set_state(self, state: dict[str, Any]) -> None:
        for ray_id, tid in state.get("map", {}).items():
            self._bridge.link(ray_id, int(tid))

    def save(self, checkpoint_path: str) -> None:
        Path(checkpoint_path).write_text(json.dumps(self.get_state()))

    def restore(self, checkpoint_path: str) -> None:
        self.set_state(json.loads(Path(checkpoint_path).read_text()))

    def __getstate__(self) -> dict[str, Any]:
        return {"bridge": _state(self._bridge), "map": dict(self._bridge.ray_to_hpo),
                "metric": self._metric, "mode": self._mode}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._bridge = _bridge_for(state["bridge"])
        self._metric, self._mode = state["metric"], state["mode"]
        self.set_state(state)


class RayScheduler(TrialScheduler):
    """Ray ``TrialScheduler`` side of :func:`ray_components` (verdicts, resumes)."""

    _supports_buffered_results = False  # one result at a time: every report gets a verdict

    def __init__(self, bridge: _Bridge) -> None:
        super().__init__()
        self._bridge = bridge
        self._metric = bridge.study.objective.metric
        self._ended: list[Any] = []

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        check_metric_mode(self._bridge.study.objective, metric, mode, "RayScheduler")
        return True

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        """Ray re-adds every unfinished trial as PENDING after a restore and starts all
        PENDING trials; those the journal has paused or ended since its last experiment
        checkpoint are held PAUSED instead (resumed by the study, or released)."""
        self._bridge.ray_trials[trial.trial_id] = trial
        tid = self._bridge.relink(trial)
        if tid is None or tid not in self._bridge.study.trials or \
                trial.status != RayTrial.PENDING:
            return
        status = self._bridge.study.trials[tid].status
        if status is TrialStatus.PAUSED or status.is_terminal:
            trial.set_status(RayTrial.PAUSED)
        if status.is_terminal:
            self._ended.append(trial)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        bridge = self._bridge
        bridge.ray_trials[trial.trial_id] = trial
        tid = bridge.relink(trial)
        if tid is None:
            return TrialScheduler.CONTINUE
        study = bridge.study
        current = study.trials[tid]
        if not current.status.is_active:  # a result after our verdict, or a finished trial
            return TrialScheduler.PAUSE if current.status is TrialStatus.PAUSED \
                else TrialScheduler.STOP
        metrics, budget, cost = result_to_report(result, time_attr=bridge.time_attr,
                                                 cost_attr=bridge.cost_attr)
        bridge.failures_in_a_row = 0
        try:
            verdict = study.report(tid, metrics, budget=budget, cost=cost)
        except HPOError as err:  # malformed result: fail this trial, keep tuning
            study.fail(tid, f"invalid result {result!r:.200}: {err}")
            return TrialScheduler.STOP
        if bridge.on_recorded is not None:
            bridge.on_recorded(tid, budget, result)
        return verdict_to_ray(verdict)

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
        tid = self._bridge.relink(trial)
        if tid is not None and self._bridge.study.trials[tid].status.is_active:
            self._bridge.study.finish(tid)

    def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
        """Ray may retry (FailureConfig); a final failure reaches the searcher."""

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        """A PENDING / PAUSED trial removed by Ray: the study keeps its record."""

    def choose_trial_to_run(self, tune_controller: Any) -> Any:
        bridge = self._bridge
        while self._ended:  # held after a restore, ended in the journal: release them
            trial = self._ended.pop()
            if trial.status == RayTrial.PAUSED:
                tune_controller.stop_trial(trial)
        while bridge.resumes:  # idempotent: offered until Ray has started it
            trial = self._ray_trial(bridge.resumes[0])
            if trial is not None and trial.status in (RayTrial.PAUSED, RayTrial.PENDING):
                return trial
            bridge.resumes.popleft()
        for tid in bridge.active():  # restored trials Ray holds as PAUSED
            trial = self._ray_trial(tid)
            if trial is not None and trial.status == RayTrial.PAUSED:
                return trial
        for trial in tune_controller.get_trials():
            if trial.status == RayTrial.PENDING:
                return trial
        if bridge.finished and not bridge.active():
            for trial in tune_controller.get_trials():  # end of the run: release the rest
                if trial.status == RayTrial.PAUSED:
                    tune_controller.stop_trial(trial)
        return None

    def _ray_trial(self, tid: int) -> Any:
        ray_id = self._bridge.hpo_to_ray.get(tid)
        return self._bridge.ray_trials.get(ray_id) if ray_id is not None else None

    def debug_string(self) -> str:
        counts = {s: n for s, n in self._bridge.study.counts().items() if n}
        return f"scaletune {self._bridge.study.method.name if self._bridge.study.method else ''}" \
               f" study: {counts}"

    def __getstate__(self) -> dict[str, Any]:
        return {"bridge": _state(self._bridge), "metric": self._metric}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._bridge = _bridge_for(state["bridge"])
        self._metric = state["metric"]
        self._ended = []


def ray_components(study: Study, *, max_concurrent: int | None = None,
                   limits: Limits = Limits(), time_attr: str = "training_iteration",
                   cost_attr: str | None = "time_this_iter_s",
                   ) -> tuple[RaySearcher, RayScheduler]:
    """A Ray ``Searcher`` and ``TrialScheduler`` driven by ``study``.

    Args:
        study: the study (give it a storage directory to make restores possible).
        max_concurrent: trials running at once (None: as many as Ray's resources allow).
        limits: when to stop handing out new trials (the run then ends).
        time_attr: the result key holding the budget (Ray's ``training_iteration`` counts
            reports; resumed trials continue it from their checkpoint).
        cost_attr: the result key holding the cost of the step (None: wall seconds).
    """
    bridge = _Bridge(study, max_concurrent=max_concurrent, limits=limits, time_attr=time_attr,
                     cost_attr=cost_attr)
    if study.directory is not None:
        _BRIDGES[str(study.directory.resolve())] = bridge
    return RaySearcher(bridge), RayScheduler(bridge)


def flat_config(config: dict[str, Any]) -> dict[str, Any]:
    """A Ray config as the study's flat config (nested dicts joined with ``/``)."""
    return flatten(config)
