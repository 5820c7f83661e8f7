"""Scaling-law recovery with CARBS (algorithms.md §4.11.5): a synthetic cost-aware problem.

Searched: ``lr`` (log), ``width`` (log int) and ``tokens`` (log). Cost ``C = width * tokens``
(FLOP-like, reported to the study), loss::

    L = (A width^-0.5 + A tokens^-0.5) * (1 + G (log10 lr - log10 lr*(C))^2),
    lr*(C) = K C^-0.3

so along the loss-cost Pareto front ``width*(C) = tokens*(C) = C^0.5`` and
``lr*(C) = K C^-0.3``. The study runs ``n`` trials from a cheap search centre; the Huber fit of
the Pareto set (:func:`searchers.carbs_analysis.scaling_fit`) should recover exponents
0.5 (width) and -0.3 (lr) within +-0.1.

Run: ``python -m benchmarks.carbs_scaling --trials 300 --seeds 0 1 2`` (JSON under results/).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import hpo
from schedulers.carbs_method import CARBS
from searchers.carbs_analysis import pareto_front, scaling_fit

A, G, K = 1.0, 1.0, 0.1
TRUE = {"width": 0.5, "tokens": 0.5, "lr": -0.3}
SPACE = hpo.SearchSpace([hpo.Float("lr", 1e-6, 1.0, log=True),
                         hpo.Int("width", 8, 65536, log=True),
                         hpo.Float("tokens", 1e2, 1e7, log=True)])
#: a cheap start, as CARBS's README recommends
CENTRE = ({"name": "width", "centre": 16}, {"name": "tokens", "centre": 300.0},
          {"name": "lr", "centre": 3e-3})


def loss_and_cost(config: dict[str, Any]) -> tuple[float, float]:
    cost = float(config["width"]) * float(config["tokens"])
    lr_star = K * cost ** -0.3
    base = A * config["width"] ** -0.5 + A * config["tokens"] ** -0.5
    return base * (1 + G * (math.log10(config["lr"]) - math.log10(lr_star)) ** 2), cost


def run(seed: int, trials: int, method: CARBS | None = None) -> hpo.Study:
    if "carbs" not in hpo.available_methods():
        hpo.register_method(CARBS)
    study = hpo.Study(SPACE, "loss", method=method or CARBS(spec=CENTRE), seed=seed)
    for _ in range(trials):
        ticket = study.ask()
        if ticket is None:
            break
        loss, cost = loss_and_cost(ticket.config)
        study.tell(ticket.trial_id, {"loss": loss}, cost=cost)
    return study


def recovery(seed: int, trials: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    study = run(seed, trials)
    seconds = time.perf_counter() - t0
    laws = scaling_fit(study, seed=seed)
    front = pareto_front(study)
    return {"seed": seed, "trials": trials, "seconds": seconds, "pareto_points": len(front),
            "cost_range": [front[0].cost, front[-1].cost],
            "laws": {k: law.to_json() for k, law in laws.items()},
            "errors": {k: laws[k].slope - v for k, v in TRUE.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", type=Path, default=Path("results/carbs_scaling.json"))
    args = parser.parse_args()
    rows = []
    for seed in args.seeds:
        row = recovery(seed, args.trials)
        rows.append(row)
        laws = row["laws"]
        print(f"seed {seed}: {row['pareto_points']} Pareto points, {row['seconds']:.0f} s; "
              + "; ".join(f"{k} {laws[k]['slope']:+.3f} [{laws[k]['slope_interval'][0]:+.3f}, "
                          f"{laws[k]['slope_interval'][1]:+.3f}] (true {v:+.1f})"
                          for k, v in TRUE.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"true": TRUE, "runs": rows}, indent=1))


if __name__ == "__main__":
    main()
