"""A study's state and everything that reads it; :class:`~hpo.core.study.Study` adds decisions.

The state is a fold over the journal's events (:mod:`hpo.journal.fold`), the scheduler that
made (and, on replay, re-makes) the decisions, and the storage. Reads fold in what other
processes appended first, so a study opened in another process stays current.
"""

from __future__ import annotations

import shutil
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import entry_points
from pathlib import Path
from types import MappingProxyType
from typing import Any

from hpo.analysis import views as analysis
from hpo.core.actions import ReadOnlyScheduler, checked_verdict, normalized_start, recorded_action
from hpo.core.decisions import Start, Verdict
from hpo.core.protocols import RecordedDecision, RecordedStart, Scheduler, StudyView
from hpo.core.scale import Scaling
from hpo.core.trial import Observation, Ticket, Trial
from hpo.core.types import Fidelity, Objective
from hpo.core.warm_start import prior_from_event
from hpo.errors import HPOError, SpaceError, StorageError
from hpo.journal.events import decode_metrics
from hpo.journal.fold import Fold
from hpo.journal.ownership import owner_alive
from hpo.journal.replay import check_replayed
from hpo.journal.storage import Storage
from hpo.space.search_space import SearchSpace

RECOMMENDERS = "scaletune.recommenders"


class StudyState:
    """The trials, totals and scheduler of a study, kept equal to its journal."""

    space: SearchSpace
    objective: Objective
    fidelity: Fidelity | None
    scaling: Scaling | None
    _storage: Storage
    _fold: Fold
    _scheduler: Scheduler
    _queue: deque[dict[str, Any]]
    _marks: dict[int, float]
    _broken: str | None

    def _verdict(self, trial: Trial, obs: Observation) -> Verdict:
        return checked_verdict(self._scheduler, trial, obs, self.objective.metric)

    @property
    def trials(self) -> Mapping[int, Trial]:
        """Read-only mapping trial id -> latest :class:`Trial` snapshot (refreshed)."""
        self.refresh()
        return MappingProxyType(self._fold.trials)

    def active_ids(self) -> list[int]:
        """Ids of the trials handed out and not yet paused or ended (refreshed)."""
        self.refresh()
        return sorted(self._fold.active)

    @property
    def read_only(self) -> bool:
        return isinstance(self._scheduler, ReadOnlyScheduler)

    @property
    def scheduler(self) -> Scheduler:
        return self._scheduler

    @property
    def directory(self) -> Path | None:
        return self._storage.directory

    @property
    def storage(self) -> Storage:
        return self._storage

    @property
    def budget_used(self) -> float:
        """Total resource consumed by all trials (fidelity units)."""
        return self._fold.budget_used

    @property
    def cost_used(self) -> float:
        """Total cost reported by all trials."""
        return self._fold.cost_used

    def __len__(self) -> int:
        return len(self._fold.trials)

    def refresh(self) -> None:
        """Fold in events appended by other processes."""
        with self._transaction(write=False):
            pass

    def view(self, replaying: RecordedStart | RecordedDecision | None = None) -> StudyView:
        return StudyView(self._fold.trials, self._fold.next_id, self.space, self.objective,
                         self.fidelity, replaying, self.scaling)

    def best(self) -> Trial | None:
        """The best trial at the highest budget any trial reached (None before any result)."""
        return analysis.best_trial(self._fold.trials.values())

    def is_finished(self) -> bool:
        """True when the scheduler will never hand out work again."""
        return self._scheduler.is_finished(self.view())

    def dataframe(self) -> Any:
        """A pandas DataFrame: one row per observation (and one per trial without any)."""
        return analysis.dataframe(self._fold.trials.values(), self.objective)

    def counts(self) -> dict[str, int]:
        """Trials per status string (``TrialStatus`` members index it too)."""
        return analysis.status_counts(self._fold.trials.values())

    def recommend(self, *, seed: int = 0) -> Any:
        """Settings to run at the scaling target, with predicted loss and drift intervals.

        Fits the μP-aware scaling model (the ``scaletune.recommenders`` entry point named
        ``"scaling"``, by default ``searchers.scaling_recommend:recommend``) to the ended
        trials; returns its ``Recommendation`` (``.to_json()`` for a plain dict).

        Raises:
            SpaceError: the study has no :class:`~hpo.core.scale.Scaling`.
            HPOError: no recommender is installed, or too few successful runs.
        """
        if self.scaling is None:
            raise SpaceError("recommend() needs a scaling study: pass Study(..., scaling=...)")
        found = [ep for ep in entry_points(group=RECOMMENDERS) if ep.name == "scaling"]
        if not found:
            raise HPOError(f"no 'scaling' recommender in the {RECOMMENDERS!r} entry points; "
                           "is scaletune installed (pip install -e .)?")
        recommender = found[0].load()
        return recommender(list(self.trials.values()), self.space, self.scaling,
                           self.objective, seed=seed)

    @contextmanager
    def _transaction(self, *, write: bool = True) -> Iterator[None]:
        if write and self.read_only:
            raise StorageError("this study was opened read-only")
        if self._broken is not None:
            raise StorageError(f"a journal write failed after the scheduler decided "
                               f"({self._broken}); this Study object no longer matches its "
                               f"journal: reopen it with Study.open(path) to continue")
        with self._storage.lock():
            for event in self._storage.read_new():
                self._replay(event)
            yield

    def ticket(self, trial_id: int) -> Ticket:
        """The ticket of an existing trial (e.g. to relaunch one orphaned by a crash)."""
        trial = self._fold.get(trial_id)
        self._marks.setdefault(trial_id, time.perf_counter())
        root = self._storage.checkpoint_root
        return Ticket(trial_id=trial.id, config=dict(trial.config), budget=trial.target_budget,
                      resume_from=trial.budget,
                      max_budget=self.fidelity.max if self.fidelity else None,
                      parent_id=trial.parent_id, scale=dict(trial.scale),
                      checkpoint_dir=root / str(trial.id) if root is not None else None)

    def orphans(self) -> list[int]:
        """Active trials whose owning process on this host is gone (crashed drivers)."""
        return [tid for tid in sorted(self._fold.active)
                if not owner_alive(self._fold.owners.get(tid))]

    def _replay(self, event: dict[str, Any]) -> None:
        kind = event["e"]
        if self.read_only:  # decisions as recorded, no scheduler to consult
            self._fold.apply_recorded(event)
        elif kind in ("start", "resume", "retire"):
            action = self._scheduler.next_action(self.view(recorded_action(event)))
            check_replayed(event, normalized_start(action, self.space, self.fidelity,
                                                   self._queue, self.scaling)
                           if isinstance(action, Start) else action)
            self._apply_action(event)
        elif kind == "report":
            updated, obs = self._fold.observed(self._fold.get(event["t"]), event,
                                               decode_metrics(event["m"]))
            check_replayed(event, self._verdict(updated, obs))
            self._apply_report(event, updated, obs)
        elif kind == "end":
            self._apply_end(event)
        elif kind == "enqueue":
            self._queue.append(event["cfg"])
        elif kind == "prior":
            self._scheduler.add_prior(prior_from_event(event))
        else:
            raise StorageError(f"unexpected {kind!r} event after the journal header")

    def _apply_action(self, event: dict[str, Any]) -> None:
        self._notify(self._fold.apply_action(event))
        if event["e"] == "retire":
            self._drop_checkpoints(event["t"])

    def _drop_checkpoints(self, trial_id: int) -> None:
        """A retired trial is never resumed: delete its checkpoints so disk use stays bounded
        (idempotent, so replaying the retire after a crash finishes the job)."""
        root = self._storage.checkpoint_root
        if root is not None and not getattr(self._storage, "read_only", False):
            shutil.rmtree(root / str(trial_id), ignore_errors=True)

    def _apply_report(self, event: dict[str, Any], updated: Trial, obs: Observation) -> None:
        self._notify(self._fold.apply_report(event, updated, obs))

    def _apply_end(self, event: dict[str, Any]) -> None:
        self._notify(self._fold.apply_end(event))

    def _notify(self, ended: Trial | None) -> None:
        if ended is not None:
            self._scheduler.on_end(ended)
