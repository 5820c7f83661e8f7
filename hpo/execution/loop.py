"""The tuning loop: fill free workers with ``study.ask()``, act on what workers report.

This is the only orchestration loop of the embedded executors (Ray Tune is its own loop). On
start it relaunches the trials a crashed driver left running (resuming them from their
checkpoints), so rerunning an interrupted tuning script continues where it stopped.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.errors import HPOError, TrialStateError
from hpo.execution.executors import (Crashed, Executor, InlineExecutor, Objective, Outcome,
                           ProcessPoolExecutor)
from hpo.execution.progress import Progress
from hpo.core.study import Study
from hpo.core.trial import Ticket

logger = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.05
#: stop a run whose trials keep failing (a broken objective would otherwise run forever,
#: since failed trials consume no budget)
MAX_FAILURES_IN_A_ROW = 20


def _positive(name: str, value: Any, integer: bool = False) -> None:
    if value is None:
        return
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0
    if integer:
        ok = ok and float(value) == int(value)
    if not ok or (isinstance(value, float) and math.isnan(value)):
        kind = "a positive int" if integer else "a positive number"
        raise ValueError(f"{name} must be {kind} or None, got {value!r}")


@dataclass(frozen=True)
class Limits:
    """When to stop handing out new work (running segments still finish).

    Attributes:
        max_trials: trials created in the study (all runs of it together).
        max_budget: total resource consumed, in fidelity units (e.g. ``20 * fidelity.max`` is
            the budget of 20 full-fidelity runs).
        max_cost: total reported cost (seconds by default).
        max_wall_s: wall-clock seconds of this run.
    """

    max_trials: int | None = None
    max_budget: float | None = None
    max_cost: float | None = None
    max_wall_s: float | None = None

    def __post_init__(self) -> None:
        _positive("max_trials", self.max_trials, integer=True)
        _positive("max_budget", self.max_budget)
        _positive("max_cost", self.max_cost)
        _positive("max_wall_s", self.max_wall_s)

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.max_trials, self.max_budget, self.max_cost,
                                           self.max_wall_s))

    def reached(self, study: Study, elapsed: float) -> bool:
        return ((self.max_trials is not None and len(study) >= self.max_trials)
                or (self.max_budget is not None and study.budget_used >= self.max_budget)
                or (self.max_cost is not None and study.cost_used >= self.max_cost)
                or (self.max_wall_s is not None and elapsed >= self.max_wall_s))


def run(study: Study, objective: Objective, *, executor: Executor | None = None,
        workers: int = 1, limits: Limits = Limits(), progress: bool | None = None) -> Study:
    """Run ``objective`` under ``study``'s method until a limit is reached or it finishes.

    Args:
        study: the study (its journal makes the run resumable).
        objective: ``objective(trial) -> None | float | dict`` (see :mod:`hpo.execution.handle`).
        executor: where segments run; default in-process for ``workers == 1``, else a local
            process pool.
        workers: number of parallel workers for the default executor.
        limits: stop criteria.
        progress: a progress line on stderr (None: only on a terminal).

    Returns:
        The study.
    """
    if executor is None:
        executor = InlineExecutor() if workers == 1 else ProcessPoolExecutor(workers)
    root = study.storage.checkpoint_root
    tmp = None
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="hpo-checkpoints-")
        root = Path(tmp.name)

    def reporter(trial_id: int, metrics: dict[str, Any], budget: Any, cost: float) -> Any:
        return study.report(trial_id, metrics, budget=budget, cost=cost)

    display = Progress(study, enabled=progress, max_budget=limits.max_budget)
    executor.start(objective, reporter, metric=study.objective.metric, checkpoint_root=root)
    try:
        _drive(study, executor, limits, display)
    finally:
        executor.close()
        display.close()
        if tmp is not None:
            tmp.cleanup()
    return study


def _drive(study: Study, executor: Executor, limits: Limits, display: Progress) -> None:
    start = time.monotonic()
    queue: deque[Ticket] = deque(study.ticket(tid) for tid in study.orphans())
    if queue:
        logger.info("relaunching %d trial(s) left running by a previous run", len(queue))
    busy: set[int] = set()  # trials whose segment is executing right now
    failures = [0, ""]  # failed segments in a row, last reason
    while True:
        asked_out = False
        while executor.capacity() > 0:
            ticket = _next_ready(queue, busy)
            if ticket is None:
                if limits.reached(study, time.monotonic() - start):
                    break
                ticket = study.ask()
                if ticket is None:
                    asked_out = True
                    break
                if ticket.trial_id in busy:  # resumed before its last segment returned
                    queue.append(ticket)
                    continue
            busy.add(ticket.trial_id)
            executor.launch(ticket)
        if executor.running() == 0 and not queue:
            if asked_out and not study.is_finished():
                logger.warning("the scheduler has no work while nothing is running; stopping")
            return
        for outcome in executor.poll(POLL_INTERVAL_S):
            _settle(study, outcome, busy, queue)
            failed = isinstance(outcome, Crashed)
            failures[0] = failures[0] + 1 if failed else 0
            failures[1] = outcome.reason if failed else ""
        if failures[0] >= MAX_FAILURES_IN_A_ROW:
            raise HPOError(f"the last {failures[0]} trials all failed; stopping the run. Last "
                           f"failure:\n{failures[1]}")
        display.update()


def _settle(study: Study, outcome: Outcome, busy: set[int], queue: deque[Ticket]) -> None:
    """Record how a segment ended. A trial already resumed (its next ticket waits in the
    queue for this segment to return) was paused: its segment ending is not a completion."""
    tid = outcome.trial_id
    busy.discard(tid)
    resumed = any(t.trial_id == tid for t in queue)
    try:
        if isinstance(outcome, Crashed):
            if resumed:  # crashed after the pause (e.g. saving the checkpoint): cannot resume
                kept = [t for t in queue if t.trial_id != tid]
                queue.clear()
                queue.extend(kept)
            study.fail(tid, outcome.reason)
        elif not resumed:
            study.finish(tid)
    except TrialStateError as err:  # e.g. already failed by a malformed report
        logger.info("trial %d: %s", tid, err)


def _next_ready(queue: deque[Ticket], busy: set[int]) -> Ticket | None:
    for _ in range(len(queue)):
        ticket = queue.popleft()
        if ticket.trial_id not in busy:
            return ticket
        queue.append(ticket)
    return None
