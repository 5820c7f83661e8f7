"""Issue 12's cost-aware benchmark: the ``@cost`` problems and the Pareto metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.cost_report import summarise
from benchmarks.pareto_metrics import (
    best_at,
    front,
    hypervolume,
    matched_cost_regret,
    unit_cost,
)
from benchmarks.problems import UnknownProblem, get_problem
from benchmarks.runner import Task, run_one
from tests.benchmarks.test_problems import needs_data


def test_front_keeps_only_non_dominated_points_sorted_by_cost():
    u = [0.5, 0.1, 0.3, 0.9, 0.3, 0.7]
    # (0.3, 0.5) is dominated by (0.3, 0.4); (0.7, 0.3) by (0.5, 0.2)
    r = [0.2, 0.8, 0.5, 0.1, 0.4, 0.3]
    assert front(u, r).tolist() == [[0.1, 0.8], [0.3, 0.4], [0.5, 0.2], [0.9, 0.1]]


def test_hypervolume_of_known_fronts():
    assert hypervolume([0.0], [0.0]) == pytest.approx(1.0)
    assert hypervolume([0.5], [0.5]) == pytest.approx(0.25)
    # two steps: [0.2, 0.6) x (1 - 0.5) + [0.6, 1] x (1 - 0.1)
    assert hypervolume([0.2, 0.6], [0.5, 0.1]) == pytest.approx(0.4 * 0.5 + 0.4 * 0.9)
    # regrets outside [0, 1] are clipped; a point worse than the reference adds nothing
    assert hypervolume([0.5, 0.1], [-3.0, 7.0]) == pytest.approx(0.5)
    assert hypervolume([], []) == 0.0
    # adding a dominated point never changes it; adding a better one increases it
    base = hypervolume([0.2, 0.6], [0.5, 0.1])
    assert hypervolume([0.2, 0.6, 0.7], [0.5, 0.1, 0.4]) == pytest.approx(base)
    assert hypervolume([0.2, 0.6, 0.1], [0.5, 0.1, 0.3]) > base


def test_unit_cost_and_matched_cost_regret():
    u = unit_cost([1.0, 10.0, 100.0, 1e4], 1.0, 100.0)
    assert u.tolist() == pytest.approx([0.0, 0.5, 1.0, 1.0])
    with pytest.raises(ValueError):
        unit_cost([1.0], 0.0, 1.0)
    known = front([0.1, 0.5, 0.9], [0.6, 0.3, 0.0])
    assert best_at([0.1, 0.5], [0.6, 0.3], 0.2) == pytest.approx(0.6)
    assert math.isinf(best_at([0.5], [0.3], 0.2))
    # a run with only expensive points has regret 1 - best-known at the cheap level
    assert matched_cost_regret([0.8], [0.2], known, levels=(0.25, 0.5, 1.0)) == \
        pytest.approx([0.4, 0.7, 0.2])
    # the best known front itself has zero matched-cost regret everywhere
    assert matched_cost_regret(known[:, 0], known[:, 1], known) == pytest.approx([0, 0, 0, 0])


def test_unknown_cost_variant_is_a_clear_error():
    with pytest.raises(UnknownProblem, match="no cost-aware variant of 'branin'"):
        get_problem("branin@cost")


@pytest.fixture(scope="module")
def digits_data():
    """Load the digits data once, before the global-RNG guard (importing scikit-learn's
    datasets draws from Python's global ``random``; our code does not)."""
    from benchmarks.training import _data

    return _data()


def test_digits_cost_is_flops_and_grows_with_width_and_epochs(digits_data):
    problem = get_problem("digits@cost")
    assert problem.fidelity is None and problem.cost_unit == "FLOPs"
    assert {"hidden", "epochs", "batch_size"} <= set(problem.space.names)
    base = {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4, "hidden": 32, "batch_size": 64}
    costs = [problem.cost({**base, "epochs": e, "hidden": h}) for e, h in
             ((1, 32), (2, 32), (2, 64))]
    assert costs[1] == pytest.approx(2 * costs[0]) and costs[2] > 1.9 * costs[1]
    losses, observed = problem.curve({**base, "epochs": 2}, [1], 0)
    assert observed[0] == pytest.approx(costs[1])
    assert problem.true_loss({**base, "epochs": 2}) == pytest.approx(losses[0])


@needs_data
def test_lcbench_cost_variant_searches_epochs_and_costs_the_surrogate_time():
    problem = get_problem("lcbench/189873@cost")
    inner = get_problem("lcbench/189873")
    assert problem.space.names[-1] == "epoch" and "max_units" in problem.space.names
    config = problem.space.sample(np.random.default_rng(0))
    losses, costs = problem.curve(config, [1], 0)
    inner_config = {k: v for k, v in config.items() if k != "epoch"}
    want_loss, want_cost = inner.curve(inner_config, [config["epoch"]], 0)
    assert losses[0] == pytest.approx(want_loss[-1]) and costs[0] == pytest.approx(want_cost[-1])
    ref_costs, ref_losses = problem.reference_points(500)
    assert ref_costs.min() > 0 and ref_costs.max() > 10 * ref_costs.min()
    assert np.isfinite(ref_losses).all()


@needs_data
def test_runs_record_their_evaluations_and_the_report_scores_them():
    runs = [run_one(Task("cost", "lcbench/189873@cost", m, 0, 2, 8, 8)) for m in
            ("random", "carbs")]
    for run in runs:
        assert "error" not in run, run.get("traceback")
        assert len(run["evaluations"]) == run["n_trials"] >= 8
        assert all(c > 0 for c, _ in run["evaluations"])
    summary = summarise(runs)["lcbench/189873@cost"]
    for method in ("random", "carbs"):
        row = summary["methods"][method]
        assert 0 < row["hypervolume"]["mean"] < 1
        assert all(0 <= row[f"regret@{lv}"]["mean"] <= 1 for lv in (0.25, 0.5, 0.75, 1.0))
    # the best known front is at least as good as every run's at every level
    best = np.array(summary["best_known_front"])
    assert (np.diff(best[:, 1]) < 0).all()


def test_steps_variant_reports_along_the_epochs_and_knows_each_true_loss(digits_data):
    problem = get_problem("digits@cost-steps")
    assert problem.fidelity is not None and problem.own_budget_axis == "epochs"
    assert problem.report_name == "digits@cost"
    config = {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4, "hidden": 32,
              "batch_size": 64, "epochs": 3}
    losses, costs = problem.segment(("run", 0), config, [1, 2, 3], 0)
    assert costs.tolist() == pytest.approx([problem.cost(config, b) for b in (1, 2, 3)])
    # the true loss is the loss at the config's own epochs (no retraining: it was seen)
    assert problem.true_loss(config) == pytest.approx(losses[-1])
    other = {**config, "epochs": 2}
    assert problem.true_loss(other) == pytest.approx(losses[1])  # trained on demand
    problem.end_run("run")
