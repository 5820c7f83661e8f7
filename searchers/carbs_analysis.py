"""Scaling laws read off a study's loss-cost Pareto front (algorithms.md §4.6).

* :func:`pareto_front`: the Pareto groups of the finished trials (loss against cost, with their
  configs); identical configs form one point (mean loss and cost).
* :func:`scaling_fit`: for every numeric hyper-parameter, a robust (Huber) line of the Pareto
  points' coordinate on ``log10 cost`` — ``log10`` of the value for log-scale parameters, so the
  slope is the exponent ``a`` of ``x*(C) ∝ C^a`` — with percentile bootstrap intervals.
* :func:`extrapolate`: the configuration the laws recommend at a larger budget, with intervals.
* :func:`plot_pareto`, :func:`plot_scaling`: matplotlib figures (imported lazily).

Every function takes a :class:`hpo.Study` or an iterable of :class:`hpo.Trial`. Trials count when
they ended COMPLETED or STOPPED with a finite loss; their cost is ``Trial.cost``. Which
parameters are log-scale comes from ``space`` (the study's by default); without one, a parameter
whose values are all positive is fitted in log space.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo import Float, Int, MethodError, SearchSpace, Study, Trial, TrialStatus
from searchers.models.pareto import group_rows, pareto_groups

_HUBER = 1.345


@dataclass(frozen=True)
class ParetoPoint:
    """A point of the front: mean ``cost`` and ``loss`` over ``trial_ids`` (identical configs)."""

    cost: float
    loss: float
    config: dict[str, Any]
    trial_ids: tuple[int, ...]


@dataclass(frozen=True)
class ScalingLaw:
    """``t(x) = intercept + slope * log10(cost)``, ``t = log10`` if ``log`` else identity."""

    name: str
    log: bool
    slope: float
    intercept: float
    slope_interval: tuple[float, float]
    n_points: int
    boot: np.ndarray = field(repr=False, compare=False)  # (n_boot, 2): intercept, slope

    def predict(self, cost: float) -> float:
        t = self.intercept + self.slope * math.log10(cost)
        return 10.0 ** t if self.log else t

    def interval(self, cost: float, level: float = 0.9) -> tuple[float, float]:
        t = self.boot[:, 0] + self.boot[:, 1] * math.log10(cost)
        lo, hi = np.quantile(t, [(1 - level) / 2, (1 + level) / 2])
        return (10.0 ** lo, 10.0 ** hi) if self.log else (float(lo), float(hi))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "log": self.log, "slope": self.slope,
                "intercept": self.intercept, "slope_interval": list(self.slope_interval),
                "n_points": self.n_points}


@dataclass(frozen=True)
class Extrapolation:
    """The recommended config at ``cost`` and each value's bootstrap interval."""

    cost: float
    config: dict[str, Any]
    values: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    outside_space: tuple[str, ...]


def _trials(source: Study | Iterable[Trial]) -> list[Trial]:
    trials = source.trials.values() if isinstance(source, Study) else source
    if isinstance(trials, Mapping):
        trials = trials.values()
    return [t for t in trials if isinstance(t, Trial)]


def _finished(source: Study | Iterable[Trial]) -> list[Trial]:
    ok = (TrialStatus.COMPLETED, TrialStatus.STOPPED)
    return [t for t in _trials(source) if t.status in ok and math.isfinite(t.loss)
            and t.cost > 0]


def pareto_front(source: Study | Iterable[Trial], *, min_cost_fraction: float = 0.0,
                 conservative: bool = False) -> list[ParetoPoint]:
    """The loss-cost Pareto front, cheapest first (CARBS's grouping; ``min_cost_fraction``
    buckets the cheapest observations, ``conservative`` is CARBS's stricter rule)."""
    trials = _finished(source)
    if not trials:
        return []
    ids: dict[str, int] = {}
    rows = np.array([[ids.setdefault(json.dumps(t.config, sort_keys=True, default=repr),
                                     len(ids))] for t in trials], dtype=np.float64)
    losses = np.array([t.loss for t in trials])
    costs = np.array([t.cost for t in trials])
    groups = pareto_groups(group_rows(rows, -losses, costs), costs, min_cost_fraction,
                           conservative)
    return [ParetoPoint(g.cost, -g.value, dict(trials[g.members[0]].config),
                        tuple(trials[i].id for i in g.members)) for g in groups]


