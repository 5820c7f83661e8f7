"""Decision overhead of DEHB: ours vs the reference package, measured in one run.

Both drive the same cheap objective (Branin at the job's fidelity) for ``n`` evaluations with
one worker; each job reports once, at its budget. For ours the time is spent in
``Study.ask`` / ``Study.report`` (in memory, scheduler + searcher + bookkeeping); for the
reference it is measured inside its own process around ``DEHB.ask`` / ``DEHB.tell`` (so the
subprocess round trip is excluded). Reported: mean milliseconds per ask and per report over
the evaluations around the 1,000th and the 10,000th observation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from benchmarks.problems import get_problem
from hpo import Study

WINDOW = 100


def _ours(problem, n: int) -> tuple[list[float], list[float]]:
    study = Study(problem.space, "loss", method="dehb", fidelity=problem.fidelity, seed=0)
    asks, reports = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        ticket = study.ask()
        asks.append(time.perf_counter() - t0)
        loss = float(problem.curve(ticket.config, [ticket.budget], 0)[0][0])
        t0 = time.perf_counter()
        study.report(ticket.trial_id, {"loss": loss}, budget=ticket.budget)
        reports.append(time.perf_counter() - t0)
    return asks, reports


def _reference(problem, n: int) -> tuple[list[float], list[float]]:
    from benchmarks.peers.adapter import PeerProcess
    from benchmarks.peers.envs import ensure_env

    process = PeerProcess(ensure_env("dehb"))
    asks, reports = [], []
    try:
        process.call({"op": "init", "peer": "dehb", "space": problem.space.to_json()["params"],
                      "fidelity": problem.fidelity.to_json(), "seed": 0, "workers": 1})
        for _ in range(n):
            job = process.call({"op": "ask"})
            asks.append(job["t"])
            loss = float(problem.curve(job["config"], [job["budget"]], 0)[0][0])
            reply = process.call({"op": "report", "key": job["key"], "budget": job["budget"],
                                  "loss": loss, "cost": 1.0, "final": True})
            reports.append(reply["t"])
    finally:
        process.close()
    return asks, reports


def _at(values: list[float], index: int) -> float | None:
    if len(values) < index + WINDOW // 2:
        return None
    return 1000 * float(np.mean(values[max(0, index - WINDOW // 2): index + WINDOW // 2]))


def main(n: int, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    problem = get_problem("branin")
    rows = {}
    for name, fn in (("ours", _ours), ("reference", _reference)):
        start = time.perf_counter()
        asks, reports = fn(problem, n)
        rows[name] = {"total_s": time.perf_counter() - start,
                      **{f"{kind}_ms_at_{k}": _at(values, k)
                         for kind, values in (("ask", asks), ("report", reports))
                         for k in (1000, 10000)}}
    (out / "dehb_overhead.json").write_text(json.dumps(rows, indent=2))
    print("| DEHB | ask ms @1k | report ms @1k | ask ms @10k | report ms @10k | total s |")
    print("|---|---|---|---|---|---|")
    for name, r in rows.items():
        cells = [r[f"{k}_ms_at_{i}"] for i in (1000, 10000) for k in ("ask", "report")]
        print(f"| {name} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells)
              + f" | {r['total_s']:.1f} |")
    return 0
