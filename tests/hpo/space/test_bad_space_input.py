"""Bad space input is a SpaceError / InvalidConfigError naming the value (issue 14, items 6, 7,
11), never a builtin OverflowError / TypeError, and never after a journal was started."""

import math

import numpy as np
import pytest

import hpo
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


@pytest.mark.parametrize("make, match", [
    (lambda: Int("n", 0, 10**400), "high must be a finite number, got 1000"),
    (lambda: Int("n", 0, 2**60), "beyond \\+-2\\*\\*53"),
    (lambda: Int("n", math.nan, 5), "low must be a finite number, got nan"),
    (lambda: Int("n", 0, 5, step=math.inf), "step must be a finite number, got inf"),
    (lambda: Float("x", 0, 1, step=5e-324), "step=5e-324 is too fine"),
    (lambda: Float("x", 1e-8, 1e308, log=True, step=0.1), "step=0.1 is too fine"),
    (lambda: Float("x", -1e308, 1e308), "range \\[-1e\\+308, 1e\\+308\\] cannot be represented"),
    (lambda: Float("x", 1.0, 1.0 + 2.2e-16), "cannot be represented"),
    (lambda: Categorical("c", None), "choices must be a list of values, got None"),
    (lambda: Categorical("c", "abc"), "got 'abc'"),
    (lambda: Ordinal("o", 3), "values must be a list of values, got 3"),
    (lambda: SearchSpace.from_dict([]), "empty"),
    (lambda: SearchSpace.from_dict("x"), "got 'x'"),
    (lambda: SearchSpace.coerce(None), "got None"),
])
def test_bad_definitions_are_space_errors(make, match):
    with pytest.raises(SpaceError, match=match):
        make()


def test_wide_but_representable_ranges_sample_and_round_trip():
    space = SearchSpace([Float("x", -1e307, 1e307), Float("l", 5e-324, 1e308, log=True),
                         Int("n", -2**52, 2**52), Float("s", 0.0, 1.0, step=1e-9)])
    configs = space.sample(np.random.default_rng(0), 50)
    assert len({c["x"] for c in configs}) == 50          # not all 1e308 (item 7)
    for config in configs:
        assert space.validate(config) == config
        assert np.all((space.encode(config) >= 0) & (space.encode(config) <= 1))
    assert len({round(float(u), 6) for c in configs for u in space.encode(c)[:1]}) > 40


@pytest.mark.parametrize("value", [10**400, -10**400])
def test_validate_huge_ints_name_the_value(value):
    for space in (SearchSpace([Float("x", 0, 1)]), SearchSpace([Int("x", 0, 10)])):
        with pytest.raises(InvalidConfigError, match="'x': value -?1000.* is outside"):
            space.validate({"x": value})


def test_study_rejects_a_non_mapping_space_before_writing(tmp_path):
    with pytest.raises(SpaceError, match="search space is empty"):
        hpo.Study([], storage=tmp_path / "s")
    with pytest.raises(SpaceError, match="got 3"):
        hpo.Study(3, storage=tmp_path / "t")
    for name in ("s", "t"):
        journal = tmp_path / name / "journal.jsonl"
        assert not journal.exists() or journal.read_text() == ""
    study = hpo.Study([Float("x", 0, 1)])          # a list of parameters is a space
    assert study.space.names == ["x"]


def test_nested_dicts_are_flattened_everywhere_a_space_is_accepted(tmp_path):
    spec = {"opt": {"lr": Float("lr", 1e-4, 1e-1, log=True), "name": "adam"},
            "model": {"depth": [1, 2, 3], "cfg": {"act": Categorical("a", ["relu", "gelu"])}}}
    space = SearchSpace.from_dict(spec)
    assert space.names == ["opt/lr", "opt/name", "model/depth", "model/cfg/act"]
    assert space["opt/name"] == Constant("opt/name", "adam")
    study = hpo.Study(spec, storage=tmp_path / "s", seed=0)
    assert study.space == space
    result = hpo.tune(lambda t: t.config["opt/lr"] * t.config["model/depth"], spec,
                      max_trials=3, seed=0)
    assert set(result.best_config) == set(space.names)
