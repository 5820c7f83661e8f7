"""The Study: ask / report / tell over an append-only journal.

A study is a fold over its events (:mod:`hpo.journal.fold`, kept by
:class:`~hpo.core.study_state.StudyState`). Every operation is a transaction: lock the storage,
fold in what other processes appended, let the scheduler decide, append the decision, fold it.
Reopening a study replays its journal through a freshly built scheduler with the recorded seed;
every recorded decision is checked against the replayed one, so "resume = replay" is verified,
not assumed. Searchers may journal a decision record with each proposal, so replaying a
model-based study restores its decisions instead of recomputing them.

Example:
    >>> import hpo
    >>> space = hpo.SearchSpace([hpo.Float("x", -2.0, 2.0)])
    >>> study = hpo.Study(space, "loss", method="random", seed=0)
    >>> for _ in range(5):
    ...     ticket = study.ask()
    ...     _ = study.tell(ticket.trial_id, {"loss": ticket.config["x"] ** 2})
    >>> study.best().id in study.trials
    True
"""

from __future__ import annotations

import os
import time
import warnings
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpo.core.actions import (
    ReadOnlyScheduler,
    action_event,
)
from hpo.core.decisions import Decision, Verdict
from hpo.core.methods import Method, resolve_method
from hpo.core.protocols import Scheduler
from hpo.core.scale import Scaling
from hpo.core.study_state import StudyState
from hpo.core.trial import Ticket, Trial, TrialStatus
from hpo.core.types import Fidelity, Objective, check_cost, clean_metrics, resolve_budget
from hpo.errors import (
    HPOWarning,
    ReportError,
    SchedulerError,
    SpaceError,
    StorageError,
    TrialStateError,
)
from hpo.journal.events import VERDICT_CODES, encode_metrics
from hpo.journal.fold import Fold
from hpo.journal.replay import (
    check_same_study,
    header_event,
    study_args_from_header,
)
from hpo.journal.storage import JournalStorage, MemoryStorage, Storage, encode_events
from hpo.rng import resolve_seed
from hpo.space.search_space import SearchSpace


def _as_storage(storage: Storage | str | os.PathLike[str] | None) -> Storage:
    if storage is None:
        return MemoryStorage()
    if isinstance(storage, Storage):
        return storage
    return JournalStorage(storage)


