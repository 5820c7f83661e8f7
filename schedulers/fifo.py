"""FIFO: every trial runs to the full budget (single fidelity; the random-search baseline)."""

from __future__ import annotations

from hpo.core.decisions import CONTINUE, Start, Verdict
from hpo.core.protocols import Searcher, StudyView
from hpo.core.trial import Observation, Trial
from hpo.core.types import Fidelity
from schedulers.base import SearcherScheduler


class FIFOScheduler(SearcherScheduler):
    """Start a new config whenever a worker is free; never pause or stop early.

    With a fidelity, each trial's target is the maximum budget and it is stopped (COMPLETED)
    when it reports that budget. Without a fidelity, a trial ends when the objective returns.
    """

    def __init__(self, searcher: Searcher, fidelity: Fidelity | None = None) -> None:
        super().__init__(searcher, fidelity)
        self._budget = fidelity.max if fidelity is not None else None

    def next_action(self, view: StudyView) -> Start | None:
        config = self._suggest(view, self._budget)
        return None if config is None else Start(config, self._budget)

    def _decide(self, trial: Trial, obs: Observation) -> Verdict:
        if self._budget is not None and obs.budget >= self._budget:
            return Verdict.stop("reached the maximum budget")
        return CONTINUE
