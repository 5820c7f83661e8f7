"""The base of every benchmark contender, ours and the peers' (imported by both).

``benchmarks.methods`` (the registry) imports ``benchmarks.peers``, and the peers import this
module, never the registry: imports go one way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from benchmarks.problem import Problem
from hpo import Fidelity, Study


class BenchMethod(ABC):
    """A named contender. ``start`` builds a study for one (problem, seed) run."""

    name: str
    family: str = "ours"  # "ours" or "peer"
    needs_fidelity: bool = True
    # the run's budget in full evaluations, set by the runner before ``start`` (None: not
    # known); a peer whose defaults depend on it (SMAC's initial design) is told it
    evaluations: float | None = None
    # takes each trial's budget from its config (``own_budget_axis`` problems need this)
    own_budget: bool = False

    @abstractmethod
    def start(self, problem: Problem, seed: int) -> Study:
        """A fresh study of this method on ``problem``."""

    def stop(self, study: Study) -> None:
        """Release what ``start`` acquired (peer processes)."""

    def supports(self, problem: Problem) -> bool:
        if (getattr(problem, "own_budget_axis", None) is not None) != self.own_budget:
            return False
        return problem.fidelity is not None or not self.needs_fidelity

    def report_levels(self, problem: Problem) -> list[float] | None:
        """Budgets at which a user's script reports when the fidelity cannot be resumed.

        A stopping-type method decides at its rungs, so a script for a non-resumable fidelity
        (training-set size) re-trains at each rung below the trial's target and reports there.
        None (the default): report only at the target, as a promotion-type method asks.
        """
        return None


def geometric_levels(fidelity: Fidelity, eta: float = 3) -> list[float]:
    """``min * eta**k`` below ``max`` (whole numbers for an integer fidelity): the rungs of
    Ray's ASHAScheduler (grace period = min), Syne Tune's and Optuna's Hyperband pruner
    (one resource unit = min)."""
    levels: list[float] = []
    k = 0
    while True:
        value = fidelity.min * eta ** k
        if fidelity.integer:
            value = round(value)
        if value >= fidelity.max * (1 - 1e-9):
            return levels
        if not levels or value > levels[-1]:
            levels.append(value)
        k += 1
