"""The built-in named methods (registered through the ``scaletune.methods`` entry points).

Each is a frozen dataclass of typed options; ``hpo.tune(..., method="asha")`` uses the defaults,
``method=ASHA(eta=4, variant="stopping")`` overrides them. The options are recorded in the
journal, so ``Study.open(path)`` rebuilds the same scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass

from hpo.errors import MethodError
from hpo.methods import Method
from hpo.protocols import Scheduler
from hpo.rng import derive_seed
from hpo.space import SearchSpace
from hpo.types import Fidelity, Objective
from schedulers.asha import VARIANTS, ASHAScheduler
from schedulers.brackets import CONVENTIONS, check_eta
from schedulers.fifo import FIFOScheduler
from schedulers.hyperband import HyperbandScheduler
from schedulers.successive_halving import SuccessiveHalvingScheduler
from searchers.random import RandomSearcher


def _random(space: SearchSpace, seed: int) -> RandomSearcher:
    return RandomSearcher(space, seed=derive_seed(seed, "searcher"))


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise MethodError(f"unknown bracket convention {convention!r}; choose one of "
                          f"{list(CONVENTIONS)}")


@dataclass(frozen=True)
class RandomSearch(Method):
    """Random search; every trial runs to the maximum budget (FIFO)."""

    name = "random"

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        return FIFOScheduler(_random(space, seed), fidelity)


@dataclass(frozen=True)
class SuccessiveHalving(Method):
    """Synchronous successive halving with random configs (repeated brackets)."""

    eta: float = 3
    halvings: int | None = None
    convention: str = "li2018"
    name = "sh"
    needs_fidelity = True

    def __post_init__(self) -> None:
        check_eta(self.eta)
        _check_convention(self.convention)

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        self.check(fidelity)
        return SuccessiveHalvingScheduler(_random(space, seed), fidelity, eta=self.eta,
                                          halvings=self.halvings, convention=self.convention)


@dataclass(frozen=True)
class Hyperband(Method):
    """Hyperband (Li et al. 2018) with random configs."""

    eta: float = 3
    convention: str = "li2018"
    iterations: int | None = None
    name = "hyperband"
    needs_fidelity = True

    def __post_init__(self) -> None:
        check_eta(self.eta)
        _check_convention(self.convention)

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        self.check(fidelity)
        return HyperbandScheduler(_random(space, seed), fidelity, eta=self.eta,
                                  convention=self.convention, iterations=self.iterations)


@dataclass(frozen=True)
class ASHA(Method):
    """Asynchronous successive halving (Li et al. 2020) with random configs."""

    eta: float = 3
    variant: str = "promotion"
    brackets: int = 1
    name = "asha"
    needs_fidelity = True

    def __post_init__(self) -> None:
        check_eta(self.eta)
        if self.variant not in VARIANTS:
            raise MethodError(f"unknown ASHA variant {self.variant!r}; choose one of "
                              f"{list(VARIANTS)}")

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        self.check(fidelity)
        return ASHAScheduler(_random(space, seed), fidelity, eta=self.eta, variant=self.variant,
                             brackets=self.brackets, seed=derive_seed(seed, "brackets"))
