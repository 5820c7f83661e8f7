"""The cost-aware suite's report: Pareto hypervolume and matched-cost regret per method.

``python -m benchmarks cost-report --out results/cost`` reads the suite's ``runs.jsonl`` (every
run of a single-fidelity problem records its ``(cost, loss)`` evaluations) and writes
``cost_table.md``, ``cost_summary.json`` and one front plot per problem. The metrics are defined
in :mod:`benchmarks.pareto_metrics`: each problem's log cost range comes from a fixed random
sample of its configs (:meth:`benchmarks.cost_aware.CostAware.reference_points`), and the best
known regret at each cost level from every evaluation of every method and seed (plus, on a
surrogate problem, that sample).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.metrics import mean_ci
from benchmarks.pareto_metrics import LEVELS, front, hypervolume, matched_cost_regret, unit_cost
from benchmarks.problems import get_problem
from benchmarks.report import latest
from benchmarks.runner import RUNS_FILE, load_runs


def _points(problem: Any, run: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    rows = [(c, problem.regret(loss)) for c, loss in run["evaluations"] if loss is not None]
    if not rows:
        return np.zeros(0), np.zeros(0)
    costs, regrets = zip(*rows, strict=True)
    return np.asarray(costs, dtype=float), np.asarray(regrets, dtype=float)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """problem -> {range, methods: method -> per-seed and mean +- CI metrics}."""
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in latest(runs):
        if "evaluations" in run and "error" not in run:
            name = getattr(get_problem(run["problem"]), "report_name", run["problem"])
            by_problem[name].append(run)
    summary: dict[str, Any] = {}
    for name, problem_runs in sorted(by_problem.items()):
        problem = get_problem(name)
        ref_costs, ref_losses = problem.reference_points()
        low, high = float(ref_costs.min()), float(ref_costs.max())
        per_run = [(r, *_points(problem, r)) for r in problem_runs]
        all_u = [unit_cost(c, low, high) for _, c, _ in per_run]
        ref_regret = np.array([problem.regret(v) for v in ref_losses])
        known = front(np.concatenate(all_u + [unit_cost(ref_costs, low, high)]),
                      np.concatenate([g for _, _, g in per_run] + [ref_regret]))
        methods: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for (run, costs, regret), u in zip(per_run, all_u, strict=True):
            cell = methods[run["method"]]
            cell["seed"].append(run["seed"])
            cell["hypervolume"].append(hypervolume(u, regret))
            for level, value in zip(LEVELS, matched_cost_regret(u, regret, known), strict=True):
                cell[f"regret@{level}"].append(value)
            cell["evaluations"].append(len(regret))
            cell["spent"].append(float(np.sum(costs)))
            cell["decision_s"].append(run.get("decision_s") or 0.0)
        table = {}
        for method, cell in sorted(methods.items()):
            stats = {}
            for key, values in cell.items():
                if key == "seed":
                    continue
                mean, ci = mean_ci(np.asarray(values, dtype=float)[:, None])
                stats[key] = {"mean": float(mean[0]), "ci": float(ci[0])}
            table[method] = {"seeds": len(cell["seed"]), **stats,
                             "per_seed": {k: v for k, v in cell.items()}}
        summary[name] = {"cost_range": [low, high], "cost_unit": problem.cost_unit,
                         "best_known_front": known.tolist(), "methods": table}
    return summary


def markdown(summary: dict[str, Any]) -> str:
    head = ("| problem | method | seeds | evals | hypervolume (higher better) | "
            + " | ".join(f"regret at {int(100 * lv)}% log cost" for lv in LEVELS)
            + " | cost spent / run | decision s / run |")
    lines = [head, "|" + "---|" * (7 + len(LEVELS))]
    for name, entry in summary.items():
        for method, row in entry["methods"].items():
            cells = [name, method, str(row["seeds"]), f"{row['evaluations']['mean']:.0f}",
                     f"{row['hypervolume']['mean']:.3f} ± {row['hypervolume']['ci']:.3f}"]
            cells += [f"{row[f'regret@{lv}']['mean']:.3f} ± {row[f'regret@{lv}']['ci']:.3f}"
                      for lv in LEVELS]
            cells.append(f"{row['spent']['mean']:.3g} {entry['cost_unit']}")
            cells.append(f"{row['decision_s']['mean']:.1f}")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_fronts(summary: dict[str, Any], runs: list[dict[str, Any]], out: Path) -> list[Path]:
    """Per problem: every method's evaluations of seed 0 and its front, log cost vs regret."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name, entry in summary.items():
        problem = get_problem(name)
        fig, ax = plt.subplots(figsize=(6, 4))
        for run in latest(runs):
            if getattr(get_problem(run["problem"]), "report_name", run["problem"]) != name \
                    or run.get("seed") != 0 or "evaluations" not in run:
                continue
            costs, regret = _points(problem, run)
            lines = ax.plot(costs, np.clip(regret, 1e-3, None), ".", alpha=0.4)
            low, high = entry["cost_range"]
            pts = front(unit_cost(costs, low, high), regret)
            ax.step(np.exp(np.log(low) + pts[:, 0] * np.log(high / low)),
                    np.clip(pts[:, 1], 1e-3, None), where="post", color=lines[0].get_color(),
                    label=run["method"])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"cost ({entry['cost_unit']})")
        ax.set_ylabel("normalised regret")
        ax.set_title(f"{name}: evaluations and Pareto fronts (seed 0)")
        ax.legend(fontsize=8)
        path = out / f"front_{name.replace('/', '_').replace('@', '_')}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def cost_report(out: Path) -> str:
    runs = load_runs(out / RUNS_FILE)
    summary = summarise(runs)
    (out / "cost_summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    table = markdown(summary)
    (out / "cost_table.md").write_text(table + "\n")
    plot_fronts(summary, runs, out)
    return table
