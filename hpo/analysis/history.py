"""The data behind every plot, computed from a :class:`~hpo.analysis.record.StudyRecord` alone.

Plain Python and NumPy, no plotting library: :mod:`hpo.analysis.plots` draws these with
matplotlib, :mod:`hpo.analysis.figures` with Plotly (the dashboard, HTML files). Values are in
the objective's own units (a maximised accuracy stays an accuracy); non-finite results (a
diverged run) are left out of points and lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpo.analysis.record import AnalysisError, StudyRecord

#: plot kinds, as ``hpo plot --kind`` names them
KINDS = ("history", "curves", "parallel", "slices", "importance", "rungs", "pareto")
#: colour of each decision category (learning curves, the dashboard)
DECISION_COLORS = {"completed": "#2ca02c", "promoted": "#1f77b4", "paused": "#9467bd",
                   "running": "#17becf", "stopped": "#ff7f0e", "failed": "#d62728"}
#: the x axes of the optimisation history
HISTORY_AXES = {"trials": "trials started", "budget": "cumulative budget",
                "cost": "cumulative cost", "time": "wall time (s)"}


def check_kind(kind: str) -> str:
    """``kind`` if it is one of :data:`KINDS`, else AnalysisError naming it."""
    if kind not in KINDS:
        raise AnalysisError(f"unknown plot kind {kind!r}; choose one of {list(KINDS)}")
    return kind


def draw(table: Mapping[str, Callable[..., Any]], source: Any, kind: str, *, x: str | None,
         seed: int) -> Any:
    """Call ``table[kind]`` with the options that kind takes: ``x`` (the history plot's
    axis) and ``seed`` (the importance estimate's); ``x`` given for another kind is an
    AnalysisError rather than silently ignored."""
    kind = check_kind(kind)
    if kind == "history":
        return table[kind](source, x)
    if x is not None:
        raise AnalysisError(f"x={x!r} applies to the history plot only, not to {kind!r}")
    if kind == "importance":
        return table[kind](source, seed=seed)
    return table[kind](source)


@dataclass
class History:
    """Every observation in time order, with the best value so far.

    Attributes:
        x: the chosen axis at each observation (see :data:`HISTORY_AXES`).
        values: each observation's value (NaN for a non-finite one).
        best: best value so far at any budget.
        best_full: best value so far among full-fidelity observations (None without a fidelity
            or before one reached the maximum).
    """

    axis: str
    x: list[float]
    values: list[float]
    best: list[float]
    best_full: list[float] | None
    direction: str
    metric: str

    @property
    def label(self) -> str:
        return HISTORY_AXES[self.axis]


def history(record: StudyRecord, x: str = "trials") -> History:
    """The optimisation history against ``x``: trials, budget, cost or time."""
    if x not in HISTORY_AXES:
        raise AnalysisError(f"unknown history axis {x!r}; choose one of {list(HISTORY_AXES)}")
    trials = record.require_results("optimisation history")
    rows = []
    for trial in trials:
        prev_budget, prev_cost = 0.0, 0.0
        for obs in trial.observations:
            rows.append((obs.time, trial.id, obs.budget - prev_budget, obs.cost - prev_cost,
                         obs.loss, obs.budget))
            prev_budget, prev_cost = obs.budget, obs.cost
    rows.sort(key=lambda r: (r[0], r[1]))
    top = record.fidelity.max if record.fidelity is not None else None
    seen: set[int] = set()
    budget = cost = 0.0
    best = best_full = math.inf
    out_x, values, bests, fulls = [], [], [], []
    for ts, tid, used, spent, loss, at in rows:
        seen.add(tid)
        budget += used
        cost += spent
        best = min(best, loss)
        if top is not None and at >= top:
            best_full = min(best_full, loss)
        out_x.append({"trials": float(len(seen)), "budget": budget, "cost": cost,
                      "time": ts - record.created}[x])
        values.append(_value(record, loss))
        bests.append(_value(record, best))
        fulls.append(_value(record, best_full))
    has_full = top is not None and any(math.isfinite(v) for v in fulls)
    return History(x, out_x, values, bests, fulls if has_full else None,
                   record.objective.direction.value, record.objective.metric)


def _value(record: StudyRecord, loss: float) -> float:
    return record.value(loss) if math.isfinite(loss) else math.nan


@dataclass
class Curve:
    trial_id: int
    decision: str
    budgets: list[float]
    values: list[float]
    promotions: list[float] = field(default_factory=list)


def curves(record: StudyRecord) -> list[Curve]:
    """Every trial's learning curve (value against budget) with its decision category."""
    out = []
    for trial in record.require_results("learning curves"):
        pts = [(o.budget, record.value(o.loss)) for o in trial.observations
               if math.isfinite(o.loss)]
        if pts:  # a trial whose only result diverged has no curve to draw
            out.append(Curve(trial.id, record.decision(trial), [b for b, _ in pts],
                             [v for _, v in pts], list(record.resumes.get(trial.id, []))))
    return out


def final_points(record: StudyRecord, what: str) -> list[tuple[Any, float, float]]:
    """``(trial, value, budget)`` of each trial's last finite observation."""
    out = []
    for trial in record.require_results(what):
        finite = [o for o in trial.observations if math.isfinite(o.loss)]
        if finite:
            out.append((trial, record.value(finite[-1].loss), finite[-1].budget))
    if not out:
        raise AnalysisError(f"{what}: no trial of the study at {record.where} has a finite "
                            f"{record.objective.metric}")
    return out


@dataclass
class Slice:
    name: str
    kind: str  # "float", "int", "categorical", "ordinal", ...
    log: bool
    x: list[Any]
    values: list[float]
    budgets: list[float]
    choices: list[Any] | None = None


def slices(record: StudyRecord) -> list[Slice]:
    """Per parameter: each trial's value against the parameter's value (constants left out)."""
    points = final_points(record, "slice plot")
    assert record.space is not None
    out = []
    for param in record.space.coded_params:
        pts = [(t.config[param.name], v, b) for t, v, b in points if param.name in t.config]
        spec = param.to_json()
        out.append(Slice(param.name, spec["type"], bool(spec.get("log")), [p[0] for p in pts],
                         [p[1] for p in pts], [p[2] for p in pts], spec.get("choices")))
    if not out:
        raise AnalysisError(f"slice plot: the study at {record.where} has no tunable parameter")
    return out


@dataclass
class Parallel:
    """Unit-cube coordinates of each trial's config (one column per parameter) and its value."""

    names: list[str]
    coords: np.ndarray  # shape (trials, parameters), each in [0, 1] (inactive: the space's code)
    values: list[float]
    trial_ids: list[int]
    ticks: list[tuple[list[float], list[str]]]  # per parameter: positions in [0, 1], labels


def parallel(record: StudyRecord) -> Parallel:
    """The data of a parallel-coordinates plot: one row per trial with a finite result."""
    points = final_points(record, "parallel coordinates")
    assert record.space is not None
    params = record.space.coded_params
    if not params:
        raise AnalysisError(f"parallel coordinates: the study at {record.where} has no "
                            "tunable parameter")
    coords = record.space.encode_many([t.config for t, _, _ in points])
    ticks = []
    for p in params:
        spec = p.to_json()
        if spec.get("choices") is not None:
            pos = [float(p.encode(c)) for c in spec["choices"]]
            ticks.append((pos, [str(c) for c in spec["choices"]]))
        elif spec["type"] == "int" and not spec.get("log") and spec["high"] - spec["low"] < 10:
            values = range(spec["low"], spec["high"] + 1, spec.get("step") or 1)
            ticks.append(([float(p.encode(v)) for v in values], [str(v) for v in values]))
        else:
            pos = [0.0, 0.5, 1.0]
            ticks.append((pos, [f"{p.decode(u):.3g}" for u in pos]))
    return Parallel([p.name for p in params], coords, [v for _, v, _ in points],
                    [t.id for t, _, _ in points], ticks)


@dataclass
class Occupancy:
    """Trials that reached each rung level, per bracket (keyed by its lowest rung)."""

    levels: list[float]
    brackets: dict[str, list[int]]  # bracket label -> trials at each level (same order)


def rung_occupancy(record: StudyRecord) -> Occupancy:
    """Rung / bracket occupancy of a successive-halving-family study.

    Rung levels are the budgets the journal shows decisions at: the target budgets of starts
    and promotions and the budgets of pause / stop verdicts. A trial's bracket is the budget it
    started at (all trials in one bracket when every trial starts at the maximum, as in ASHA's
    stopping variant); it occupies every level of its bracket that its budget reached.
    """
    fidelity = record.fidelity
    if fidelity is None:
        raise AnalysisError(f"rung occupancy needs a multi-fidelity (successive-halving "
                            f"family) study; the study at {record.where} has no fidelity")
    trials = record.require_results("rung occupancy")
    levels = {b for b in record.start_budgets.values() if b is not None}
    levels.update(b for bs in record.resumes.values() for b in bs)
    for trial in trials:
        for obs, verdict in zip(trial.observations, record.verdicts.get(trial.id, [])):
            if verdict != "c":
                levels.add(obs.budget)
    rungs = sorted(lv for lv in levels if lv <= fidelity.max)
    starts = {record.start_budgets.get(t.id) for t in trials}
    lumped = len(starts) <= 1 or starts == {fidelity.max}
    brackets: dict[float, list[int]] = {}
    for trial in trials:
        start = rungs[0] if lumped else record.start_budgets.get(trial.id) or rungs[0]
        row = brackets.setdefault(start, [0] * len(rungs))
        for i, level in enumerate(rungs):
            if start <= level <= trial.budget:
                row[i] += 1
    return Occupancy(rungs, {f"bracket {i} (from {start:g})": brackets[start]
                             for i, start in enumerate(sorted(brackets))})


@dataclass
class Pareto:
    """Each observation's (cumulative trial cost, value) and the cost / value Pareto front."""

    costs: list[float]
    values: list[float]
    trial_ids: list[int]
    front: list[int]  # indices into the points, by increasing cost
    direction: str


def pareto(record: StudyRecord) -> Pareto:
    """Loss against cumulative cost: every observation, and the non-dominated ones (no other
    observation is both cheaper and at least as good)."""
    costs, values, ids, losses = [], [], [], []
    for trial in record.require_results("Pareto front"):
        for obs in trial.observations:
            if math.isfinite(obs.loss):
                costs.append(obs.cost)
                values.append(record.value(obs.loss))
                ids.append(trial.id)
                losses.append(obs.loss)
    if not costs or max(costs) <= 0:
        raise AnalysisError(f"Pareto front: the study at {record.where} records no cost (every "
                            "report has cost 0); report cost=... to make it cost-aware")
    order = sorted(range(len(costs)), key=lambda i: (costs[i], losses[i]))
    front, best = [], math.inf
    for i in order:
        if losses[i] < best:
            front.append(i)
            best = losses[i]
    return Pareto(costs, values, ids, front, record.objective.direction.value)


def trial_rows(record: StudyRecord) -> list[dict[str, Any]]:
    """One summary row per trial (the dashboard's table and ``hpo plot``'s tooltips)."""
    rows = []
    for trial in record.snapshot():
        finite = [o.loss for o in trial.observations if math.isfinite(o.loss)]
        rows.append({
            "trial": trial.id, "status": trial.status.value, "decision": record.decision(trial),
            "budget": trial.budget, "value": _value(record, trial.loss),
            "best": _value(record, min(finite)) if finite else math.nan,
            "cost": trial.cost, "reports": len(trial.observations),
            "promotions": len(record.resumes.get(trial.id, [])),
            "parent": trial.parent_id, "reason": trial.reason,
            "config": dict(trial.config),
        })
    return rows
