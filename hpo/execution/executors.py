"""Executors run objective segments; the loop (``hpo.loop.run``) drives them.

* :class:`InlineExecutor`: in this process, one trial at a time (the default for one worker).
* :class:`~hpo.execution.pool.ProcessPoolExecutor`: N worker processes on this machine (the
  embedded default for several workers: nothing to start). Reports travel to the driver over
  pipes and block until the verdict comes back, so ``trial.report`` behaves exactly as
  in-process.

Executors never decide anything: they launch tickets, forward reports to the ``reporter`` and
tell the loop when a segment finished, crashed or was stopped at its deadline
(:mod:`hpo.execution.deadline`; the interface is in :mod:`hpo.execution.segment`).
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from hpo.core.decisions import Verdict
from hpo.core.trial import Ticket
from hpo.execution.deadline import InlineAlarm, SegmentLimits
from hpo.execution.handle import Reporter
from hpo.execution.pool import MAX_DEATHS_IN_A_ROW, ProcessPoolExecutor
from hpo.execution.segment import (
    Crashed,
    Executor,
    Finished,
    Interrupted,
    Objective,
    Outcome,
    run_segment,
)

__all__ = ["MAX_DEATHS_IN_A_ROW", "Crashed", "Executor", "Finished", "InlineExecutor",
           "Interrupted", "Objective", "Outcome", "ProcessPoolExecutor", "run_segment"]


class InlineExecutor(Executor):
    """Runs each segment synchronously in the calling process (one worker).

    A segment with a deadline is interrupted by a signal alarm where that is possible (the
    main thread on POSIX); see :mod:`hpo.execution.deadline` for what that can and cannot
    interrupt.
    """

    def __init__(self) -> None:
        self._queue: deque[tuple[Ticket, SegmentLimits | None]] = deque()
        self._alarm = InlineAlarm()

    def start(self, objective: Objective, reporter: Reporter, *, metric: str,
              checkpoint_root: Path | None) -> None:
        self._objective, self._reporter = objective, reporter
        self._metric, self._root = metric, checkpoint_root

    def _shielded_report(self, trial_id: int, metrics: dict[str, Any], budget: Any,
                         cost: float) -> Verdict:
        with self._alarm.shielded():  # never interrupt a report half-recorded
            return self._reporter(trial_id, metrics, budget, cost)

    def capacity(self) -> int:
        return 0 if self._queue else 1

    def running(self) -> int:
        return len(self._queue)

    def launch(self, ticket: Ticket, limits: SegmentLimits | None = None) -> None:
        self._queue.append((ticket, limits))

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._queue:
            return []
        ticket, limits = self._queue[0]
        try:
            return [run_segment(self._objective, ticket, self._shielded_report, self._metric,
                                self._root, limits, self._alarm)]
        finally:
            self._queue.popleft()
