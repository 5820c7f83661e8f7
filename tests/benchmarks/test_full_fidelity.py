"""Issue 10's suite: full-fidelity problems, the model-based methods and the new peers."""

import numpy as np
import pytest

from benchmarks.problems import FULL_FIDELITY, FullFidelity, UnknownProblem, get_problem
from benchmarks.runner import Task, run_one


@pytest.mark.parametrize("name", ["branin", "hartmann"])
def test_full_fidelity_variant_is_the_problem_at_its_maximum_budget(name):
    inner, full = get_problem(name), get_problem(f"{name}@full")
    assert full.fidelity is None and full.name == f"{name}@full"
    assert (full.optimum, full.reference) == (inner.optimum, inner.reference)
    config = inner.space.sample(np.random.default_rng(0), 1)[0]
    losses, costs = full.curve(config, [1], seed=4)
    at_max, cost_max = inner.curve(config, [inner.fidelity.max], seed=4)
    assert losses.tolist() == at_max.tolist() and costs.tolist() == cost_max.tolist()
    assert full.true_loss(config) == inner.true_loss(config)
    assert full.report_budgets(0, 1) == [1]


def test_only_multi_fidelity_problems_have_a_full_variant():
    class Flat:
        name, fidelity = "flat", None

    with pytest.raises(UnknownProblem, match="'flat' has no fidelity"):
        FullFidelity(Flat())  # type: ignore[arg-type]
    with pytest.raises(UnknownProblem, match="valid problems"):
        get_problem("nowhere@full")


def test_full_variants_are_listed_and_in_the_suites():
    from benchmarks.problems import all_names
    from benchmarks.suites import SINGLE_FIDELITY, get_suite

    names = all_names()
    assert all(f"{n}@full" in names for n in FULL_FIDELITY)
    standard, single = get_suite("standard"), get_suite("single")
    assert set(SINGLE_FIDELITY) <= set(standard.problems)
    assert single.problems == SINGLE_FIDELITY and single.single_budget == 30
    for method in ("bo", "mobster", "hyperband-bo", "optuna-gp", "optuna-tpe", "smac-hpo",
                   "synetune-mobster", "synetune-hypertune"):
        assert method in standard.methods
    assert set(single.methods) == {"random", "bo", "optuna-gp", "optuna-tpe", "smac-hpo"}


def test_every_suite_method_is_registered():
    from benchmarks.methods import registry
    from benchmarks.suites import SUITES

    known = registry()
    for suite in SUITES.values():
        assert set(suite.methods) <= set(known), suite.name


def test_single_budget_override():
    from benchmarks.suites import get_suite

    suite = get_suite("standard").with_overrides(budget=100, single_budget=100)
    assert (suite.budget, suite.single_budget) == (100, 100)
    assert get_suite("standard").with_overrides().single_budget == 100


def test_bo_runs_on_a_full_fidelity_problem_and_asha_is_skipped():
    bo = run_one(Task("t", "branin@full", "bo", 0, 2, 3, 12))
    assert "error" not in bo, bo.get("traceback")
    assert bo["max_budget"] == 12 and bo["n_trials"] >= 12
    assert bo["optimum"] == get_problem("branin").optimum
    assert run_one(Task("t", "branin@full", "asha", 0, 2, 3, 12))["skipped"]


@pytest.mark.parametrize("method", ["mobster", "hyperband-bo"])
def test_model_based_schedulers_run_in_the_simulator(method):
    record = run_one(Task("t", "branin", method, 1, 2, 4, 10))
    assert "error" not in record, record.get("traceback")
    assert record["n_trials"] > 4 and 4 * 81 <= record["spent"] <= 6 * 81  # 2 finish late


def test_the_runner_tells_the_method_its_budget(monkeypatch):
    from benchmarks import methods

    seen = {}
    real = methods.registry

    def spy():
        known = real()
        original = known["random"].start

        def start(problem, seed):
            seen["evaluations"] = known["random"].evaluations
            return original(problem, seed)

        known["random"].start = start
        return known

    monkeypatch.setattr("benchmarks.runner.registry", spy)
    run_one(Task("t", "branin@full", "random", 0, 1, 3, 7))
    assert seen["evaluations"] == 7
    run_one(Task("t", "branin", "random", 0, 1, 3, 7))
    assert seen["evaluations"] == 3
