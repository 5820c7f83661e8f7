"""Differential evolution on the unit cube, with one population per fidelity (for DEHB).

Operators (Storn & Price 1997; the DEHB paper's defaults, Awad et al. IJCAI 2021):

=================  ==========================================================  ============
mutation           mutant ``v``                                                 pool needed
=================  ==========================================================  ============
``rand1``          ``r1 + F (r2 - r3)``                                         3
``rand2``          ``r1 + F (r2 - r3) + F (r4 - r5)``                           5
``best1``          ``best + F (r1 - r2)``                                       2
``best2``          ``best + F (r1 - r2) + F (r3 - r4)``                         4
``currenttobest1`` ``target + F (best - target) + F (r1 - r2)``                 2
``randtobest1``    ``r1 + F (best - r1) + F (r2 - r3)``                         3
``rand2dir``       ``r1 + F (r1 - r2 - r3) / 2`` (as the reference implements)  3
=================  ==========================================================  ============

Crossover ``bin`` takes each coordinate from the mutant with probability ``CR`` and forces one
random coordinate from it; ``exp`` copies a cyclic run of mutant coordinates starting at a
random one while ``U < CR``. Coordinates outside ``[0, 1]`` are resampled uniformly
(``boundary="random"``, default) or clipped. Selection is one-to-one: a child replaces its
target slot iff its loss is ``<=`` the target's (plateaus keep drifting).

Integer, log-scale and categorical parameters live in the space's unit-cube encoding (a
categorical with ``k`` values owns intervals of width ``1/k``; note that DE then treats
neighbouring category indices as similar).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from hpo.core.protocols import Searcher
from hpo.core.trial import Observation, Trial
from hpo.core.types import Config
from hpo.errors import MethodError
from hpo.space.search_space import SearchSpace

POOL_NEEDED = {"rand1": 3, "rand2": 5, "best1": 2, "best2": 4, "currenttobest1": 2,
               "randtobest1": 3, "rand2dir": 3}
CROSSOVERS = ("bin", "exp")
BOUNDARIES = ("random", "clip")
TARGET_RULES = ("immediate", "deferred", "random", "worst")


def parse_strategy(strategy: str) -> tuple[str, str]:
    """``"rand1_bin"`` -> ``("rand1", "bin")``, with a clear error for anything else."""
    mutation, _, cross = strategy.rpartition("_") if isinstance(strategy, str) else ("", "", "")
    if mutation not in POOL_NEEDED or cross not in CROSSOVERS:
        valid = [f"{m}_{c}" for m in POOL_NEEDED for c in CROSSOVERS]
        raise MethodError(f"unknown DE strategy {strategy!r}; valid: {valid}")
    return mutation, cross


def mutate(mutation: str, pool: np.ndarray, target: np.ndarray, best: np.ndarray | None,
           factor: float, rng: np.random.Generator) -> np.ndarray:
    """A mutant from ``POOL_NEEDED[mutation]`` distinct rows of ``pool`` (target excluded)."""
    need = POOL_NEEDED[mutation]
    if len(pool) < need:
        raise ValueError(f"{mutation} needs {need} parents, the pool has {len(pool)}")
    r = pool[rng.choice(len(pool), size=need, replace=False)]
    best = r[0] if best is None else best
    if mutation == "rand1":
        return r[0] + factor * (r[1] - r[2])
    if mutation == "rand2":
        return r[0] + factor * (r[1] - r[2]) + factor * (r[3] - r[4])
    if mutation == "best1":
        return best + factor * (r[0] - r[1])
    if mutation == "best2":
        return best + factor * (r[0] - r[1]) + factor * (r[2] - r[3])
    if mutation == "currenttobest1":
        return target + factor * (best - target) + factor * (r[0] - r[1])
    if mutation == "randtobest1":
        return r[0] + factor * (best - r[0]) + factor * (r[1] - r[2])
    return r[0] + factor * (r[0] - r[1] - r[2]) / 2  # rand2dir


def crossover(kind: str, target: np.ndarray, mutant: np.ndarray, rate: float,
              rng: np.random.Generator) -> np.ndarray:
    """Binomial or exponential crossover; the child always takes >= 1 mutant coordinate."""
    d = len(target)
    if kind == "bin":
        take = rng.random(d) < rate
        take[rng.integers(d)] = True
    else:
        take = np.zeros(d, dtype=bool)
        j, n = int(rng.integers(d)), 0
        while True:
            take[(j + n) % d] = True
            n += 1
            if n >= d or rng.random() >= rate:
                break
    return np.where(take, mutant, target)


def repair(vector: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Bring coordinates outside ``[0, 1]`` back: resample them uniformly, or clip."""
    bad = (vector < 0) | (vector > 1)
    if not bad.any():
        return vector
    if kind == "clip":
        return np.clip(vector, 0.0, 1.0)
    out = vector.copy()
    out[bad] = rng.random(int(bad.sum()))
    return out


