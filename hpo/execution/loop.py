"""The tuning loop: fill free workers with ``study.ask()``, act on what workers report.

This is the only orchestration loop of the embedded executors (Ray Tune is its own loop). On
start it relaunches the trials a crashed driver left running (resuming them from their
checkpoints), so rerunning an interrupted tuning script continues where it stopped; a trial
whose process keeps dying is failed after ``max_relaunches`` relaunches
(:mod:`hpo.execution.relaunch`). With a time limit (``trial_timeout_s``, ``max_wall_s``) every
segment gets a deadline (:mod:`hpo.execution.deadline`).
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

from hpo.core.study import Study
from hpo.core.trial import Ticket
from hpo.errors import HPOError, LimitError, TrialStateError
from hpo.execution.callbacks import CallbackList
from hpo.execution.deadline import SegmentLimits
from hpo.execution.executors import InlineExecutor
from hpo.execution.pool import ProcessPoolExecutor
from hpo.execution.progress import Progress
from hpo.execution.relaunch import MAX_RELAUNCHES, RelaunchLedger
from hpo.execution.segment import (
    Crashed,
    Executor,
    Finished,
    Interrupted,
    Objective,
    Outcome,
    refuse_in_spawned_import,
)

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
        ok = ok and (isinstance(value, int) or math.isfinite(value) and value == int(value))
    if not ok or (isinstance(value, float) and math.isnan(value)):
        kind = "a positive int" if integer else "a positive number"
        raise LimitError(f"{name} must be {kind} or None, got {value!r}")


@dataclass(frozen=True)
class Limits:
    """When the run stops.

    ``max_trials``, ``max_budget`` and ``max_cost`` stop handing out new work (running segments
    still finish). ``max_wall_s`` ends the run at that time: running segments are stopped (their
    worker processes terminated; in-process, the objective interrupted: see
    :mod:`hpo.execution.deadline`) and their trials left running in the journal, so the next run
    on the study resumes them from their last checkpoint; the reason is logged and kept in the
    study's ``relaunches.json`` (:mod:`hpo.execution.relaunch`).

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


def check_run_options(trial_timeout_s: float | None, max_relaunches: int) -> None:
    """Validate the options of :func:`run` that are not :class:`Limits` (LimitError)."""
    _positive("trial_timeout_s", trial_timeout_s)
    if (isinstance(max_relaunches, bool) or not isinstance(max_relaunches, int)
            or max_relaunches < 0):
        raise LimitError(f"max_relaunches must be a non-negative int, got {max_relaunches!r}")


def run(study: Study, objective: Objective, *, executor: Executor | None = None,
        workers: int = 1, limits: Limits = Limits(), progress: bool | None = None,
        trial_timeout_s: float | None = None, max_relaunches: int = MAX_RELAUNCHES,
        callbacks: list[Any] | None = None) -> Study:
    """Run ``objective`` under ``study``'s method until a limit is reached or it finishes.

    Args:
        study: the study (its journal makes the run resumable).
        objective: ``objective(trial) -> None | float | dict`` (see :mod:`hpo.execution.handle`).
        executor: where segments run; default in-process for ``workers == 1``, else a local
            process pool.
        workers: number of parallel workers for the default executor.
        limits: stop criteria.
        progress: a progress line on stderr (None: only on a terminal).
        trial_timeout_s: wall seconds one segment of a trial (a launch, until it returns,
            pauses or stops) may run; past it the trial is FAILED with a reason saying so and
            its worker process terminated; in-process (``workers=1``) the objective is
            interrupted by a signal, which has limits (:mod:`hpo.execution.deadline`). None:
            no limit.
        max_relaunches: relaunches without progress of a trial whose process died (e.g. the
            objective calls ``sys.exit``) before it is failed (:mod:`hpo.execution.relaunch`).
        callbacks: :class:`~hpo.execution.callbacks.Callback` objects told of every trial
            start, recorded report and end, after the journal write (their errors are
            warnings; e.g. the trackers of :mod:`hpo.integrations.trackers`).

    Returns:
        The study.

    Raises:
        LimitError: an invalid ``trial_timeout_s`` or ``max_relaunches``.
        CallbackError: ``callbacks`` is not a list of callbacks.
    """
    refuse_in_spawned_import()
    check_run_options(trial_timeout_s, max_relaunches)
    hooks = CallbackList(callbacks, study)
    if executor is None:
        executor = InlineExecutor() if workers == 1 else ProcessPoolExecutor(workers)
    root = study.storage.checkpoint_root
    tmp = None
    if root is None:
        tmp = tempfile.TemporaryDirectory(prefix="hpo-checkpoints-")
        root = Path(tmp.name)

    def reporter(trial_id: int, metrics: dict[str, Any], budget: Any, cost: float) -> Any:
        verdict = study.report(trial_id, metrics, budget=budget, cost=cost)
        hooks.reported(trial_id)  # after the journal write; never raises
        return verdict

    display = Progress(study, enabled=progress, max_budget=limits.max_budget)
    driver = _Driver(study, executor, limits, trial_timeout_s)
    driver.hooks = hooks
    executor.start(objective, reporter, metric=study.objective.metric, checkpoint_root=root)
    try:
        hooks.started()
        driver.drive(max_relaunches, display)
    except SystemExit:  # the objective ended the process: a crash (its relaunch is counted)
        raise
    except BaseException as err:  # Ctrl-C, an error in the driver: the run stops on purpose
        try:
            driver.leave(f"the run stopped ({type(err).__name__}) while the trial was running")
        except Exception:  # noqa: BLE001 - never hide the error that stopped the run
            logger.exception("could not record the trials left running")
        raise
    finally:
        executor.close()
        display.close()
        hooks.close()
        if tmp is not None:
            tmp.cleanup()
    return study


