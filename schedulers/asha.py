"""ASHA: asynchronous successive halving (Li et al., "A System for Massively Parallel
Hyperparameter Tuning", MLSys 2020), in the paper's promotion variant and a stopping variant.

**Promotion** (``variant="promotion"``, the paper's algorithm): a trial pauses at every rung.
When a worker is free, rungs are scanned from the top down; in rung ``k`` the best not yet
promoted trial is resumed to rung ``k+1`` if it is among the best ``floor(n_k / eta)`` of the
``n_k`` results recorded at rung ``k`` so far. Promotions have priority over new trials, higher
rungs over lower ones. Otherwise a new trial starts at the lowest rung. No worker ever waits.

**Stopping** (``variant="stopping"``, like Ray Tune's ``ASHAScheduler``): trials are never
paused. A trial reaching rung ``k`` continues iff its loss ranks within the best
``ceil(n_k / eta)`` of the ``n_k`` values recorded at that rung so far (itself included; so the
first arrival always continues); otherwise it is STOPPED.

Several brackets (asynchronous Hyperband) are available with ``brackets > 1``: bracket ``b``
starts trials at the ``b``-th rung level, has its own rung bookkeeping, and is drawn with
:func:`~schedulers.brackets.async_bracket_probabilities` from the scheduler's own generator.
Ties are broken by trial id; a trial that skips rung levels is recorded at the highest level
its budget reached.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from hpo.core.decisions import CONTINUE, Action, Resume, Start, Verdict
from hpo.core.protocols import Searcher, StudyView
from hpo.core.trial import Observation, Trial
from hpo.core.types import Fidelity
from hpo.errors import MethodError
from schedulers.base import SearcherScheduler
from schedulers.brackets import async_bracket_probabilities, check_eta, rung_levels

VARIANTS = ("promotion", "stopping")
_EPS = 1e-9


class Rung:
    """Results recorded at one rung level of one bracket, kept sorted by (loss, trial id)."""

    __slots__ = ("level", "entries", "unpromoted", "_loss")

    def __init__(self, level: float) -> None:
        self.level = level
        self.entries: list[tuple[float, int]] = []
        self.unpromoted: list[tuple[float, int]] = []
        self._loss: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, loss: float, trial_id: int, *, promotable: bool) -> int:
        """Insert a result; return its 0-based rank among the rung's results."""
        key = (loss, trial_id)
        bisect.insort(self.entries, key)
        self._loss[trial_id] = loss
        if promotable:
            bisect.insort(self.unpromoted, key)
        return bisect.bisect_left(self.entries, key)

    def candidate(self, eta: float) -> int | None:
        """The best unpromoted trial if it is in the top ``floor(n / eta)``, else None."""
        if not self.unpromoted:
            return None
        top = int(math.floor(len(self.entries) / eta + _EPS))
        best = self.unpromoted[0]
        return best[1] if bisect.bisect_left(self.entries, best) < top else None

    def remove_unpromoted(self, trial_id: int) -> None:
        loss = self._loss.get(trial_id)
        if loss is None:
            return
        i = bisect.bisect_left(self.unpromoted, (loss, trial_id))
        if i < len(self.unpromoted) and self.unpromoted[i] == (loss, trial_id):
            del self.unpromoted[i]


class ASHAScheduler(SearcherScheduler):
    """Asynchronous successive halving.

    Args:
        searcher: where new configs come from.
        fidelity: the resource axis; rungs follow :func:`~schedulers.brackets.rung_levels`.
        eta: reduction factor (>= 2).
        variant: ``"promotion"`` (pause / resume, default) or ``"stopping"``.
        brackets: number of asynchronous Hyperband brackets (1 = plain ASHA).
        seed: seed of the generator that draws brackets (unused with one bracket).
    """

    def __init__(self, searcher: Searcher, fidelity: Fidelity, *, eta: float = 3,
                 variant: str = "promotion", brackets: int = 1, seed: int = 0) -> None:
        super().__init__(searcher, fidelity)
        if variant not in VARIANTS:
            raise MethodError(f"unknown ASHA variant {variant!r}; choose one of {list(VARIANTS)}")
        self.eta = check_eta(eta)
        self.variant = variant
        self.levels = rung_levels(fidelity.min, fidelity.max, eta, integer=fidelity.integer)
        self.probabilities = async_bracket_probabilities(self.levels, brackets)
        self._rungs = [[Rung(level) for level in self.levels[b:]] for b in range(brackets)]
        self._where: dict[int, tuple[int, int]] = {}  # trial -> (bracket, rung index)
        self._rng = np.random.default_rng(seed)

    @property
    def rungs(self) -> list[list[Rung]]:
        """Per bracket, its rungs from the lowest level up (read-only use)."""
        return self._rungs

    def next_action(self, view: StudyView) -> Action | None:
        if self.variant == "promotion":
            promotion = self._best_promotion()
            if promotion is not None:
                bracket, k, trial_id = promotion
                rungs = self._rungs[bracket]
                rungs[k].remove_unpromoted(trial_id)
                self._where[trial_id] = (bracket, k + 1)
                return Resume(trial_id, rungs[k + 1].level)
        if self._exhausted:
            return None
        bracket = 0
        if len(self._rungs) > 1:
            bracket = int(self._rng.choice(len(self._rungs), p=self.probabilities))
        rungs = self._rungs[bracket]
        budget = rungs[-1].level if self.variant == "stopping" else rungs[0].level
        config = self._suggest(view, budget)
        if config is None:
            return None
        self._where[view.next_trial_id] = (bracket, 0)
        return Start(config, budget)

    def _best_promotion(self) -> tuple[int, int, int] | None:
        best: tuple[float, int, int, int] | None = None
        for b, rungs in enumerate(self._rungs):
            for k in range(len(rungs) - 2, -1, -1):
                trial_id = rungs[k].candidate(self.eta)
                if trial_id is not None:
                    key = (-rungs[k].level, b, k, trial_id)
                    if best is None or key < best:
                        best = key
                    break
        return None if best is None else (best[1], best[2], best[3])

    def _decide(self, trial: Trial, obs: Observation) -> Verdict:
        bracket, k = self._where[trial.id]
        rungs = self._rungs[bracket]
        if k >= len(rungs) or obs.budget < rungs[k].level:
            return CONTINUE
        j = k
        while j + 1 < len(rungs) and rungs[j + 1].level <= obs.budget:
            j += 1
        last = j == len(rungs) - 1
        if self.variant == "promotion":
            rungs[j].add(obs.loss, trial.id, promotable=not last)
            self._where[trial.id] = (bracket, j)
            if last:
                return Verdict.stop("reached the maximum budget")
            return Verdict.pause(f"rung {j} reached (budget {rungs[j].level})")
        rank = rungs[j].add(obs.loss, trial.id, promotable=False)
        self._where[trial.id] = (bracket, j + 1)
        if last:
            return Verdict.stop("reached the maximum budget")
        n = len(rungs[j])
        keep = max(1, int(math.ceil(n / self.eta - _EPS)))
        if rank >= keep:
            return Verdict.stop(f"rung {j} (budget {rungs[j].level}): rank {rank + 1} of {n}, "
                                f"not in the top {keep}")
        return CONTINUE

    def _ended(self, trial: Trial) -> None:
        located = self._where.pop(trial.id, None)
        if located is not None:
            bracket, k = located
            rungs = self._rungs[bracket]
            if k < len(rungs):
                rungs[k].remove_unpromoted(trial.id)

    def _has_pending_work(self, view: StudyView) -> bool:
        return super()._has_pending_work(view) or self._best_promotion() is not None
