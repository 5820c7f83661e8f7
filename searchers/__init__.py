"""Searchers answer "which configuration next?" (see :class:`hpo.protocols.Searcher`)."""

from searchers.random import RandomSearcher

__all__ = ["RandomSearcher"]
