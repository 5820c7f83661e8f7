"""Plots of any study with matplotlib (optional extra ``plots``), read from its journal alone.

Every function takes a study directory, a ``Study`` or a :class:`StudyRecord` and returns a
``matplotlib.figure.Figure`` (built without pyplot: no global figure state, no display needed);
:func:`save_plot` writes a PNG (matplotlib) or an interactive HTML file (Plotly). matplotlib is
imported only when a plot is drawn, so ``import hpo`` never needs it.

Example::

    from hpo.analysis import plots
    plots.save_plot("runs/asha", "curves", "curves.png")
    fig = plots.plot_history("runs/asha", x="cost")
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from hpo.analysis import history as data
from hpo.analysis.history import DECISION_COLORS, KINDS, check_kind, draw
from hpo.analysis.importance import importance as compute_importance
from hpo.analysis.record import DECISIONS, AnalysisError, StudyRecord, require

FORMATS = ("png", "html")
__all__ = ["DECISION_COLORS", "FORMATS", "KINDS", "applicable_kinds", "check_kind",
           "missing_data", "plot", "plot_curves", "plot_history", "plot_importance",
           "plot_parallel", "plot_pareto", "plot_rungs", "plot_slices", "save_plot"]


def _figure(rows: int = 1, cols: int = 1, *, width: float = 7.0, height: float = 4.5) -> Any:
    require("matplotlib", "plots")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * cols if cols > 1 else width, height * rows),
                 layout="constrained")
    fig.subplots(rows, cols, squeeze=False)
    return fig


def _ylabel(record: StudyRecord) -> str:
    arrow = "lower" if record.objective.direction.value == "minimize" else "higher"
    return f"{record.objective.metric} ({arrow} is better)"


def plot_history(source: Any, x: str | None = None) -> Any:
    """Best value so far against trials, budget, cost and wall time (one panel each), or
    against one of them (``x``). Points: every observation; lines: the best so far at any
    budget and, with a fidelity, the best at full fidelity."""
    record = StudyRecord.of(source)
    axes_names = list(data.HISTORY_AXES) if x is None else [x]
    series = [data.history(record, name) for name in axes_names]
    fig = _figure(2, 2, width=5.5, height=4.0) if len(series) > 1 else _figure()
    for ax, h in zip(fig.axes, series):
        ax.scatter(h.x, h.values, s=10, alpha=0.35, color="grey", label="observation")
        ax.step(h.x, h.best, where="post", color="C0", label="best so far")
        if h.best_full is not None:
            ax.step(h.x, h.best_full, where="post", color="C3", label="best at full fidelity")
        ax.set_xlabel(h.label)
        ax.set_ylabel(_ylabel(record))
        ax.legend(fontsize="small")
    for ax in fig.axes[len(series):]:
        ax.set_visible(False)
    fig.suptitle(f"optimisation history ({record.method_name})")
    return fig


def plot_curves(source: Any) -> Any:
    """Every trial's learning curve (value against budget), coloured by its decision."""
    record = StudyRecord.of(source)
    curves = data.curves(record)
    fig = _figure()
    ax = fig.axes[0]
    labelled: set[str] = set()
    for c in curves:
        label = None if c.decision in labelled else c.decision
        labelled.add(c.decision)
        ax.plot(c.budgets, c.values, marker=".", markersize=4, linewidth=1, alpha=0.8,
                color=DECISION_COLORS[c.decision], label=label, gid=f"trial-{c.trial_id}")
    fid = record.fidelity
    if fid is not None and fid.min > 0 and fid.max / fid.min >= 9:
        ax.set_xscale("log")
    ax.set_xlabel(fid.name if fid is not None else "report")
    ax.set_ylabel(_ylabel(record))
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: DECISIONS.index(labels[i]))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], fontsize="small")
    ax.set_title(f"learning curves: {len(curves)} trials")
    return fig


def plot_parallel(source: Any) -> Any:
    """Parallel coordinates: one line per trial across its parameters and its value."""
    record = StudyRecord.of(source)
    par = data.parallel(record)
    from matplotlib.collections import LineCollection

    fig = _figure(width=max(6.0, 1.6 * (len(par.names) + 1)))
    ax = fig.axes[0]
    lo, hi = min(par.values), max(par.values)
    scaled = [(v - lo) / (hi - lo) if hi > lo else 0.5 for v in par.values]
    n = len(par.names)
    segments = [[(j, float(par.coords[i, j])) for j in range(n)] + [(n, scaled[i])]
                for i in range(len(par.values))]
    lines = LineCollection(segments, cmap="viridis_r" if par.values and
                           record.objective.direction.value == "minimize" else "viridis",
                           linewidths=1, alpha=0.7)
    lines.set_array(par.values)
    ax.add_collection(lines)
    for j, (pos, labels) in enumerate(par.ticks + [([0.0, 1.0], [f"{lo:.3g}", f"{hi:.3g}"])]):
        ax.axvline(j, color="black", linewidth=0.8)
        for p, text in zip(pos, labels):
            ax.annotate(text, (j, p), xytext=(3, 0), textcoords="offset points",
                        fontsize="x-small", va="center")
    ax.set_xlim(-0.2, n + 0.5)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks(range(n + 1), par.names + [record.objective.metric])
    ax.set_yticks([])
    fig.colorbar(lines, ax=ax, label=record.objective.metric)
    ax.set_title(f"parallel coordinates: {len(par.values)} trials")
    return fig


