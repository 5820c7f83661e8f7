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
    assert metrics.on_grid(traj, grid).tolist() == [1.0, 0.5, 0.2, 0.2]
    random = np.array([1.0, 0.8, 0.5, 0.4])
    fast = np.array([0.6, 0.4, 0.3, 0.2])
    assert metrics.speedup(fast, random, grid) == pytest.approx(8.0 / 2.0)
    assert metrics.speedup(np.ones(4), random, grid) is None
    ranks = metrics.mean_ranks({"a": [0.1, 0.2], "b": [0.3, 0.2]})
    assert ranks == {"a": 1.25, "b": 1.75}
    mean, ci = metrics.mean_ci(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert mean.tolist() == [2.0, 3.0] and ci[0] == pytest.approx(1.96 * math.sqrt(2) / math.sqrt(2))
