"""Reopen time of a GP study with ``n`` observations (a benchmark, not a test).

Runs a real ``bo`` study (``hpo.Study``, journal on disk, one worker) for ``n`` trials on the
6-D problem of :mod:`benchmarks.gp_overhead`, every decision a model decision after the Sobol
design. Then, in the same process:

* ``open_s``: ``Study.open(copy)`` (a copy of the directory, so that the two studies do not
  share a journal): read and replay the whole journal; the recorded decisions
  restore the searcher from their records (hyper-parameters, counters), so no GP is fitted;
* ``next_s``: the first ``ask()`` after the reopen (a model decision on all ``n`` rows: a
  refit if the refit schedule says so, else a conditioning decision);
* ``same``: whether the reopened study's next ``--check`` configs equal those of the
  uninterrupted study (it continues with the same events).

Also counts the GP fits made during the replay (must be 0) by wrapping ``fit_model``.

    python -m benchmarks.gp_reopen --trials 1000 --out results/gp_reopen.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import hpo
from benchmarks.gp_overhead import SPACE, loss
from searchers import bo


def build(directory: Path, trials: int, seed: int) -> tuple[hpo.Study, float]:
    study = hpo.Study(SPACE, "loss", method="bo", seed=seed, storage=directory)
    t0 = time.perf_counter()
    for _ in range(trials):
        ticket = study.ask()
        study.tell(ticket.trial_id, {"loss": loss(ticket.config)})
    return study, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--check", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/gp_reopen.json")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "study"
        study, build_s = build(directory, args.trials, args.seed)
        copy = Path(tmp) / "copy"  # the reopened study writes to its own journal
        shutil.copytree(directory, copy)
        fits = []
        real_fit = bo.fit_model

        def counting_fit(*a, **k):  # type: ignore[no-untyped-def]
            fits.append(1)
            return real_fit(*a, **k)

        bo.fit_model = counting_fit
        try:
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            reopened = hpo.Study.open(copy)
            open_s = time.perf_counter() - t0
            replay_fits = len(fits)
            t0 = time.perf_counter()
            first = reopened.ask()
            next_s = time.perf_counter() - t0
        finally:
            bo.fit_model = real_fit
        expected = [study.ask()]
        got = [first]
        for _ in range(args.check - 1):
            for s, out in ((study, expected), (reopened, got)):
                last = out[-1]
                s.tell(last.trial_id, {"loss": loss(last.config)})
                out.append(s.ask())
        same = [t.config for t in got] == [t.config for t in expected]
        events = sum(1 for _ in open(directory / "journal.jsonl"))
    result = {"trials": args.trials, "events": events, "build_s": round(build_s, 1),
              "open_s": round(open_s, 3), "replay_fits": replay_fits,
              "next_ask_s": round(next_s, 3), "same_next_configs": same,
              "checked": args.check, "load_avg_1min": round(load, 2),
              "machine": f"{platform.machine()} {os.cpu_count()} cores"}
    print(json.dumps(result, indent=1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
