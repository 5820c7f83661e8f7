"""Scaling-study plots: loss against lr per width (μP next to SP), optimum against scale."""

from __future__ import annotations

import math

import pytest

import hpo
from searchers.scaling_plots import ScalingPlotError, plot_loss_by_scale, plot_optimum_vs_scale

pytest.importorskip("matplotlib")
SPACE = {"lr": hpo.Float("lr", 1e-5, 1e-1, log=True)}


def scaling_study(tmp_path, parametrization):
    scaling = hpo.Scaling([hpo.ScaleAxis("width", 1024, [64, 128, 256], kind="width")],
                          parametrization=parametrization)
    drift = 0.0 if parametrization == "mup" else -1.0  # SP: the best log2 lr falls with width

    def objective(trial):
        lr, width = trial.config["lr"], trial.scale["width"]
        best = -8.0 + drift * math.log2(width / 64)
        return 3.0 + 40.0 / width + 0.05 * (math.log2(lr) - best) ** 2

    return hpo.tune(objective, SPACE, method="transfer", scaling=scaling, max_trials=16, seed=0,
                    storage=tmp_path / parametrization).study


@pytest.fixture(scope="module")
def studies(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scaling")
    return scaling_study(tmp, "mup"), scaling_study(tmp, "sp"), tmp / "sp"


def test_loss_by_width_has_a_panel_per_study_and_a_curve_per_width(studies, tmp_path):
    mup, sp, sp_dir = studies
    fig = plot_loss_by_scale([mup, sp_dir])  # a Study or its directory
    axes = fig.axes
    assert [ax.get_title().split(":")[0] for ax in axes] == ["mup", "sp"]
    for ax, study in zip(axes, (mup, sp)):
        widths = {t.scale["width"] for t in study.trials.values() if math.isfinite(t.loss)}
        assert len(ax.get_lines()) == len(widths) >= 2
        plotted = sum(len(line.get_xdata()) for line in ax.get_lines())
        assert plotted == sum(1 for t in study.trials.values() if math.isfinite(t.loss))
        assert ax.get_xscale() == "log"
    fig.savefig(tmp_path / "lr_by_width.png")
    assert (tmp_path / "lr_by_width.png").stat().st_size > 1000


def test_optimum_against_scale_shows_the_fitted_drift_up_to_the_target(studies):
    mup, _, _ = studies
    advice = mup.recommend()
    fig = plot_optimum_vs_scale(mup, advice)
    (ax,) = fig.axes
    observed, fitted, star = ax.get_lines()
    assert list(observed.get_xdata()) == sorted({t.scale["width"] for t in mup.trials.values()
                                                if math.isfinite(t.loss)})
    assert fitted.get_xdata()[-1] == pytest.approx(1024)  # extrapolated to the target
    assert star.get_ydata()[0] == pytest.approx(advice.config["lr"])
    assert fitted.get_ydata()[-1] == pytest.approx(advice.config["lr"])
    assert len(ax.collections) == 1  # the 80% band
    only_points = plot_optimum_vs_scale(mup)
    assert len(only_points.axes[0].get_lines()) == 1


def test_bad_requests_name_the_value(studies):
    mup, _, _ = studies
    with pytest.raises(ScalingPlotError, match="'depth'"):
        plot_loss_by_scale(mup, axis="depth")
    with pytest.raises(ScalingPlotError, match="'momentum'"):
        plot_loss_by_scale(mup, param="momentum")
    plain = hpo.Study(SPACE, "loss", method="random", seed=0)
    with pytest.raises(ScalingPlotError, match="no scaling"):
        plot_optimum_vs_scale(plain)
