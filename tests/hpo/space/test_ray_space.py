"""Ray Tune param_space conversion (Ray's bound conventions kept exactly)."""

import numpy as np
import pytest

tune = pytest.importorskip("ray.tune")

from hpo import Categorical, Constant, Float, Int, SearchSpace, SpaceError  # noqa: E402
from hpo.space.ray import flatten, unflatten  # noqa: E402


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
        "grid": tune.grid_search([1, 2, 3]),
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
    assert space["grid"] == Categorical("grid", [1, 2, 3])
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