def plot_slices(source: Any) -> Any:
    """One panel per parameter: each trial's value against that parameter, coloured by the
    budget the value was measured at."""
    record = StudyRecord.of(source)
    parts = data.slices(record)
    cols = min(3, len(parts))
    rows = math.ceil(len(parts) / cols)
    fig = _figure(rows, cols, width=4.0, height=3.2)
    budgets = [b for s in parts for b in s.budgets]
    for ax, s in zip(fig.axes, parts):
        xs = s.x
        if s.choices is not None:  # categories at their index, in the space's order
            xs = [s.choices.index(v) for v in s.x]
            ax.set_xticks(range(len(s.choices)), [str(c) for c in s.choices])
            ax.set_xlim(-0.5, len(s.choices) - 0.5)
        points = ax.scatter(xs, s.values, c=s.budgets, s=14, cmap="plasma",
                            vmin=min(budgets), vmax=max(budgets), gid=f"slice-{s.name}")
        if s.log:
            ax.set_xscale("log")
        ax.set_xlabel(s.name)
        ax.set_ylabel(record.objective.metric)
    for ax in fig.axes[len(parts):]:
        ax.set_visible(False)
    fig.colorbar(points, ax=fig.axes[:len(parts)], label="budget")
    fig.suptitle("slice plot")
    return fig


def plot_importance(source: Any, *, seed: int = 0) -> Any:
    """Random-forest permutation importance of each parameter (see
    :mod:`hpo.analysis.importance`)."""
    record = StudyRecord.of(source)
    imp = compute_importance(record, seed=seed)
    fig = _figure(width=6.0, height=max(2.5, 0.5 * len(imp.names) + 1.5))
    ax = fig.axes[0]
    ax.barh(imp.names[::-1], imp.mean[::-1], xerr=imp.std[::-1], color="C0")
    ax.set_xlabel("importance (share of the permutation importance)")
    ax.set_title(f"parameter importance: {imp.n_trials} trials at budget {imp.budget:g}")
    return fig


def plot_rungs(source: Any) -> Any:
    """Rung / bracket occupancy: trials that reached each rung level, one bar per bracket."""
    record = StudyRecord.of(source)
    occ = data.rung_occupancy(record)
    fig = _figure()
    ax = fig.axes[0]
    width = 0.8 / max(1, len(occ.brackets))
    for k, (label, counts) in enumerate(occ.brackets.items()):
        xs = [i + k * width for i in range(len(occ.levels))]
        bars = ax.bar(xs, counts, width=width, label=label)
        ax.bar_label(bars, fontsize="x-small")
    ax.set_xticks([i + width * (len(occ.brackets) - 1) / 2 for i in range(len(occ.levels))],
                  [f"{lv:g}" for lv in occ.levels])
    ax.set_xlabel(f"rung level ({record.fidelity.name if record.fidelity else 'budget'})")
    ax.set_ylabel("trials that reached it")
    ax.legend(fontsize="small")
    ax.set_title(f"rung occupancy ({record.method_name})")
    return fig


def plot_pareto(source: Any) -> Any:
    """Value against cumulative trial cost: every observation and the Pareto front."""
    record = StudyRecord.of(source)
    par = data.pareto(record)
    fig = _figure()
    ax = fig.axes[0]
    ax.scatter(par.costs, par.values, s=10, alpha=0.35, color="grey", label="observation")
    front_x = [par.costs[i] for i in par.front]
    front_y = [par.values[i] for i in par.front]
    ax.step(front_x, front_y, where="post", color="C3", marker="o", markersize=4,
            label=f"Pareto front ({len(par.front)})")
    ax.set_xlabel("cumulative cost of the trial")
    ax.set_ylabel(_ylabel(record))
    ax.legend(fontsize="small")
    ax.set_title("cost / quality trade-off")
    return fig


_PLOTS = {"history": plot_history, "curves": plot_curves, "parallel": plot_parallel,
          "slices": plot_slices, "importance": plot_importance, "rungs": plot_rungs,
          "pareto": plot_pareto}


def plot(source: Any, kind: str, *, x: str | None = None, seed: int = 0) -> Any:
    """The matplotlib figure of ``kind`` (one of :data:`KINDS`); ``x``: the history plot's
    axis (:data:`HISTORY_AXES`), ``seed``: the importance estimate's."""
    return draw(_PLOTS, source, kind, x=x, seed=seed)


def save_plot(source: Any, kind: str, path: str | os.PathLike[str], *, x: str | None = None,
              seed: int = 0) -> Path:
    """Write the ``kind`` plot to ``path``: ``.png`` with matplotlib, ``.html`` (interactive,
    self-contained) with Plotly (options as :func:`plot`). Returns the path."""
    out = Path(path)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise AnalysisError(f"cannot write a plot to {str(out)!r}: the file name must end in "
                            f"one of {['.' + f for f in FORMATS]}")
    check_kind(kind)
    record = StudyRecord.of(source)
    if fmt == "html":
        from hpo.analysis import figures

        fig = figures.figure(record, kind, x=x, seed=seed)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.write_html(str(out), include_plotlyjs=True, full_html=True)
        return out
    fig = plot(record, kind, x=x, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    return out


def applicable_kinds(record: StudyRecord) -> list[str]:
    """The kinds this study has the data for (rungs need a fidelity, Pareto a cost...)."""
    return [kind for kind in KINDS if missing_data(record, kind) is None]


def missing_data(record: StudyRecord, kind: str) -> str | None:
    """Why the study cannot be plotted as ``kind`` yet (None when it can)."""
    try:
        if kind == "rungs":
            data.rung_occupancy(record)
        elif kind == "pareto":
            data.pareto(record)
        elif kind == "importance":
            from hpo.analysis.importance import comparable_budget

            require("sklearn", "importance")
            comparable_budget(record)
        else:
            data.final_points(record, check_kind(kind))
    except AnalysisError as err:
        return str(err)
    return None
