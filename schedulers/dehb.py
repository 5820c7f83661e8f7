"""DEHB: differential-evolution Hyperband (Awad, Mallik, Hutter; IJCAI 2021).

Hyperband's bracket schedule (HpBandSter convention: for R=81, eta=3 the brackets start 81,
27, 9, 6, 5 configs) decides *how much* to spend; a DE population per fidelity level decides
*what* to try (:class:`~searchers.de.DifferentialEvolution`).

* Iteration 0 (the first ``s_max + 1`` brackets) is Hyperband with random configs at each
  bracket's lowest rung... except that brackets after the first already evolve their lowest
  rung from the populations filled so far. Its higher rungs promote the best configs of the
  rung below, and **a promotion resumes the same trial from its checkpoint** (the reference
  retrains from scratch); the promoted vector enters the higher population.
* From iteration 1 on, every rung is produced by DE: the target is the next slot of the rung's
  population; the parents are the best ``n_i`` members of the population one rung below in the
  bracket (its own population for a bracket's lowest rung); a child replaces its target iff
  it is at least as good. A child is a new trial trained from scratch to its fidelity.
* Rungs are synchronous inside a bracket. In ``mode="async"`` (default), whenever every
  active bracket waits at a barrier, a new bracket opens, so no worker ever waits (brackets
  overlap, as in the reference's parallel mode); ``mode="sync"`` runs one bracket at a time.

Fidelity levels come from :func:`~schedulers.brackets.rung_levels` (spaced down from R as in
the paper, integer-safe): ``R=52, eta=3`` gives 2, 6, 17, 52 (the reference's 1.93, 5.78, 17.3, 52,
rounded to whole epochs). Spacing up from ``r_min`` instead (1, 3, 9, 52) leaves a 6x last step
that made promotions to R much noisier on LCBench in our benchmark.
"""

from __future__ import annotations

import math
from typing import Any

from hpo.core.decisions import CONTINUE, Action, Resume, Retire, Start, Verdict
from hpo.core.protocols import StudyView
from hpo.core.trial import Observation, Trial
from hpo.core.types import Fidelity
from hpo.errors import MethodError
from schedulers.base import SearcherScheduler
from schedulers.brackets import Bracket, hyperband_brackets
from searchers.de import DifferentialEvolution

MODES = ("async", "sync")


def population_sizes(brackets: list[Bracket]) -> dict[float, int]:
    """Per fidelity, the most configs any bracket evaluates there (R=81, eta=3: 81/27/9/6/5)."""
    sizes: dict[float, int] = {}
    for bracket in brackets:
        for count, budget in zip(bracket.counts, bracket.budgets):
            sizes[budget] = max(sizes.get(budget, 0), count)
    return sizes


class DEHBBracket:
    """Bookkeeping of one bracket: jobs issued and results per rung, promotions."""

    def __init__(self, bracket: Bracket, index: int, first_iteration: bool) -> None:
        self.bracket, self.index, self.first = bracket, index, first_iteration
        self.counts = list(bracket.counts)
        self.rung = 0
        self.issued = [0] * len(self.counts)
        self.results: list[dict[int, float]] = [{} for _ in self.counts]
        self.queue: list[Any] = []  # Resume / Retire actions and ("start", vector, parent)
        self.promoting = False
        self.reached: dict[int, float] = {}  # highest budget each trial reported
        self.skipped: list[tuple[int, int, float]] = []  # promoted, already past the rung
        self.finished = False

    @property
    def last(self) -> int:
        return len(self.counts) - 1

    def wants_job(self) -> bool:
        return not self.finished and self.issued[self.rung] < self.counts[self.rung] \
            and (self.rung == 0 or not self.first)

    def record(self, trial_id: int, rung: int, loss: float, budget: float) -> None:
        self.results[rung][trial_id] = loss
        self.reached[trial_id] = budget
        self.record_done()

    def record_done(self) -> None:
        """Advance past every complete rung (promotions are filled by the scheduler)."""
        while (not self.finished and not self.promoting
               and len(self.results[self.rung]) >= self.counts[self.rung]
               and self.issued[self.rung] >= self.counts[self.rung]):
            if self.rung == self.last:
                self.finished = True
                return
            self._advance()

    def _advance(self) -> None:
        self.rung += 1
        if self.first:  # the scheduler fills this rung with promotions (``promote``)
            self.promoting = True

    def retire_losers(self, winners: set[int]) -> None:
        """Queue the retirement of this bracket's paused trials of the rung below."""
        below = self.results[self.rung - 1]
        ranked = sorted((loss, tid) for tid, loss in below.items() if math.isfinite(loss))
        self.queue += [Retire(tid, f"DEHB: not promoted from budget "
                                   f"{self.bracket.budgets[self.rung - 1]} (bracket "
                                   f"{self.index})")
                       for _, tid in ranked if tid not in winners]


