"""DE operators on fixed vectors, repair, parent pools, selection."""

import itertools
import math

import numpy as np
import pytest

from hpo import Categorical, Float, Int, MethodError, SearchSpace
from hpo.core.trial import Observation, Trial, TrialStatus
from searchers.de import (
    POOL_NEEDED,
    DESettings,
    DifferentialEvolution,
    crossover,
    mutate,
    parse_strategy,
    repair,
)

POOL = np.array([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5], [0.9, 0.1, 0.4], [0.3, 0.7, 0.2],
                 [0.6, 0.4, 0.8]])
TARGET = np.array([0.4, 0.4, 0.4])
BEST = np.array([0.2, 0.3, 0.35])

FORMULAS = {
    "rand1": lambda r, F: r[0] + F * (r[1] - r[2]),
    "rand2": lambda r, F: r[0] + F * (r[1] - r[2]) + F * (r[3] - r[4]),
    "best1": lambda r, F: BEST + F * (r[0] - r[1]),
    "best2": lambda r, F: BEST + F * (r[0] - r[1]) + F * (r[2] - r[3]),
    "currenttobest1": lambda r, F: TARGET + F * (BEST - TARGET) + F * (r[0] - r[1]),
    "randtobest1": lambda r, F: r[0] + F * (BEST - r[0]) + F * (r[1] - r[2]),
    "rand2dir": lambda r, F: r[0] + F * (r[0] - r[1] - r[2]) / 2,
}


@pytest.mark.parametrize("mutation", sorted(POOL_NEEDED))
def test_mutation_formulas_on_fixed_vectors(mutation):
    need = POOL_NEEDED[mutation]
    picks = np.random.default_rng(7).choice(len(POOL), size=need, replace=False)
    expected = FORMULAS[mutation](POOL[picks], 0.5)
    got = mutate(mutation, POOL, TARGET, BEST, 0.5, np.random.default_rng(7))
    assert np.allclose(got, expected)
    with pytest.raises(ValueError, match=f"needs {need} parents"):
        mutate(mutation, POOL[: need - 1], TARGET, BEST, 0.5, np.random.default_rng(0))


@pytest.mark.parametrize("kind", ["bin", "exp"])
def test_crossover_extremes(kind):
    rng = np.random.default_rng(0)
    target, mutant = np.zeros(8), np.ones(8)
    for _ in range(50):
        assert np.array_equal(crossover(kind, target, mutant, 1.0, rng), mutant)
        child = crossover(kind, target, mutant, 0.0, rng)
        assert child.sum() == 1  # exactly one coordinate from the mutant
        middle = crossover(kind, target, mutant, 0.5, rng)
        assert 1 <= middle.sum() <= 8


def test_exponential_crossover_copies_a_cyclic_run():
    rng = np.random.default_rng(3)
    for _ in range(100):
        child = crossover("exp", np.zeros(6), np.ones(6), 0.6, rng)
        ones = np.flatnonzero(child)
        runs = sum(1 for i in range(6) if child[i] and not child[i - 1])
        assert runs == 1 or len(ones) == 6  # one contiguous (cyclic) block


def test_repair():
    rng = np.random.default_rng(0)
    v = np.array([-0.2, 0.5, 1.3, 0.9])
    fixed = repair(v, "random", rng)
    assert np.all((fixed >= 0) & (fixed <= 1))
    assert fixed[1] == 0.5 and fixed[3] == 0.9  # only violating coordinates change
    assert repair(v, "clip", rng).tolist() == [0.0, 0.5, 1.0, 0.9]


def test_strategy_names():
    assert parse_strategy("currenttobest1_exp") == ("currenttobest1", "exp")
    with pytest.raises(MethodError, match="unknown DE strategy 'rand1_uniform'"):
        parse_strategy("rand1_uniform")


def _obs(loss, budget):
    return Observation(budget=budget, metrics={"loss": loss}, loss=loss, cost=0.0, time=0.0,
                       step=0)


def test_parents_come_from_the_best_of_the_lower_population():
    space = SearchSpace([Float(f"x{i}", 0.0, 1.0) for i in range(3)])
    de = DifferentialEvolution(space, {1: 5, 3: 2}, seed=0,
                               settings=DESettings(crossover_prob=1.0, mutation_factor=0.5,
                                                   boundary="clip"))
    low = de.populations[1]
    for slot, (vec, fit) in enumerate(zip(POOL, [0.9, 0.1, 0.5, 0.2, 0.3])):
        low.vectors[slot], low.fitness[slot] = vec, fit
    best3 = POOL[[1, 3, 4]]  # fitness 0.1, 0.2, 0.3
    allowed = [np.clip(r[0] + 0.5 * (r[1] - r[2]), 0, 1)
               for r in itertools.permutations(best3)]
    for tid in range(20):
        child = space.encode(de.evolve(tid, 3, 1, pool_size=3))
        assert any(np.allclose(child, a, atol=1e-9) for a in allowed)


def test_selection_keeps_the_better_and_never_worsens():
    space = SearchSpace([Float("x", 0.0, 1.0), Int("n", 1, 5), Categorical("c", ["a", "b"])])
    de = DifferentialEvolution(space, {None: 6}, seed=1)
    best = []
    for tid in range(200):
        config = de.suggest(tid)
        loss = (config["x"] - 0.3) ** 2 + 0.01 * config["n"] + (config["c"] == "b") * 0.1
        if tid % 17 == 16:
            loss = math.nan
        obs = _obs(math.inf if math.isnan(loss) else loss, 1)
        de.observe(Trial(tid, config, TrialStatus.RUNNING, (obs,), None), obs)
        best.append(de.populations[None].best_loss())
    assert all(b2 <= b1 for b1, b2 in zip(best, best[1:]))
    assert best[-1] < 0.02  # DE found the basin


def test_vectors_decode_to_valid_configs():
    space = SearchSpace([Float("lr", 1e-5, 1.0, log=True), Int("w", 16, 1024, log=True),
                         Categorical("act", ["relu", "gelu", "tanh"])])
    de = DifferentialEvolution(space, {None: 5}, seed=2)
    for tid in range(100):
        config = de.suggest(tid)
        assert space.validate(config) == config
        assert space.decode(de.vector_of(tid)) == config
        obs = _obs(float(tid % 7), 1)
        de.observe(Trial(tid, config, TrialStatus.RUNNING, (obs,), None), obs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(mutation_factor=0), "mutation_factor"), (dict(crossover_prob=1.5), "crossover_prob"),
    (dict(boundary="wrap"), "boundary"), (dict(target_rule="best"), "target_rule")])
def test_invalid_options(kwargs, match):
    with pytest.raises(MethodError, match=match):
        DESettings(**kwargs)
