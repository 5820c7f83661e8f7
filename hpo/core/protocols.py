"""The two algorithm interfaces and the read-only view schedulers decide on.

* A :class:`Searcher` answers "which configuration next?".
* A :class:`Scheduler` answers "which trial, what budget, and continue / pause / stop?".

Both receive snapshots and return values; neither touches an executor or the journal. Both must
be **deterministic given their seed and the sequence of calls**: a study is resumed by replaying
its journal through freshly built objects, and the replay checks every decision against the one
recorded. All randomness comes from a ``numpy.random.Generator`` owned by the object.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from hpo.core.decisions import Action, Verdict
from hpo.core.trial import Observation, PriorObservation, Trial, TrialStatus
from hpo.core.types import Config, Fidelity, Objective

if TYPE_CHECKING:
    from hpo.core.scale import Scaling
    from hpo.space.search_space import SearchSpace


@dataclass(frozen=True, slots=True)
class RecordedStart:
    """A start decision read back from the journal while a study is being replayed.

    Attributes:
        config: the config that was journaled (after any enqueued config replaced it).
        record: what the searcher's :meth:`Searcher.decision_record` returned for it, or None.
        enqueued: True when a user-enqueued config replaced the searcher's proposal.
    """

    config: Config
    record: Mapping[str, Any] | None
    enqueued: bool = False


@dataclass(frozen=True, slots=True)
class RecordedDecision:
    """A resume or retire decision read back from the journal while a study is replayed.

    Attributes:
        kind: ``"resume"`` or ``"retire"``.
        trial_id: the trial it concerned.
        budget: the recorded target budget of a resume (None for a retire).
        record: what the scheduler's :meth:`Scheduler.decision_record` returned for it.
    """

    kind: str
    trial_id: int
    budget: float | None
    record: Mapping[str, Any] | None


class StudyView:
    """Read-only access to a study's trials for schedulers.

    Attributes:
        trials: mapping trial id -> :class:`Trial` snapshot (read-only).
        next_trial_id: the id the next started trial will receive.
        scaling: the study's :class:`~hpo.core.scale.Scaling` (target, proxy ladder, cost
            model), None for a study without scale axes.
        replaying: while the study replays a recorded decision, that decision: a
            :class:`RecordedStart` (so model-based searchers restore their state instead of
            refitting) or a :class:`RecordedDecision` for a resume / retire (so a model-based
            scheduler can restore what its ``decision_record`` saved); None otherwise.
    """

    __slots__ = ("_trials", "_next_id", "space", "objective", "fidelity", "replaying", "scaling")

    def __init__(self, trials: dict[int, Trial], next_trial_id: int, space: SearchSpace,
                 objective: Objective, fidelity: Fidelity | None,
                 replaying: RecordedStart | RecordedDecision | None = None,
                 scaling: Scaling | None = None) -> None:
        self._trials = trials
        self._next_id = next_trial_id
        self.space = space
        self.objective = objective
        self.fidelity = fidelity
        self.replaying = replaying
        self.scaling = scaling

    @property
    def trials(self) -> Mapping[int, Trial]:
        return MappingProxyType(self._trials)

    @property
    def next_trial_id(self) -> int:
        return self._next_id

    def __getitem__(self, trial_id: int) -> Trial:
        return self._trials[trial_id]

    def __len__(self) -> int:
        return len(self._trials)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self._trials.values())

    def with_status(self, *statuses: TrialStatus) -> list[Trial]:
        return [t for t in self._trials.values() if t.status in statuses]


class Searcher(ABC):
    """Proposes configurations.

    Call order (guaranteed by the study):

    1. ``suggest(trial_id, budget=b)`` once for each new trial a scheduler starts, with strictly
       increasing ``trial_id``. It returns a config of the space, or ``None`` when the searcher is
       exhausted (e.g. a finite grid).
    2. ``observe(trial, obs)`` for every recorded report of a trial (``trial`` already contains
       ``obs``). Searchers may ignore non-final observations.
    3. ``on_end(trial)`` once when the trial reaches COMPLETED, STOPPED or FAILED (a FAILED trial
       should be forgotten: drop any pending state).
    """

    @abstractmethod
    def suggest(self, trial_id: int, *, budget: float | None = None) -> Config | None:
        """A new config for trial ``trial_id`` to be evaluated up to ``budget``."""

    def decision_record(self) -> dict[str, Any] | None:
        """JSON-serialisable state behind the last :meth:`suggest` (default: None).

        Model-based searchers return what replay needs to restore the decision without
        recomputing it (fitted hyper-parameters, counters); the study journals it with the
        start event and hands it back to :meth:`replay_suggest` when the study is reopened.
        """
        return None

    def replay_suggest(self, trial_id: int, *, budget: float | None, config: Config,
                       record: Mapping[str, Any] | None) -> Config | None:
        """Replay a journaled suggestion: leave the searcher as :meth:`suggest` did.

        ``config`` is what was journaled and ``record`` what :meth:`decision_record` returned
        then (None if nothing was recorded, e.g. a journal written before the searcher
        recorded anything). The default recomputes the suggestion, which the study then
        checks against ``config``; expensive searchers override it to restore their state from
        ``record`` without fitting, and return ``config``.
        """
        return self.suggest(trial_id, budget=budget)

    def observe(self, trial: Trial, obs: Observation) -> None:
        """Record a result (default: ignore)."""

    def add_prior(self, observations: Sequence[PriorObservation]) -> bool:
        """Take other studies' results as prior data (warm start); True if used.

        Called when the study journals a ``prior`` event (``Study.add_results``) and again,
        at the same point, whenever the journal is replayed, so a searcher may fold them
        into its model like its own observations. Default: ignore them (False).
        """
        return False

    def on_end(self, trial: Trial) -> None:
        """The trial ended (default: ignore)."""


class Scheduler(ABC):
    """Decides which (trial, budget) runs next and the fate of running trials.

    Contract:

    * ``next_action(view)`` returns a :class:`~hpo.decisions.Start`, ``Resume`` or ``Retire``,
      or ``None`` when nothing should start now. **Returning an action commits it**: the study
      always records and executes it. **Returning None must not change any state** (no RNG draw,
      no bookkeeping): it may be called any number of times while workers wait.
    * ``on_result(trial, obs)`` is called for every recorded report (``trial`` includes ``obs``)
      and returns the verdict. A PAUSE verdict makes the trial PAUSED; STOP ends it.
    * ``on_end(trial)`` is called once when a trial reaches a terminal status for any reason.
    * ``is_finished(view)`` is True once the scheduler will never return another action.
    """

    @abstractmethod
    def next_action(self, view: StudyView) -> Action | None:
        """The next thing a free worker should do, or None."""

    @abstractmethod
    def on_result(self, trial: Trial, obs: Observation) -> Verdict:
        """The verdict on a new observation of ``trial``."""

    def on_end(self, trial: Trial) -> None:
        """Bookkeeping for a trial that reached COMPLETED, STOPPED or FAILED."""

    def add_prior(self, observations: Sequence[PriorObservation]) -> bool:
        """Other studies' results as prior data (see :meth:`Searcher.add_prior`); True if
        used. Default: ignore them (False); the built-in schedulers hand them to their
        searcher."""
        return False

    def decision_record(self) -> dict[str, Any] | None:
        """JSON state behind the last action returned (journaled with it); default None.

        For a Start, the built-in schedulers return their searcher's record; a scheduler that
        decides resumes with a model returns what replay needs to restore that decision
        without refitting (it reads it back from ``view.replaying.record``).
        """
        return None

    def is_finished(self, view: StudyView) -> bool:
        """True when no action will ever be returned again (default: never)."""
        return False
