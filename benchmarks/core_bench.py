"""How fast is the core? Study ask / report / tell on a journal, replay, peak memory.

Workload (issue 2): ``trials`` trials x ``reports`` reports each on a fresh on-disk journal,
one process. The first ``reports - 1`` reports of a trial are intermediate (written, not
fsynced); the last one completes the trial and is fsynced before ``tell`` returns. Then the
journal is reopened (a full replay through a freshly built scheduler, every decision checked).
Run for random search (FIFO) and ASHA (pauses are fsynced too).
"""

from __future__ import annotations

import json
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from hpo import Fidelity, Float, Int, SearchSpace, Study

SPACE = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("layers", 1, 8),
                     Float("dropout", 0.0, 0.5)])


def run_workload(method: str, trials: int, reports: int, directory: Path) -> dict[str, Any]:
    fidelity = Fidelity("epochs", 1, reports)
    study = Study(SPACE, "loss", method=method, fidelity=fidelity, seed=0, storage=directory)
    t_ask = t_mid = t_final = 0.0
    n_mid = n_final = 0
    created = 0
    while created < trials:
        t0 = time.perf_counter()
        ticket = study.ask()
        t_ask += time.perf_counter() - t0
        if ticket.resume_from == 0:
            created += 1
        budget = ticket.resume_from
        while True:
            budget += 1
            loss = ticket.config["dropout"] + 1.0 / budget
            final = budget >= ticket.budget
            t0 = time.perf_counter()
            verdict = study.report(ticket.trial_id, {"loss": loss}, budget=budget, cost=0.1)
            elapsed = time.perf_counter() - t0
            if final:
                t_final += elapsed
                n_final += 1
            else:
                t_mid += elapsed
                n_mid += 1
            if verdict.should_stop:
                break
    with open(directory / "journal.jsonl") as fh:
        events = sum(1 for _ in fh)
    t0 = time.perf_counter()
    reopened = Study.open(directory)
    replay_s = time.perf_counter() - t0
    assert len(reopened) == len(study)
    return {"method": method, "trials": len(study), "events": events,
            "intermediate_reports": n_mid, "intermediate_per_s": n_mid / t_mid,
            "durable_results": n_final, "durable_per_s": n_final / t_final,
            "asks_per_s": (n_final) / t_ask,
            "total_s": t_ask + t_mid + t_final, "replay_s": replay_s,
            "journal_mb": (directory / "journal.jsonl").stat().st_size / 1e6}


def main(trials: int, reports: int, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for method in ("random", "asha"):
        scratch = Path(tempfile.mkdtemp(prefix="hpo-core-", dir=out))
        try:
            rows.append(run_workload(method, trials, reports, scratch))
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"trials": trials, "reports": reports, "peak_rss_mb": peak_mb, "runs": rows}
    (out / "core.json").write_text(json.dumps(result, indent=2))
    lines = [(f"Core throughput: {trials} trials x {reports} reports on a journal "
              f"(peak RSS {peak_mb:.0f} MB)"), "",
             ("| method | events | intermediate reports/s | durable results/s | asks/s | "
              "replay (s) | journal MB |"), "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['events']} | {r['intermediate_per_s']:.0f} | "
                     f"{r['durable_per_s']:.0f} | {r['asks_per_s']:.0f} | "
                     f"{r['replay_s']:.2f} | {r['journal_mb']:.1f} |")
    text = "\n".join(lines)
    (out / "core.md").write_text(text + "\n")
    print(text)
    return 0
