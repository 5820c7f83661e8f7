"""Scaling laws from the Pareto front: pareto_front, scaling_fit, extrapolate, plots."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hpo
from searchers.carbs_analysis import extrapolate, huber_line, pareto_front, scaling_fit

SPACE = hpo.SearchSpace([hpo.Float("lr", 1e-6, 1.0, log=True),
                         hpo.Int("width", 1, 10**6, log=True), hpo.Float("x", 0.0, 1.0)])


def trial(tid: int, config: dict, loss: float, cost: float,
          status: hpo.TrialStatus = hpo.TrialStatus.COMPLETED) -> hpo.Trial:
    obs = hpo.Observation(budget=1, metrics={"loss": loss}, loss=loss, cost=cost, time=0.0,
                          step=0)
    return hpo.Trial(tid, config, status, (obs,))


def law_trials() -> list[hpo.Trial]:
    """Front members on exact laws (lr = 0.1 C^-0.3, width = C^0.5, x = 0.2 + 0.05 log10 C),
    plus dominated trials and a failure."""
    out = []
    for i, c in enumerate(np.geomspace(1e2, 1e6, 12)):
        config = {"lr": 0.1 * c ** -0.3, "width": int(round(c ** 0.5)),
                  "x": 0.2 + 0.05 * math.log10(c)}
        out.append(trial(i, config, 1.0 / math.log10(c), float(c)))
        out.append(trial(100 + i, {"lr": 0.5, "width": 3, "x": 0.9}, 2.0, float(c) * 1.01))
    out.append(trial(999, {"lr": 0.1, "width": 2, "x": 0.0}, math.inf, 50.0,
                     hpo.TrialStatus.FAILED))
    return out


def test_pareto_front_keeps_the_staircase():
    front = pareto_front(law_trials())
    assert [p.trial_ids for p in front] == [(i,) for i in range(12)]
    assert all(a.cost < b.cost and a.loss > b.loss for a, b in zip(front, front[1:]))


def test_scaling_fit_recovers_exact_laws():
    laws = scaling_fit(law_trials(), space=SPACE, n_boot=50)
    assert laws["lr"].log and laws["width"].log and not laws["x"].log
    assert laws["lr"].slope == pytest.approx(-0.3, abs=1e-9)
    assert laws["width"].slope == pytest.approx(0.5, abs=0.01)  # integer rounding
    assert laws["x"].slope == pytest.approx(0.05, abs=1e-9)
    lo, hi = laws["width"].slope_interval
    assert lo <= laws["width"].slope <= hi
    assert laws["lr"].to_json()["n_points"] == 12


def test_huber_line_resists_an_outlier():
    x = np.linspace(0, 4, 20)
    y = 1.0 + 0.5 * x
    y[7] += 50.0
    b0, b1 = huber_line(x, y)
    assert b1 == pytest.approx(0.5, abs=0.02) and b0 == pytest.approx(1.0, abs=0.05)
    assert abs(np.polyfit(x, y, 1)[0] - 0.5) > 0.1  # least squares is pulled away


def test_extrapolate_follows_the_laws_and_clips_into_the_space():
    ext = extrapolate(law_trials(), 1e8, space=SPACE, n_boot=50)
    assert ext.values["lr"] == pytest.approx(0.1 * 1e8 ** -0.3, rel=1e-6)
    assert ext.values["width"] == pytest.approx(1e4, rel=0.1)
    assert isinstance(ext.config["width"], int)
    lo, hi = ext.intervals["lr"]
    assert lo <= ext.values["lr"] * (1 + 1e-9) and hi >= ext.values["lr"] * (1 - 1e-9)
    assert ext.outside_space == () and ext.config["x"] == pytest.approx(0.6)
    far = extrapolate(law_trials(), 1e20, space=SPACE, n_boot=50)
    assert set(far.outside_space) == {"lr", "width", "x"}  # 1e-7, 1e10, 1.2: clipped
    assert far.config == {"lr": 1e-6, "width": 10**6, "x": 1.0}


def test_errors_name_the_bad_value():
    with pytest.raises(hpo.MethodError, match="-1"):
        extrapolate(law_trials(), -1.0)
    with pytest.raises(hpo.MethodError, match="3 Pareto points"):
        scaling_fit(law_trials()[:4])
    with pytest.raises(hpo.MethodError, match="n_boot"):
        scaling_fit(law_trials(), n_boot=2)


def test_plots():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    from searchers.carbs_analysis import plot_pareto, plot_scaling
    assert plot_pareto(law_trials()) is not None
    assert plot_scaling(law_trials(), space=SPACE, n_boot=20) is not None


@pytest.mark.benchmark
def test_scaling_law_recovery_after_300_observations():
    """algorithms.md §4.11.5: lr* ∝ C^-0.3 and width* ∝ C^0.5 within ±0.1 (300 trials)."""
    from benchmarks.carbs_scaling import recovery
    row = recovery(seed=0, trials=300)
    assert abs(row["errors"]["lr"]) < 0.1
    assert abs(row["errors"]["width"]) < 0.1
