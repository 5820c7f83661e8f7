"""Seconds per GP suggestion at 100 / 500 / 1,000 observations (a benchmark, not a test).

Feeds ``n`` random observations of a 6-D problem (4 floats, a log int, a categorical) to a
:class:`~searchers.bo.GPSearcher`, then times ``--decisions`` consecutive model decisions (one
full refit cycle with the default ``refit_every``), each followed by its observation; the
first model decision (a cold fit on all ``n`` rows, which a study never makes: its fits start
warm from those at smaller ``n``) is timed apart. Reports
the mean, the slowest (a refit) and the median (a conditioning decision) per setting, and
writes them to ``results/gp_overhead.json``.

    python -m benchmarks.gp_overhead                    # defaults (threads=1)
    python -m benchmarks.gp_overhead --threads 2 --sizes 100 1000
    python -m benchmarks.gp_overhead --peers             # + Syne Tune MOBSTER, Optuna GPSampler

``--peers`` measures, in the same run, Syne Tune 0.13's ``MOBSTER`` and Optuna's
``GPSampler`` with their defaults in their own virtualenvs (how they are fed and timed:
``benchmarks/peers/peer_drivers/overhead.py``), and prints one table with the machine's load
average (1-minute) before each measurement: the machine is shared, so it is part of the result.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from hpo import Categorical, Float, Int, Observation, SearchSpace, Trial, TrialStatus
from searchers.bo import GPSearcher, GPSettings

SPACE = SearchSpace([Float("x0", 0.0, 1.0), Float("x1", 0.0, 1.0), Float("x2", 0.0, 1.0),
                     Float("lr", 1e-5, 1e-1, log=True), Int("width", 16, 1024, log=True),
                     Categorical("act", ["relu", "gelu", "tanh"])])


def loss(config: dict) -> float:
    u = np.array([config["x0"], config["x1"], config["x2"]])
    return float(np.sum((u - 0.3) ** 2) + 0.1 * (math.log10(config["lr"]) + 3) ** 2
                 + 0.05 * math.log2(config["width"] / 128) ** 2 + (config["act"] == "tanh")
                 + 0.1 * math.sin(20 * u[0]))


def _tell(searcher: GPSearcher, tid: int, config: dict) -> None:
    value = loss(config)
    obs = Observation(budget=1, metrics={"loss": value}, loss=value, cost=1.0, time=0.0, step=0)
    searcher.observe(Trial(tid, config, TrialStatus.RUNNING, (obs,), None), obs)
    searcher.on_end(Trial(tid, config, TrialStatus.COMPLETED, (obs,), None))


def measure(n: int, decisions: int, settings: GPSettings, seed: int = 0) -> dict:
    searcher = GPSearcher(SPACE, seed=seed, settings=settings)
    rng = np.random.default_rng(seed)
    for tid, config in enumerate(SPACE.sample(rng, n)):
        _tell(searcher, tid, config)
    searcher._n_suggested = searcher.n_init  # past the initial design: model decisions only
    start = time.perf_counter()  # the first (cold) fit, reported apart: in a study the
    config = searcher.suggest(n)  # hyper-parameters come warm from the fits at smaller n
    first = time.perf_counter() - start
    _tell(searcher, n, config)
    times, kinds = [], []
    for tid in range(n + 1, n + 1 + decisions):
        start = time.perf_counter()
        config = searcher.suggest(tid)
        times.append(time.perf_counter() - start)
        record = searcher.decision_record() or {}
        kinds.append(record.get("kind"))
        _tell(searcher, tid, config)
    return {"observations": n, "rows_used": min(n, settings.max_rows),
            "mean_s": float(np.mean(times)), "median_s": float(np.median(times)),
            "max_s": float(np.max(times)), "first_cold_fit_s": first, "kinds": kinds,
            "seconds": times}


PEERS = {"synetune": "synetune-mobster", "optuna": "optuna-gp"}


def measure_peer(peer: str, sizes: list[int], decisions: int, seed: int = 0) -> list[dict]:
    """A peer's seconds per suggestion, measured in its own virtualenv."""
    from benchmarks.peers.adapter import PeerProcess
    from benchmarks.peers.envs import ensure_env

    process = PeerProcess(ensure_env(peer))
    try:
        return process.call({"op": "overhead", "peer": peer, "sizes": sizes,
                             "decisions": decisions, "seed": seed})["results"]
    finally:
        process.close()


def table(rows: dict[str, list[dict]], loads: dict[str, float]) -> str:
    """Markdown: median (mean) seconds per suggestion per method and size."""
    sizes = sorted({r["observations"] for results in rows.values() for r in results})
    lines = ["| method | " + " | ".join(f"s @{n} obs median (mean, max)" for n in sizes)
             + " | load avg (1 min) |", "|---" * (len(sizes) + 2) + "|"]
    for name, results in rows.items():
        by_n = {r["observations"]: r for r in results}
        cells = [f"{by_n[n]['median_s']:.3f} ({by_n[n]['mean_s']:.3f}, {by_n[n]['max_s']:.3f})"
                 if n in by_n else "-" for n in sizes]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {loads[name]:.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--decisions", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-rows", type=int, default=GPSettings().max_rows)
    parser.add_argument("--peers", action="store_true",
                        help="also Syne Tune MOBSTER and Optuna GPSampler, same run")
    parser.add_argument("--out", default="results/gp_overhead.json")
    args = parser.parse_args(argv)
    settings = GPSettings(threads=args.threads, max_rows=args.max_rows)
    loads = {"ours (bo GPSearcher)": os.getloadavg()[0]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = [measure(n, args.decisions, settings) for n in args.sizes]
    peers: dict[str, list[dict]] = {}
    for peer, name in PEERS.items() if args.peers else ():
        loads[name] = os.getloadavg()[0]
        peers[name] = measure_peer(peer, args.sizes, args.decisions)
    for r in rows:
        print(f"n={r['observations']:5d}  mean {r['mean_s']:.3f} s  median {r['median_s']:.3f} s"
              f"  max {r['max_s']:.3f} s  (first, cold fit: {r['first_cold_fit_s']:.2f} s)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(out.read_text()) if out.exists() else []
    existing.append({"settings": settings.__dict__, "machine": platform.machine(),
                     "cpus": os.cpu_count(), "torch": torch.__version__,
                     "load_average": os.getloadavg(), "load_before": loads, "results": rows,
                     "peers": peers})
    out.write_text(json.dumps(existing, indent=1))
    print(table({"ours (bo GPSearcher)": rows, **peers}, loads))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
