"""Shared test configuration.

* ``--runslow`` runs tests marked ``slow`` (statistical and long simulations).
* Every test fails if it changed the global ``random``, ``numpy.random`` or ``torch`` RNG state:
  scaletune must draw only from generators it owns.
"""

from __future__ import annotations

import random
import sys

import numpy as np
import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")
    parser.addoption("--runbench", action="store_true", default=False,
                     help="run benchmark-grade statistical tests (many replicates; minutes "
                          "each; their figures are also produced by the benchmark scripts)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_bench = pytest.mark.skip(reason="benchmark-grade: run with --runbench")
    skip_slow = pytest.mark.skip(reason="slow: run with --runslow")
    for item in items:
        if "benchmark" in item.keywords and not config.getoption("--runbench"):
            item.add_marker(skip_bench)
        elif "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)


@pytest.fixture(autouse=True)
def global_rng_untouched():
    """Fail a test that draws from (or reseeds) a global RNG."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    torch_state = sys.modules["torch"].random.get_rng_state() if "torch" in sys.modules else None
    yield
    if torch_state is not None:
        assert sys.modules["torch"].random.get_rng_state().equal(torch_state), \
            "the global torch RNG state changed"
    after = np.random.get_state()
    assert random.getstate() == py_state, "the global `random` state changed"
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) \
        and after[2:] == np_state[2:], "the global numpy.random state changed"
