"""Plots of a scaling study (matplotlib, imported only when drawing):

* :func:`plot_loss_by_scale`: final loss against one hyper-parameter (``lr`` by default), one
  curve per value of a scale axis (``width``); several studies side by side, one panel each
  (e.g. a μP study next to its SP twin), titled by their parametrization;
* :func:`plot_optimum_vs_scale`: the best observed value of that hyper-parameter at each scale
  (the lowest loss at that scale), and the fitted drift of the scaling model: a line through
  the recommended target setting with slope ``per_doubling`` (its 80% interval as a band),
  extrapolated from the proxies to the target, which is marked.

Both read finished trials only (COMPLETED, or STOPPED / PAUSED with a finite loss); a source is
a :class:`hpo.Study`, a study directory or a list of trials with a space and scaling given.

    from searchers.scaling_plots import plot_loss_by_scale, plot_optimum_vs_scale
    plot_loss_by_scale(["runs/mup", "runs/sp"]).savefig("lr_by_width.png")
    plot_optimum_vs_scale("runs/mup", study.recommend()).savefig("drift.png")
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hpo import HPOError, Study, Trial, TrialStatus
from hpo.analysis.record import require
from searchers.scaling_recommend import Recommendation

__all__ = ["ScalingPlotError", "plot_loss_by_scale", "plot_optimum_vs_scale", "points"]


class ScalingPlotError(HPOError, ValueError):
    """A scaling plot that cannot be drawn (no scaling, an unknown parameter or axis)."""


@dataclass(frozen=True)
class _Points:
    label: str
    by_scale: dict[float, list[tuple[float, float]]]  # scale -> sorted (value, loss)
    log: bool
    target: float | None


def _study(source: Any) -> Study:
    if isinstance(source, Study):
        return source
    if isinstance(source, (str, os.PathLike)):
        return Study.open(source, read_only=True)
    raise ScalingPlotError(f"a scaling plot needs a Study or a study directory, got "
                           f"{source!r:.80}")


def _finished(trial: Trial) -> bool:
    return (trial.status in (TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.PAUSED)
            and math.isfinite(trial.loss))


def points(source: Any, param: str = "lr", axis: str = "width") -> _Points:
    """The (value, loss) pairs of ``param`` per value of scale axis ``axis``."""
    study = _study(source)
    if study.scaling is None:
        raise ScalingPlotError("the study has no scaling (hpo.Scaling): nothing to plot "
                               "against scale")
    axes = {a.name: a for a in study.scaling.axes}
    if axis not in axes:
        raise ScalingPlotError(f"unknown scale axis {axis!r}; the study has {sorted(axes)}")
    if param not in study.space:
        raise ScalingPlotError(f"unknown parameter {param!r}; the space has "
                               f"{[p.name for p in study.space]}")
    by_scale: dict[float, list[tuple[float, float]]] = {}
    for trial in study.trials.values():
        if _finished(trial) and axis in trial.scale and param in trial.config:
            value = float(trial.config[param])
            by_scale.setdefault(float(trial.scale[axis]), []).append((value, trial.loss))
    if not by_scale:
        raise ScalingPlotError(f"no finished trial with a {axis!r} scale and a {param!r} value")
    for pts in by_scale.values():
        pts.sort()
    return _Points(study.scaling.parametrization, dict(sorted(by_scale.items())),
                   bool(getattr(study.space[param], "log", False)),
                   float(axes[axis].target))


def _figure(cols: int) -> Any:
    require("matplotlib", "plots")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.0 * cols, 4.0), layout="constrained")
    return fig, [fig.add_subplot(1, cols, i + 1) for i in range(cols)]


def plot_loss_by_scale(sources: Any, param: str = "lr", axis: str = "width") -> Any:
    """Final loss against ``param``, one curve per ``axis`` value, a panel per study."""
    items = list(sources) if isinstance(sources, Sequence) and not isinstance(sources, str) \
        else [sources]
    sets = [points(s, param, axis) for s in items]
    fig, axes = _figure(len(sets))
    for ax, pts in zip(axes, sets):
        for scale, pairs in pts.by_scale.items():
            ax.plot([v for v, _ in pairs], [loss for _, loss in pairs], marker="o",
                    markersize=3, label=f"{axis} {scale:g}")
        if pts.log:
            ax.set_xscale("log")
        ax.set_xlabel(param)
        ax.set_ylabel("final loss")
        ax.set_title(f"{pts.label}: loss against {param} per {axis}")
        ax.legend(fontsize="small")
    return fig


def plot_optimum_vs_scale(source: Any, recommendation: Recommendation | None = None,
                          param: str = "lr", axis: str = "width") -> Any:
    """The best ``param`` per ``axis`` value and, given the study's ``recommendation``, the
    fitted drift through the recommended target value (80% band), up to the target."""
    pts = points(source, param, axis)
    fig, (ax,) = _figure(1)
    scales = list(pts.by_scale)
    best = [min(pts.by_scale[s], key=lambda p: p[1])[0] for s in scales]
    ax.plot(scales, best, "o", label="best observed")
    if recommendation is not None:
        drift = next((d for d in recommendation.drifts if d.param == param and d.axis == axis),
                     None)
        if drift is None or param not in recommendation.config or pts.target is None:
            raise ScalingPlotError(f"the recommendation has no drift of {param!r} along "
                                   f"{axis!r}")
        target, value = pts.target, float(recommendation.config[param])
        grid = [min(scales) * (target / min(scales)) ** (i / 40) for i in range(41)]

        def at(scale: float, slope: float) -> float:
            doublings = math.log2(scale / target)
            return value * 2.0 ** (slope * doublings) if pts.log else value + slope * doublings

        ax.plot(grid, [at(s, drift.per_doubling) for s in grid], "-",
                label=f"fitted drift {drift.per_doubling:+.3f} per doubling ({drift.verdict})")
        lo, hi = drift.interval
        ax.fill_between(grid, [at(s, lo) for s in grid], [at(s, hi) for s in grid],
                        alpha=0.2, label="80% interval")
        ax.plot([target], [value], "*", markersize=14, label=f"recommended at {axis} "
                f"{target:g}")
    ax.set_xscale("log", base=2)
    if pts.log:
        ax.set_yscale("log")
    ax.set_xlabel(axis)
    ax.set_ylabel(f"best {param}")
    ax.set_title(f"{pts.label}: optimum of {param} against {axis}")
    ax.legend(fontsize="small")
    return fig
