"""Trial snapshots folded from journal events: pure state, no decisions, no I/O.

The :class:`~hpo.study.Study` decides (through its scheduler) and writes events; this fold turns
each event into new immutable :class:`~hpo.trial.Trial` snapshots. Every ``apply_*`` returns the
trial when it just reached a terminal status, so the study can notify its scheduler.
"""

from __future__ import annotations

import math
from typing import Any

from hpo.core.decisions import Decision
from hpo.core.trial import Observation, Trial, TrialStatus
from hpo.core.types import Fidelity, Objective
from hpo.errors import StorageError, UnknownTrialError
from hpo.journal.events import DECISIONS, decode_metrics

END_STATUSES = {s.value: s for s in (TrialStatus.COMPLETED, TrialStatus.STOPPED,
                                     TrialStatus.FAILED)}


def replace(trial: Trial, status: TrialStatus, *, reason: str | None = None,
            target: float | None = None) -> Trial:
    """A copy of ``trial`` with a new status (and optionally reason / target budget)."""
    return Trial(trial.id, trial.config, status, trial.observations,
                 trial.target_budget if target is None else target, trial.parent_id, trial.scale,
                 trial.reason if reason is None else reason, trial.created)


class Fold:
    """The trials of a study and running totals, updated event by event."""

    def __init__(self, objective: Objective, fidelity: Fidelity | None) -> None:
        self.objective = objective
        self.fidelity = fidelity
        self.trials: dict[int, Trial] = {}
        self.active: set[int] = set()  # ids of PENDING / RUNNING trials, kept by _put
        self.owners: dict[int, str | None] = {}
        self.next_id = 0
        self.budget_used = 0.0
        self.cost_used = 0.0

    def _put(self, trial: Trial) -> Trial:
        self.trials[trial.id] = trial
        if trial.status.is_active:
            self.active.add(trial.id)
        else:
            self.active.discard(trial.id)
        return trial

    def get(self, trial_id: int) -> Trial:
        try:
            return self.trials[trial_id]
        except (KeyError, TypeError):
            known = f"trials 0..{self.next_id - 1}" if self.next_id else "no trials yet"
            raise UnknownTrialError(f"unknown trial id {trial_id!r}; the study has "
                                    f"{known}") from None

    def observed(self, trial: Trial, event: dict[str, Any],
                 metrics: dict[str, float]) -> tuple[Trial, Observation]:
        """The trial as it is with the report ``event`` added (status RUNNING)."""
        obs = Observation(budget=event["b"], metrics=metrics, loss=self.objective.loss(metrics),
                          cost=event["c"], time=event.get("ts", 0.0),
                          step=len(trial.observations))
        updated = Trial(trial.id, trial.config, TrialStatus.RUNNING, trial.observations + (obs,),
                        trial.target_budget, trial.parent_id, trial.scale, "", trial.created)
        return updated, obs

    def apply_action(self, event: dict[str, Any]) -> Trial | None:
        """A ``start``, ``resume`` or ``retire`` event; returns the trial if retired."""
        kind, tid = event["e"], event["t"]
        if kind == "start":
            if tid != self.next_id:
                raise StorageError(f"journal trial ids out of order: got {tid}, expected "
                                   f"{self.next_id}")
            self._put(Trial(tid, event["cfg"], TrialStatus.PENDING, (), event["b"],
                            event.get("p"), event.get("sc") or {}, "", event.get("ts", 0.0)))
            self.next_id += 1
            self.owners[tid] = event.get("o")
            return None
        trial = self.get(tid)
        if kind == "resume":
            self._put(replace(trial, TrialStatus.PENDING, target=event["b"]))
            self.owners[tid] = event.get("o")
            return None
        return self._put(replace(trial, TrialStatus.STOPPED, reason=event["r"]))

    def apply_report(self, event: dict[str, Any], updated: Trial,
                     obs: Observation) -> Trial | None:
        """A ``report`` event (its verdict decides the status); returns the trial if ended."""
        previous = self.trials[updated.id]
        self.budget_used += obs.budget - previous.budget
        self.cost_used += obs.cost - previous.cost
        decision = DECISIONS[event["v"]]
        if decision is Decision.CONTINUE:
            self._put(updated)
            return None
        if decision is Decision.PAUSE:
            self._put(replace(updated, TrialStatus.PAUSED, reason=event.get("r", "")))
            return None
        done = (self.fidelity is not None and obs.budget >= self.fidelity.max
                and math.isfinite(obs.loss))
        status = TrialStatus.COMPLETED if done else TrialStatus.STOPPED
        return self._put(replace(updated, status, reason=event.get("r", "")))

    def apply_recorded(self, event: dict[str, Any]) -> None:
        """Fold any event as recorded, consulting no scheduler (a study opened read-only)."""
        kind = event["e"]
        if kind == "report":
            updated, obs = self.observed(self.get(event["t"]), event, decode_metrics(event["m"]))
            self.apply_report(event, updated, obs)
        elif kind == "end":
            self.apply_end(event)
        elif kind not in ("enqueue", "prior"):
            self.apply_action(event)

    def apply_end(self, event: dict[str, Any]) -> Trial:
        """An ``end`` event (``tell``); returns the ended trial."""
        trial = self.get(event["t"])
        return self._put(replace(trial, END_STATUSES[event["s"]], reason=event.get("r", "")))
