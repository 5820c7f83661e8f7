"""Tables and plots from ``runs.jsonl``: ``python -m benchmarks report --out results/quick``.

Writes ``summary.md`` (a methods x problems table and a detailed table) and ``plots/*.png``
(anytime regret per problem with 95% bands clipped to the visible log range, a legend in each
panel; average rank against the fraction of the budget, on a log axis).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import metrics
from benchmarks.problems import get_problem
from benchmarks.runner import RUNS_FILE, load_runs
from hpo import HPOError

GRID_POINTS = 60


@dataclass
class Cell:
    """Aggregated results of one (problem, method)."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: str = ""
    budget_curves: np.ndarray | None = None
    time_curves: np.ndarray | None = None
    final: list[float] = field(default_factory=list)
    grids: tuple[np.ndarray, np.ndarray] | None = None  # (full evaluations, simulated seconds)


def _constants(problem: str) -> tuple[float, float] | None:
    """The problem's own fixed optimum and reference, if it can be built and has them."""
    try:
        built = get_problem(problem)
    except (HPOError, ValueError):
        return None
    if math.isfinite(built.optimum) and math.isfinite(built.reference):
        return float(built.optimum), float(built.reference)
    return None


def _normalisation(problem: str, runs: list[dict[str, Any]]) -> tuple[float, float]:
    """Fixed constants: the records' (or the problem's, for records written before it had
    them). Only a problem with neither falls back to the runs themselves (best loss found,
    random search's median first incumbent), which depends on the results set."""
    known = [r for r in runs if r.get("optimum") is not None and r.get("reference") is not None]
    if known:
        return float(known[0]["optimum"]), float(known[0]["reference"])
    constants = _constants(problem)
    if constants is not None:
        return constants
    finals = [row[2] for r in runs for row in r.get("trajectory", [])]
    firsts = [r["trajectory"][0][2] for r in runs
              if r["method"] == "random" and r.get("trajectory")]
    if not firsts:
        firsts = [r["trajectory"][0][2] for r in runs if r.get("trajectory")]
    optimum = min(finals) if finals else 0.0
    return optimum, float(np.median(firsts)) if firsts else optimum + 1.0