class DEHBScheduler(SearcherScheduler):
    """DEHB over a fidelity (see the module docstring).

    Args:
        searcher: a :class:`~searchers.de.DifferentialEvolution` with one population per
            rung level (see :func:`population_sizes`).
        fidelity: the resource axis.
        eta: reduction factor (>= 2, default 3).
        mode: ``"async"`` (overlapping brackets, default) or ``"sync"``.
        iterations: stop after this many Hyperband iterations (None: run until the budget).
    """

    def __init__(self, searcher: DifferentialEvolution, fidelity: Fidelity, *, eta: float = 3,
                 mode: str = "async", iterations: int | None = None) -> None:
        super().__init__(searcher, fidelity)
        self.fidelity: Fidelity = fidelity
        if mode not in MODES:
            raise MethodError(f"DEHB mode must be one of {list(MODES)}, got {mode!r}")
        self.de = searcher
        self.brackets = hyperband_brackets(fidelity.min, fidelity.max, eta,
                                           convention="hpbandster", integer=fidelity.integer)
        self.mode, self.iterations = mode, iterations
        self._active: list[DEHBBracket] = []
        self._opened = 0
        self._where: dict[int, tuple[DEHBBracket, int]] = {}

    def _open(self) -> DEHBBracket | None:
        k = len(self.brackets)
        if self.iterations is not None and self._opened >= self.iterations * k:
            return None
        bracket = DEHBBracket(self.brackets[self._opened % k], self._opened,
                              first_iteration=self._opened < k)
        self._opened += 1
        self._active.append(bracket)
        return bracket

    def next_action(self, view: StudyView) -> Action | None:
        self._active = [b for b in self._active if not (b.finished and not b.queue)]
        for bracket in self._active:
            action = self._job(bracket, view)
            if action is not None:
                return action
        if self._active and self.mode == "sync":
            return None
        opened = self._open()
        return None if opened is None else self._job(opened, view)

    def _job(self, bracket: DEHBBracket, view: StudyView) -> Action | None:
        if bracket.promoting:
            self._promote(bracket, view)
        while bracket.queue:
            item = bracket.queue.pop(0)
            budget = bracket.bracket.budgets[bracket.rung]
            if isinstance(item, Resume):
                self._where[item.trial_id] = (bracket, bracket.rung)
                self.de.place(item.trial_id, budget, self.de.vector_of(item.trial_id))
                return item
            if isinstance(item, Retire):
                if view[item.trial_id].status.value != "paused":
                    continue  # it ended meanwhile
                return item
            _, vector, parent = item  # a population member from another bracket: retrain
            tid = view.next_trial_id
            config = self.de.place_new(tid, budget, vector)
            self._where[tid] = (bracket, bracket.rung)
            return Start(config, budget, parent_id=parent)
        if not bracket.wants_job():
            return None
        i, tid = bracket.rung, view.next_trial_id
        budget = bracket.bracket.budgets[i]
        if bracket.first and bracket.index == 0:
            config = self.de.sample(tid, budget)
        else:
            pool = budget if i == 0 else bracket.bracket.budgets[i - 1]
            config = self.de.evolve(tid, budget, pool, bracket.counts[i])
        bracket.issued[i] += 1
        self._where[tid] = (bracket, i)
        return Start(config, budget)

    def _promote(self, bracket: DEHBBracket, view: StudyView) -> None:
        """Fill a first-iteration rung with promotions, as the reference does: the best
        evaluated members of the population one rung below that are not yet in this rung's
        population. This bracket's own paused trials are resumed from their checkpoints;
        members found by other brackets start again at this budget (their lineage kept)."""
        bracket.promoting = False
        i = bracket.rung
        low, high = bracket.bracket.budgets[i - 1], bracket.bracket.budgets[i]
        n = bracket.counts[i]
        own = set(bracket.results[i - 1])
        chosen = self.de.promotion_candidates(low, high, n)
        winners = set()
        for vector, member in chosen:
            paused = member in own and view[member].status.value == "paused"
            if paused and bracket.reached[member] >= high:  # its result there is known
                bracket.results[i][member] = bracket.results[i - 1][member]
                bracket.skipped.append((member, i, bracket.results[i - 1][member]))
            elif paused:
                bracket.queue.append(Resume(member, high))
            else:
                bracket.queue.append(("start", vector, member))
            winners.add(member)
        bracket.counts[i] = bracket.issued[i] = len(chosen)
        bracket.retire_losers(winners)
        self._place_skipped(bracket)
        if not chosen:
            bracket.finished = True
        elif len(bracket.results[i]) >= bracket.counts[i]:
            bracket.record_done()

    def _decide(self, trial: Trial, obs: Observation) -> Verdict:
        bracket, rung = self._where[trial.id]
        budget = bracket.bracket.budgets[rung]
        if obs.budget < budget or trial.id in bracket.results[rung]:
            return CONTINUE
        bracket.record(trial.id, rung, obs.loss, obs.budget)
        self._place_skipped(bracket)
        if rung < bracket.last and bracket.first and obs.budget < self.fidelity.max:
            return Verdict.pause(f"DEHB bracket {bracket.index} rung {rung} (budget {budget})")
        return Verdict.stop("reached the maximum budget" if obs.budget >= self.fidelity.max
                            else f"DEHB: evaluated at budget {budget}")

    def _ended(self, trial: Trial) -> None:
        located = self._where.pop(trial.id, None)
        if located is None:
            return
        bracket, rung = located
        bracket.queue = [a for a in bracket.queue
                         if isinstance(a, tuple) or a.trial_id != trial.id]
        if trial.id not in bracket.results[rung]:
            bracket.record(trial.id, rung, math.inf, trial.budget)
            self._place_skipped(bracket)

    def _place_skipped(self, bracket: DEHBBracket) -> None:
        for tid, rung, loss in bracket.skipped:
            self._where[tid] = (bracket, rung)
            self.de.insert(tid, bracket.bracket.budgets[rung], self.de.vector_of(tid), loss)
        bracket.skipped.clear()

    def is_finished(self, view: StudyView) -> bool:
        if self.iterations is None:
            return False
        done = self._opened >= self.iterations * len(self.brackets)
        return done and all(b.finished and not b.queue for b in self._active) \
            and not any(t.status.is_active for t in view)
