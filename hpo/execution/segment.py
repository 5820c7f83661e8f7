"""One segment of a trial: how it ends (outcomes), how it is run, and the executor interface.

A segment is one launch of a trial: from its ticket until the objective returns (finished, or
paused / stopped by a verdict), raises, dies with its process, or is stopped at its deadline
(:mod:`hpo.execution.deadline`).
"""

from __future__ import annotations

import multiprocessing
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.core.trial import Ticket
from hpo.execution.deadline import (
    Deadline,
    InlineAlarm,
    SegmentInterrupted,
    SegmentLimits,
    interruption,
)
from hpo.execution.handle import Reporter, TrialHandle

Objective = Callable[[TrialHandle], Any]

#: exit status of a spawned worker whose main-module import re-ran the tuning call
REIMPORT_EXIT = 86


@dataclass(frozen=True)
class Finished:
    """The objective returned for this segment."""

    trial_id: int


@dataclass(frozen=True)
class Crashed:
    """The objective raised, its worker process died or it timed out; ``reason`` says which
    (with the traceback)."""

    trial_id: int
    reason: str


@dataclass(frozen=True)
class Interrupted:
    """The run stopped the segment (``max_wall_s``); the trial stays resumable."""

    trial_id: int
    reason: str


Outcome = Finished | Crashed | Interrupted


def at_deadline(trial_id: int, deadline: Deadline, how: str) -> Crashed | Interrupted:
    """The outcome of a segment stopped at ``deadline`` (``how``: what was done to it)."""
    if deadline.fail:
        return Crashed(trial_id, f"{deadline.reason} ({how})")
    return Interrupted(trial_id, deadline.reason)


def run_segment(objective: Objective, ticket: Ticket, reporter: Reporter, metric: str,
                checkpoint_root: Path | None, limits: SegmentLimits | None = None,
                alarm: InlineAlarm | None = None) -> Outcome:
    """Run one segment of a trial and classify the outcome (``alarm`` enforces ``limits``
    in this process; without one they are the caller's business)."""
    handle = TrialHandle(ticket, reporter, metric=metric, checkpoint_root=checkpoint_root)
    try:
        try:
            if alarm is not None:
                alarm.arm(limits)
            handle._finish(objective(handle))
        finally:
            if alarm is not None:
                alarm.disarm()
    except SegmentInterrupted as stop:
        return at_deadline(ticket.trial_id, stop.deadline, "interrupted in-process")
    except Exception as err:  # noqa: BLE001 - the objective's own failure: recorded
        cause = interruption(err)  # e.g. its cleanup failed while being interrupted
        if cause is not None:
            return at_deadline(ticket.trial_id, cause.deadline, "interrupted in-process")
        return Crashed(ticket.trial_id, traceback.format_exc())
    return Finished(ticket.trial_id)


def refuse_in_spawned_import() -> None:
    """Exit a spawned worker whose import of the main module calls ``hpo.tune`` / ``hpo.run``.

    With the ``spawn`` start method every worker imports the main script again (as
    ``__mp_main__``); a script whose tuning call is not under ``if __name__ == "__main__":``
    thereby starts a whole tuning run inside each worker. The worker exits with
    :data:`REIMPORT_EXIT`, from which the driver tells the user the real cause.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise SystemExit(REIMPORT_EXIT)


class Executor(ABC):
    """Runs segments. Call order: ``start``, then ``launch`` / ``poll`` ..., then ``close``."""

    @abstractmethod
    def start(self, objective: Objective, reporter: Reporter, *, metric: str,
              checkpoint_root: Path | None) -> None:
        """Prepare to run ``objective``; reports go to ``reporter``."""

    @abstractmethod
    def capacity(self) -> int:
        """Free worker slots."""

    @abstractmethod
    def running(self) -> int:
        """Segments launched and not yet finished."""

    @abstractmethod
    def launch(self, ticket: Ticket, limits: SegmentLimits | None = None) -> None:
        """Start a segment (requires ``capacity() > 0``). The loop passes ``limits`` only
        when the run has a time limit; a segment stopped at one ends as :func:`at_deadline`
        says (an executor that cannot stop a segment may ignore them)."""

    @abstractmethod
    def poll(self, timeout: float) -> list[Outcome]:
        """Serve reports and return the segments that ended (waits up to ``timeout`` s)."""

    def close(self) -> None:
        """Release workers."""
