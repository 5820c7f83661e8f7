import math

import pytest

from hpo import Direction, Fidelity, FidelityError, Objective, ReportError


def test_objective_owns_the_sign():
    assert Objective("loss").loss({"loss": 0.5}) == 0.5
    assert Objective("acc", "max").loss({"acc": 0.9}) == -0.9
    assert Objective("acc", Direction.MAXIMIZE).value(-0.9) == 0.9
    assert Objective("acc", "maximize").direction is Direction.MAXIMIZE


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_metric_is_the_worst_loss(value):
    assert Objective("loss").loss({"loss": value}) == math.inf
    assert Objective("acc", "max").loss({"acc": value}) == math.inf


def test_missing_or_non_numeric_metric():
    with pytest.raises(ReportError, match=r"do not contain the objective metric 'loss'"):
        Objective("loss").loss({"accuracy": 0.3})
    with pytest.raises(ReportError, match="must be a number"):
        Objective("loss").loss({"loss": "low"})


def test_bad_direction_and_metric():
    with pytest.raises(ValueError, match="'sideways'"):
        Objective("loss", "sideways")
    with pytest.raises(ValueError, match="non-empty"):
        Objective("")


@pytest.mark.parametrize("kwargs, match", [
    (dict(min=0, max=10), "min budget must be > 0, got min=0"),
    (dict(min=-1, max=10), "min=-1"),
    (dict(min=20, max=10), "min=20 > max=10"),
    (dict(min=1.5, max=10), "whole-number"),
    (dict(min=1, max=math.inf), "finite"),
    (dict(min="1", max=10), "must be a number"),
])
def test_invalid_fidelity(kwargs, match):
    with pytest.raises(FidelityError, match=match):
        Fidelity("epochs", **kwargs)


def test_fidelity_budget_checks_and_normalisation():
    f = Fidelity("epochs", 1, 81)
    assert f.normalize(1) == 0 and f.normalize(81) == 1 and f.normalize(9) == pytest.approx(0.5)
    assert f.check_budget(3.0) == 3 and isinstance(f.check_budget(3.0), int)
    with pytest.raises(FidelityError, match="exceeds the fidelity maximum epochs=81"):
        f.check_budget(82)
    with pytest.raises(FidelityError, match="> 0"):
        f.check_budget(0)
    with pytest.raises(FidelityError, match="> 0"):
        f.check_budget(math.nan)
    assert Fidelity("tokens", 1e6, 1e9, integer=False).check_budget(5e8) == 5e8
    assert Fidelity.from_json(f.to_json()) == f
