"""The transfer test (issue 13, V5) on the real character transformer, as a replay over the
table of completed runs (``benchmarks.charlm_study``): a study *buys* proxy runs from the table,
its spend is counted in FLOPs, and its recommendation for the target width is scored against
the target sweep.

``python -m benchmarks.charlm_transfer --out results/charlm --proxy 32 --target 256
[--runs 18] [--studies 5] [--parametrization mup]``:

* ``transfer``: a ``method="transfer"`` scaling study (ladder: the proxy width only, at most
  1/8 of the target) runs ``--runs`` proxy trials; an asked learning rate is snapped to the
  sweep's grid and answered with the recorded run of the trial's seed (trial id mod the seeds),
  its cost the run's FLOPs. ``study.recommend()`` then names the target's learning rate; its
  target loss is the seed-mean of the target sweep at the nearest grid point (each grid point
  at the target was trained for every seed).
* ``naive``: the best seed-mean learning rate of the full proxy sweep, copied to the target.
* ``random``: target-only random search at equal FLOPs: the number of target runs the transfer
  study's proxy FLOPs would buy (often less than one); its expected regret is the mean over
  the target grid when that number is below 1, else the expected best of that many draws.

Regret is in nats per character against the best seed-mean loss of the target sweep; FLOPs are
reported as a percentage of the target sweep's. Writes ``<out>/transfer_<parametrization>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

import hpo
from benchmarks.charlm_study import load

SPACE = {"lr": hpo.Float("lr", 2.0 ** -9, 2.0 ** -1, log=True)}


def _grid(rows: list[dict[str, Any]], width: int, param: str, steps: int
          ) -> dict[float, dict[int, dict[str, Any]]]:
    grid: dict[float, dict[int, dict[str, Any]]] = {}
    for r in rows:
        if r["width"] == width and r["parametrization"] == param and r["steps"] == steps:
            grid.setdefault(float(r["log2_lr"]), {})[r["seed"]] = r
    return grid


def _mean(grid: dict[float, dict[int, dict[str, Any]]]) -> dict[float, float]:
    return {lr: float(np.mean([min(r["loss"], 10.0) for r in by_seed.values()]))
            for lr, by_seed in grid.items()}


def _snap(grid: dict[float, Any], log2_lr: float) -> float:
    return min(grid, key=lambda g: (abs(g - log2_lr), g))


def run_transfer(rows: list[dict[str, Any]], *, proxy: int, target: int, param: str,
                 steps: int, runs: int, seed: int) -> dict[str, Any]:
    """One ``transfer`` study over the proxy table; returns its recommendation and spend."""
    table = _grid(rows, proxy, param, steps)
    seeds = sorted(set.intersection(*(set(v) for v in table.values())))
    scaling = hpo.Scaling([hpo.ScaleAxis("width", target, [proxy], kind="width")],
                          parametrization=param, cost="measured")
    study = hpo.Study(SPACE, "loss", method="transfer", scaling=scaling, seed=seed)
    flops = 0.0
    for _ in range(runs):
        ticket = study.ask()
        if ticket is None:
            break
        width = int(study.trials[ticket.trial_id].scale.get("width", proxy))
        if width != proxy:  # the method may check the target itself: not bought here
            study.tell(ticket.trial_id, status="stopped", reason="target runs are not bought")
            continue
        lr = _snap(table, math.log2(ticket.config["lr"]))
        row = table[lr][seeds[ticket.trial_id % len(seeds)]]
        loss = row["loss"] if math.isfinite(row["loss"]) else float("nan")
        study.tell(ticket.trial_id, {"loss": loss}, cost=row["flops"])
        flops += row["flops"]
    advice = study.recommend(seed=seed)
    return {"log2_lr": math.log2(advice.config["lr"]), "predicted_loss": advice.predicted_loss,
            "interval": list(advice.interval), "verdicts": advice.verdicts, "flops": flops,
            "runs": runs}


def evaluate(rows: list[dict[str, Any]], *, proxy: int, target: int, param: str, steps: int,
             runs: int, studies: int) -> dict[str, Any]:
    proxy_grid, target_grid = _grid(rows, proxy, param, steps), _grid(rows, target, param, steps)
    if len(proxy_grid) < 3 or len(target_grid) < 3:
        raise SystemExit(f"need at least 3 learning rates at widths {proxy} and {target} "
                         f"({param}, {steps} steps) in the table")
    proxy_mean, target_mean = _mean(proxy_grid), _mean(target_grid)
    best = min(target_mean.values())
    sweep_flops = sum(r["flops"] for v in target_grid.values() for r in v.values())
    one_target = float(np.mean([r["flops"] for v in target_grid.values() for r in v.values()]))

    def regret(log2_lr: float) -> float:
        return target_mean[_snap(target_mean, log2_lr)] - best

    studies_out = [run_transfer(rows, proxy=proxy, target=target, param=param, steps=steps,
                                runs=runs, seed=s) for s in range(studies)]
    for s in studies_out:
        s["regret"] = regret(s["log2_lr"])
    naive_lr = min(proxy_mean, key=lambda lr: proxy_mean[lr])
    naive_flops = sum(r["flops"] for v in proxy_grid.values() for r in v.values())
    budget = float(np.mean([s["flops"] for s in studies_out]))
    draws = budget / one_target
    losses = np.sort(np.array(list(target_mean.values())))
    if draws < 1:
        random_regret = float(losses.mean() - best)
    else:  # expected minimum of k draws with replacement from the grid
        k, n = int(draws), len(losses)
        p = [((n - i) / n) ** k - ((n - i - 1) / n) ** k for i in range(n)]
        random_regret = float(np.dot(p, losses) - best)
    seed_sd = float(np.mean([np.std([r["loss"] for r in v.values()], ddof=1)
                             for v in target_grid.values() if len(v) > 1]))
    regrets = np.array([s["regret"] for s in studies_out])
    return {
        "proxy": proxy, "target": target, "parametrization": param, "steps": steps,
        "target_best_log2_lr": min(target_mean, key=lambda lr: target_mean[lr]),
        "target_best_loss": best, "seed_sd_at_target": seed_sd,
        "transfer": {"regret_mean": float(regrets.mean()),
                     "regret_max": float(regrets.max()),
                     "flops_pct_of_target_sweep": 100 * budget / sweep_flops,
                     "studies": studies_out},
        "naive": {"log2_lr": naive_lr, "regret": regret(naive_lr),
                  "flops_pct_of_target_sweep": 100 * naive_flops / sweep_flops},
        "random_at_equal_flops": {"target_runs": draws, "expected_regret": random_regret},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.charlm_transfer")
    parser.add_argument("--out", type=Path, default=Path("results/charlm"))
    parser.add_argument("--proxy", type=int, default=32)
    parser.add_argument("--target", type=int, default=256)
    parser.add_argument("--parametrization", default="mup")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--runs", type=int, default=18)
    parser.add_argument("--studies", type=int, default=5)
    args = parser.parse_args(argv)
    result = evaluate(load(args.out), proxy=args.proxy, target=args.target,
                      param=args.parametrization, steps=args.steps, runs=args.runs,
                      studies=args.studies)
    (args.out / f"transfer_{args.parametrization}.json").write_text(json.dumps(result, indent=1))
    t, n, r = result["transfer"], result["naive"], result["random_at_equal_flops"]
    print(f"target w={args.target}: best log2 lr {result['target_best_log2_lr']:+g}, loss "
          f"{result['target_best_loss']:.4f}, seed sd {result['seed_sd_at_target']:.4f}")
    print(f"transfer: regret {t['regret_mean']:.4f} (max {t['regret_max']:.4f}) nats at "
          f"{t['flops_pct_of_target_sweep']:.2f}% of the target sweep's FLOPs; lrs "
          f"{[round(s['log2_lr'], 2) for s in t['studies']]}")
    print(f"naive: log2 lr {n['log2_lr']:+g}, regret {n['regret']:.4f} at "
          f"{n['flops_pct_of_target_sweep']:.2f}%")
    print(f"random at equal FLOPs ({r['target_runs']:.2f} target runs): expected regret "
          f"{r['expected_regret']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
