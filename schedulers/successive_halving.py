"""Synchronous successive halving: one bracket is a state machine; brackets are pipelined.

Within a bracket, rung ``i`` evaluates ``counts[i]`` trials up to ``budgets[i]`` and then waits
(a barrier) until all of them reported that budget or ended. The best ``counts[i+1]`` by loss at
that budget (ties to the lower trial id; failed and non-finite trials rank last and are never
promoted) are resumed from their checkpoints to ``budgets[i+1]``; the other paused trials are
retired (STOPPED). Trials reaching the top rung (the maximum budget) are COMPLETED.

When every active bracket is waiting at a barrier and a worker is free, a new bracket is opened
(HpBandSter-style pipelining), so workers never idle; with one worker brackets run one after the
other exactly as in the paper.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections import deque

from hpo.core.decisions import CONTINUE, Action, Resume, Retire, Start, Verdict
from hpo.core.protocols import Searcher, StudyView
from hpo.core.trial import Observation, Trial
from hpo.core.types import Fidelity
from hpo.errors import MethodError
from schedulers.base import SearcherScheduler
from schedulers.brackets import Bracket, bracket_counts, check_eta, rung_levels


class SHBracket:
    """The state of one synchronous successive-halving bracket."""

    def __init__(self, bracket: Bracket, index: int) -> None:
        self.bracket = bracket
        self.index = index
        self.rung = 0
        n = len(bracket.counts)
        self.members: list[list[int]] = [[] for _ in range(n)]
        self.results: list[dict[int, float]] = [{} for _ in range(n)]
        self.paused: list[set[int]] = [set() for _ in range(n)]
        self.rung_of: dict[int, int] = {}  # the rung each member is being evaluated at
        self.reached: dict[int, float] = {}  # highest budget each member reported
        self.queue: deque[Resume | Retire] = deque()
        self.start_closed = False
        self.finished = False

    @property
    def last(self) -> int:
        return len(self.bracket.counts) - 1

    def wants_start(self) -> bool:
        return (self.rung == 0 and not self.start_closed
                and len(self.members[0]) < self.bracket.counts[0])

    def add(self, trial_id: int) -> None:
        self.members[0].append(trial_id)
        self.rung_of[trial_id] = 0

    def close_starts(self) -> None:
        """The searcher is exhausted: rung 0 keeps the trials it has."""
        self.start_closed = True
        self._maybe_advance()

    def pop(self) -> Resume | Retire | None:
        return self.queue.popleft() if self.queue else None

    def record(self, trial: Trial, obs: Observation) -> Verdict:
        rung = self.rung_of[trial.id]
        if obs.budget < self.bracket.budgets[rung] or trial.id in self.results[rung]:
            return CONTINUE
        self.results[rung][trial.id] = obs.loss
        self.reached[trial.id] = obs.budget
        if rung == self.last or obs.budget >= self.bracket.budgets[self.last]:
            verdict = Verdict.stop("reached the maximum budget")
        else:
            self.paused[rung].add(trial.id)
            verdict = Verdict.pause(f"bracket {self.index} rung {rung} reached "
                                    f"(budget {self.bracket.budgets[rung]})")
        self._maybe_advance()
        return verdict

    def ended(self, trial: Trial) -> None:
        rung = self.rung_of.pop(trial.id)
        self.paused[rung].discard(trial.id)
        self.queue = deque(a for a in self.queue if a.trial_id != trial.id)
        if trial.id not in self.results[rung]:
            self.results[rung][trial.id] = math.inf
            self._maybe_advance()

    def _rung_complete(self) -> bool:
        i = self.rung
        started = len(self.members[i])
        if i == 0 and started < self.bracket.counts[0] and not self.start_closed:
            return False
        return len(self.results[i]) >= started

    def _maybe_advance(self) -> None:
        while not self.finished and self._rung_complete():
            i = self.rung
            if i == self.last:
                self.finished = True
                return
            ranked = sorted((loss, tid) for tid, loss in self.results[i].items()
                            if tid in self.paused[i] and math.isfinite(loss))
            winners = [tid for _, tid in ranked[:self.bracket.counts[i + 1]]]
            budget = self.bracket.budgets[i + 1]
            for loss, tid in ranked[:len(winners)]:
                self.rung_of[tid] = i + 1
                if self.reached[tid] >= budget:  # reported past the next rung already:
                    self.results[i + 1][tid] = loss  # its result there is known, no resume
                    self.paused[i + 1].add(tid)
                else:
                    self.queue.append(Resume(tid, budget))
            n = len(self.results[i])
            for rank, (_, tid) in enumerate(ranked[len(winners):], start=len(winners) + 1):
                self.queue.append(Retire(tid, f"not promoted: rank {rank} of {n} at budget "
                                              f"{self.bracket.budgets[i]} (bracket {self.index})"))
            self.paused[i].clear()
            self.members[i + 1] = winners
            self.rung = i + 1
            if not winners:
                self.finished = True


class SyncBracketScheduler(SearcherScheduler):
    """Runs successive-halving brackets, opening a new one whenever all active ones wait."""

    def __init__(self, searcher: Searcher, fidelity: Fidelity, *, eta: float = 3) -> None:
        super().__init__(searcher, fidelity)
        self.eta = check_eta(eta)
        self.levels = rung_levels(fidelity.min, fidelity.max, eta, integer=fidelity.integer)
        self.s_max = len(self.levels) - 1
        self._active: list[SHBracket] = []
        self._opened = 0
        self._where: dict[int, SHBracket] = {}  # trial -> its bracket

    @abstractmethod
    def _shape(self, index: int) -> Bracket | None:
        """The shape of the ``index``-th bracket, or None when no more brackets should open."""

    def next_action(self, view: StudyView) -> Action | None:
        self._drop_finished()  # idempotent cleanup; decisions do not depend on it
        for bracket in self._active:
            action = self._from_bracket(bracket, view)
            if action is not None:
                return action
        if self._exhausted:
            return None
        shape = self._shape(self._opened)
        if shape is None:
            return None
        bracket = SHBracket(shape, self._opened)
        self._opened += 1
        self._active.append(bracket)
        return self._from_bracket(bracket, view)

    def _from_bracket(self, bracket: SHBracket, view: StudyView) -> Action | None:
        queued = bracket.pop()
        if queued is not None:
            return queued
        if not bracket.wants_start():
            return None
        budget = bracket.bracket.budgets[0]
        config = self._suggest(view, budget)
        if config is None:
            bracket.close_starts()
            self._drop_finished()
            return None
        bracket.add(view.next_trial_id)
        self._where[view.next_trial_id] = bracket
        return Start(config, budget)

    def _decide(self, trial: Trial, obs: Observation) -> Verdict:
        verdict = self._where[trial.id].record(trial, obs)
        self._drop_finished()
        return verdict

    def _ended(self, trial: Trial) -> None:
        bracket = self._where.pop(trial.id, None)
        if bracket is not None:
            bracket.ended(trial)
            self._drop_finished()

    def _drop_finished(self) -> None:
        if any(b.finished and not b.queue for b in self._active):
            self._active = [b for b in self._active if not (b.finished and not b.queue)]

    def _has_pending_work(self, view: StudyView) -> bool:
        return bool(self._active) or super()._has_pending_work(view)

    def is_finished(self, view: StudyView) -> bool:
        no_more = self._exhausted or self._shape(self._opened) is None
        return no_more and not self._has_pending_work(view)


class SuccessiveHalvingScheduler(SyncBracketScheduler):
    """Synchronous successive halving, one bracket shape repeated.

    Args:
        searcher: where new configs come from.
        fidelity: the resource axis; rungs follow :func:`~schedulers.brackets.rung_levels`.
        eta: reduction factor (>= 2); the best ``1/eta`` of each rung is promoted.
        halvings: number of halvings ``s`` of the bracket (default: as many as the ladder
            allows, starting at the minimum budget).
        convention: ``"li2018"`` or ``"hpbandster"`` config counts (see ``brackets``).
    """

    def __init__(self, searcher: Searcher, fidelity: Fidelity, *, eta: float = 3,
                 halvings: int | None = None, convention: str = "li2018") -> None:
        super().__init__(searcher, fidelity, eta=eta)
        s = self.s_max if halvings is None else halvings
        if not 0 <= s <= self.s_max:
            raise MethodError(f"halvings must be in [0, {self.s_max}] for rung levels "
                              f"{self.levels}, got halvings={halvings!r}")
        counts = bracket_counts(s, self.s_max, eta, convention)
        self.bracket = Bracket(s, counts, tuple(self.levels[self.s_max - s:]))

    def _shape(self, index: int) -> Bracket:
        return self.bracket
