import math

import numpy as np
import pytest

from benchmarks import metrics
from benchmarks.methods import get_methods
from benchmarks.problems import get_problem
from benchmarks.simulator import simulate
from hpo import MethodError, Study


@pytest.mark.parametrize("method", ["random", "hyperband", "asha", "asha-stop"])
def test_simulation_is_deterministic_and_within_budget(method):
    problem = get_problem("curves")
    bench = get_methods([method])[0]
    runs = [simulate(bench.start(problem, 3), problem, workers=4, max_budget=10 * 81, seed=3)
            for _ in range(2)]
    assert runs[0].trajectory == runs[1].trajectory
    assert 10 * 81 <= runs[0].spent <= 10 * 81 + 4 * 81  # running segments finish
    losses = [row[2] for row in runs[0].trajectory]
    assert losses == sorted(losses, reverse=True) or len(set(losses)) == len(losses)
    assert all(t1 <= t2 for (t1, _, _), (t2, _, _) in zip(runs[0].trajectory,
                                                          runs[0].trajectory[1:]))


def test_one_worker_simulation_equals_the_inline_loop():
    """The simulator with one worker makes exactly the decisions of the sequential loop."""
    import hpo

    problem = get_problem("hartmann")
    sim_study = Study(problem.space, "loss", method="hyperband", fidelity=problem.fidelity,
                      seed=4)
    simulate(sim_study, problem, workers=1, max_budget=5 * 81, seed=4)

    def objective(trial):
        start = int(trial.resume_from)
        budgets = list(range(start + 1, int(trial.budget) + 1))
        losses, _ = problem.curve(trial.config, budgets, 4)
        for b, loss in zip(budgets, losses):
            if trial.report({"loss": float(loss)}, budget=b).should_stop:
                return

    loop_study = Study(problem.space, "loss", method="hyperband", fidelity=problem.fidelity,
                       seed=4)
    hpo.run(loop_study, objective, limits=hpo.Limits(max_budget=sim_study.budget_used))
    sim = [(t.id, t.config, t.status, [o.budget for o in t.observations])
           for t in sim_study.trials.values()]
    loop = [(t.id, t.config, t.status, [o.budget for o in t.observations])
            for t in loop_study.trials.values()]
    assert loop[:len(sim)] == sim


def test_paused_trials_keep_their_progress():
    problem = get_problem("curves")
    study = Study(problem.space, "loss", method="asha", fidelity=problem.fidelity, seed=0)
    rec = simulate(study, problem, workers=2, max_budget=20 * 81, seed=0)
    resumed = [t for t in study.trials.values() if t.budget > 1]
    assert resumed
    for trial in resumed:
        assert [o.budget for o in trial.observations] == list(range(1, int(trial.budget) + 1))
    assert math.isclose(rec.spent, sum(t.budget for t in study.trials.values()))


def test_non_resumable_problems_charge_retraining():
    problem = get_problem("curves")
    problem_copy = type(problem).__new__(type(problem))
    problem_copy.__dict__.update(problem.__dict__)
    problem_copy.resumable = False
    study = Study(problem.space, "loss", method="asha", fidelity=problem.fidelity, seed=0)
    rec = simulate(study, problem_copy, workers=1, max_budget=10 * 81, seed=0)
    assert rec.spent > sum(t.budget for t in study.trials.values())


def test_unknown_method_lists_valid_names():
    with pytest.raises(MethodError, match="valid: .*asha"):
        get_methods(["hyperopt"])


def test_metrics():
    grid = np.array([1.0, 2.0, 4.0, 8.0])
    traj = [(0.0, 1.5, 0.5), (0.0, 3.0, 0.2), (0.0, 7.9, 0.3)]
    assert metrics.on_grid(traj, grid).tolist() == [1.0, 0.5, 0.2, 0.3]  # latest incumbent
    random = np.array([1.0, 0.8, 0.5, 0.4])
    fast = np.array([0.6, 0.4, 0.3, 0.2])
    assert metrics.speedup(fast, random, grid) == pytest.approx(8.0 / 2.0)
    assert metrics.speedup(np.ones(4), random, grid) is None
    ranks = metrics.mean_ranks({"a": [0.1, 0.2], "b": [0.3, 0.2]})
    assert ranks == {"a": 1.25, "b": 1.75}
    mean, ci = metrics.mean_ci(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert mean.tolist() == [2.0, 3.0]
    assert ci[0] == pytest.approx(1.96 * math.sqrt(2) / math.sqrt(2))


def _non_resumable(name):
    problem = get_problem(name)
    copy = type(problem).__new__(type(problem))
    copy.__dict__.update(problem.__dict__)
    copy.resumable = False
    return copy


def test_stopping_methods_report_at_their_rungs_on_non_resumable_problems():
    """A trainsize-like fidelity: a stopping trial re-trains at each rung and reports there,
    each rung charged its full from-scratch cost and resource (item 23)."""
    problem = _non_resumable("curves")
    bench = get_methods(["asha-stop"])[0]
    levels = bench.report_levels(problem)
    assert levels == [1, 3, 9, 27]
    study = bench.start(problem, 0)
    rec = simulate(study, problem, workers=1, max_budget=10 * 81, seed=0,
                   report_levels=levels)
    reported = [[o.budget for o in t.observations] for t in study.trials.values()]
    assert all(b == (levels + [81])[:len(b)] for b in reported)
    assert any(len(b) == 1 for b in reported) and any(b[-1] == 81 for b in reported)
    assert rec.spent == sum(sum(b) for b in reported)  # every report is a full retraining
    cost = sum(float(problem.curve(t.config, [o.budget], 0)[1][0])
               for t in study.trials.values() for o in t.observations)
    assert rec.sim_time == pytest.approx(cost)  # one worker: the clock is the total cost


def test_promotion_methods_still_report_only_at_their_target():
    problem = _non_resumable("curves")
    bench = get_methods(["asha"])[0]
    assert bench.report_levels(problem) is None
    study = bench.start(problem, 0)
    simulate(study, problem, workers=2, max_budget=10 * 81, seed=0)
    assert all(o.budget in (1, 3, 9, 27, 81) for t in study.trials.values()
               for o in t.observations)


@pytest.mark.parametrize("method", ["asha-stop", "ray-asha"])
def test_stopping_methods_stop_early_on_training_set_size(method):
    """On LCDB (fidelity = training-set size) stopping methods no longer degrade to their
    base sampler: trials are stopped at low rungs."""
    from tests.benchmarks.test_problems import HAS_DATA

    if not HAS_DATA:
        pytest.skip("benchmark data not available")
    problem = get_problem("lcdb/6")
    bench = get_methods([method])[0]
    study = bench.start(problem, 0)
    simulate(study, problem, workers=4, max_budget=5 * problem.max_budget, seed=0,
             report_levels=bench.report_levels(problem))
    finals = [t.observations[-1].budget for t in study.trials.values() if t.observations]
    assert sum(b < problem.max_budget for b in finals) > len(finals) / 2


def test_geometric_levels():
    from benchmarks.bench_method import geometric_levels
    from hpo import Fidelity

    fraction = Fidelity("s", 0.05, 1.0, integer=False)
    assert geometric_levels(fraction) == pytest.approx([0.05, 0.15, 0.45])
    assert geometric_levels(Fidelity("n", 16, 500)) == [16, 48, 144, 432]
    assert geometric_levels(Fidelity("e", 1, 81)) == [1, 3, 9, 27]
