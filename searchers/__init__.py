"""Searchers answer "which configuration next?" (see :class:`hpo.protocols.Searcher`)."""

from searchers.de import DifferentialEvolution
from searchers.random import RandomSearcher

__all__ = ["DifferentialEvolution", "RandomSearcher"]
