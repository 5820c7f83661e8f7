"""Seeded random search: the baseline every method is compared with."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hpo.core.protocols import Searcher
from hpo.core.types import Config
from hpo.space.search_space import SearchSpace


class RandomSearcher(Searcher):
    """Uniform (log-uniform on log scales) sampling from the search space.

    Args:
        space: the search space.
        seed: seed of the searcher's own ``numpy.random.Generator``.
        initial_configs: configs to evaluate first, in order (e.g. known good defaults);
            validated against the space.

    Example:
        >>> from hpo import SearchSpace, Float
        >>> s = RandomSearcher(SearchSpace([Float("x", 0.0, 1.0)]), seed=0)
        >>> s.suggest(0) == RandomSearcher(SearchSpace([Float("x", 0.0, 1.0)]), seed=0).suggest(0)
        True
    """

    def __init__(self, space: SearchSpace, *, seed: int,
                 initial_configs: Sequence[Config] = ()) -> None:
        self.space = space
        self._rng = np.random.default_rng(seed)
        self._initial = [space.validate(c) for c in initial_configs]
        self._given = 0

    def suggest(self, trial_id: int, *, budget: float | None = None) -> Config:
        if self._given < len(self._initial):
            self._given += 1
            return dict(self._initial[self._given - 1])
        return self.space.sample(self._rng)
