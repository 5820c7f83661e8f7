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
from dataclasses import dataclass, fields
from typing import Any

from hpo import Fidelity, Method, MethodError, Objective, Scheduler, SearchSpace
from hpo.rng import derive_seed
from schedulers.fifo import FIFOScheduler
from searchers.carbs import CARBSSearcher, CarbsSettings
from searchers.carbs_space import CarbsParam


@dataclass(frozen=True)
class CARBS(CarbsSettings, Method):
    """CARBS-style cost-aware Pareto search: the options of
    :class:`~searchers.carbs_settings.CarbsSettings` (validated by it), plus ``spec``: partial
    :class:`~searchers.carbs_space.CarbsParam` mappings by name, e.g. a cheap search centre
    ``({"name": "width", "centre": 64},)``."""

    spec: tuple[Mapping[str, Any], ...] = ()
    name = "carbs"

    def __post_init__(self) -> None:
        super().__post_init__()
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
        return CarbsSettings(**{f.name: getattr(self, f.name) for f in fields(CarbsSettings)})

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        searcher = CARBSSearcher(space, seed=derive_seed(seed, "searcher"),
                                 settings=self.settings(), spec=self.spec)
        return FIFOScheduler(searcher, fidelity)
