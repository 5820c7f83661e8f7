"""The problem contract (every problem), plus loaders checked against known values."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks.data import DataMissingError, data_path, data_root
from benchmarks.problems import UnknownProblem, all_names, get_problem

HAS_DATA = data_root() is not None and (data_root() / "yahpo").exists()
needs_data = pytest.mark.skipif(not HAS_DATA, reason="benchmark data not available")

CHEAP = ["branin", "hartmann", "curves"]
DATA = ["lcbench/167168", "rbv2_xgboost/12", "iaml_glmnet/40981", "fcnet/protein_structure",
        "lcdb/6"]


def check_contract(name):
    problem = get_problem(name)
    rng = np.random.default_rng(0)
    configs = problem.space.sample(rng, 20)
    fid = problem.fidelity
    budgets = [fid.min, (fid.min + fid.max) / 2, fid.max] if fid else [1]
    if fid and fid.integer:
        budgets = [round(b) for b in budgets]
    for config in configs:
        losses, costs = problem.curve(config, budgets, seed=0)
        assert losses.shape == (len(budgets),) and costs.shape == (len(budgets),)
        assert np.all(np.isfinite(costs)) and np.all(costs >= 0)
        if problem.resumable:
            assert np.all(np.diff(costs) >= -1e-12), "cumulative cost must not decrease"
        true = problem.true_loss(config)
        if math.isfinite(problem.optimum):
            assert true >= problem.optimum - 1e-6, f"{config} beats the optimum"
            assert math.isfinite(problem.regret(true))
    again = problem.curve(configs[0], budgets, seed=0)[0]
    assert np.allclose(again, problem.curve(configs[0], budgets, seed=0)[0])


@pytest.mark.parametrize("name", CHEAP)
def test_synthetic_problem_contract(name):
    check_contract(name)


@needs_data
@pytest.mark.parametrize("name", DATA)
def test_data_problem_contract(name):
    check_contract(name)


def test_known_optima():
    branin, hartmann = get_problem("branin"), get_problem("hartmann")
    assert branin.true_loss({"x1": math.pi, "x2": 2.275}) == pytest.approx(0.397887, abs=1e-5)
    best = dict(zip([f"x{i}" for i in range(1, 7)],
                    [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]))
    assert hartmann.true_loss(best) == pytest.approx(-3.32237, abs=1e-4)
    curves = get_problem("curves")
    assert curves.true_loss({"lr": 8.313927e-3, "momentum": 0.9, "width": 256,
                             "dropout": 0.2}) == pytest.approx(curves.optimum, abs=1e-6)
    for config in curves.space.sample(np.random.default_rng(1), 500):
        assert curves.true_loss(config) >= curves.optimum


def test_learning_curves_cross():
    """The hard case: at a few epochs a high learning rate looks better, at the end worse."""
    p = get_problem("curves")
    fast = {"lr": 0.3, "momentum": 0.9, "width": 256, "dropout": 0.2}
    slow = {"lr": 3e-3, "momentum": 0.9, "width": 256, "dropout": 0.2}
    early = [p._mean(c, np.array([3.0]))[0] for c in (fast, slow)]
    late = [p.true_loss(c) for c in (fast, slow)]
    assert early[0] < early[1] and late[0] > late[1]


@needs_data
def test_yahpo_loader_matches_yahpo_gym():
    """Golden outputs computed with yahpo-gym 1.0.2 on the same data (max rel. diff 0)."""
    from benchmarks.yahpo import YahpoSurrogate, load_scenario

    golden = json.loads((Path(__file__).parent / "yahpo_golden.json").read_text())
    for case in golden:
        surrogate = YahpoSurrogate(case["scenario"])
        got = surrogate.predict([case["config"]])[0]
        for name, expected in case["yahpo_gym_1_0_2"].items():
            value = got[load_scenario(case["scenario"]).targets.index(name)]
            assert value == pytest.approx(expected, rel=1e-6, abs=1e-6), (case, name)


def test_unknown_problem_lists_valid_names():
    with pytest.raises(UnknownProblem, match="valid problems: .*branin"):
        get_problem("mnist")
    assert "lcbench/167168" in all_names()


def test_missing_data_names_the_source(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALETUNE_DATA", str(tmp_path))
    with pytest.raises(DataMissingError, match="github.com/slds-lmu/yahpo_data"):
        data_path("yahpo", "lcbench", "model.onnx")
