"""Known-answer bracket tables (Li et al. 2018 Table 1; HpBandSter / DEHB) and float traps."""

import pytest

from hpo import MethodError
from schedulers.brackets import (
    async_bracket_probabilities,
    hyperband_brackets,
    max_halvings,
    rung_levels,
)


def table(r_min, r_max, eta, convention="li2018"):
    return [(b.s, list(b.counts), list(b.budgets))
            for b in hyperband_brackets(r_min, r_max, eta, convention=convention)]


def test_li2018_paper_table_r81_eta3():
    assert table(1, 81, 3) == [
        (4, [81, 27, 9, 3, 1], [1, 3, 9, 27, 81]),
        (3, [34, 11, 3, 1], [3, 9, 27, 81]),
        (2, [15, 5, 1], [9, 27, 81]),
        (1, [8, 2], [27, 81]),
        (0, [5], [81]),
    ]
    brackets = hyperband_brackets(1, 81, 3)
    assert sum(b.n_configs for b in brackets) == 143
    assert sum(b.total_budget(reuse=False) for b in brackets) == 1902
    assert sum(b.total_budget(reuse=True) for b in brackets) == 1581
    assert [b.total_budget(reuse=False) for b in brackets] == [405, 363, 351, 378, 405]
    for b in brackets:  # per-bracket spend within [0.8 B, 1.05 B], B = (s_max + 1) R
        assert 0.8 * 405 <= b.total_budget(reuse=False) <= 1.05 * 405


def test_hpbandster_table_r81_eta3():
    assert [c for _, c, _ in table(1, 81, 3, "hpbandster")] == \
        [[81, 27, 9, 3, 1], [27, 9, 3, 1], [9, 3, 1], [6, 2], [5]]
    brackets = hyperband_brackets(1, 81, 3, convention="hpbandster")
    assert sum(b.n_configs for b in brackets) == 128
    assert sum(b.total_budget(reuse=False) for b in brackets) == 1701


@pytest.mark.parametrize("r_min, r_max, eta, levels", [
    (1, 8, 2, [1, 2, 4, 8]),
    (1, 64, 4, [1, 4, 16, 64]),
    (1, 1000, 10, [1, 10, 100, 1000]),          # int(log(1000)/log(10)) == 2 would drop a rung
    (1, 243, 3, [1, 3, 9, 27, 81, 243]),        # int(log(243)/log(3)) == 4 would drop a rung
    (1, 100, 3, [1, 4, 11, 33, 100]),           # non-power of eta: spaced down from R, rounded
    (1, 52, 3, [2, 6, 17, 52]),                 # LCBench epochs: the reference DEHB's, rounded
    (2, 81, 3, [3, 9, 27, 81]),                 # first rung in [r_min, eta * r_min)
    (5, 5, 3, [5]),
])
def test_rung_ladders(r_min, r_max, eta, levels):
    assert rung_levels(r_min, r_max, eta) == levels
    assert max_halvings(r_min, r_max, eta) == len(levels) - 1


def test_small_tables_both_conventions():
    assert table(1, 8, 2) == [(3, [8, 4, 2, 1], [1, 2, 4, 8]), (2, [6, 3, 1], [2, 4, 8]),
                              (1, [4, 2], [4, 8]), (0, [4], [8])]
    assert [c for _, c, _ in table(1, 8, 2, "hpbandster")] == [[8, 4, 2, 1], [4, 2, 1], [4, 2],
                                                               [4]]
    assert table(1, 64, 4) == [(3, [64, 16, 4, 1], [1, 4, 16, 64]), (2, [22, 5, 1], [4, 16, 64]),
                               (1, [8, 2], [16, 64]), (0, [4], [64])]


def test_non_power_of_eta_tables():
    """R=100, eta=3: the paper's counts on the down-spaced ladder 1, 4, 11, 33, 100."""
    assert table(1, 100, 3) == [
        (4, [81, 27, 9, 3, 1], [1, 4, 11, 33, 100]),
        (3, [34, 11, 3, 1], [4, 11, 33, 100]),
        (2, [15, 5, 1], [11, 33, 100]),
        (1, [8, 2], [33, 100]),
        (0, [5], [100]),
    ]
    assert [c for _, c, _ in table(1, 100, 3, "hpbandster")] == \
        [[81, 27, 9, 3, 1], [27, 9, 3, 1], [9, 3, 1], [6, 2], [5]]


def test_float_fidelity_and_float_eta():
    assert rung_levels(0.1, 0.9, 3, integer=False) == pytest.approx([0.1, 0.3, 0.9])
    assert rung_levels(1, 40, 2.5) == [1, 3, 6, 16, 40]  # 1.024, 2.56, 6.4, 16, 40 rounded


def test_async_bracket_probabilities():
    p = async_bracket_probabilities([1, 3, 9, 27, 81], 5)
    assert p == pytest.approx([0.569, 0.237, 0.105, 0.053, 0.035], abs=5e-4)
    assert async_bracket_probabilities([1, 3, 9, 27, 81], 1) == [1.0]
    with pytest.raises(MethodError, match=r"brackets must be in \[1, 5\]"):
        async_bracket_probabilities([1, 3, 9, 27, 81], 6)


@pytest.mark.parametrize("eta", [1, 1.5, 0, -3, float("nan"), True])
def test_invalid_eta(eta):
    with pytest.raises(MethodError, match="eta"):
        rung_levels(1, 81, eta)


def test_invalid_convention():
    with pytest.raises(MethodError, match="unknown bracket convention 'ray'"):
        hyperband_brackets(1, 81, 3, convention="ray")
