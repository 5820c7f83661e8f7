"""The same plots as :mod:`hpo.analysis.plots`, as interactive Plotly figures.

Used for ``hpo plot --format html`` and by the live dashboard (:mod:`hpo.analysis.dashboard`),
which sends each figure's JSON to the page; plotly.js draws it there, so no plotting code is
written in JavaScript. Plotly is an optional dependency (extras ``plots`` and ``dashboard``),
imported only here.
"""

from __future__ import annotations

import math
from typing import Any

from hpo.analysis import history as data
from hpo.analysis.history import DECISION_COLORS, draw
from hpo.analysis.importance import importance as compute_importance
from hpo.analysis.record import DECISIONS, StudyRecord, require

_LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
           "height": 420}


def _go() -> Any:
    return require("plotly.graph_objects", "plots")


def _ylabel(record: StudyRecord) -> str:
    arrow = "lower" if record.objective.direction.value == "minimize" else "higher"
    return f"{record.objective.metric} ({arrow} is better)"


def history_figure(record: StudyRecord, x: str | None = "trials") -> Any:
    """Best value so far against ``x`` (trials, budget, cost or time)."""
    go = _go()
    h = data.history(record, x or "trials")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=h.x, y=h.values, mode="markers", name="observation",
                             marker={"color": "grey", "size": 5, "opacity": 0.4}))
    fig.add_trace(go.Scatter(x=h.x, y=h.best, mode="lines", name="best so far",
                             line={"shape": "hv"}))
    if h.best_full is not None:
        fig.add_trace(go.Scatter(x=h.x, y=h.best_full, mode="lines",
                                 name="best at full fidelity", line={"shape": "hv"}))
    fig.update_layout(title=f"optimisation history ({record.method_name})", xaxis_title=h.label,
                      yaxis_title=_ylabel(record), **_LAYOUT)
    return fig


def curve_traces(record: StudyRecord, curves: list[data.Curve]) -> list[Any]:
    """One trace per decision category, its trials' curves separated by gaps (a few traces
    draw thousands of trials quickly); hovering names the trial."""
    go = _go()
    traces = []
    for decision in DECISIONS:
        xs: list[float | None] = []
        ys: list[float | None] = []
        text: list[str] = []
        for c in (c for c in curves if c.decision == decision):
            xs += [*c.budgets, None]
            ys += [*c.values, None]
            text += [f"trial {c.trial_id}"] * len(c.budgets) + [""]
        if xs:
            traces.append(go.Scatter(
                x=xs, y=ys, text=text, mode="lines+markers", connectgaps=False,
                name=f"{decision} ({xs.count(None)})",
                line={"color": DECISION_COLORS[decision], "width": 1}, marker={"size": 4},
                hovertemplate=f"%{{text}} ({decision})<br>budget %{{x}}<br>"
                              f"{record.objective.metric} %{{y:.4g}}<extra></extra>"))
    return traces


def curves_figure(record: StudyRecord) -> Any:
    """Every trial's learning curve, coloured by decision (click a legend entry to hide)."""
    go = _go()
    curves = data.curves(record)
    fig = go.Figure(curve_traces(record, curves))
    fid = record.fidelity
    log = fid is not None and fid.min > 0 and fid.max / fid.min >= 9
    fig.update_layout(title=f"learning curves: {len(curves)} trials",
                      xaxis={"title": fid.name if fid else "report",
                             "type": "log" if log else "linear"},
                      yaxis_title=_ylabel(record), **_LAYOUT)
    return fig


def parallel_figure(record: StudyRecord) -> Any:
    """Parallel coordinates (drag along an axis to filter trials)."""
    go = _go()
    par = data.parallel(record)
    dims = [{"label": name, "values": par.coords[:, j].tolist(), "range": [0, 1],
             "tickvals": pos, "ticktext": labels}
            for j, (name, (pos, labels)) in enumerate(zip(par.names, par.ticks))]
    dims.append({"label": record.objective.metric, "values": par.values})
    reverse = record.objective.direction.value == "minimize"
    fig = go.Figure(go.Parcoords(line={"color": par.values, "colorscale": "Viridis",
                                       "reversescale": reverse, "showscale": True},
                                 dimensions=dims))
    layout = dict(_LAYOUT, margin={"l": 60, "r": 40, "t": 100, "b": 30})
    fig.update_layout(title=f"parallel coordinates: {len(par.values)} trials", **layout)
    return fig


