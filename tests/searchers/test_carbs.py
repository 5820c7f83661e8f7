"""CARBS-style search: algorithms.md §4.11 oracles, the searcher contract, studies and replay."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.stats import norm

import hpo
from hpo.testing import check_searcher_contract
from schedulers.carbs_method import CARBS
from searchers import carbs_acquisition
from searchers.carbs import CARBSSearcher, CarbsSettings
from searchers.carbs_acquisition import Data, evaluate
from searchers.carbs_space import CarbsParam, carbs_params
from searchers.models.carbs_models import (
    Hypers,
    MinMax,
    QuantileNormal,
    fixed_gp,
    log_expected_improvement,
    predict,
)
from searchers.models.gp import torch_context
from searchers.models.pareto import group_rows, pareto_groups

SPACE = hpo.SearchSpace([hpo.Float("lr", 1e-5, 1.0, log=True),
                         hpo.Int("width", 8, 1024, log=True), hpo.Float("x", 0.0, 1.0)])
FAST = CarbsSettings(candidates_per_dim=30)


@pytest.fixture(scope="module", autouse=True)
def _registered():
    """The entry point needs a reinstall (`pip install -e .`); register until then."""
    if "carbs" not in hpo.available_methods():
        hpo.register_method(CARBS)


def toy(config: dict) -> tuple[float, float]:
    """Loss and cost of a cost-aware toy: wider is better and dearer, lr* = 1e-3."""
    loss = 0.1 * (math.log10(config["lr"]) + 3) ** 2 + 3 / math.sqrt(config["width"]) \
        + (config["x"] - 0.3) ** 2
    return loss, float(config["width"])


def feed(searcher: CARBSSearcher, n: int, start: int = 0) -> None:
    for tid in range(start, start + n):
        config = searcher.suggest(tid)
        loss, cost = toy(config)
        obs = hpo.Observation(budget=1, metrics={"loss": loss}, loss=loss, cost=cost, time=0.0,
                              step=0)
        searcher.observe(hpo.Trial(tid, config, hpo.TrialStatus.RUNNING, (obs,)), obs)
        searcher.on_end(hpo.Trial(tid, config, hpo.TrialStatus.COMPLETED, (obs,)))


# -- §4.11.1 Pareto construction -----------------------------------------------------------
def test_pareto_groups_plain_and_conservative():
    # A (0, 1 at cost 1), B (0.6 single, cost 2), C (0.55, 0.75 at cost 3), D (0.8 single, 4)
    X = np.array([[0.0], [0.0], [1.0], [2.0], [2.0], [3.0]])
    values = np.array([0.0, 1.0, 0.6, 0.55, 0.75, 0.8])
    costs = np.array([1.0, 1.0, 2.0, 3.0, 3.0, 4.0])
    groups = group_rows(X, values, costs)
    assert [g.members for g in groups] == [(0, 1), (2,), (3, 4), (5,)]
    plain = pareto_groups(groups, costs, 0.2, conservative=False)
    conservative = pareto_groups(groups, costs, 0.2, conservative=True)
    assert [g.members for g in plain] == [(0, 1), (2,), (3, 4), (5,)]
    assert [g.members for g in conservative] == [(0, 1), (3, 4), (5,)]


def test_pareto_first_group_buckets_cheap_observations_and_prefers_resampled():
    X = np.array([[0.0], [1.0], [1.0], [2.0], [3.0], [4.0], [5.0], [6.0], [7.0], [8.0]])
    values = np.array([0.9, 0.5, 0.6, 0.1, 0.2, 0.3, 0.4, 0.5, 0.95, 0.99])
    costs = np.array([1.0, 1.1, 1.1, 5, 6, 7, 8, 9, 10, 11])
    groups = group_rows(X, values, costs)
    plain = pareto_groups(groups, costs, 0.2, conservative=False)
    assert plain[0].members == (0,)  # the best of the cheapest 20%
    conservative = pareto_groups(groups, costs, 0.2, conservative=True)
    assert conservative[0].members == (1, 2)  # only resampled groups below c_q are eligible
    assert [g.members for g in plain[1:]] == [(8,), (9,)]


# -- §4.11.2 space round trips ---------------------------------------------------------------
@pytest.mark.parametrize("param,values", [
    (CarbsParam("a", "linear", 0.0, scale=2.0), [-3.5, 0.0, 1e6]),
    (CarbsParam("b", "log", 1e-3), [1e-9, 3e-4, 7.0, 1e12]),
    (CarbsParam("c", "logit", 0.5, scale=0.5), [1e-6, 0.25, 0.999]),
    (CarbsParam("d", "log", 64, integer=True, low=1), [1, 7, 64, 100_000]),
    (CarbsParam("e", "linear", 16, scale=8, integer=True, step=8), [0, 8, 24, -64]),
    (CarbsParam("f", "log", 1.0, step=0.25, offset=0.0), [0.25, 1.5, 10.0]),
])
def test_basic_space_round_trips(param, values):
    exact = param.integer or param.step is not None  # grids round back exactly
    for v in values:
        expected = v if exact else pytest.approx(v, rel=1e-13)
        assert param.from_basic(param.to_basic(v)) == expected
        b = np.array([param.to_basic(v)])
        assert param.from_basic(param.round_basic(b)[0]) == expected
    if param.integer:
        assert isinstance(param.from_basic(0.123), int)


def test_derived_params_and_config_round_trip():
    space = hpo.SearchSpace([*SPACE.params, hpo.Int("k", 1, 9, step=2),
                             hpo.Float("p", 0.0, 1.0, step=0.1), hpo.Constant("c", "v")])
    params = {p.name: p for p in carbs_params(space)}
    assert params["lr"].kind == "log" and params["x"].kind == "linear"
    assert params["lr"].centre == pytest.approx(10 ** -2.5)
    assert params["k"].integer and params["k"].step == 2 and params["k"].scale == 8
    searcher = CARBSSearcher(space, seed=0)
    for config in space.sample(np.random.default_rng(0), 50):
        back = searcher.config_of(searcher.basic(config))
        assert back.keys() == config.keys()
        assert all(back[k] == config[k] for k in ("width", "k", "p", "c"))
        assert all(back[k] == pytest.approx(config[k], rel=1e-13) for k in ("lr", "x"))


def test_spec_overrides_and_errors():
    searcher = CARBSSearcher(SPACE, seed=0, spec=[{"name": "width", "centre": 16},
                                                  {"name": "lr", "scale": 2.0, "low": 1e-4}])
    params = {p.name: p for p in searcher.params}
    assert params["width"].centre == 16 and params["lr"].low == 1e-4
    with pytest.raises(hpo.MethodError, match="'nope'"):
        CARBSSearcher(SPACE, seed=0, spec=[{"name": "nope", "centre": 1.0}])
    with pytest.raises(hpo.MethodError, match="'colour'"):
        CARBSSearcher(hpo.SearchSpace([hpo.Categorical("colour", ["r", "g"])]), seed=0)
    with pytest.raises(hpo.MethodError, match="scale"):
        CarbsParam("a", "log", 1.0, scale=-1.0)
    with pytest.raises(hpo.MethodError, match="centre"):
        CarbsParam("a", "logit", 1.5)
    with pytest.raises(hpo.MethodError, match="search_radius"):
        CarbsSettings(search_radius=0.0)
    with pytest.raises(hpo.MethodError, match="outstanding"):
        CARBS(outstanding="median")


# -- §4.11.3 candidate weights and bounds -------------------------------------------------------
def test_candidate_weights_peak_at_origins_and_respect_bounds():
    searcher = CARBSSearcher(SPACE, seed=0)
    origins = np.array([searcher.centre, searcher.centre + 0.5])
    rng = np.random.default_rng(1)
    cands, log_w = searcher._candidates(origins, 400, rng)
    assert len(cands) == 400
    assert np.all(cands >= searcher.bounds[:, 0]) and np.all(cands <= searcher.bounds[:, 1])
    at_origin = searcher._candidates(origins[:1], 1, rng)  # the weight function itself
    dist = np.sqrt(((cands[:, None] - origins[None]) ** 2).sum(-1)).min(1)
    expected = norm.logpdf(dist, scale=searcher.settings.search_radius)
    np.testing.assert_allclose(log_w, expected, rtol=1e-12)
    assert np.all(log_w <= norm.logpdf(0.0, scale=0.3) + 1e-12) and at_origin[1].size == 1
    order = np.argsort(dist)
    assert np.all(np.diff(log_w[order]) <= 1e-12)  # decreasing with distance
    widths = [searcher.params[1].from_basic(b) for b in cands[:, 1]]
    assert all(8 <= w <= 1024 and isinstance(w, int) for w in widths)


# -- §4.11.4 matched-cost EI ------------------------------------------------------------------
def test_matched_cost_baseline_follows_the_pareto_gp():
    # basic coordinates: (log10 lr, log10 C), the cost C itself a searched dimension
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(-4, 0, 40), rng.uniform(0, 4, 40)])
    lr_star = -1.0 - 0.3 * X[:, 1]
    values = -(X[:, 0] - lr_star) ** 2 + 0.5 * X[:, 1]  # maximised: -loss
    costs = 10 ** X[:, 1]
    data = Data(X, values, costs, np.empty((0, 2)), np.empty((0, 2)), list(range(40)))
    groups = pareto_groups(group_rows(X, values, costs), costs, 0.2, True)
    settings = CarbsSettings(clamp_pareto_value=False)
    cands = np.column_stack([np.full(5, -2.0), np.linspace(0.2, 3.8, 5)])
    scores = evaluate(data, groups, cands, np.zeros(5), settings, np.random.default_rng(0), 0)
    quantile, scaler = QuantileNormal.fit(values), MinMax.fit(np.log(costs))
    members = [i for g in groups for i in g.members]
    sc = scaler.transform(np.log(costs))
    with torch_context(0, 1):
        pareto = fixed_gp(sc[members][:, None], quantile.transform(values)[members], Hypers(),
                          pareto=True)
        s_hat = np.clip(scaler.transform(np.log(scores.cost)), sc[members].min(),
                        sc[members].max())
        expected = predict(pareto, s_hat[:, None])[0]
    np.testing.assert_allclose(scores.baseline, expected, atol=1e-9)
    assert len(np.unique(np.round(scores.baseline, 6))) == 5  # cost-dependent baselines
    # identical (mu, sigma) against those baselines: EI ordered exactly as the baselines
    ei = log_expected_improvement(np.zeros(5), np.ones(5), scores.baseline, 1.0)
    assert np.array_equal(np.argsort(ei), np.argsort(-scores.baseline))
    # the random cost clamp only ever raises the baseline
    clamped = evaluate(data, groups, cands, np.zeros(5), CarbsSettings(),
                       np.random.default_rng(0), 0)
    assert np.all(clamped.baseline >= scores.baseline - 1e-12)
    assert clamped.threshold_cost is not None


def test_log_ei_matches_the_closed_form():
    mu = np.array([-40.0, -6.0, -2.0, 0.0, 1.0, 3.0])
    var = np.array([1.0, 0.5, 2.0, 1.0, 0.1, 1.0])
    sd = np.sqrt(var)
    z = (mu - 0.2 - 1.0) / sd
    with np.errstate(divide="ignore"):
        closed = np.log(sd * (norm.pdf(z) + z * norm.cdf(z)))
    got = log_expected_improvement(mu, var, np.full(6, 0.2), 1.0)
    np.testing.assert_allclose(got[1:], closed[1:], rtol=1e-9)
    assert np.isfinite(got[0]) and got[0] < got[1]


def test_fixed_gp_matches_botorch_posterior_and_quantile_round_trip():
    rng = np.random.default_rng(0)
    X, C = rng.normal(size=(30, 3)), rng.normal(size=(7, 3))
    y = np.sin(X[:, 0])
    with torch_context(0, 1):
        gp = fixed_gp(X, y, Hypers())
        mean, var = gp.predict(C)
        import torch
        post = gp.model.posterior(torch.as_tensor(C))
        np.testing.assert_allclose(mean, post.mean.detach().numpy().ravel(), atol=1e-10)
        np.testing.assert_allclose(var, post.variance.detach().numpy().ravel(), atol=1e-10)
    q = QuantileNormal.fit(y)
    np.testing.assert_allclose(q.inverse(q.transform(y)), y, atol=1e-9)
    assert np.all(np.diff(q.transform(np.sort(y))) >= 0)


# -- §4.11.6 parallel suggestions and resampling ------------------------------------------------
def test_outstanding_suggestions_are_pairwise_distinct():
    searcher = CARBSSearcher(SPACE, seed=3, settings=CarbsSettings(candidates_per_dim=30,
                                                                   resample_frequency=0))
    feed(searcher, 10)
    configs = [searcher.suggest(tid) for tid in range(10, 16)]
    assert all(searcher.decision_record()["kind"] == "model" for _ in configs[-1:])
    keys = {tuple(sorted(c.items())) for c in configs}
    assert len(keys) == len(configs)


def test_resample_repeats_an_observed_pareto_config():
    searcher = CARBSSearcher(SPACE, seed=0, settings=FAST)
    feed(searcher, 6)
    config = searcher.suggest(6)  # 6 results > (0 + 1) * 5
    assert searcher.decision_record()["kind"] == "resample"
    assert searcher.decision_record()["resamples"] == 1
    assert config in [r[3] for r in searcher._results.values()]
    assert searcher.suggest(7) != config or len(searcher._results) == 1


def test_max_suggestion_cost_caps_predicted_cost():
    searcher = CARBSSearcher(SPACE, seed=0, settings=CarbsSettings(
        candidates_per_dim=30, max_suggestion_cost=100.0, resample_frequency=0))
    feed(searcher, 12)
    for tid in range(12, 16):
        searcher.suggest(tid)
        record = searcher.decision_record()
        assert record["kind"] == "model"
        assert record["info"]["predicted_cost"] < 100.0


def test_failures_train_the_success_model():
    searcher = CARBSSearcher(SPACE, seed=0, settings=FAST)
    feed(searcher, 5)
    config = searcher.suggest(5)
    searcher.on_end(hpo.Trial(5, config, hpo.TrialStatus.FAILED))
    assert 5 in searcher._failures
    searcher.suggest(6)
    assert searcher.decision_record()["info"]["log_success"] <= 0.0


# -- contract, studies, replay ------------------------------------------------------------------
def test_searcher_contract():
    cheap = CarbsSettings(candidates_per_dim=10)
    check_searcher_contract(lambda space, seed: CARBSSearcher(space, seed=seed, settings=cheap),
                            SPACE)


def run_study(study: hpo.Study, n: int) -> list[dict]:
    configs = []
    for _ in range(n):
        ticket = study.ask()
        assert ticket is not None
        loss, cost = toy(ticket.config)
        study.tell(ticket.trial_id, {"loss": loss}, cost=cost)
        configs.append(ticket.config)
    return configs


def test_study_by_name_uses_reported_costs():
    study = hpo.Study(SPACE, "loss", method="carbs", seed=0)
    run_study(study, 12)
    searcher = study.scheduler.searcher
    assert sorted(r[2] for r in searcher._results.values()) == \
        sorted(float(t.config["width"]) for t in study.trials.values())
    kinds = [searcher.decision_record()["kind"]]
    assert kinds[0] in ("model", "resample")
    assert hpo.best_trial(study.trials.values()) is not None


def test_replay_restores_without_a_model(tmp_path, monkeypatch):
    method = CARBS(candidates_per_dim=30, spec=({"name": "width", "centre": 16},))
    uninterrupted = hpo.Study(SPACE, "loss", method=method, seed=5)
    run_study(uninterrupted, 14)
    journaled = hpo.Study(SPACE, "loss", method=method, seed=5, storage=tmp_path / "s")
    run_study(journaled, 14)
    del journaled

    def no_model(*args, **kwargs):
        raise AssertionError("replay must not score candidates")

    with monkeypatch.context() as patch:
        patch.setattr(carbs_acquisition, "evaluate", no_model)
        reopened = hpo.Study.open(tmp_path / "s")
    assert reopened.method == method
    for _ in range(3):
        a, b = uninterrupted.ask(), reopened.ask()
        assert a is not None and b is not None and a.config == b.config
        for study, ticket in ((uninterrupted, a), (reopened, b)):
            loss, cost = toy(ticket.config)
            study.tell(ticket.trial_id, {"loss": loss}, cost=cost)


def test_random_phase_samples_around_the_centre():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        searcher = CARBSSearcher(SPACE, seed=0, spec=[{"name": "width", "centre": 16}])
        widths = [searcher.suggest(t)["width"] for t in range(4)]
    assert all(searcher.params[1].to_basic(w) < math.log10(16) + 1.2 for w in widths)


def test_docstring_example():
    import doctest

    from schedulers import carbs_method
    result = doctest.testmod(carbs_method, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.slow
@pytest.mark.parametrize("fidelity", [None, hpo.Fidelity("epochs", 1, 9)],
                         ids=["plain", "fidelity"])
def test_scheduler_contract(fidelity):
    from hpo.testing import check_scheduler_contract
    check_scheduler_contract(CARBS(candidates_per_dim=20), SPACE, fidelity)