class _Driver:
    """One run: relaunched and resumed tickets waiting, segments executing, their deadlines."""

    def __init__(self, study: Study, executor: Executor, limits: Limits,
                 trial_timeout_s: float | None) -> None:
        self.study, self.executor, self.limits = study, executor, limits
        self.trial_timeout_s = trial_timeout_s
        self.ledger = RelaunchLedger(study)
        self.queue: deque[Ticket] = deque()
        self.busy: set[int] = set()  # trials whose segment is executing right now
        self.start = time.monotonic()
        self.hooks = CallbackList(None, study)

    def drive(self, max_relaunches: int, display: Progress) -> None:
        study, executor, limits, queue = self.study, self.executor, self.limits, self.queue
        self.start = time.monotonic()
        self._relaunch_orphans(max_relaunches)
        failures, last_failure = 0, ""
        while True:
            elapsed = time.monotonic() - self.start
            ending = limits.max_wall_s is not None and elapsed >= limits.max_wall_s
            asked_out = False
            while not ending and executor.capacity() > 0:
                ticket = _next_ready(queue, self.busy)
                if ticket is None:
                    if limits.reached(study, elapsed):
                        break
                    ticket = study.ask()
                    if ticket is None:
                        asked_out = True
                        break
                    if ticket.trial_id in self.busy:  # resumed before its last segment returned
                        queue.append(ticket)
                        continue
                self._launch(ticket)
            if executor.running() == 0 and (ending or not queue):
                if queue:  # resumed, never relaunched: the next run does
                    self.leave(self._wall_reason(), logging.WARNING)
                if asked_out and not study.is_finished():
                    logger.warning("the scheduler has no work while nothing is running; stopping")
                return
            for outcome in executor.poll(POLL_INTERVAL_S):
                self._settle(outcome)
                if isinstance(outcome, Crashed):
                    failures, last_failure = failures + 1, outcome.reason
                elif isinstance(outcome, Finished):
                    failures = 0
            if failures >= MAX_FAILURES_IN_A_ROW:
                raise HPOError(f"the last {failures} trials all failed; stopping the run. Last "
                               f"failure:\n{last_failure}")
            display.update()

    def leave(self, reason: str, level: int = logging.INFO) -> None:
        """Record that the trials executing or waiting now are left running on purpose."""
        left = sorted(self.busy | {t.trial_id for t in self.queue})
        if left:
            logger.log(level, "trial(s) %s left running (%s); the next run resumes them", left,
                       reason)
            self.ledger.interrupted(left, reason)

    def _relaunch_orphans(self, max_relaunches: int) -> None:
        for tid in self.study.orphans():
            if self.study.settle_orphan(tid):  # its one result is in: end it, don't rerun
                continue
            reason = self.ledger.relaunch(self.study.trials[tid], limit=max_relaunches)
            if reason is None:
                self.queue.append(self.study.ticket(tid))
                continue
            logger.warning("trial %d: %s; failing it", tid, reason)
            try:
                self.study.fail(tid, reason)
            except TrialStateError as err:  # ended meanwhile by another process
                logger.info("trial %d: %s", tid, err)
        if self.queue:
            logger.info("relaunching %d trial(s) left running by a previous run",
                        len(self.queue))

    def _wall_reason(self) -> str:
        if self.limits.max_wall_s is None:
            return ""
        return (f"max_wall_s={self.limits.max_wall_s:g} s reached: the run ended while the "
                "trial was running; the next run on this study resumes it")

    def _launch(self, ticket: Ticket) -> None:
        self.busy.add(ticket.trial_id)
        self.hooks.launched(ticket.trial_id)
        timeout, wall = self.trial_timeout_s, self.limits.max_wall_s
        if timeout is None and wall is None:  # (custom executors without limits keep working)
            self.executor.launch(ticket)
            return
        reason = "" if timeout is None else (
            f"timed out: the segment ran longer than trial_timeout_s={timeout:g} s")
        end_at = None if wall is None else self.start + wall
        self.executor.launch(ticket, SegmentLimits(timeout, end_at, reason, self._wall_reason()))

    def _settle(self, outcome: Outcome) -> None:
        """Record how a segment ended. A trial already resumed (its next ticket waits in the
        queue for this segment to return) was paused: its segment ending is not a completion."""
        tid = outcome.trial_id
        self.busy.discard(tid)
        if isinstance(outcome, Interrupted):
            logger.warning("trial %d: %s", tid, outcome.reason)
            self.ledger.interrupted([tid], outcome.reason)
            return
        resumed = any(t.trial_id == tid for t in self.queue)
        try:
            if isinstance(outcome, Crashed):
                if resumed:  # crashed after the pause (e.g. saving the checkpoint): cannot resume
                    kept = [t for t in self.queue if t.trial_id != tid]
                    self.queue.clear()
                    self.queue.extend(kept)
                self.study.fail(tid, outcome.reason)
            elif not resumed:
                self.study.finish(tid)
        except TrialStateError as err:  # e.g. already failed by a malformed report
            logger.info("trial %d: %s", tid, err)
        self.hooks.settled(tid)


def _next_ready(queue: deque[Ticket], busy: set[int]) -> Ticket | None:
    for _ in range(len(queue)):
        ticket = queue.popleft()
        if ticket.trial_id not in busy:
            return ticket
        queue.append(ticket)
    return None
