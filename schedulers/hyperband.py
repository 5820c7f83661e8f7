"""Hyperband (Li, Jamieson, DeSalvo, Rostamizadeh, Talwalkar; JMLR 18(185), 2018).

Hyperband hedges over how aggressively to early-stop: it cycles through the brackets
``s = s_max, ..., 0`` of :func:`~schedulers.brackets.hyperband_brackets` (bracket ``s_max``
starts many configs at the minimum budget, bracket 0 is random search at the full budget) and
runs each as synchronous successive halving with promotions resumed from checkpoints.
"""

from __future__ import annotations

from hpo.core.protocols import Searcher
from hpo.core.types import Fidelity
from hpo.errors import MethodError
from schedulers.brackets import Bracket, hyperband_brackets
from schedulers.successive_halving import SyncBracketScheduler


class HyperbandScheduler(SyncBracketScheduler):
    """Hyperband over a fidelity, with pipelined brackets for parallel workers.

    Args:
        searcher: where new configs come from (random search for plain Hyperband).
        fidelity: the resource axis: ``min`` is the first rung, ``max`` is ``R``.
        eta: reduction factor (>= 2), default 3.
        convention: ``"li2018"`` (paper, default) or ``"hpbandster"`` bracket counts.
        iterations: stop after this many full Hyperband iterations (``s_max + 1`` brackets);
            None runs until the tuning loop's budget is spent.

    Example:
        >>> from hpo import Fidelity, SearchSpace, Float
        >>> from searchers import RandomSearcher
        >>> space = SearchSpace([Float("x", 0.0, 1.0)])
        >>> hb = HyperbandScheduler(RandomSearcher(space, seed=0), Fidelity("epochs", 1, 81))
        >>> [b.n_configs for b in hb.brackets]
        [81, 34, 15, 8, 5]
    """

    def __init__(self, searcher: Searcher, fidelity: Fidelity, *, eta: float = 3,
                 convention: str = "li2018", iterations: int | None = None) -> None:
        super().__init__(searcher, fidelity, eta=eta)
        if iterations is not None and (isinstance(iterations, bool) or iterations < 1):
            raise MethodError(f"iterations must be a positive int or None, got {iterations!r}")
        self.brackets = hyperband_brackets(fidelity.min, fidelity.max, eta,
                                           convention=convention, integer=fidelity.integer)
        self.iterations = iterations

    def _shape(self, index: int) -> Bracket | None:
        if self.iterations is not None and index >= self.iterations * len(self.brackets):
            return None
        return self.brackets[index % len(self.brackets)]
