"""Run (problem, method, seed) simulations and append their records to a JSON-lines file.

Every finished run is appended at once, so an interrupted suite resumes where it stopped: runs
already in the file are skipped. Lines are appended under a lock, so several runners may share
one folder (a run both of them start is recorded twice; reports keep the last record). A method
that crashes on one seed, a peer that cannot be installed, a problem whose data is missing: each
is recorded (``error``) and the rest go on.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import traceback
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from benchmarks.methods import registry
from benchmarks.problems import get_problem
from benchmarks.simulator import simulate
from benchmarks.suites import Suite

RUNS_FILE = "runs.jsonl"


@dataclass(frozen=True)
class Task:
    suite: str
    problem: str
    method: str
    seed: int
    workers: int
    budget: float
    single_budget: float

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.problem, self.method, self.seed, self.workers)


def run_one(task: Task) -> dict[str, Any]:
    """Simulate one run; never raises (errors are part of the record)."""
    record: dict[str, Any] = {"suite": task.suite, "problem": task.problem,
                              "method": task.method, "seed": task.seed,
                              "workers": task.workers}
    try:
        problem = get_problem(task.problem)
        method = registry()[task.method]
        record.update(optimum=problem.optimum, reference=problem.reference,
                      unit=problem.max_budget, resumable=problem.resumable)
        if not method.supports(problem):
            record["skipped"] = (
                "takes each trial's budget from its config; the problem does not"
                if method.own_budget else "trials choose their own budget on this problem"
                if getattr(problem, "own_budget_axis", None) is not None
                else "needs a fidelity; the problem has none")
            return record
        own_budget = getattr(problem, "own_budget_axis", None) is not None
        units = task.budget if problem.fidelity is not None and not own_budget \
            else task.single_budget
        max_budget = units * problem.max_budget if not own_budget else math.inf
        # trials choose their own budget: the run is as many trials as a single-fidelity run
        # of ``units`` evaluations on ``workers`` workers has (the last ones in flight included)
        max_trials = int(units) + task.workers - 1 if own_budget else None
        method.evaluations = units
        study = method.start(problem, task.seed)
        try:
            rec = simulate(study, problem, workers=task.workers, max_budget=max_budget,
                           seed=task.seed, report_levels=method.report_levels(problem),
                           max_trials=max_trials)
        finally:
            method.stop(study)
        record.update(max_budget=max_budget, trajectory=rec.trajectory, spent=rec.spent,
                      sim_time=rec.sim_time, real_s=rec.real_s, decision_s=rec.decision_s,
                      n_trials=rec.n_trials, n_reports=rec.n_reports,
                      final_loss=rec.final_loss, best_config=rec.best_config)
        if problem.fidelity is None or getattr(problem, "records_evaluations", False):
            record["evaluations"] = [[c, loss if math.isfinite(loss) else None]
                                     for c, loss in rec.evaluations]
    except Exception as err:  # noqa: BLE001 -- recorded, the suite goes on
        record["error"] = f"{type(err).__name__}: {err}"
        record["traceback"] = traceback.format_exc()
    return _finite(record)


def _finite(record: dict[str, Any]) -> dict[str, Any]:
    for key, value in list(record.items()):
        if isinstance(value, float) and not math.isfinite(value):
            record[key] = None
    return record


def tasks_of(suite: Suite) -> list[Task]:
    return [Task(suite.name, p, m, s, suite.workers, suite.budget, suite.single_budget)
            for p in suite.problems for m in suite.methods for s in range(suite.seeds)]


def load_runs(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line under an exclusive ``flock``: several runners (e.g. one per method)
    may share a results folder without interleaving their lines, also where an ``O_APPEND``
    write is not atomic (network filesystems)."""
    line = json.dumps(record) + "\n"
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.write(line)
            fh.flush()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _init_worker() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def run_tasks(tasks: Iterable[Task], out_dir: Path, *, jobs: int = 2,
              echo: bool = True) -> list[dict[str, Any]]:
    """Run the tasks not already recorded in ``out_dir/runs.jsonl`` on ``jobs`` processes."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RUNS_FILE
    done = {(r["problem"], r["method"], r["seed"], r["workers"]) for r in load_runs(path)
            if "error" not in r}
    todo = [t for t in tasks if t.key not in done]
    results: list[dict[str, Any]] = []

    def keep(record: dict[str, Any]) -> None:
        append_record(path, record)
        results.append(record)
        if echo:
            status = record.get("error") or record.get("skipped") or \
                f"final loss {record.get('final_loss')} in {record.get('real_s', 0):.1f}s"
            print(f"[{len(results)}/{len(todo)}] {record['problem']} {record['method']} "
                  f"seed {record['seed']}: {status}", flush=True)

    if jobs <= 1:
        _init_worker()
        for task in todo:
            keep(run_one(task))
        return results
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"),
                             initializer=_init_worker) as pool:
        futures = [pool.submit(run_one, task) for task in todo]
        for future in as_completed(futures):
            keep(future.result())
    return results
