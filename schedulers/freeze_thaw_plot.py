"""Plot of a freeze-thaw study: observed curves, predicted continuations with intervals, and
the thaw / freeze / abandon decisions (matplotlib, imported lazily).

Example::

    from schedulers.freeze_thaw_plot import plot_curves
    fig = plot_curves(study)
    fig.savefig("curves.png")
"""

from __future__ import annotations

from typing import Any

from hpo import Study
from schedulers.freeze_thaw import FreezeThawScheduler
from schedulers.freeze_thaw_report import continuations

MARKERS = {"thaw": ("^", "thawed"), "freeze": ("s", "frozen"), "abandon": ("x", "abandoned")}


def plot_curves(study: Study, *, ax: Any = None, level: float = 0.8, max_trials: int = 30,
                log_budget: bool = False) -> Any:
    """Draw up to ``max_trials`` curves (the best by last loss) and return the figure.

    Solid lines are observed losses; dashed lines and bands the model's continuation to the
    maximum budget (central ``level`` interval); markers the decisions recorded by a
    freeze-thaw scheduler: ``^`` thawed (resumed) at that budget, ``s`` frozen (paused),
    ``x`` abandoned (retired).
    """
    import matplotlib

    if ax is None:  # a bare Figure: no pyplot, no global backend change
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 5))
        ax = fig.subplots()
    else:
        fig = ax.figure
    trials = sorted((t for t in study.trials.values() if t.observations),
                    key=lambda t: (t.loss, t.id))[:max_trials]
    shown = {t.id for t in trials}
    cont = continuations(study, level=level, trial_ids=sorted(shown))
    colours = matplotlib.colormaps["viridis"]
    for i, t in enumerate(trials):
        colour = colours(i / max(len(trials) - 1, 1))
        budgets, losses = t.curve()
        ax.plot(budgets, losses, "-", color=colour, lw=1.2)
        if t.id in cont:
            c = cont[t.id]
            ax.plot(c["budget"], c["mean"], "--", color=colour, lw=1.0)
            ax.fill_between(c["budget"], c["lower"], c["upper"], color=colour, alpha=0.12)
    scheduler = study.scheduler
    if isinstance(scheduler, FreezeThawScheduler):
        loss_at = {t.id: dict(zip(*t.curve())) for t in trials}
        for kind, (marker, label) in MARKERS.items():
            points = [(e.budget, loss_at[e.trial_id].get(e.budget))
                      for e in scheduler.history if e.kind == kind and e.trial_id in shown]
            points = [(b, y) for b, y in points if y is not None]
            if points:
                xs, ys = zip(*points)
                ax.scatter(xs, ys, marker=marker, s=28, color="black", label=label, zorder=3)
    if log_budget:
        ax.set_xscale("log")
    name = study.fidelity.name if study.fidelity else "budget"
    ax.set_xlabel(name)
    ax.set_ylabel(f"loss ({study.objective.metric})")
    ax.set_title(f"freeze-thaw: {len(trials)} curves, dashed = predicted ({level:.0%} band)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right")
    return fig
