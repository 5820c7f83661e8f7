"""Segment deadlines: the per-trial time limit and the end of the run, and how they interrupt.

Two limits end a running segment (one launch of a trial, until it returns, pauses or stops):

* ``trial_timeout_s`` (``hpo.tune`` / ``hpo.run``): wall seconds one segment may run. Past it
  the trial is FAILED with a reason saying so, and the study goes on.
* ``max_wall_s`` (:class:`~hpo.execution.loop.Limits`): the end of the run. Running segments are
  stopped and their trials left running in the journal, so the next run on the same study
  resumes them from their last checkpoint (see :mod:`hpo.execution.relaunch`).

**In a worker process** (``workers >= 2``) a segment past its deadline is terminated (SIGTERM,
then SIGKILL after :data:`TERMINATE_GRACE_S`) and the worker replaced: that always works.

**In-process** (``workers=1``) arbitrary Python code cannot be stopped safely. What
:class:`InlineAlarm` does, and its limits:

* In the main thread on POSIX, ``signal.setitimer(ITIMER_REAL)`` raises
  :class:`SegmentInterrupted` inside the objective at the deadline. That interrupts Python code
  and blocking calls that return to the interpreter on a signal (``time.sleep``, socket and pipe
  reads, ``Lock.acquire``), but **not** a long call into C code that does not check for signals
  (one huge numpy / torch kernel, a deadlocked native library): the exception comes when that
  call returns. An objective that catches ``BaseException`` (a bare ``except:``) can swallow
  it. The process's own ``SIGALRM`` handler is replaced during a segment with a deadline and
  restored after it (an objective using ``signal.alarm`` itself conflicts with this).
* A report being recorded is never interrupted: an alarm during ``trial.report`` is deferred
  until the result is in the journal, then raised.
* Outside the main thread (or without ``setitimer``) the deadline is only checked when the
  objective reports; a hung objective that never reports is not interrupted (a warning says
  so once). Use ``workers >= 2`` for a limit that always holds.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from hpo.errors import HPOWarning

#: seconds a terminated worker gets to exit on SIGTERM before it is killed
TERMINATE_GRACE_S = 2.0


@dataclass(frozen=True)
class Deadline:
    """A point in time at which a running segment is stopped, and what happens to its trial.

    Attributes:
        at: ``time.monotonic()`` seconds.
        reason: recorded with the trial.
        fail: True: the trial is FAILED (``trial_timeout_s``); False: the segment is interrupted
            and the trial left resumable (``max_wall_s``).
    """

    at: float
    reason: str
    fail: bool

    def remaining(self) -> float:
        return self.at - time.monotonic()


@dataclass(frozen=True)
class SegmentLimits:
    """The time limits the loop gives a segment when it launches it.

    Attributes:
        timeout_s: seconds the segment may run once it executes (a fresh worker process's
            start-up does not count); past it the trial fails with ``timeout_reason``.
        end_at: ``time.monotonic()`` at which the run ends (``max_wall_s``); the segment is
            then interrupted with ``end_reason``.
    """

    timeout_s: float | None = None
    end_at: float | None = None
    timeout_reason: str = ""
    end_reason: str = ""

    def deadline(self, started: float | None) -> Deadline | None:
        """The first limit to pass for a segment that began executing at ``started`` (None:
        not yet, only the run's end applies); None without limits."""
        options = []
        if self.timeout_s is not None and started is not None:
            options.append(Deadline(started + self.timeout_s, self.timeout_reason, True))
        if self.end_at is not None:
            options.append(Deadline(self.end_at, self.end_reason, False))
        return min(options, key=lambda d: d.at) if options else None


class SegmentInterrupted(BaseException):
    """Raised in an in-process objective at its deadline (a BaseException, so that the
    objective's ``except Exception`` does not swallow it)."""

    def __init__(self, deadline: Deadline) -> None:
        super().__init__(deadline.reason)
        self.deadline = deadline


def interruption(error: BaseException) -> SegmentInterrupted | None:
    """The :class:`SegmentInterrupted` that ``error`` is, or was raised while handling."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, SegmentInterrupted):
            return seen
        seen = seen.__context__
    return None


class InlineAlarm:
    """Interrupts the in-process segment at its deadline (see the module docstring)."""

    def __init__(self) -> None:
        self._deadline: Deadline | None = None
        self._shield = 0
        self._pending = False
        self._previous: Any = None
        self._installed = False
        self._warned = False

    @staticmethod
    def available() -> bool:
        """Whether a signal can interrupt the objective here (main thread, ``setitimer``)."""
        return (hasattr(signal, "setitimer")
                and threading.current_thread() is threading.main_thread())

    def arm(self, limits: SegmentLimits | None) -> None:
        deadline = limits.deadline(time.monotonic()) if limits is not None else None
        self._deadline, self._pending = deadline, False
        if deadline is None:
            return
        if not self.available():
            if not self._warned:
                warnings.warn("an in-process objective outside the main thread cannot be "
                              "interrupted: trial_timeout_s / max_wall_s are only checked when "
                              "it reports (use workers >= 2 for a hard limit)", HPOWarning,
                              stacklevel=4)
                self._warned = True
            return
        if not math.isfinite(deadline.remaining()):
            return
        self._previous = signal.signal(signal.SIGALRM, self._fire)
        self._installed = True
        signal.setitimer(signal.ITIMER_REAL, max(deadline.remaining(), 1e-3))

    def disarm(self) -> None:
        self._deadline = None
        if self._installed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            previous = self._previous if self._previous is not None else signal.SIG_DFL
            signal.signal(signal.SIGALRM, previous)
            self._installed = False

    def _fire(self, signum: int, frame: FrameType | None) -> None:
        deadline = self._deadline
        if deadline is None:
            return
        if self._shield:
            self._pending = True
            return
        self._deadline = None  # once
        raise SegmentInterrupted(deadline)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """No interrupt in here (a report being journaled); one that came meanwhile, or a
        deadline found passed, is raised on the way out."""
        self._shield += 1
        try:
            yield
        finally:
            self._shield -= 1
        deadline = self._deadline
        if deadline is not None and not self._shield and (self._pending
                                                          or deadline.remaining() <= 0):
            self._deadline = None
            raise SegmentInterrupted(deadline)