def latest(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last record of each (problem, method, seed, workers): a retried run replaces its
    earlier failure."""
    last: dict[tuple, dict[str, Any]] = {}
    for run in runs:
        last[(run["problem"], run["method"], run["seed"], run["workers"])] = run
    return list(last.values())


def aggregate(runs: list[dict[str, Any]]) -> dict[str, dict[str, Cell]]:
    """problem -> method -> Cell with regret curves on shared grids."""
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in latest(runs):
        by_problem[run["problem"]].append(run)
    out: dict[str, dict[str, Cell]] = {}
    for problem, prows in by_problem.items():
        # runs whose trials choose their own budget have no resource budget (max_budget None):
        # they are scored on the loss-cost plane by ``benchmarks.cost_report`` only
        ok = [r for r in prows if "trajectory" in r and r.get("max_budget") is not None]
        optimum, reference = _normalisation(problem, ok)
        scale = (reference - optimum) or 1.0
        cells: dict[str, Cell] = defaultdict(Cell)
        if ok:
            unit = ok[0]["unit"]
            # the grid ends where the longest run ended, so every curve ends at its final regret
            end = max(max(r["max_budget"], r.get("spent") or 0.0) for r in ok)
            budget_grid = metrics.budget_grid(end, unit, GRID_POINTS)
            t_max = max(r["sim_time"] for r in ok) or 1.0
            t_min = min((row[0] for r in ok for row in r["trajectory"] if row[0] > 0),
                        default=t_max / 1000)
            time_grid = np.geomspace(max(t_min, t_max / 1e4), t_max, GRID_POINTS)
        for run in sorted(prows, key=lambda r: r["seed"]):
            cell = cells[run["method"]]
            if "error" in run:
                cell.errors.append(run["error"])
                continue
            if "skipped" in run:
                cell.skipped = run["skipped"]
                continue
            if run not in ok:
                cell.skipped = "scored on the loss-cost plane (python -m benchmarks cost-report)"
                continue
            traj = [(t, s, (loss - optimum) / scale) for t, s, loss in run["trajectory"]]
            cell.runs.append(run)
            b = metrics.on_grid(traj, budget_grid, axis=1)
            t = metrics.on_grid(traj, time_grid, axis=0)
            cell.budget_curves = b[None] if cell.budget_curves is None else \
                np.vstack([cell.budget_curves, b])
            cell.time_curves = t[None] if cell.time_curves is None else \
                np.vstack([cell.time_curves, t])
            cell.final.append(metrics.final_regret(traj))
        for cell in cells.values():
            cell.grids = (budget_grid / unit, time_grid) if ok else None
        out[problem] = dict(cells)
    return out


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 1000 or (x != 0 and abs(x) < 10 ** -digits):
        return f"{x:.2e}"
    return f"{x:.{digits}f}"


def summarise(cells: dict[str, dict[str, Cell]]) -> dict[str, dict[str, dict[str, Any]]]:
    """problem -> method -> numbers (final regret mean/CI, speed-ups, mean rank, runs)."""
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for problem, methods in cells.items():
        finals = {m: c.final for m, c in methods.items() if c.final}
        ranks = metrics.mean_ranks(finals) if len(finals) > 1 else {m: 1.0 for m in finals}
        random = methods.get("random")
        table[problem] = {}
        for name, cell in methods.items():
            row: dict[str, Any] = {"runs": len(cell.runs), "errors": len(cell.errors),
                                   "skipped": cell.skipped,
                                   "error": cell.errors[0] if cell.errors else ""}
            if cell.final:
                mean, ci = metrics.mean_ci(np.array(cell.final)[:, None])
                row.update(final=float(mean[0]), ci=float(ci[0]), rank=ranks.get(name))
                row["real_s"] = float(np.mean([r["real_s"] for r in cell.runs]))
                row["decision_ms"] = 1000 * float(np.mean(
                    [r["decision_s"] / max(1, r["n_reports"] + r["n_trials"])
                     for r in cell.runs]))
                if random is not None and random.final and name != "random":
                    bg, tg = cell.grids
                    row["speedup_budget"] = metrics.speedup(
                        cell.budget_curves.mean(0), random.budget_curves.mean(0), bg)
                    row["speedup_time"] = metrics.speedup(
                        cell.time_curves.mean(0), random.time_curves.mean(0), tg)
            table[problem][name] = row
    return table


def _cell_text(row: dict[str, Any]) -> str:
    if row.get("skipped") and not row.get("runs"):
        return "n/a"
    if row.get("errors") and not row.get("runs"):
        return "unavailable" if "PeerUnavailable" in row["error"] else "error"
    text = _fmt(row.get("final"))
    if row.get("speedup_budget") is not None:
        text += f" ({row['speedup_budget']:.1f}x)"
    elif "speedup_budget" in row:
        text += " (<1x)"
    if row.get("errors"):
        text += f" [{row['errors']} failed]"
    return text


def markdown(table: dict[str, dict[str, dict[str, Any]]], title: str) -> str:
    problems = sorted(table)
    methods = sorted({m for p in table.values() for m in p},
                     key=lambda m: (m != "random", m))
    lines = [f"# {title}", "",
             ("Final normalised regret (mean over seeds; 0 = best known, 1 = reference) of the "
              "incumbent (best observed full-fidelity result, scored by its true loss) at the "
              "end of each run and, in brackets, the speed-up over random search on the "
              "resource axis (how much sooner the mean curve reaches random search's final "
              "regret)."), "",
             "| method | " + " | ".join(problems) + " | mean rank |",
             "|---|" + "---|" * (len(problems) + 1)]
    for m in methods:
        ranks = [table[p][m]["rank"] for p in problems if table[p].get(m, {}).get("rank")]
        cells = [_cell_text(table[p][m]) if m in table[p] else "-" for p in problems]
        mean_rank = _fmt(np.mean(ranks), 2) if ranks else "-"
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {mean_rank} |")
    lines += ["", "## Details", "",
              ("| problem | method | runs | final regret ± 95% CI | speed-up (resource) | "
               "speed-up (sim. time) | mean rank | real s / run | decision ms |"),
              "|---|---|---|---|---|---|---|---|---|"]
    for p in problems:
        for m in methods:
            row = table[p].get(m)
            if row is None:
                continue
            if not row.get("runs"):
                lines.append(f"| {p} | {m} | 0 | {_cell_text(row)} | | | | | |")
                continue
            lines.append(
                f"| {p} | {m} | {row['runs']} | {_fmt(row['final'])} ± {_fmt(row['ci'])} | "
                f"{_fmt(row.get('speedup_budget'), 2)} | {_fmt(row.get('speedup_time'), 2)} | "
                f"{_fmt(row.get('rank'), 2)} | {_fmt(row['real_s'], 2)} | "
                f"{_fmt(row['decision_ms'], 3)} |")
    return "\n".join(lines) + "\n"


def _log_band(mean: np.ndarray, ci: np.ndarray, floor: float,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% band clipped to the visible range ``[floor, inf)`` of a log axis (a band
    whose lower bound is <= 0 runs to the bottom edge instead of collapsing to a tiny value)."""
    return (np.maximum(mean, floor), np.maximum(mean - ci, floor),
            np.maximum(mean + ci, floor))


def _floor(values: list[np.ndarray]) -> float:
    """Bottom of a log regret axis: a decade below the smallest positive mean regret."""
    positive = [float(v[v > 0].min()) for v in values if np.any(v > 0)]
    return min(positive) / 10 if positive else 1e-3


def _regret_figure(problem: str, ran: dict[str, Cell]) -> Any:
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    panels = ((axes[0], "budget_curves", 0, "resource spent (full-fidelity evaluations)"),
              (axes[1], "time_curves", 1, "simulated wall time (s)"))
    for ax, attr, which, label in panels:
        stats = {name: metrics.mean_ci(getattr(cell, attr)) for name, cell in ran.items()}
        floor = _floor([mean for mean, _ in stats.values()])
        top = max(float(np.max(mean + ci)) for mean, ci in stats.values())
        for name, (mean, ci) in sorted(stats.items()):
            grid = ran[name].grids[which]
            mid, low, high = _log_band(mean, ci, floor)
            line, = ax.plot(grid, mid, label=name)
            ax.fill_between(grid, low, high, color=line.get_color(), alpha=0.15)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on short ranges
        ax.set_ylim(floor, max(top, floor * 10) * 1.5)
        ax.set_xlabel(label)
        ax.set_ylabel("normalised regret")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{problem}: mean regret of the incumbent, 95% band (clipped to the axis)")
    fig.tight_layout()
    return fig


def _rank_figure(rank_curves: dict[str, list[tuple[np.ndarray, np.ndarray]]]) -> Any:
    """Average rank against the fraction of the run's resource budget, on a log axis: each
    problem's curve (on its own log grid) is interpolated onto one common grid."""
    import matplotlib.pyplot as plt

    start = max(x[0] for curves in rank_curves.values() for x, _ in curves)
    common = np.geomspace(start, 1.0, GRID_POINTS)
    problems = max(len(curves) for curves in rank_curves.values())
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curves in sorted(rank_curves.items()):
        rows = [np.interp(np.log(common), np.log(x), rank) for x, rank in curves]
        ax.plot(common, np.mean(rows, axis=0), label=f"{name} ({len(curves)} problems)")
    ax.set_xscale("log")
    ax.set_xlabel("fraction of the run's resource budget")
    ax.set_ylabel("average rank (1 = best)")
    ax.set_title(f"Average rank over {problems} problems (ranked per problem and seed)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plots(cells: dict[str, dict[str, Cell]], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    paths = []
    rank_curves: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for problem, methods in sorted(cells.items()):
        ran = {m: c for m, c in methods.items() if c.final}
        if not ran:
            continue
        fig = _regret_figure(problem, ran)
        path = out / f"regret_{problem.replace('/', '_')}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
        if len(ran) > 1:
            grid = next(iter(ran.values())).grids[0]
            for name, curve in metrics.ranks_over_grid(
                    {m: c.budget_curves for m, c in ran.items()}).items():
                rank_curves[name].append((grid / grid[-1], curve))
    if rank_curves:
        fig = _rank_figure(rank_curves)
        path = out / "average_rank.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def select(runs: list[dict[str, Any]], *, budget: float | None = None,
           methods: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The runs at ``budget`` full-fidelity evaluations (runs without a resource budget, i.e.
    own-budget ones, are kept: the report skips them) and of ``methods``, if given."""
    out = []
    for run in runs:
        if methods is not None and run.get("method") not in methods:
            continue
        if budget is not None and run.get("max_budget") is not None and run.get("unit"):
            if abs(run["max_budget"] - budget * run["unit"]) > 1e-6 * run["unit"]:
                continue
        out.append(run)
    return out


def report(out_dir: Path, title: str | None = None, *, include: Sequence[Path] = (),
           budget: float | None = None, methods: Sequence[str] | None = None) -> str:
    """Regenerate ``summary.md`` and the plots of ``out_dir`` from its runs.

    ``include``: further results folders whose runs are merged in first (for each problem,
    method, seed and worker count the last record wins, so ``out_dir``'s own runs replace
    theirs); a table merged from runs of different budgets would be meaningless, so pass
    ``budget`` (full-fidelity evaluations) to keep one. ``methods`` restricts the table.
    """
    runs = [r for folder in include for r in load_runs(Path(folder) / RUNS_FILE)]
    runs += load_runs(out_dir / RUNS_FILE)
    runs = select(runs, budget=budget, methods=methods)
    if not runs:
        raise FileNotFoundError(f"no runs in {out_dir / RUNS_FILE}"
                                + (" (with the given filters / folders)" if include or budget
                                   or methods else ""))
    cells = aggregate(runs)
    text = markdown(summarise(cells), title or f"Benchmark results: {out_dir.name}")
    (out_dir / "summary.md").write_text(text)
    plots(cells, out_dir / "plots")
    return text
