import json
import math

import numpy as np
import pytest

from hpo import (
    Categorical,
    Constant,
    Float,
    Int,
    InvalidConfigError,
    Ordinal,
    SearchSpace,
    SpaceError,
)


def full_space():
    return SearchSpace([
        Float("lr", 1e-5, 1e-1, log=True),
        Float("dropout", 0.0, 0.5),
        Float("wd", 0.0, 0.1, step=0.01),
        Float("qlog", 1e-4, 1e-1, log=True, step=5e-5),
        Int("layers", 1, 8),
        Int("width", 16, 1024, log=True),
        Int("batch", 32, 256, step=32),
        Categorical("act", ["relu", "gelu", None, 3, True]),
        Ordinal("size", [64, 128, 256]),
        Constant("seed", 7),
    ])


@pytest.mark.parametrize("make, match", [
    (lambda: SearchSpace([]), "empty"),
    (lambda: SearchSpace([Float("x", 1.0, 1.0)]), "low must be < high"),
    (lambda: SearchSpace([Float("x", 2.0, 1.0)]), "low=2.0"),
    (lambda: SearchSpace([Float("x", 0.0, 1.0, log=True)]), "log scale needs low > 0"),
    (lambda: SearchSpace([Float("x", -1.0, 1.0, log=True)]), "low=-1.0"),
    (lambda: SearchSpace([Int("n", 5, 5)]), "low must be < high"),
    (lambda: SearchSpace([Int("n", 1.5, 5)]), "whole-number low"),
    (lambda: SearchSpace([Float("x", 0.0, 1.0), Float("x", 0.0, 2.0)]), "duplicate .*'x'"),
    (lambda: SearchSpace([Float("", 0.0, 1.0)]), "non-empty strings"),
    (lambda: SearchSpace([Float("x", 0.0, math.inf)]), "finite"),
    (lambda: SearchSpace([Float("x", 0.0, 1.0, step=0.0)]), "step must be > 0"),
    (lambda: SearchSpace([Float("x", 0.0, 1.0, step=2.0)]), "larger than the range"),
    (lambda: SearchSpace([Categorical("c", [])]), "at least one"),
    (lambda: SearchSpace([Categorical("c", ["a", "a"])]), "duplicate"),
    (lambda: SearchSpace([Categorical("c", [object()])]), "JSON"),
    (lambda: SearchSpace([Constant("c", 1)]), "only constants"),
    (lambda: SearchSpace(["lr"]), "must be Float, Int"),
])
def test_invalid_spaces_name_the_value(make, match):
    with pytest.raises(SpaceError, match=match):
        make()


def test_space_error_is_a_value_error():
    with pytest.raises(ValueError):
        SearchSpace([Float("x", 1.0, 0.0)])


def test_samples_are_valid_and_round_trip():
    space = full_space()
    rng = np.random.default_rng(0)
    for config in space.sample(rng, 500):
        assert space.validate(config) == config
        assert space.decode(space.encode(config)) == config
        u = space.encode(config)
        assert u.shape == (space.dim,) and np.all((u >= 0) & (u <= 1))


def test_sampling_is_seeded():
    space = full_space()
    a = space.sample(np.random.default_rng(3), 20)
    b = space.sample(np.random.default_rng(3), 20)
    c = space.sample(np.random.default_rng(4), 20)
    assert a == b and a != c


def test_linear_int_sampling_is_uniform_including_endpoints():
    space = SearchSpace([Int("n", 1, 4)])
    values = [c["n"] for c in space.sample(np.random.default_rng(0), 8000)]
    freq = np.bincount(values, minlength=5)[1:] / len(values)
    assert np.allclose(freq, 0.25, atol=0.02)


def test_log_float_sampling_is_log_uniform():
    space = SearchSpace([Float("lr", 1e-4, 1.0, log=True)])
    logs = np.log10([c["lr"] for c in space.sample(np.random.default_rng(0), 8000)])
    hist = np.histogram(logs, bins=4, range=(-4, 0))[0] / len(logs)
    assert np.allclose(hist, 0.25, atol=0.02)


def test_categorical_intervals():
    p = Categorical("c", ["a", "b", "c", "d"])
    assert [p.decode(u) for u in (0.0, 0.24, 0.25, 0.5, 0.99, 1.0)] == \
        ["a", "a", "b", "c", "d", "d"]
    assert p.encode("c") == pytest.approx(0.625)


def test_step_grids():
    f = Float("wd", 0.0, 0.1, step=0.01)
    assert f.decode(0.999) == pytest.approx(0.1)
    assert f.decode(0.0) == 0.0
    i = Int("batch", 32, 256, step=32)
    assert sorted({i.decode(u) for u in np.linspace(0, 1, 200)}) == list(range(32, 257, 32))


@pytest.mark.parametrize("config, match", [
    ({"lr": 1e-3}, "lacks parameter"),
    ({"lr": 1e-3, "x": 1, "bogus": 2}, "unknown parameter name"),
    ({"lr": 5.0, "x": 1}, "'lr': value 5.0 is outside"),
    ({"lr": 1e-3, "x": 1.5}, "'x': value 1.5 is not an integer"),
    ({"lr": 1e-3, "x": True}, "bool"),
    ({"lr": "fast", "x": 1}, "not a number"),
    ({"lr": 1e-3, "x": 1, "act": "tanh"}, "not one of"),
])
def test_validate_names_the_bad_value(config, match):
    space = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("x", 0, 3),
                         Categorical("act", ["relu", "gelu"])])
    full = {"act": "relu", **config}
    with pytest.raises(InvalidConfigError, match=match):
        space.validate(full)


def test_validate_canonicalises_types():
    space = SearchSpace([Int("n", 0, 10), Float("x", 0.0, 1.0), Categorical("c", [1, 2])])
    out = space.validate({"n": np.int64(3), "x": 1, "c": np.int64(2)})
    assert out == {"n": 3, "x": 1.0, "c": 2}
    assert type(out["n"]) is int and type(out["x"]) is float
    with pytest.raises(InvalidConfigError):
        space.validate({"n": 3.0001, "x": 0.5, "c": 1})
    with pytest.raises(InvalidConfigError):  # True is not the choice 1
        SearchSpace([Categorical("c", [1, 2])]).validate({"c": True})


def test_json_round_trip():
    space = full_space()
    again = SearchSpace.from_json(json.dumps(space.to_json()))
    assert again == space
    with pytest.raises(SpaceError, match="unknown parameter type"):
        SearchSpace.from_json({"params": [{"type": "complex", "name": "z"}]})
    with pytest.raises(SpaceError, match="lacks the field"):
        SearchSpace.from_json({"params": [{"type": "float", "name": "z"}]})


def test_from_dict_shorthands():
    space = SearchSpace.from_dict({"lr": Float("whatever", 0.1, 1.0), "act": ["a", "b"],
                                   "seed": 3})
    assert space.names == ["lr", "act", "seed"]
    assert isinstance(space["lr"], Float) and space["lr"].name == "lr"
    assert isinstance(space["act"], Categorical) and isinstance(space["seed"], Constant)
    with pytest.raises(KeyError, match="no parameter named 'nope'"):
        space["nope"]
