"""Scale axes, the proxy ladder and the 6·N·D cost model; scaling studies journal and replay."""

import math

import pytest

import hpo
from hpo import Float, ScaleAxis, Scaling, SearchSpace, SpaceError, Study
from hpo.core.decisions import Start
from hpo.core.protocols import Scheduler


def _scaling(**options):
    return Scaling([ScaleAxis("width", 512, [32, 64, 128], kind="width"),
                    ScaleAxis("depth", 8, [2, 4], kind="depth"),
                    ScaleAxis("tokens", 1e9, [1e8, 2.5e8], kind="tokens")], **options)


def test_relative_coordinates_and_proxies():
    scaling = _scaling()
    assert scaling.relative(scaling.target) == {"width": 0.0, "depth": 0.0, "tokens": 0.0}
    assert scaling.relative({"width": 64, "depth": 4, "tokens": 2.5e8}) == \
        {"width": -3.0, "depth": -1.0, "tokens": -2.0}
    assert len(scaling.proxies()) == 3 * 2 * 2
    assert scaling.default == {"width": 32, "depth": 2, "tokens": 1e8} == scaling.cheapest()


def test_six_n_d_cost_model():
    scaling = _scaling(vocab=100)
    point = {"width": 64, "depth": 4, "tokens": 2.5e8}
    n = 12 * 4 * 64 ** 2 + 100 * 64
    assert scaling.n_params(point) == n
    assert scaling.flops(point) == pytest.approx(6 * n * 2.5e8)
    steps = Scaling([ScaleAxis("width", 256, [64], kind="width"),
                     ScaleAxis("steps", 1000, [100], kind="steps"),
                     ScaleAxis("batch", 64, [32], kind="batch")])
    assert steps.tokens({"width": 64, "steps": 100, "batch": 32}) == 3200


@pytest.mark.parametrize("bad, match", [
    ({"width": 48, "depth": 2, "tokens": 1e8}, "not on its ladder"),
    ({"width": 32}, "exactly the axes"), ({"width": 32, "depth": 2, "tokens": True}, "ladder")])
def test_check_rejects_points_off_the_ladder(bad, match):
    with pytest.raises(SpaceError, match=match):
        _scaling().check(bad)


@pytest.mark.parametrize("make, match", [
    (lambda: ScaleAxis("w", 0, [1]), "finite number > 0"),
    (lambda: ScaleAxis("w", 10, []), "non-empty list"),
    (lambda: ScaleAxis("w", 10, [1], kind="size"), "unknown kind"),
    (lambda: ScaleAxis("w", math.inf, [1]), "finite"),
    (lambda: Scaling([ScaleAxis("w", 4, [1]), ScaleAxis("w", 4, [2])]), "duplicate"),
    (lambda: Scaling([ScaleAxis("w", 4, [1])], parametrization="ntk"), "parametrization"),
    (lambda: Scaling([ScaleAxis("w", 4, [1])], cost="gpu"), "cost model"),
    (lambda: Scaling([]), "non-empty list")])
def test_invalid_scaling_is_a_space_error(make, match):
    with pytest.raises(SpaceError, match=match):
        make()


def test_json_round_trip():
    scaling = _scaling(parametrization="sp", vocab=50, default={"width": 64, "depth": 2,
                                                                "tokens": 1e8})
    assert Scaling.from_json(scaling.to_json()) == scaling


class _ByScale(Scheduler):
    """Starts trials cycling through the proxy ladder (and one without a scale)."""

    def __init__(self, scaling):
        self.points = [None] + scaling.proxies()

    def next_action(self, view):
        point = self.points[view.next_trial_id % len(self.points)]
        assert view.scaling is not None
        return Start({"lr": 0.01 * (1 + view.next_trial_id)}, None, scale=point or {})

    def on_result(self, trial, obs):
        return hpo.Verdict.cont()


def test_scaling_study_validates_journals_and_replays_scales(tmp_path):
    space = SearchSpace([Float("lr", 1e-4, 1.0, log=True)])
    scaling = _scaling()
    study = Study(space, "loss", method=_ByScale(scaling), seed=0, storage=tmp_path,
                  scaling=scaling)
    for _ in range(5):
        ticket = study.ask()
        study.tell(ticket.trial_id, {"loss": ticket.config["lr"] * ticket.scale["width"]})
    scales = [dict(t.scale) for t in study.trials.values()]
    assert scales[0] == scaling.default and scales[1:] == scaling.proxies()[:4]
    reopened = Study.open(tmp_path, method=_ByScale(scaling))
    assert reopened.scaling == scaling
    assert [dict(t.scale) for t in reopened.trials.values()] == scales
    assert Study.open(tmp_path, read_only=True).scaling == scaling
    with pytest.raises(hpo.StorageError, match="scaling"):
        Study(space, "loss", method=_ByScale(scaling), seed=0, storage=tmp_path)


def test_scheduler_proposing_an_off_ladder_scale_is_a_scheduler_error():
    class Bad(_ByScale):
        def next_action(self, view):
            return Start({"lr": 0.1}, None, scale={"width": 33, "depth": 2, "tokens": 1e8})

    study = Study(SearchSpace([Float("lr", 1e-4, 1.0)]), "loss", method=Bad(_scaling()), seed=0,
                  scaling=_scaling())
    with pytest.raises(hpo.SchedulerError, match="not on its ladder"):
        study.ask()
