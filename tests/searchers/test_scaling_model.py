"""The μP-aware scaling model: prior table, mean/kernel known answers, V6 recovery, failure
model, recommendation and past sweeps (algorithms.md §5.5-5.8, §5.10 V6)."""

import csv
import json
import math

import numpy as np
import pytest
import torch

import hpo
from benchmarks.scaling_synthetic import coverage, make_problem, sweep
from searchers.models.gp import torch_context
from searchers.models.scaling import build_scaling_gp, head_of
from searchers.models.scaling_failure import fit_failure
from searchers.models.scaling_prior import drift_prior, guess_role, prior_table
from searchers.scaling_data import Coords, load_sweep, scaling_data
from searchers.scaling_recommend import NotEnoughDataError, recommend


def test_prior_table_mup_versus_sp():
    assert drift_prior("lr", "width", "mup") == (0.0, 0.1)
    assert drift_prior("lr", "width", "sp") == (-1.0, 0.5)
    assert drift_prior("lr", "tokens", "mup") == (-0.32, 0.15)
    assert drift_prior("lr", "tokens", "mup", batch_policy="coscaled") == (0.3, 0.2)
    assert drift_prior("batch", "tokens", "sp") == (0.57, 0.2)
    assert drift_prior("lr", "depth", "mup", completep=True) == (0.0, 0.1)
    assert [guess_role(n) for n in ("lr", "learning_rate", "weight_decay", "init_std", "x")] \
        == ["lr", "lr", "wd", "init", "other"]


def _small_model(k=1):
    rng = np.random.default_rng(0)
    X = np.hstack([rng.uniform(-12, -4, (6, 1)), rng.choice([-3.0, -2.0], (6, k)),
                   np.zeros((6, 2))])
    y = rng.normal(size=6)
    prior = prior_table(X[:, :1], y, np.array([14.0]), ["lr"], ["width"] * k, "mup")
    return build_scaling_gp(X, y, 1, k, prior)


def test_mean_at_the_target_optimum_is_the_loss_level():
    model = _small_model()
    head = head_of(model)
    x = torch.cat([head.theta_star.detach(), torch.zeros(3, dtype=torch.float64)])[None]
    with torch.no_grad():
        assert float(head(x)) == pytest.approx(float(head.E + head.A + head.B), abs=1e-12)
    # the kernel shares the mean's Γ: moving Γ moves the aligned coordinates
    kernel = model.covar_module.base_kernel
    assert kernel._head[0] is head
    X = model.train_inputs[0]
    K = kernel.forward(X, X)
    assert torch.allclose(K, K.T) and torch.linalg.eigvalsh(K).min() > -1e-8
    assert torch.allclose(kernel.forward(X, X, diag=True), torch.diagonal(K))
    names = [n for n, *_ in model.named_priors()]
    assert sum("gamma_prior" in n for n in names) == 1  # Γ's prior is counted once


@pytest.fixture(scope="module", params=["mup", "sp"])
def fitted(request, tmp_path_factory):
    """A sweep written to CSV, loaded back (past sweeps in) and recommended on."""
    kind = request.param
    problem = make_problem(kind, 11)
    trials = sweep(problem, np.random.default_rng(12))
    path = tmp_path_factory.mktemp(kind) / "sweep.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, ["lr", "width", "loss", "cost"])
        writer.writeheader()
        for t in trials:
            writer.writerow({"lr": t.config["lr"], "width": t.scale["width"], "loss": t.loss,
                             "cost": t.cost})
    loaded = load_sweep(path, problem.space, problem.scaling)
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        rec = recommend(loaded, problem.space, problem.scaling, "loss", seed=0, starts=1)
    return problem, loaded, rec


def test_past_sweep_loads_into_trials(fitted):
    problem, loaded, _ = fitted
    assert len(loaded) == 4 * 5 and all(t.scale["width"] in (64, 128, 256, 512) for t in loaded)
    assert any(not math.isfinite(t.loss) for t in loaded)  # diverged runs kept as failures


