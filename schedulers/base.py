"""Shared plumbing of the built-in schedulers: the searcher hand-off and exhaustion."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from hpo.core.decisions import Verdict
from hpo.core.protocols import RecordedStart, Scheduler, Searcher, StudyView
from hpo.core.trial import Observation, PriorObservation, Trial
from hpo.core.types import Config, Fidelity


class SearcherScheduler(Scheduler):
    """A scheduler that draws new configs from a :class:`~hpo.protocols.Searcher`.

    It forwards every observation and every trial end to the searcher, and remembers when the
    searcher is exhausted (``suggest`` returned None) so that no new trial is started after.
    """

    def __init__(self, searcher: Searcher, fidelity: Fidelity | None) -> None:
        self.searcher = searcher
        self.fidelity = fidelity
        self._exhausted = False

    def _suggest(self, view: StudyView, budget: float | None) -> Config | None:
        """A config for the next trial (``view.next_trial_id``), or None once exhausted.

        While the study replays a recorded start (``view.replaying``), the searcher restores its
        state from the journaled proposal and decision record instead of recomputing them.
        """
        if self._exhausted:
            return None
        trial_id, recorded = view.next_trial_id, view.replaying
        if not isinstance(recorded, RecordedStart):
            config = self.searcher.suggest(trial_id, budget=budget)
        else:
            config = self.searcher.replay_suggest(trial_id, budget=budget,
                                                  config=recorded.config, record=recorded.record)
        if config is None:
            self._exhausted = True  # idempotent: a None from next_action stays side-effect free
        return config

    def add_prior(self, observations: Sequence[PriorObservation]) -> bool:
        """Warm-start results go to the searcher (model-based ones use them as data)."""
        return self.searcher.add_prior(observations)

    def decision_record(self) -> dict[str, Any] | None:
        """The searcher's record of its last suggestion (journaled with the start)."""
        return self.searcher.decision_record()

    def on_result(self, trial: Trial, obs: Observation) -> Verdict:
        self.searcher.observe(trial, obs)
        return self._decide(trial, obs)

    @abstractmethod
    def _decide(self, trial: Trial, obs: Observation) -> Verdict:
        """The verdict (the searcher has already seen ``obs``)."""

    def on_end(self, trial: Trial) -> None:
        self.searcher.on_end(trial)
        self._ended(trial)

    def _ended(self, trial: Trial) -> None:
        """Scheduler-specific bookkeeping when a trial ends (default: none)."""

    def is_finished(self, view: StudyView) -> bool:
        return self._exhausted and not self._has_pending_work(view)

    def _has_pending_work(self, view: StudyView) -> bool:
        """Whether trials this scheduler may still resume or is waiting on exist."""
        return any(t.status.is_active for t in view)
