import numpy as np
import pytest

from hpo import Categorical, Constant, Float, Int, InvalidConfigError, Ordinal, SearchSpace
from hpo.testing import check_searcher_contract
from searchers import RandomSearcher

SPACE = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("layers", 1, 4),
                     Categorical("act", ["relu", "gelu"]), Ordinal("bs", [32, 64, 128]),
                     Constant("seed", 1)])


def test_random_searcher_contract():
    check_searcher_contract(lambda space, seed: RandomSearcher(space, seed=seed), SPACE)


def test_initial_configs_first_then_random():
    first = {"lr": 1e-3, "layers": 2, "act": "gelu", "bs": 64, "seed": 1}
    searcher = RandomSearcher(SPACE, seed=0, initial_configs=[first])
    assert searcher.suggest(0) == first
    assert searcher.suggest(1) != first
    with pytest.raises(InvalidConfigError, match="'layers': value 9"):
        RandomSearcher(SPACE, seed=0, initial_configs=[{**first, "layers": 9}])


def test_random_searcher_covers_the_space():
    searcher = RandomSearcher(SPACE, seed=0)
    configs = [searcher.suggest(i) for i in range(2000)]
    assert {c["layers"] for c in configs} == {1, 2, 3, 4}
    assert {c["act"] for c in configs} == {"relu", "gelu"}
    logs = np.log10([c["lr"] for c in configs])
    assert logs.min() < -3.9 and logs.max() > -1.1
