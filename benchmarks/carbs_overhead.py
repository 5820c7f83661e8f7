"""Seconds per CARBS suggestion at 12, 100 and 300 observations (ours).

For each size ``n`` and dimension ``d`` a :class:`~searchers.carbs.CARBSSearcher` is given ``n``
results of a cost-aware toy (sampled around the search centre, cost = a width-like parameter),
``pending`` outstanding suggestions (so the Thompson pseudo-observation path runs), and then
times ``repeats`` model suggestions (each outstanding one is dropped again, so every timed call
sees the same data). Resampling is disabled here (``resample_frequency=0``): a resample costs
nothing and would hide the model's cost. The issue's measurement of the reference CARBS (Pyro
GPs, 1,000 Adam steps three times per suggestion) is 10-21 s at 12 observations on 3 dims.

With ``--reference`` the CARBS reference (the ``carbs-ref`` peer venv) is timed in the same run on
the same toy at d = 3 (``benchmarks/peers/peer_drivers/overhead.py``: ``carbs_ref``) and the
speed-up (reference median / ours) is printed per size.

Run: ``python -m benchmarks.carbs_overhead [--reference]`` (JSON in results/carbs_overhead.json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import hpo
from searchers.carbs import CARBSSearcher, CarbsSettings

SIZES = (12, 100, 300)


def space_of(dim: int) -> hpo.SearchSpace:
    params: list[hpo.Float | hpo.Int] = [hpo.Float("lr", 1e-5, 1.0, log=True),
                                         hpo.Int("width", 8, 4096, log=True)]
    params += [hpo.Float(f"x{j}", 0.0, 1.0) for j in range(dim - 2)]
    return hpo.SearchSpace(params)


def toy(config: dict[str, Any]) -> tuple[float, float]:
    loss = 0.1 * (math.log10(config["lr"]) + 3) ** 2 + 3 / math.sqrt(config["width"])
    loss += sum((v - 0.3) ** 2 for k, v in config.items() if k.startswith("x"))
    return loss, float(config["width"])


def prepared(dim: int, n: int, pending: int, seed: int) -> CARBSSearcher:
    space = space_of(dim)
    searcher = CARBSSearcher(space, seed=seed, settings=CarbsSettings(resample_frequency=0))
    rng = np.random.default_rng(seed)
    for tid in range(n):
        x = searcher.centre + rng.normal(0.0, 0.6, size=searcher.dim)
        x = np.clip(x, searcher.bounds[:, 0], searcher.bounds[:, 1])
        config = space.validate(searcher.config_of(x))
        loss, cost = toy(config)
        obs = hpo.Observation(budget=1, metrics={"loss": loss}, loss=loss, cost=cost,
                              time=0.0, step=0)
        searcher.observe(hpo.Trial(tid, config, hpo.TrialStatus.RUNNING, (obs,)), obs)
    for tid in range(n, n + pending):
        searcher.suggest(tid)
    return searcher


def time_suggestions(searcher: CARBSSearcher, start: int, repeats: int) -> list[float]:
    times = []
    for k in range(repeats):
        tid = start + k
        t0 = time.perf_counter()
        config = searcher.suggest(tid)
        times.append(time.perf_counter() - t0)
        record = searcher.decision_record() or {}
        if record.get("kind") != "model":
            raise RuntimeError(f"expected a model decision, got {record}")
        searcher.on_end(hpo.Trial(tid, config, hpo.TrialStatus.COMPLETED))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[3, 8])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--pending", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("results/carbs_overhead.json"))
    parser.add_argument("--reference", action="store_true", help="time the CARBS reference too")
    parser.add_argument("--reference-repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for dim in args.dims:
        for n in SIZES:
            searcher = prepared(dim, n, args.pending, seed=0)
            time_suggestions(searcher, 10_000, 1)  # warm-up (imports, first kernels)
            times = time_suggestions(searcher, 20_000, args.repeats)
            row = {"dim": dim, "observations": n, "pending": args.pending,
                   "median_s": statistics.median(times), "mean_s": statistics.fmean(times),
                   "max_s": max(times), "repeats": args.repeats}
            rows.append(row)
            print(f"d={dim:2d} n={n:4d}: median {row['median_s']:.3f} s, "
                  f"max {row['max_s']:.3f} s per suggestion")
    reference = _reference(args.reference_repeats) if args.reference else []
    for ref in reference:
        ours = next(r for r in rows if r["dim"] == ref["dim"]
                    and r["observations"] == ref["observations"])
        print(f"reference d={ref['dim']} n={ref['observations']}: median "
              f"{ref['median_s']:.2f} s (max {ref['max_s']:.2f}); ours "
              f"{ref['median_s'] / ours['median_s']:.0f}x faster")
    meta = {"python": platform.python_version(), "torch": torch.__version__,
            "threads": 1, "machine": platform.machine(), "load_average": os.getloadavg()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows, "reference": reference},
                                   indent=1))


def _reference(repeats: int) -> list[dict[str, Any]]:
    from benchmarks.peers.adapter import PeerProcess
    from benchmarks.peers.envs import ensure_env

    process = PeerProcess(ensure_env("carbs"))
    try:
        return process.call({"op": "overhead", "peer": "carbs", "sizes": list(SIZES),
                             "decisions": repeats, "seed": 0})["results"]
    finally:
        process.close()


if __name__ == "__main__":
    main()
