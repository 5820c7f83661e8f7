"""From a scheduler's action to a journal event: validation of configs and target budgets.

The :class:`~hpo.core.study.Study` asks its scheduler for an action, turns it into an event
here (checking that it is a legal action on the current trials), appends the event and folds it.
Nothing here writes or decides; the functions raise :class:`~hpo.errors.SchedulerError` for a
scheduler that returned something impossible.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from hpo.core.decisions import Decision, Resume, Retire, Start, Verdict
from hpo.core.protocols import RecordedDecision, RecordedStart, Scheduler, StudyView
from hpo.core.scale import Scaling
from hpo.core.trial import Observation, Trial, TrialStatus
from hpo.core.types import Fidelity
from hpo.errors import SchedulerError, SpaceError
from hpo.journal.ownership import OWNER
from hpo.space.search_space import SearchSpace


def check_target(fidelity: Fidelity | None, budget: Any, trial: Trial | None) -> Any:
    """The target budget of a start / resume, validated against the fidelity range."""
    if fidelity is None:
        return None if budget is None else float(budget)
    if budget is None:
        return fidelity.max
    if not fidelity.min * (1 - 1e-9) <= budget <= fidelity.max * (1 + 1e-9):
        raise SchedulerError(f"scheduler target budget {budget!r} is outside "
                             f"[{fidelity.min}, {fidelity.max}]")
    if trial is not None and budget <= trial.budget:
        raise SchedulerError(f"scheduler resumed trial {trial.id} to budget {budget!r}, "
                             f"not above its current budget {trial.budget!r}")
    return budget


def normalized_start(action: Start, space: SearchSpace, fidelity: Fidelity | None,
                     queue: deque[dict[str, Any]], scaling: Scaling | None = None) -> Start:
    """Validate a Start; an enqueued user config, if any, replaces the proposed one (popped).

    In a scaling study the trial's scale must be a point of the proxy ladder (or the target);
    a Start without one runs at the scaling's default scale.
    """
    if queue:
        config = queue.popleft()
    else:
        try:
            config = space.validate(action.config)
        except ValueError as err:
            raise SchedulerError(f"scheduler proposed an invalid config: {err}") from None
    scale = action.scale
    if scaling is not None:
        try:
            scale = scaling.check(scale) if scale else dict(scaling.default or {})
        except SpaceError as err:
            raise SchedulerError(f"scheduler proposed an invalid scale: {err}") from None
    return Start(config, check_target(fidelity, action.budget, None), action.parent_id, scale)


def action_event(action: Any, trials: Mapping[int, Trial], next_id: int, space: SearchSpace,
                 fidelity: Fidelity | None, queue: deque[dict[str, Any]],
                 record: Mapping[str, Any] | None,
                 scaling: Scaling | None = None) -> dict[str, Any]:
    """The journal event of a scheduler action (``record``: the searcher's decision record)."""
    now = time.time()
    if isinstance(action, Start):
        enqueued = bool(queue)
        start = normalized_start(action, space, fidelity, queue, scaling)
        event: dict[str, Any] = {"e": "start", "t": next_id, "cfg": start.config,
                                 "b": start.budget, "ts": now, "o": OWNER}
        if start.parent_id is not None:
            event["p"] = start.parent_id
        if start.scale:
            event["sc"] = dict(start.scale)
        if record is not None:
            event["x"] = dict(record)
        if enqueued and isinstance(action.config, Mapping):
            event["px"] = dict(action.config)  # what the searcher proposed, for its replay
        return event
    if not isinstance(action, (Resume, Retire)):
        raise SchedulerError(f"scheduler returned {action!r}, not Start / Resume / Retire")
    trial = trials.get(action.trial_id)
    if trial is None or trial.status is not TrialStatus.PAUSED:
        status = trial.status.value if trial else "unknown"
        raise SchedulerError(f"scheduler returned {action!r} for trial {action.trial_id}, "
                             f"which is {status}, not paused")
    extra = {"x": dict(record)} if record is not None else {}
    if isinstance(action, Retire):
        return {"e": "retire", "t": action.trial_id, "r": action.reason, "ts": now, **extra}
    budget = check_target(fidelity, action.budget, trial)
    return {"e": "resume", "t": action.trial_id, "b": budget, "ts": now, "o": OWNER, **extra}


def checked_verdict(scheduler: Scheduler, trial: Trial, obs: Observation, metric: str) -> Verdict:
    """The scheduler's verdict on a report; a non-finite loss always stops the trial."""
    verdict = scheduler.on_result(trial, obs)
    if not isinstance(verdict, Verdict):
        raise SchedulerError(f"on_result must return a Verdict, got {verdict!r}")
    if math.isinf(obs.loss) and verdict.decision is not Decision.STOP:
        verdict = Verdict.stop(f"non-finite {metric}={obs.metrics.get(metric)} at budget "
                               f"{obs.budget}")
    return verdict


def recorded_action(event: Mapping[str, Any]) -> RecordedStart | RecordedDecision:
    """What a replayed decision tells the scheduler: a start's proposal and record, or a
    resume / retire with the scheduler's record."""
    if event["e"] == "start":
        return RecordedStart(config=event.get("px", event["cfg"]), record=event.get("x"),
                             enqueued="px" in event)
    return RecordedDecision(kind=event["e"], trial_id=event["t"], budget=event.get("b"),
                            record=event.get("x"))


class ReadOnlyScheduler(Scheduler):
    """Stands in for the scheduler of a study opened read-only: it never decides anything."""

    def next_action(self, view: StudyView) -> None:
        return None

    def on_result(self, trial: Trial, obs: Observation) -> Verdict:
        return Verdict.cont()

    def is_finished(self, view: StudyView) -> bool:
        return True
