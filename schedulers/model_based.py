"""The GP-based named methods: ``bo``, ``mobster`` and ``hyperband-bo``.

They reuse the existing schedulers with a :class:`~searchers.bo.GPSearcher` instead of random
search:

* ``bo``: FIFO (every trial to the full budget) + GP BO (Sobol design, then qLogNEI with the
  running trials pending). No random fraction (``random_fraction=0``).
* ``mobster`` (Klein et al. 2020): ASHA promotion + a joint GP over (config, budget), the
  budget a log-scaled input column, acquisition at ``r_acq``; ``random_fraction=0.1`` of the
  model decisions are uniform random configs.
* ``hyperband-bo``: Hyperband brackets + BOHB's rule (a GP on the largest rung level with at
  least ``2 (dim + 1)`` results); ``random_fraction=1/3`` as BOHB.

The GP options are the fields of :class:`~searchers.bo.GPSettings`; all are journaled with the
method, so a reopened study rebuilds the same searcher. ``threads`` pins torch's thread count
during model work (bitwise reproducibility needs the same count on resume).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from hpo import Fidelity, Method, Objective, Scheduler, SearchSpace
from hpo.rng import derive_seed
from schedulers.asha import ASHAScheduler
from schedulers.brackets import check_eta, rung_levels
from schedulers.fifo import FIFOScheduler
from schedulers.hyperband import HyperbandScheduler
from schedulers.methods import _check_convention
from searchers.bo import GPSearcher, GPSettings


@dataclass(frozen=True)
class _GPOptions(GPSettings, Method):
    """The GP knobs shared by the three recipes: the fields of
    :class:`~searchers.bo.GPSettings` (validated by it), journaled with the method."""

    def settings(self) -> GPSettings:
        return GPSettings(**{f.name: getattr(self, f.name) for f in fields(GPSettings)})

    def searcher(self, space: SearchSpace, fidelity: Fidelity | None, seed: int, mode: str,
                 levels: list[float] | None = None) -> GPSearcher:
        return GPSearcher(space, seed=derive_seed(seed, "searcher"), settings=self.settings(),
                          mode=mode, fidelity=fidelity, levels=levels or ())


@dataclass(frozen=True)
class BO(_GPOptions):
    """GP Bayesian optimisation (qLogNEI, pending trials); every trial to the full budget."""

    name = "bo"

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        return FIFOScheduler(self.searcher(space, fidelity, seed, "single"), fidelity)


@dataclass(frozen=True)
class MOBSTER(_GPOptions):
    """ASHA promotion with new configs from a joint (config, budget) GP."""

    eta: float = 3
    brackets: int = 1
    random_fraction: float = 0.1
    name = "mobster"
    needs_fidelity = True

    def __post_init__(self) -> None:
        check_eta(self.eta)
        super().__post_init__()

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        fidelity = self.required(fidelity)
        levels = rung_levels(fidelity.min, fidelity.max, self.eta, integer=fidelity.integer)
        return ASHAScheduler(self.searcher(space, fidelity, seed, "joint", levels), fidelity,
                             eta=self.eta, variant="promotion", brackets=self.brackets,
                             seed=derive_seed(seed, "brackets"))


@dataclass(frozen=True)
class HyperbandBO(_GPOptions):
    """Hyperband with new configs from a GP at the highest rung with enough results (BOHB)."""

    eta: float = 3
    convention: str = "li2018"
    iterations: int | None = None
    random_fraction: float = 1 / 3
    name = "hyperband-bo"
    needs_fidelity = True

    def __post_init__(self) -> None:
        check_eta(self.eta)
        _check_convention(self.convention)
        super().__post_init__()

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        fidelity = self.required(fidelity)
        levels = rung_levels(fidelity.min, fidelity.max, self.eta, integer=fidelity.integer)
        return HyperbandScheduler(self.searcher(space, fidelity, seed, "rung", levels),
                                  fidelity, eta=self.eta, convention=self.convention,
                                  iterations=self.iterations)
