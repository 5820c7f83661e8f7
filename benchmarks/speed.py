"""Speed of the benchmark machinery: the YAHPO loader and the simulator.

* YAHPO LCBench surrogate: evaluations per second, one config per ONNX call vs 1,000 per call.
* A simulated 4-worker asynchronous run of 1,000 ASHA trials on LCBench: real seconds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from benchmarks.simulator import simulate
from hpo import Study


def main(out: Path) -> int:
    from benchmarks.yahpo import YahpoProblem

    out.mkdir(parents=True, exist_ok=True)
    problem = YahpoProblem("lcbench", "167168")
    configs = problem.space.sample(np.random.default_rng(0), 1000)
    budgets = [52] * len(configs)
    problem.evaluate_many(configs[:10], budgets[:10])  # warm-up
    t0 = time.perf_counter()
    for _ in range(5):
        problem.evaluate_many(configs, budgets)
    batched = 5 * len(configs) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for c in configs[:300]:
        problem.evaluate_many([c], [52])
    single = 300 / (time.perf_counter() - t0)
    study = Study(problem.space, "loss", method="asha", fidelity=problem.fidelity, seed=0)
    record = simulate(study, problem, workers=4, max_budget=float("inf"), seed=0,
                      max_trials=1000)
    result = {"yahpo_batched_evals_per_s": batched, "yahpo_single_evals_per_s": single,
              "asha_1000_trials_4_workers": {"real_s": record.real_s,
                                             "trials": record.n_trials,
                                             "reports": record.n_reports,
                                             "simulated_s": record.sim_time,
                                             "decision_s": record.decision_s}}
    (out / "speed.json").write_text(json.dumps(result, indent=2))
    print(f"YAHPO lcbench loader: {batched:,.0f} evaluations/s batched (1,000 per call), "
          f"{single:,.0f}/s one per call")
    print(f"simulated ASHA, 4 workers, {record.n_trials} trials ({record.n_reports} reports, "
          f"{record.sim_time / 3600:.1f} simulated hours): {record.real_s:.2f} s real, "
          f"{record.decision_s:.2f} s of it in the scheduler")
    return 0
