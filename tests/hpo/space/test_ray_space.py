"""Ray Tune param_space conversion (Ray's bound conventions kept exactly)."""

import math

import numpy as np
import pytest

tune = pytest.importorskip("ray.tune")

from hpo import Categorical, Constant, Float, Int, SearchSpace, SpaceError  # noqa: E402
from hpo.space.ray import flatten, grid_points, unflatten  # noqa: E402


def test_every_bounded_domain_converts():
    space = SearchSpace.from_ray({
        "u": tune.uniform(0.0, 2.0),
        "lr": tune.loguniform(1e-4, 1e-1),
        "q": tune.quniform(0.0, 1.0, 0.25),
        "ql": tune.qloguniform(1e-4, 1e-1, 5e-5),
        "n": tune.randint(1, 10),
        "w": tune.lograndint(16, 1025),
        "b": tune.qrandint(32, 256, 32),
        "bl": tune.qlograndint(2, 64, 2),
        "act": tune.choice(["relu", "gelu"]),
        "const": 0.5,
        "nested": {"depth": tune.randint(1, 4), "name": "mlp"},
    })
    assert space["u"] == Float("u", 0.0, 2.0)
    assert space["lr"] == Float("lr", 1e-4, 1e-1, log=True)
    assert space["q"] == Float("q", 0.0, 1.0, step=0.25)
    assert space["ql"] == Float("ql", 1e-4, 1e-1, log=True, step=5e-5)
    assert space["n"] == Int("n", 1, 9)                     # Ray's upper bound is exclusive
    assert space["w"] == Int("w", 16, 1024, log=True)
    assert space["b"] == Int("b", 32, 256, step=32)         # qrandint: upper inclusive
    assert space["bl"] == Int("bl", 2, 64, log=True, step=2)
    assert space["act"] == Categorical("act", ["relu", "gelu"])
    assert space["const"] == Constant("const", 0.5)
    assert space["nested/depth"] == Int("nested/depth", 1, 3)
    assert space["nested/name"] == Constant("nested/name", "mlp")


def test_ray_samples_belong_to_the_converted_space():
    param_space = {"n": tune.randint(1, 10), "b": tune.qrandint(32, 256, 32),
                   "q": tune.quniform(0.0, 1.0, 0.25), "w": tune.lograndint(16, 1025)}
    space = SearchSpace.from_ray(param_space)
    rng = np.random.default_rng(0)
    for _ in range(200):
        sample = {k: d.sample(random_state=rng) for k, d in param_space.items()}
        space.validate(sample)


def test_round_trip_to_ray_and_back():
    space = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("n", 1, 9),
                         Int("b", 32, 256, step=32), Categorical("act", ["a", "b"]),
                         Float("q", 0.0, 1.0, step=0.25), Constant("nested/k", 3)])
    ray_space = space.to_ray()
    assert ray_space["nested"] == {"k": 3}
    assert SearchSpace.from_ray(ray_space) == space


@pytest.mark.parametrize("domain, match", [
    (tune.randn(0.0, 1.0), "unbounded"),
    (tune.qrandn(0.0, 1.0, 0.1), "unbounded"),
    (tune.sample_from(lambda spec: 1), "cannot convert"),
])
def test_unbounded_domains_are_rejected(domain, match):
    with pytest.raises(SpaceError, match=match):
        SearchSpace.from_ray({"x": domain})


def test_flatten_unflatten():
    nested = {"a": {"b": 1, "c": {"d": 2}}, "e": 3}
    assert flatten(nested) == {"a/b": 1, "a/c/d": 2, "e": 3}
    assert unflatten(flatten(nested)) == nested


def test_grid_search_is_refused_not_sampled():
    """Issue 14 item 12: a 3-point grid with max_trials=3 gave [0.1, 0.1, 0.5]."""
    import hpo

    param_space = {"lr": tune.grid_search([0.1, 0.3, 0.5]), "x": tune.uniform(0, 1)}
    with pytest.raises(SpaceError, match=r"'lr': tune.grid_search\(\[0.1, 0.3, 0.5\]\) is "
                                         r"enumerated by Ray.*tune.choice"):
        hpo.tune(lambda t: t.config["lr"], param_space, max_trials=3, seed=0)
    with pytest.raises(SpaceError, match="grid_search"):
        SearchSpace.from_ray({"nested": {"lr": tune.grid_search([1, 2])}})


def test_grid_points_enumerate_the_cross_product():
    param_space = {"a": tune.grid_search([1, 2]), "m": {"b": tune.grid_search(["x", "y"])},
                   "c": tune.uniform(0, 1)}
    assert grid_points(param_space) == [{"a": 1, "m/b": "x"}, {"a": 1, "m/b": "y"},
                                        {"a": 2, "m/b": "x"}, {"a": 2, "m/b": "y"}]
    assert grid_points({"c": tune.uniform(0, 1)}) == [{}]
    with pytest.raises(SpaceError, match="grid_search needs a list of values, got None"):
        grid_points({"a": {"grid_search": None}})


@pytest.mark.parametrize("make, match", [
    (lambda: {"a": {"grid_search": None}}, r"grid_search\(None\)"),
    (lambda: {"a": tune.qrandint(1, math.inf, 2)}, "upper bound must be a finite number, got inf"),
    (lambda: {"a": tune.randint(-10**400, 0)}, "lower bound must be a finite number"),
    (lambda: {"a": tune.randint(0, 10**400)}, "upper bound must be a finite number"),
    (lambda: {"a": _zero_q()}, "q must be > 0, got 0"),
])
def test_bad_ray_domains_are_space_errors(make, match):
    with pytest.raises(SpaceError, match=match):
        SearchSpace.from_ray(make())


def _zero_q():
    # tune.quniform(0, 1, 0) itself raises ZeroDivisionError inside Ray, before we see it;
    # a domain whose q was changed afterwards reaches the converter
    domain = tune.quniform(0.0, 1.0, 0.5)
    domain.sampler.q = 0
    return domain


def test_nested_param_space_works_in_study_and_tune(tmp_path):
    """Issue 14 item 11: nested dicts failed with 'constant {...} is not JSON-serialisable'."""
    import hpo

    param_space = {"model": {"depth": tune.randint(1, 4), "act": tune.choice(["a", "b"])},
                   "lr": tune.loguniform(1e-4, 1e-1)}
    study = hpo.Study(param_space, "loss", storage=tmp_path / "s", seed=0)
    assert study.space == SearchSpace.from_ray(param_space)
    assert study.space.names == ["model/depth", "model/act", "lr"]
    result = hpo.tune(lambda t: t.config["lr"] * t.config["model/depth"], param_space,
                      max_trials=4, seed=0)
    assert len(result.study) == 4 and result.best_value is not None
