"""The ``carbs`` method: FIFO (each trial to its full budget) with the CARBS searcher.

Example:
    >>> import hpo
    >>> from schedulers.carbs_method import CARBS
    >>> space = hpo.SearchSpace([hpo.Float("lr", 1e-4, 1.0, log=True)])
    >>> study = hpo.Study(space, "loss", method=CARBS(spec=({"name": "lr", "centre": 1e-3},)),
    ...                   seed=0)
    >>> 1e-4 <= study.ask().config["lr"] <= 1.0
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpo import Fidelity, Method, MethodError, Objective, Scheduler, SearchSpace
from hpo.rng import derive_seed
from schedulers.fifo import FIFOScheduler
from searchers.carbs import CARBSSearcher, CarbsSettings
from searchers.carbs_space import CarbsParam


@dataclass(frozen=True)
class CARBS(Method):
    """CARBS-style cost-aware Pareto search (the options of
    :class:`~searchers.carbs.CarbsSettings`, plus ``spec``: partial
    :class:`~searchers.carbs_space.CarbsParam` mappings by name, e.g. a cheap search centre
    ``({"name": "width", "centre": 64},)``)."""

    num_random_samples: int = 4
    search_radius: float = 0.3
    exploration_bias: float = 1.0
    candidates_per_dim: int = 100
    resample_frequency: int = 5
    max_suggestion_cost: float | None = None
    min_pareto_cost_fraction: float = 0.2
    conservative: bool = True
    clamp_pareto_value: bool = True
    outstanding: str = "thompson"
    noise: float = 0.01
    threads: int = 1
    spec: tuple[Mapping[str, Any], ...] = ()
    name = "carbs"

    def __post_init__(self) -> None:
        self.settings()
        if isinstance(self.spec, (str, bytes, Mapping)) or not isinstance(self.spec,
                                                                          (list, tuple)):
            raise MethodError(f"CARBS spec must be a list of parameter mappings, got "
                              f"{self.spec!r}")
        known = set(CarbsParam.__dataclass_fields__)
        for item in self.spec:
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) \
                    or set(item) - known:
                raise MethodError(f"CARBS spec entry {item!r} must be a mapping with a 'name' "
                                  f"and fields among {sorted(known)}")
        object.__setattr__(self, "spec", tuple(dict(item) for item in self.spec))

    def settings(self) -> CarbsSettings:
        return CarbsSettings(
            num_random_samples=self.num_random_samples, search_radius=self.search_radius,
            exploration_bias=self.exploration_bias, candidates_per_dim=self.candidates_per_dim,
            resample_frequency=self.resample_frequency,
            max_suggestion_cost=self.max_suggestion_cost,
            min_pareto_cost_fraction=self.min_pareto_cost_fraction,
            conservative=self.conservative, clamp_pareto_value=self.clamp_pareto_value,
            outstanding=self.outstanding, noise=self.noise, threads=self.threads)

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        searcher = CARBSSearcher(space, seed=derive_seed(seed, "searcher"),
                                 settings=self.settings(), spec=self.spec)
        return FIFOScheduler(searcher, fidelity)