@dataclass
class Population:
    """A fixed-size DE population; unfilled slots have no vector yet."""

    size: int
    vectors: list[np.ndarray | None] = field(default_factory=list)
    fitness: list[float] = field(default_factory=list)
    trial_ids: list[int | None] = field(default_factory=list)
    counter: int = 0

    def __post_init__(self) -> None:
        self.vectors = [None] * self.size
        self.fitness = [math.inf] * self.size
        self.trial_ids = [None] * self.size

    def filled(self) -> list[int]:
        return [i for i, v in enumerate(self.vectors) if v is not None]

    def ranked(self) -> list[int]:
        """Filled slots, best first (ties by slot)."""
        return sorted(self.filled(), key=lambda i: (self.fitness[i], i))

    def best_loss(self) -> float:
        return min(self.fitness)


@dataclass(frozen=True)
class DESettings:
    """The DE operators' options (shared by the ``dehb`` and ``de`` recipes), validated here.

    Attributes:
        mutation_factor: ``F`` in (0, 2]. crossover_prob: ``CR`` in [0, 1].
        strategy: ``"<mutation>_<bin|exp>"`` (see :func:`parse_strategy`).
        boundary: ``"random"`` (resample an out-of-cube coordinate) or ``"clip"``.
        target_rule: how a child's target slot is chosen and replaced: ``"immediate"``
            (round robin, a winning child replaces its target at once), ``"deferred"`` (round
            robin, replacements applied when the population's outstanding children are all
            back: generational), ``"random"`` or ``"worst"``.
    """

    mutation_factor: float = 0.5
    crossover_prob: float = 0.5
    strategy: str = "rand1_bin"
    boundary: str = "random"
    target_rule: str = "immediate"

    def __post_init__(self) -> None:
        parse_strategy(self.strategy)
        if not _number(self.mutation_factor) or not 0 < self.mutation_factor <= 2:
            raise MethodError(f"mutation_factor must be in (0, 2], got {self.mutation_factor!r}")
        if not _number(self.crossover_prob) or not 0 <= self.crossover_prob <= 1:
            raise MethodError(f"crossover_prob must be in [0, 1], got {self.crossover_prob!r}")
        if self.boundary not in BOUNDARIES:
            raise MethodError(f"boundary must be one of {list(BOUNDARIES)}, got "
                              f"{self.boundary!r}")
        if self.target_rule not in TARGET_RULES:
            raise MethodError(f"target_rule must be one of {list(TARGET_RULES)}, got "
                              f"{self.target_rule!r}")


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class DifferentialEvolution(Searcher):
    """DE over the unit cube with one population per fidelity level.

    Used two ways: as a plain searcher (``suggest`` evolves the population of the requested
    budget from itself; one population when there is no fidelity), and by the DEHB scheduler,
    which chooses the parent pool (``evolve``) and promotions (``place``).

    Args:
        space: the search space.
        sizes: population size per budget (``{None: n}`` without a fidelity).
        seed: seed of the searcher's generator.
        settings: the operators' options (:class:`DESettings`).
    """

    def __init__(self, space: SearchSpace, sizes: Mapping[float | None, int] | Mapping[float, int],
                 *, seed: int, settings: DESettings = DESettings()) -> None:
        self.mutation, self.cross = parse_strategy(settings.strategy)
        self.space, self.settings = space, settings
        self.factor, self.rate = settings.mutation_factor, settings.crossover_prob
        self.boundary, self.target_rule = settings.boundary, settings.target_rule
        self.populations = {b: Population(n) for b, n in sizes.items()}
        self._rng = np.random.default_rng(seed)
        self._pending: dict[int, tuple[float | None, int, np.ndarray]] = {}
        self._deferred: dict[float | None, list[tuple[int, np.ndarray, float, int]]] = {}
        self._vectors: dict[int, np.ndarray] = {}  # every trial's unit-cube vector
        self.incumbent: tuple[float, np.ndarray] | None = None

    # -- proposals ----------------------------------------------------------------------
    def _target(self, budget: float | None) -> int:
        pop = self.populations[budget]
        if self.target_rule == "random":
            return int(self._rng.integers(pop.size))
        if self.target_rule == "worst" and pop.filled():
            empty = [i for i, v in enumerate(pop.vectors) if v is None]
            return empty[0] if empty else max(pop.filled(), key=lambda i: (pop.fitness[i], i))
        slot = pop.counter % pop.size
        pop.counter += 1
        return slot

    def _register(self, trial_id: int, budget: float | None, slot: int,
                  vector: np.ndarray) -> Config:
        self._pending[trial_id] = (budget, slot, vector)
        self._vectors[trial_id] = vector
        return self.space.decode(vector)

    def sample(self, trial_id: int, budget: float | None) -> Config:
        """A uniform random member for the population of ``budget`` (initial design)."""
        return self._register(trial_id, budget, self._target(budget),
                              self._rng.random(self.space.dim))

    def place(self, trial_id: int, budget: float | None, vector: np.ndarray) -> None:
        """Promotion: ``vector`` (a trial resumed to ``budget``) enters the population there.

        It takes an empty slot while there is one (always accepted, as the reference's slots
        of infinite fitness); once the population is full it competes for the next target
        slot like a child, so a population's best member is never overwritten by a worse one.
        """
        pop = self.populations[budget]
        reserved = {slot for b, slot, _ in self._pending.values() if b == budget}
        empty = [i for i, v in enumerate(pop.vectors) if v is None and i not in reserved]
        slot = empty[0] if empty else self._target(budget)
        self._pending[trial_id] = (budget, slot, vector)

    def promotion_candidates(self, low: float | None, high: float | None,
                             n: int) -> list[tuple[np.ndarray, int]]:
        """The best ``n`` evaluated members of ``low``'s population whose vectors are not in
        ``high``'s population yet, as ``(vector, trial id)`` (DEHB's first iteration)."""
        source, target = self.populations[low], self.populations[high]
        present: list[np.ndarray] = [v for v in target.vectors if v is not None]
        out = []
        for slot in source.ranked():
            vector, member = source.vectors[slot], source.trial_ids[slot]
            if vector is None or member is None or not math.isfinite(source.fitness[slot]):
                continue
            if any(v is vector or np.array_equal(v, vector) for v in present):
                continue
            out.append((vector, member))
            if len(out) == n:
                break
        return out

    def place_new(self, trial_id: int, budget: float | None, vector: np.ndarray) -> Config:
        """Promote a population member as a new trial ``trial_id`` (retrained at ``budget``)."""
        self._vectors[trial_id] = vector
        self.place(trial_id, budget, vector)
        return self.space.decode(vector)

    def insert(self, trial_id: int, budget: float | None, vector: np.ndarray,
               loss: float) -> None:
        """Promotion whose result at ``budget`` is already known (it reported past it)."""
        self.place(trial_id, budget, vector)
        pending = self._pending.pop(trial_id)
        self._select(pending[0], pending[1], vector, loss, trial_id)

    def evolve(self, trial_id: int, budget: float | None, pool_budget: float | None,
               pool_size: int | None = None) -> Config:
        """A DE child for the population of ``budget`` with parents from ``pool_budget``'s
        best ``pool_size`` members (topped up from the global population, then at random)."""
        slot = self._target(budget)
        pop = self.populations[budget]
        target = pop.vectors[slot]
        if target is None:  # lazily filled population: a random target of infinite fitness
            target = self._rng.random(self.space.dim)
            pop.vectors[slot] = target
        source = self.populations[pool_budget]
        ranked = source.ranked()
        members = ranked[:pool_size] if pool_size else ranked
        pool: list[np.ndarray] = [v for v in (source.vectors[i] for i in members)
                                  if v is not None and v is not target]
        need = POOL_NEEDED[self.mutation]
        if len(pool) < need:
            pool += self._global_members(exclude=pool + [target], count=need - len(pool))
        while len(pool) < need:
            pool.append(self._rng.random(self.space.dim))
        best = self.incumbent[1] if self.incumbent is not None else None
        mutant = mutate(self.mutation, np.array(pool), target, best, self.factor, self._rng)
        child = repair(crossover(self.cross, target, mutant, self.rate, self._rng),
                       self.boundary, self._rng)
        return self._register(trial_id, budget, slot, child)

    def _global_members(self, exclude: Sequence[np.ndarray], count: int) -> list[np.ndarray]:
        ids = {id(v) for v in exclude}
        members = [v for pop in self.populations.values() for v in pop.vectors
                   if v is not None and id(v) not in ids]
        if not members:
            return []
        picks = self._rng.choice(len(members), size=min(count, len(members)), replace=False)
        return [members[i] for i in picks]

    def suggest(self, trial_id: int, *, budget: float | None = None) -> Config:
        key = budget if budget in self.populations else next(iter(self.populations))
        pop = self.populations[key]
        if len(pop.filled()) < pop.size and pop.counter < pop.size:
            return self.sample(trial_id, key)
        return self.evolve(trial_id, key, key)

    def vector_of(self, trial_id: int) -> np.ndarray:
        """The unit-cube vector of a trial this searcher proposed."""
        return self._vectors[trial_id]

    # -- selection ----------------------------------------------------------------------
    def observe(self, trial: Trial, obs: Observation) -> None:
        pending = self._pending.get(trial.id)
        if pending is None:
            return
        budget, slot, vector = pending
        if budget is not None and obs.budget < budget:
            return
        del self._pending[trial.id]
        self._select(budget, slot, vector, obs.loss, trial.id)

    def on_end(self, trial: Trial) -> None:
        pending = self._pending.pop(trial.id, None)
        if pending is not None:  # failed before its budget: the worst result
            self._select(pending[0], pending[1], pending[2], math.inf, trial.id)

    def _select(self, budget: float | None, slot: int, vector: np.ndarray, loss: float,
                trial_id: int) -> None:
        if self.incumbent is None or loss < self.incumbent[0]:
            self.incumbent = (loss, vector)
        if self.target_rule == "deferred":
            self._deferred.setdefault(budget, []).append((slot, vector, loss, trial_id))
            if not any(p[0] == budget for p in self._pending.values()):
                for args in self._deferred.pop(budget):
                    self._replace(budget, *args)
            return
        self._replace(budget, slot, vector, loss, trial_id)

    def _replace(self, budget: float | None, slot: int, vector: np.ndarray, loss: float,
                 trial_id: int) -> None:
        pop = self.populations[budget]
        if pop.vectors[slot] is None or loss <= pop.fitness[slot]:
            pop.vectors[slot], pop.fitness[slot], pop.trial_ids[slot] = vector, loss, trial_id
