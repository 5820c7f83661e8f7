"""Seconds per freeze-thaw decision at about 1,000 and 3,000 curve points (issue #11).

Builds a synthetic study (``curves`` learning curves of 27 epochs, most of them paused part-way)
directly in a :class:`~hpo.core.protocols.StudyView`, then times ``decisions`` consecutive
``next_action`` calls of a default ``freeze-thaw`` scheduler (``threads`` torch threads), each
after one new observation, so that every decision conditions the model afresh; the first call
includes the initial hyper-parameter fit and is reported separately, as are later refits.
Writes ``results/freeze_thaw_overhead.json``.

Run: ``python -m benchmarks.freeze_thaw_overhead [--threads 2] [--decisions 10]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from hpo import Fidelity, Float, Objective, SearchSpace, TrialStatus
from hpo.core.protocols import StudyView
from hpo.core.trial import Observation, Trial
from schedulers.freeze_thaw import FreezeThaw, FreezeThawScheduler

SPACE = SearchSpace([Float(f"x{i}", 0.0, 1.0) for i in range(6)])
FIDELITY = Fidelity("epoch", 1, 27)


def _trials(points: int, seed: int) -> dict[int, Trial]:
    rng = np.random.default_rng(seed)
    trials, total, tid = {}, 0, 0
    while total < points:
        u = rng.random(SPACE.dim)
        n = min(int(rng.integers(1, 28)), points - total)
        b = np.arange(1, n + 1)
        y = np.sum((u - 0.4) ** 2) + np.exp(-b * rng.gamma(2, 0.1)) + 0.01 * rng.standard_normal(n)
        obs = tuple(Observation(int(bi), {"loss": float(yi)}, float(yi), float(bi), 0.0, i)
                    for i, (bi, yi) in enumerate(zip(b, y)))
        status = TrialStatus.COMPLETED if n == 27 else TrialStatus.PAUSED
        trials[tid] = Trial(tid, SPACE.decode(u), status, obs, n)
        total, tid = total + n, tid + 1
    return trials


def measure(points: int, decisions: int, threads: int, max_points: int) -> dict[str, object]:
    trials = _trials(points, seed=points)
    # no safety net and no abandonment: every timed call is a full MFPI decision
    options = FreezeThaw(threads=threads, max_points=max_points, p_sh=0.0, abandon=0.0)
    scheduler = FreezeThawScheduler(SPACE, FIDELITY, options, seed=0)
    times, kinds = [], []
    for k in range(decisions + 1):
        view = StudyView(trials, len(trials), SPACE, Objective("loss"), FIDELITY)
        fits = len(scheduler.fit_reports)
        start = time.perf_counter()
        action = scheduler.next_action(view)
        times.append(time.perf_counter() - start)
        kinds.append(type(action).__name__ + ("+fit" if len(scheduler.fit_reports) > fits else ""))
        # one new observation (a completed trial gains nothing; a paused one a step), so the
        # next decision conditions on new data
        t = trials[k % len(trials)]
        if t.status is TrialStatus.PAUSED and t.budget < 27:
            b = t.budget + 1
            o = Observation(b, {"loss": t.loss}, t.loss * 0.999, float(b), 0.0,
                            len(t.observations))
            trials[t.id] = Trial(t.id, t.config, t.status, t.observations + (o,), b)
    later = times[1:]
    return {"points": points, "trials": len(trials), "decisions": decisions,
            "first_with_fit_s": times[0], "mean_s": float(np.mean(later)),
            "median_s": float(np.median(later)), "max_s": float(np.max(later)), "kinds": kinds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--decisions", type=int, default=10)
    parser.add_argument("--points", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--max-points", type=int, default=FreezeThaw.max_points)
    parser.add_argument("--out", default="results/freeze_thaw_overhead.json")
    args = parser.parse_args()
    rows = [measure(p, args.decisions, args.threads, args.max_points) for p in args.points]
    result = {"threads": args.threads, "max_points": args.max_points,
              "load_average": list(os.getloadavg()),
              "machine": platform.processor() or platform.machine(),
              "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    for r in rows:
        print(f"{r['points']:5d} points ({r['trials']} trials): first (with fit) "
              f"{r['first_with_fit_s']:.2f} s, then mean {r['mean_s']:.3f} s, median "
              f"{r['median_s']:.3f} s, max {r['max_s']:.3f} s per decision; {r['kinds']}")


if __name__ == "__main__":
    main()