class Study(StudyState):
    """Ask / report / tell optimisation state, journaled.

    Args:
        space: the search space (or anything ``SearchSpace.from_dict`` accepts).
        objective: an :class:`~hpo.types.Objective` or the metric name to minimise.
        method: a registered method name (``"random"``, ``"hyperband"``, ``"asha"``...), a
            :class:`~hpo.methods.Method`, or a custom :class:`~hpo.protocols.Scheduler`.
        fidelity: the resumable resource axis; required by multi-fidelity methods.
        seed: master seed; None draws one and records it, so a resumed study replays exactly.
        storage: a directory path (journal + checkpoints on disk), a :class:`Storage`, or None
            (in memory). An existing journal is resumed if it describes the same study.
        meta: free-form JSON recorded in the header of a new journal (e.g. CLI run options).
        warm_start: other studies' directories or a results DataFrame to start from (a new
            journal only; see :meth:`add_results`).

    Raises:
        StorageError: the journal belongs to a different study, is corrupt, or is newer.
        ReplayError: replaying the journal led to a different decision than recorded.
    """

    def __init__(self, space: SearchSpace | Mapping[str, Any],
                 objective: Objective | str = "loss", *,
                 method: str | Method | Scheduler = "random", fidelity: Fidelity | None = None,
                 seed: int | None = None, storage: Storage | str | os.PathLike[str] | None = None,
                 meta: Mapping[str, Any] | None = None,
                 scaling: Scaling | None = None, warm_start: Any = None) -> None:
        self.space = space if isinstance(space, SearchSpace) else SearchSpace.from_dict(space)
        self.objective = objective if isinstance(objective, Objective) else Objective(objective)
        if fidelity is not None and not isinstance(fidelity, Fidelity):
            raise TypeError(f"fidelity must be a Fidelity, got {fidelity!r}")
        self.fidelity = fidelity
        if scaling is not None and not isinstance(scaling, Scaling):
            raise SpaceError(f"scaling must be an hpo.Scaling, got {scaling!r}")
        self.scaling = scaling
        self._storage = _as_storage(storage)
        self._fold = Fold(self.objective, fidelity)
        self._marks: dict[int, float] = {}  # perf_counter of a trial's last ask / report here
        self._queue: deque[dict[str, Any]] = deque()  # enqueued user configs
        self._broken: str | None = None  # why memory and journal may disagree (then refuse)
        with self._storage.lock():
            events = self._storage.read_new()
            if events:
                check_same_study(events[0], self.space, self.objective, fidelity, method, seed,
                                 self._storage, scaling)
                self.seed = int(events[0]["seed"])
                self.meta = dict(events[0].get("meta") or {})
            else:
                self.seed = resolve_seed(seed)
                self.meta = dict(meta or {})
            self.method, self._scheduler = self._build(method)
            #: the journal's first line: space, objective, fidelity, method, seed, meta
            self.header = events[0] if events else header_event(
                self.space, self.objective, fidelity, self.method, self.seed, self.meta,
                scaling)
            if not events:
                self._storage.append([self.header], durable=True)
            for event in events[1:]:
                self._replay(event)
        if warm_start is not None and not events:  # resumed: its enqueue events replayed
            self.add_results(warm_start)

    def _build(self, method: str | Method | Scheduler) -> tuple[Method | None, Scheduler]:
        if isinstance(method, Scheduler):
            return None, method
        resolved = resolve_method(method)
        resolved.check(self.fidelity)
        return resolved, resolved.build(self.space, self.objective, self.fidelity, self.seed)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, method: Method | Scheduler | None = None,
             read_only: bool = False) -> Study:
        """Reopen the on-disk study at ``path`` (another process may be using it too).

        Args:
            method: only needed for studies created with a custom scheduler object.
            read_only: inspect without rebuilding the scheduler or writing anything (trials,
                best, dataframe); ``ask`` / ``report`` / ``tell`` then raise StorageError.
        """
        args = study_args_from_header(Path(path))
        if read_only:
            return cls(args["space"], args["objective"], method=ReadOnlyScheduler(),
                       fidelity=args["fidelity"], storage=JournalStorage(path, read_only=True),
                       scaling=args["scaling"])
        if method is None and args["method"] is None:
            raise StorageError(f"the study at {path} uses a custom scheduler: pass method=...")
        return cls(args["space"], args["objective"], method=method or args["method"],
                   fidelity=args["fidelity"], seed=args["seed"], storage=path,
                   scaling=args["scaling"])

    def ask(self) -> Ticket | None:
        """The next thing to run: a new config at a budget, or a paused trial to resume.

        Returns None when the scheduler has nothing to start now (a rung barrier, or it is
        finished).
        """
        with self._transaction():
            while True:
                action = self._scheduler.next_action(self.view())
                if action is None:
                    return None
                try:  # the scheduler has committed to the action: record it or refuse on
                    record = self._scheduler.decision_record()
                    event = action_event(action, self._fold.trials, self._fold.next_id,
                                         self.space, self.fidelity, self._queue, record,
                                         self.scaling)
                except Exception as err:
                    self._broken = f"{type(err).__name__}: {err}"
                    raise
                self._append_decided([event], durable=event["e"] == "retire")
                self._apply_action(event)
                if event["e"] != "retire":
                    self._marks[event["t"]] = time.perf_counter()
                    return self.ticket(event["t"])

    def enqueue(self, config: Mapping[str, Any]) -> None:
        """Evaluate ``config`` in the next new trial, before the searcher's proposals.

        The scheduler still decides when a new trial starts and at which budget; only the
        config is replaced. Enqueued configs are journaled and replayed on resume.

        Raises:
            InvalidConfigError: ``config`` is not in the search space (names the value).
        """
        event: dict[str, Any] = {"e": "enqueue", "cfg": self.space.validate(config),
                                 "ts": time.time()}
        with self._transaction():
            self._storage.append([event], durable=True)
            self._queue.append(event["cfg"])

    def add_results(self, results: Any, *, enqueue: int | None = 10) -> Any:
        """Warm-start from other studies' directories (read-only) or a results DataFrame:
        enqueue the ``enqueue`` best configs mapped into this space, and hand every mapped
        result to a model-based searcher's ``add_prior`` (:mod:`hpo.core.warm_start`).
        Returns the :class:`~hpo.core.warm_start.WarmStart`."""
        from hpo.core.warm_start import add_results

        return add_results(self, results, enqueue=enqueue)

    def add_prior(self, observations: Any) -> bool:
        """Hand other studies' results to the scheduler as prior data, journaled first.

        ``observations``: a :class:`~hpo.core.warm_start.WarmStart` or a sequence of
        :class:`~hpo.PriorObservation` (configs in this space). They are written as one
        ``prior`` event and replayed at the same point when the study is reopened. Returns
        whether the method uses them (``bo``, ``mobster``, ``hyperband-bo``; others ignore
        them). :meth:`add_results` calls this; call it directly to add prior data without
        enqueueing configs.

        Raises:
            WarmStartError: an item is not a PriorObservation.
            InvalidConfigError: a config is not in this space (names the value).
        """
        from hpo.core.warm_start import WarmStart, checked_prior, prior_event

        warm = checked_prior(observations, self.space)
        if not warm.observations:
            return False
        event = prior_event(WarmStart(warm.observations))
        with self._transaction():
            self._storage.append([event], durable=True)
            try:
                return bool(self._scheduler.add_prior(list(warm.observations)))
            except BaseException as err:
                self._broken = f"{type(err).__name__} in the scheduler's add_prior: {err}"
                raise

    def _append_decided(self, events: list[dict[str, Any]], *, durable: bool) -> None:
        """Append events of a decision the scheduler already made. If the write fails, the
        scheduler's state is ahead of the journal: this object refuses further calls (the
        journal stays the truth; reopening replays it)."""
        try:
            self._storage.append(events, durable=durable)
        except BaseException as err:
            self._broken = f"{type(err).__name__}: {err}"
            raise

    def settle_orphan(self, trial_id: int) -> bool:
        """Whether a trial a dead driver left running needs no relaunch (see :meth:`orphans`).

        Without a fidelity a trial has one result: an orphan that already reported it died
        between its report and its end, so it is ended COMPLETED here (True) instead of being
        run, and recorded, a second time. False: relaunch it from its ticket.
        """
        with self._transaction():
            trial = self._fold.get(trial_id)
            if self.fidelity is None and trial.observations and trial.status.is_active:
                self.tell(trial_id, reason="result recorded before its driver died")
                return True
            return False

    def report(self, trial_id: int, metrics: Mapping[str, Any] | float, *,
               budget: float | None = None, cost: float | None = None) -> Verdict:
        """Record an intermediate or final result and return the scheduler's verdict.

        Args:
            trial_id: the trial (from a ticket).
            metrics: a mapping of numbers containing the objective metric, or a bare number.
            budget: cumulative resource consumed (fidelity units). Defaults to the number of
                reports so far + 1. A budget at or below the last recorded one is a duplicate
                (a trial resumed without checkpoint): it is ignored with a warning.
            cost: cost of the work since the previous report (default: wall seconds since the
                ask or the previous report in this process).

        Returns:
            CONTINUE, PAUSE (checkpoint and return) or STOP (return). A report whose objective
            metric is missing fails the trial (STOP, status FAILED); a non-finite value is
            recorded as the worst loss and stops the trial (STOPPED).

        Raises:
            UnknownTrialError, TrialStateError (paused or ended trial), ReportError,
            FidelityError (budget above the maximum).
        """
        metrics = clean_metrics(metrics, self.objective.metric)
        with self._transaction():
            trial = self._fold.get(trial_id)
            if not trial.status.is_active:
                raise TrialStateError(f"cannot report for trial {trial_id}: it is "
                                      f"{trial.status.value}"
                                      + (f" ({trial.reason})" if trial.reason else ""))
            budget = resolve_budget(self.fidelity, budget, len(trial.observations))
            if trial.observations and budget <= trial.budget:
                warnings.warn(f"trial {trial_id}: ignoring a report at budget {budget!r} <= its "
                              f"recorded budget {trial.budget!r} (resumed without checkpoint?)",
                              HPOWarning, stacklevel=2)
                return Verdict.cont("duplicate report ignored")
            increment = self._cost_increment(trial_id, cost)
            try:
                self.objective.loss(metrics)
            except ReportError as err:
                self._end(trial_id, TrialStatus.FAILED, str(err))
                return Verdict.stop(str(err))
            event = {"e": "report", "t": trial.id, "b": budget, "m": encode_metrics(metrics),
                     "c": trial.cost + increment, "ts": time.time()}
            encode_events([{**event, "v": "c"}])  # unencodable: refused before any decision
            updated, obs = self._fold.observed(trial, event, metrics)
            try:
                verdict = self._verdict(updated, obs)
            except Exception as err:  # keep the result, then surface the scheduler bug
                event.update(v="c", r=f"scheduler error: {err!r}"[:2000])
                self._append_decided([event], durable=True)
                raise SchedulerError(f"scheduler failed on trial {trial_id}: {err!r}") from err
            event["v"] = VERDICT_CODES[verdict.decision]
            if verdict.reason:
                event["r"] = verdict.reason
            self._append_decided([event], durable=verdict.decision is not Decision.CONTINUE)
            self._apply_report(event, updated, obs)
            return verdict

    def tell(self, trial_id: int, metrics: Mapping[str, Any] | float | None = None, *,
             status: TrialStatus | str = TrialStatus.COMPLETED, reason: str = "",
             budget: float | None = None, cost: float | None = None) -> Trial:
        """End a trial: COMPLETED (default), FAILED or STOPPED; optionally report first.

        Returns the trial's final snapshot. Raises TrialStateError if it already ended.
        """
        status = TrialStatus(status) if isinstance(status, str) else status
        if not status.is_terminal:
            raise ValueError(f"tell needs a terminal status (completed, stopped, failed), "
                             f"got {status.value!r}")
        with self._transaction():
            trial = self._fold.get(trial_id)
            if trial.status.is_terminal:
                raise TrialStateError(f"cannot tell trial {trial_id}: it already ended as "
                                      f"{trial.status.value}")
            if metrics is not None:
                self.report(trial_id, metrics, budget=budget, cost=cost)
                trial = self._fold.trials[trial_id]
                if trial.status.is_terminal:
                    return trial
            if status is TrialStatus.COMPLETED and not trial.observations:
                status, reason = TrialStatus.FAILED, reason or "completed without any result"
            self._end(trial_id, status, reason)
            return self._fold.trials[trial_id]

    def finish(self, trial_id: int) -> Trial:
        """The objective returned: COMPLETED unless the trial is paused or already ended."""
        with self._transaction():
            if self._fold.get(trial_id).status.is_active:
                self.tell(trial_id)
            return self._fold.trials[trial_id]

    def fail(self, trial_id: int, reason: str) -> Trial:
        """Mark a trial FAILED (the objective raised, the worker died...)."""
        return self.tell(trial_id, status=TrialStatus.FAILED, reason=reason)

    def _end(self, trial_id: int, status: TrialStatus, reason: str) -> None:
        event = {"e": "end", "t": self._fold.get(trial_id).id, "s": status.value,
                 "ts": time.time()}
        if reason:
            event["r"] = reason
        self._storage.append([event], durable=True)
        self._apply_end(event)

    def _cost_increment(self, trial_id: int, cost: Any) -> float:
        now = time.perf_counter()
        mark = self._marks.get(trial_id)
        self._marks[trial_id] = now
        if cost is not None:
            return check_cost(cost)
        return now - mark if mark is not None else 0.0

