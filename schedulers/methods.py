"""The built-in named methods (registered through the ``scaletune.methods`` entry points).

Each is a frozen dataclass of typed options; ``hpo.tune(..., method="asha")`` uses the defaults,
``method=ASHA(eta=4, variant="stopping")`` overrides them. The options are recorded in the
journal, so ``Study.open(path)`` rebuilds the same scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from hpo.core.methods import Method
from hpo.core.protocols import Scheduler
from hpo.core.types import Fidelity, Objective
from hpo.errors import MethodError
from hpo.rng import derive_seed
from hpo.space.search_space import SearchSpace
from schedulers.asha import VARIANTS, ASHAScheduler
from schedulers.brackets import CONVENTIONS, check_eta, hyperband_brackets
from schedulers.dehb import MODES, DEHBScheduler, population_sizes
from schedulers.fifo import FIFOScheduler
from schedulers.hyperband import HyperbandScheduler
from schedulers.successive_halving import SuccessiveHalvingScheduler
from searchers.de import DESettings, DifferentialEvolution
from searchers.random import RandomSearcher

#: largest DEHB population (configs at one rung level): 3**10 is R / r_min = 59,049 at eta=3
MAX_DEHB_POPULATION = 100_000


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
        fidelity = self.required(fidelity)
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
        fidelity = self.required(fidelity)
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
        if isinstance(self.brackets, bool) or not isinstance(self.brackets, int) \
                or self.brackets < 1:
            raise MethodError(f"ASHA brackets must be an int >= 1, got {self.brackets!r}")

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        fidelity = self.required(fidelity)
        return ASHAScheduler(_random(space, seed), fidelity, eta=self.eta, variant=self.variant,
                             brackets=self.brackets, seed=derive_seed(seed, "brackets"))


@dataclass(frozen=True)
class DEHB(DESettings, Method):
    """DEHB (Awad et al. 2021): Hyperband brackets + differential evolution per fidelity; the
    DE options are :class:`~searchers.de.DESettings`'s."""

    eta: float = 3
    mode: str = "async"
    iterations: int | None = None
    name = "dehb"
    needs_fidelity = True

    def __post_init__(self) -> None:
        check_eta(self.eta)
        super().__post_init__()
        if self.mode not in MODES:
            raise MethodError(f"DEHB mode must be one of {list(MODES)}, got {self.mode!r}")

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        fidelity = self.required(fidelity)
        brackets = hyperband_brackets(fidelity.min, fidelity.max, self.eta,
                                      convention="hpbandster", integer=fidelity.integer)
        sizes = population_sizes(brackets)
        if max(sizes.values()) > MAX_DEHB_POPULATION:
            raise MethodError(
                f"DEHB over {fidelity.name} {fidelity.min}..{fidelity.max} with eta={self.eta} "
                f"needs a population of {max(sizes.values())} configs at the lowest rung (at "
                f"most {MAX_DEHB_POPULATION}): raise the fidelity min budget or eta")
        de = DifferentialEvolution(space, sizes, seed=derive_seed(seed, "searcher"),
                                   settings=_de_settings(self))
        return DEHBScheduler(de, fidelity, eta=self.eta, mode=self.mode,
                             iterations=self.iterations)


@dataclass(frozen=True)
class DE(DESettings, Method):
    """Differential evolution (single population) on the full budget: DEHB without fidelity
    (the DE options are :class:`~searchers.de.DESettings`'s)."""

    population: int = 20
    name = "de"

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.population, bool) or self.population < 5:
            raise MethodError(f"population must be an int >= 5, got {self.population!r}")

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        budget = fidelity.max if fidelity is not None else None
        de = DifferentialEvolution(space, {budget: self.population},
                                   seed=derive_seed(seed, "searcher"),
                                   settings=_de_settings(self))
        return FIFOScheduler(de, fidelity)


def _de_settings(recipe: DESettings) -> DESettings:
    return DESettings(**{f.name: getattr(recipe, f.name) for f in fields(DESettings)})
