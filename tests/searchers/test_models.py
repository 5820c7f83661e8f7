"""The GP layer: encoding, training data rules, model building, fitting and calibration."""

import json
import math

import numpy as np
import pytest
import torch

from hpo import Categorical, Condition, Constant, Float, Int, Ordinal, SearchSpace
from searchers.models import (
    INACTIVE_NUMERIC,
    Encoder,
    build_model,
    capped_rows,
    fit_model,
    hypers_to_json,
    load_hypers,
    noise_variance,
    penalised_targets,
    predict,
    torch_context,
)

SPACE = SearchSpace([Float("lr", 1e-5, 1e-1, log=True), Float("mom", 0.0, 0.99),
                     Int("width", 8, 1024, log=True), Int("layers", 1, 6),
                     Categorical("act", ["relu", "gelu", "tanh"]), Ordinal("bs", [32, 64, 128]),
                     Float("drop", 0.0, 0.5, step=0.1), Constant("seed", 3)])


def test_encoding_round_trips_including_log_ints_and_categoricals():
    enc = Encoder(SPACE)
    assert enc.dim == 7 and enc.cat_dims == [4]
    assert enc.bounds[1, 4] == 2 and np.all(np.delete(enc.bounds[1], 4) == 1.0)
    configs = SPACE.sample(np.random.default_rng(0), 300)
    X = enc.encode(configs)
    assert X.dtype == np.float64 and X.shape == (300, 7)
    assert set(X[:, 4]) == {0.0, 1.0, 2.0}
    numeric = np.delete(X, 4, axis=1)
    assert numeric.min() >= 0.0 and numeric.max() <= 1.0
    for config, back in zip(configs, enc.decode(X)):
        assert back.keys() == config.keys() and back["seed"] == 3
        for name in ("width", "layers", "act", "bs", "seed"):
            assert back[name] == config[name], name
        for name in ("lr", "mom", "drop"):
            assert math.isclose(back[name], config[name], rel_tol=1e-12, abs_tol=1e-12)
        assert SPACE.validate(back) == back
    # log-int: interior points decode to the rounded log-scale value
    width = enc.decode_one(np.array([0.5, 0.5, 0.5, 0.5, 1.0, 0.5, 0.5]))["width"]
    assert width == round(math.exp((math.log(8) + math.log(1024)) / 2)) == 91


def test_canonical_snaps_and_is_idempotent():
    enc = Encoder(SPACE)
    raw = np.random.default_rng(1).random((50, 7)) * 1.4 - 0.2  # some outside the bounds
    raw[:, 4] = raw[:, 4] * 2
    once = enc.canonical(raw)
    assert np.array_equal(enc.canonical(once), once)
    for config in enc.decode(raw):
        assert SPACE.validate(config) == config


def test_inactive_parameters_are_fixed_and_dropped():
    space = SearchSpace([Categorical("opt", ["sgd", "adam"]), Float("mom", 0.0, 0.9),
                         Float("lr", 0.0, 1.0)], conditions=[Condition("mom", "opt", ["sgd"])])
    enc = Encoder(space)
    adam = enc.decode_one([1.0, 0.3, 0.2])
    assert "mom" not in adam and adam["opt"] == "adam" and space.validate(adam) == adam
    assert enc.encode_one(adam)[1] == INACTIVE_NUMERIC
    assert enc.encode_one({"opt": "adam", "mom": 0.7, "lr": 0.2})[1] == INACTIVE_NUMERIC
    sgd = enc.decode_one([0.0, 0.3, 0.2])
    assert math.isclose(sgd["mom"], 0.27) and enc.encode_one(sgd)[1] == pytest.approx(0.3)
    for config in space.sample(np.random.default_rng(0), 50):
        assert enc.decode_one(enc.encode_one(config)).keys() == config.keys()


def test_penalty_for_failures_and_outliers():
    y = penalised_targets([1.0, 2.0, math.inf, 3.0, 4.0, 1e30])
    q25, q75 = np.quantile([1.0, 2.0, 3.0, 4.0, 1e30], [0.25, 0.75])
    fence = q75 + 3 * (q75 - q25)
    assert y[5] == fence and y[2] == fence  # the diverged run is clipped, inf gets the worst
    assert list(y[[0, 1, 3, 4]]) == [1.0, 2.0, 3.0, 4.0]
    assert penalised_targets([math.inf, math.inf]) is None


def test_cap_keeps_the_best_fifth_and_the_most_recent():
    losses = np.array([5.0, 0.1, 7.0, 0.2, 9.0, 8.0, 6.0, 4.0, 3.0, 2.0])
    keep = capped_rows(losses, 5)
    assert list(keep) == [1, 6, 7, 8, 9]  # best row 1, then the 4 most recent
    assert list(capped_rows(losses, 10)) == list(range(10))


def _data(n, seed=0, noise=0.05):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    f = np.sin(3 * X[:, 0]) + np.cos(2 * X[:, 1]) + X[:, 0] * X[:, 1]
    return X, f + noise * rng.standard_normal(n)