def test_v6_drift_recovered_within_two_posterior_sd(fitted):
    problem, _, rec = fitted
    diag = rec.diagnostics
    gamma, sd = diag["gamma"][0][0], diag["gamma_sd"][0][0]
    assert abs(gamma - problem.gamma[0, 0]) <= 2 * sd
    assert sd < drift_prior("lr", "width", problem.kind)[1]  # the data were informative


def test_recommendation_verdicts_and_json(fitted):
    problem, _, rec = fitted
    out = rec.to_json()
    assert json.loads(json.dumps(out)) == out
    assert rec.interval[0] <= rec.predicted_loss <= rec.interval[1]
    assert abs(math.log2(rec.config["lr"]) - problem.theta_star[0]) < 1.0
    if problem.kind == "mup":
        assert rec.verdicts["lr"] == "transfers"
    else:
        assert rec.verdicts["lr"].startswith("drifts by x0.")
        assert 0.4 < rec.drifts[0].factor < 0.6
        assert rec.drifts[0].interval[1] < -0.5
    assert rec.n_failed > 0 and rec.p_fail <= 0.01


def test_failure_model_rises_above_the_optimum():
    delta = np.linspace(-4, 4, 40)
    failed = delta > 1.5
    model = fit_failure(delta, np.zeros((40, 1)), failed)
    p = model.probability(np.array([0.0, 1.0, 2.0, 3.0]), np.zeros((4, 1)))
    assert np.all(np.diff(p) > 0) and p[0] < 0.05 and p[-1] > 0.9


def test_bad_input_is_an_hpo_error():
    problem = make_problem("mup", 0)
    with pytest.raises(NotEnoughDataError):
        recommend([], problem.space, problem.scaling)
    with pytest.raises(hpo.HPOError, match="no column"):
        load_sweep([{"lr": 0.01, "loss": 1.0}], problem.space, problem.scaling)
    with pytest.raises(hpo.SpaceError, match="not on its ladder"):
        load_sweep([{"lr": 0.01, "width": 100, "loss": 1.0}], problem.space, problem.scaling)
    with pytest.raises(hpo.SpaceError, match="numeric"):
        Coords(hpo.SearchSpace([hpo.Categorical("act", ["a", "b"])]), None)


def test_scaling_data_splits_failures():
    problem = make_problem("sp", 1)
    coords = Coords(problem.space, problem.scaling)
    data = scaling_data(sweep(problem, np.random.default_rng(0)), coords)
    assert data.X.shape == (data.n, 1 + 1 + 2) and len(data.X_failed) > 0
    with torch_context(0, 1):
        assert np.all(np.isfinite(data.y))


@pytest.mark.benchmark
@pytest.mark.parametrize("kind", ["mup", "sp"])
def test_v6_coverage_of_fifty_replicates(kind):
    result = coverage(kind, 50)
    assert result["coverage_lr_width"] >= 0.9, result


def test_study_recommend_uses_the_installed_scaling_recommender():
    problem = make_problem("mup", 5)
    runs = sweep(problem, np.random.default_rng(6))

    class Replay(hpo.Scheduler):  # starts the recorded sweep, run by run
        def next_action(self, view):
            if view.next_trial_id >= len(runs):
                return None
            run = runs[view.next_trial_id]
            return hpo.Start(dict(run.config), None, scale=dict(run.scale))

        def on_result(self, trial, obs):
            return hpo.Verdict.cont()

    study = hpo.Study(problem.space, "loss", method=Replay(), seed=0, scaling=problem.scaling)
    while (ticket := study.ask()) is not None:
        study.tell(ticket.trial_id, {"loss": runs[ticket.trial_id].loss})
    with torch.random.fork_rng():
        torch.set_num_threads(1)
        rec = study.recommend(seed=0)
    assert set(rec.to_json()["config"]) >= {"lr"}
    with pytest.raises(hpo.SpaceError, match="scaling study"):
        hpo.Study(problem.space, "loss", seed=0).recommend()