def huber_line(x: np.ndarray, y: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """Huber M-estimate ``(intercept, slope)`` of ``y ~ x`` (IRLS, MAD scale, c = 1.345)."""
    A = np.column_stack([np.ones(len(x)), x])
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    for _ in range(iters):
        r = y - A @ beta
        scale = float(np.median(np.abs(r - np.median(r)))) / 0.6745
        if not scale > 1e-12:
            break
        w = np.minimum(1.0, _HUBER / np.maximum(np.abs(r) / scale, 1e-12))
        sw = np.sqrt(w)
        new = np.linalg.lstsq(A * sw[:, None], y * sw, rcond=None)[0]
        if np.allclose(new, beta, rtol=1e-10, atol=1e-12):
            beta = new
            break
        beta = new
    return float(beta[0]), float(beta[1])


def _is_log(name: str, space: SearchSpace | None, values: np.ndarray) -> bool:
    if space is not None and name in space:
        p = space[name]
        return bool(isinstance(p, (Float, Int)) and p.log)
    return bool(np.all(values > 0))


def scaling_fit(source: Study | Iterable[Trial], *, space: SearchSpace | None = None,
                n_boot: int = 500, level: float = 0.9, seed: int = 0,
                min_cost_fraction: float = 0.0,
                conservative: bool = False) -> dict[str, ScalingLaw]:
    """A :class:`ScalingLaw` per numeric hyper-parameter of the Pareto front (at least 3
    points needed). Bootstrap: ``n_boot`` resamples of the points from ``seed``."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 10:
        raise MethodError(f"n_boot must be an int >= 10, got {n_boot!r}")
    if not 0 < level < 1:
        raise MethodError(f"level must be in (0, 1), got {level!r}")
    front = pareto_front(source, min_cost_fraction=min_cost_fraction, conservative=conservative)
    if len(front) < 3:
        raise MethodError(f"a scaling fit needs at least 3 Pareto points, got {len(front)}")
    if space is None and isinstance(source, Study):
        space = source.space
    x = np.log10([p.cost for p in front])
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(front), size=(n_boot, len(front)))
    laws = {}
    names = [k for k, v in front[0].config.items()
             if isinstance(v, (int, float)) and not isinstance(v, bool)]
    for name in names:
        if not all(isinstance(p.config.get(name), (int, float)) for p in front):
            continue
        values = np.array([float(p.config[name]) for p in front])
        log = _is_log(name, space, values)
        y = np.log10(values) if log else values
        b0, b1 = huber_line(x, y)
        boot = np.array([huber_line(x[i], y[i]) if np.ptp(x[i]) > 0 else (b0, b1)
                         for i in picks])
        lo, hi = np.quantile(boot[:, 1], [(1 - level) / 2, (1 + level) / 2])
        laws[name] = ScalingLaw(name, log, b1, b0, (float(lo), float(hi)), len(front), boot)
    return laws


def extrapolate(source: Study | Iterable[Trial], cost: float, *,
                space: SearchSpace | None = None, level: float = 0.9, n_boot: int = 500,
                seed: int = 0) -> Extrapolation:
    """The laws' config at ``cost`` (ints rounded, clipped into ``space`` when given; the names
    clipped are in ``outside_space``) and each value's bootstrap interval at ``level``."""
    if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not cost > 0 \
            or not math.isfinite(cost):
        raise MethodError(f"cost must be a finite number > 0, got {cost!r}")
    if space is None and isinstance(source, Study):
        space = source.space
    laws = scaling_fit(source, space=space, n_boot=n_boot, level=level, seed=seed)
    values = {k: law.predict(cost) for k, law in laws.items()}
    intervals = {k: law.interval(cost, level) for k, law in laws.items()}
    config: dict[str, Any] = {}
    outside = []
    for k, v in values.items():
        p = space[k] if space is not None and k in space else None
        if isinstance(p, (Float, Int)) and not p.low <= v <= p.high:
            outside.append(k)
            v = min(max(v, p.low), p.high)
        config[k] = int(round(v)) if isinstance(p, Int) else v
    return Extrapolation(float(cost), config, values, intervals, tuple(outside))


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install matplotlib") from err
    return plt


def plot_pareto(source: Study | Iterable[Trial], *, ax: Any = None) -> Any:
    """Every finished trial (loss against cost, log cost axis) and the Pareto front."""
    plt = _pyplot()
    trials = _finished(source)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    ax.scatter([t.cost for t in trials], [t.loss for t in trials], c=[t.id for t in trials],
               cmap="viridis", s=12, label="trials")
    front = pareto_front(source)
    ax.plot([p.cost for p in front], [p.loss for p in front], "k-o", lw=2, ms=4,
            label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("cost")
    ax.set_ylabel("loss")
    ax.legend()
    return ax.figure


def plot_scaling(source: Study | Iterable[Trial], *, space: SearchSpace | None = None,
                 n_boot: int = 200) -> Any:
    """One panel per hyper-parameter: the Pareto points against cost and the fitted law."""
    plt = _pyplot()
    if space is None and isinstance(source, Study):
        space = source.space
    laws = scaling_fit(source, space=space, n_boot=n_boot)
    front = pareto_front(source)
    fig, axes = plt.subplots(1, len(laws), figsize=(4 * len(laws), 3.5), squeeze=False)
    costs = np.array([p.cost for p in front])
    grid = np.geomspace(costs.min(), costs.max(), 50)
    for ax, (name, law) in zip(axes[0], laws.items()):
        ax.scatter(costs, [p.config[name] for p in front], c="k", s=14)
        ax.plot(grid, [law.predict(c) for c in grid], "r-",
                label=f"slope {law.slope:.2f} [{law.slope_interval[0]:.2f}, "
                      f"{law.slope_interval[1]:.2f}]")
        ax.set_xscale("log")
        ax.set_yscale("log" if law.log else "linear")
        ax.set_xlabel("cost")
        ax.set_ylabel(name)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