def _fitted(X, y, seed=0):
    with torch_context(seed, 1):
        model = build_model(X, y, [])
        report = fit_model(model, maxiter=100)
    assert report.ok, report.reason
    return model


def test_fixed_hyperparameters_posterior_matches_closed_form():
    X, y = _data(30)
    model = _fitted(X, y)
    ls = model.covar_module.lengthscale.detach().numpy().reshape(-1)
    noise = float(model.likelihood.noise.detach())
    c = float(model.mean_module.constant.detach())
    mu, sd = y.mean(), y.std(ddof=1)  # botorch's Standardize

    def k(a, b):
        d = (a[:, None, :] - b[None, :, :]) / ls
        return np.exp(-0.5 * np.sum(d ** 2, axis=-1))

    Xs = np.random.default_rng(5).random((20, 2))
    K = k(X, X) + noise * np.eye(len(X))
    mean = mu + sd * (c + k(Xs, X) @ np.linalg.solve(K, (y - mu) / sd - c))
    var = sd ** 2 * (1.0 - np.sum(k(Xs, X) * np.linalg.solve(K, k(X, Xs)).T, axis=1))
    got_mean, got_var = predict(model, Xs)
    np.testing.assert_allclose(got_mean, mean, rtol=0, atol=1e-8)
    np.testing.assert_allclose(got_var, var, rtol=0, atol=1e-8)


def test_hyperparameters_round_trip_bitwise_and_fits_are_deterministic():
    X, y = _data(25, seed=3)
    model = _fitted(X, y, seed=11)
    hypers = json.loads(json.dumps(hypers_to_json(model)))
    other = build_model(X, y, [])
    assert load_hypers(other, hypers)
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), name
    again = _fitted(X, y, seed=11)
    assert hypers_to_json(again) == hypers_to_json(model)
    assert not load_hypers(other, {"nope": [1.0]})
    cat = build_model(np.column_stack([X, np.arange(25) % 3]), y, [2])
    assert not load_hypers(cat, hypers)  # a different model structure is refused


def _calibration(z):
    return abs(float(np.mean(z))) < 0.3 and 0.7 < float(np.std(z)) < 1.4


def test_gp_is_calibrated_on_held_out_points():
    """Standardised held-out errors are about N(0, 1); shrinking the predictive sd 10x must
    fail the same check (so the check can fail)."""
    X, y = _data(80, seed=1)
    Xt, yt = _data(400, seed=2)
    model = _fitted(X, y)
    mean, var = predict(model, Xt)
    sd = np.sqrt(var + noise_variance(model))
    z = (yt - mean) / sd
    assert _calibration(z), (np.mean(z), np.std(z))
    assert not _calibration((yt - mean) / (sd / 10))
    # 80 % intervals cover roughly 80 %
    assert 0.65 < np.mean(np.abs(z) < 1.2816) < 0.95


def test_categorical_model_fits_and_separates_levels():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.random(40), rng.integers(3, size=40)])
    y = np.sin(4 * X[:, 0]) + 2.0 * (X[:, 1] == 2)
    model = _fitted(X, y)
    mean, _ = predict(model, np.array([[0.3, 0.0], [0.3, 2.0]]))
    assert mean[1] - mean[0] > 1.0


def test_exp_decay_sum_model_learns_curves_that_decay_to_config_asymptotes():
    """MOBSTER's exp-decay-sum GP on rows [x, t]: targets are minus losses of curves
    ``a(x) + 1.5 (0.1 / (t + 0.1))``; configs seen only at low budgets get a predicted loss at
    t = 1 below their last observation (the curve keeps decaying) and near their asymptote,
    and the config ranking at t = 1 follows the asymptotes."""
    rng = np.random.default_rng(0)
    ts = np.array([1, 3, 9, 27]) / 27
    rows, y = [], []
    for i in range(16):
        x = rng.random()
        top = ts if i < 8 else ts[:2]  # half the configs stopped after two rungs
        for t in top:
            rows.append([x, t])
            y.append(-((x - 0.4) ** 2 + 1.5 * 0.1 / (t + 0.1)))
    X = np.array(rows)
    with torch_context(0, 1):
        model = build_model(X, np.array(y), [], curve_dim=1)
        assert fit_model(model, maxiter=100).ok
        stopped = X[X[:, 0] == X[-1, 0]][:, 0][0]
        mean, _ = predict(model, np.array([[stopped, 3 / 27], [stopped, 1.0], [0.4, 1.0],
                                           [0.95, 1.0]]))
    loss = -mean
    truth = (stopped - 0.4) ** 2 + 1.5 * 0.1 / 1.1
    assert loss[1] < loss[0] - 0.2  # decays beyond the last observed budget
    assert abs(loss[1] - truth) < 0.15
    assert loss[2] < loss[3]  # the better asymptote stays better at the full budget