def slices_figure(record: StudyRecord) -> Any:
    """One panel per parameter, coloured by the budget each value was measured at."""
    go = _go()
    subplots = require("plotly.subplots", "plots")
    parts = data.slices(record)
    cols = min(3, len(parts))
    rows = math.ceil(len(parts) / cols)
    fig = subplots.make_subplots(rows=rows, cols=cols, subplot_titles=[s.name for s in parts])
    budgets = [b for s in parts for b in s.budgets]
    for k, s in enumerate(parts):
        row, col = k // cols + 1, k % cols + 1
        xs = [str(v) for v in s.x] if s.choices is not None else s.x
        fig.add_trace(go.Scatter(x=xs, y=s.values, mode="markers", name=s.name,
                                 showlegend=False,
                                 marker={"color": s.budgets, "colorscale": "Plasma",
                                         "cmin": min(budgets), "cmax": max(budgets),
                                         "size": 6, "showscale": k == 0,
                                         "colorbar": {"title": "budget"}}), row=row, col=col)
        if s.log:
            fig.update_xaxes(type="log", row=row, col=col)
        if s.choices is not None:
            fig.update_xaxes(type="category", categoryorder="array",
                             categoryarray=[str(c) for c in s.choices], row=row, col=col)
    layout = dict(_LAYOUT, height=max(320, 300 * rows))
    fig.update_layout(title="slice plot", **layout)
    return fig


def importance_figure(record: StudyRecord, *, seed: int = 0) -> Any:
    go = _go()
    imp = compute_importance(record, seed=seed)
    fig = go.Figure(go.Bar(x=imp.mean[::-1], y=imp.names[::-1], orientation="h",
                           error_x={"type": "data", "array": imp.std[::-1]}))
    fig.update_layout(title=f"parameter importance: {imp.n_trials} trials at budget "
                            f"{imp.budget:g}", xaxis_title="share of permutation importance",
                      **_LAYOUT)
    return fig


def rungs_figure(record: StudyRecord) -> Any:
    go = _go()
    occ = data.rung_occupancy(record)
    labels = [f"{lv:g}" for lv in occ.levels]
    fig = go.Figure([go.Bar(x=labels, y=counts, name=name, text=counts, textposition="auto")
                     for name, counts in occ.brackets.items()])
    fid = record.fidelity
    fig.update_layout(title=f"rung occupancy ({record.method_name})", barmode="group",
                      xaxis={"title": f"rung level ({fid.name if fid else 'budget'})",
                             "type": "category"},
                      yaxis_title="trials that reached it", **_LAYOUT)
    return fig


def pareto_figure(record: StudyRecord) -> Any:
    go = _go()
    par = data.pareto(record)
    fig = go.Figure([
        go.Scatter(x=par.costs, y=par.values, mode="markers", name="observation",
                   text=[f"trial {t}" for t in par.trial_ids],
                   marker={"color": "grey", "size": 5, "opacity": 0.4}),
        go.Scatter(x=[par.costs[i] for i in par.front], y=[par.values[i] for i in par.front],
                   mode="lines+markers", name=f"Pareto front ({len(par.front)})",
                   text=[f"trial {par.trial_ids[i]}" for i in par.front],
                   line={"shape": "hv", "color": "#d62728"})])
    fig.update_layout(title="cost / quality trade-off", xaxis_title="cumulative cost of the trial",
                      yaxis_title=_ylabel(record), **_LAYOUT)
    return fig


def trial_figure(record: StudyRecord, trial_id: int) -> Any:
    """One trial's curve: the objective and every other reported metric against budget."""
    go = _go()
    trial = record.trials[trial_id]
    fig = go.Figure()
    budgets = [o.budget for o in trial.observations]
    fig.add_trace(go.Scatter(x=budgets, y=[record.value(o.loss) if math.isfinite(o.loss)
                                           else None for o in trial.observations],
                             mode="lines+markers", name=record.objective.metric))
    others = sorted({k for o in trial.observations for k in o.metrics}
                    - {record.objective.metric})
    for name in others:
        fig.add_trace(go.Scatter(x=budgets, y=[o.metrics.get(name) for o in trial.observations],
                                 mode="lines+markers", name=name, yaxis="y2"))
    fid = record.fidelity
    extra = {"yaxis2": {"overlaying": "y", "side": "right", "title": "other metrics"}} \
        if others else {}
    fig.update_layout(title=f"trial {trial_id} ({record.decision(trial)})",
                      xaxis_title=fid.name if fid else "report", yaxis_title=_ylabel(record),
                      **extra, **_LAYOUT)
    return fig


_FIGURES = {"history": history_figure, "curves": curves_figure, "parallel": parallel_figure,
            "slices": slices_figure, "importance": importance_figure, "rungs": rungs_figure,
            "pareto": pareto_figure}


def figure(source: Any, kind: str, *, x: str | None = None, seed: int = 0) -> Any:
    """The Plotly figure of ``kind`` (see :data:`hpo.analysis.plots.KINDS`)."""
    return draw(_FIGURES, StudyRecord.of(source), kind, x=x, seed=seed)
