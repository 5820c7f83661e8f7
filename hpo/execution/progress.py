"""A one-line progress display for long tuning runs (stderr; off unless asked or a terminal)."""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING, TextIO

from hpo.core.trial import TrialStatus

if TYPE_CHECKING:
    from hpo.core.study import Study


def status_line(study: Study, elapsed: float, max_budget: float | None = None) -> str:
    """``trials 45 (3 running, 10 paused, 30 done, 2 failed) | budget ... | best ...``."""
    counts = study.counts()
    running = counts[TrialStatus.PENDING] + counts[TrialStatus.RUNNING]
    done = counts[TrialStatus.COMPLETED] + counts[TrialStatus.STOPPED]
    parts = [f"{elapsed:7.1f}s",
             f"trials {len(study)} ({running} running, {counts[TrialStatus.PAUSED]} paused, "
             f"{done} done, {counts[TrialStatus.FAILED]} failed)"]
    unit = study.fidelity.name if study.fidelity else "reports"
    budget = f"budget {study.budget_used:g}"
    if max_budget is not None:
        budget += f"/{max_budget:g}"
    parts.append(f"{budget} {unit}")
    best = study.best()
    if best is not None and math.isfinite(best.loss):
        value = study.objective.value(best.loss)
        parts.append(f"best {study.objective.metric}={value:.6g} (trial {best.id} @ "
                     f"{best.budget:g})")
    return "hpo " + " | ".join(parts)


class Progress:
    """Prints :func:`status_line` every ``interval`` seconds.

    Args:
        enabled: True / False, or None for "only when ``stream`` is a terminal".
        interval: seconds between lines (a terminal line is rewritten in place).
    """

    def __init__(self, study: Study, *, enabled: bool | None = None, interval: float = 2.0,
                 stream: TextIO | None = None, max_budget: float | None = None) -> None:
        self._study = study
        self._stream = stream if stream is not None else sys.stderr
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self.enabled = self._tty if enabled is None else bool(enabled)
        self._interval = interval
        self._max_budget = max_budget
        self._start = time.monotonic()
        self._last = self._start
        self._printed = False

    def update(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        line = status_line(self._study, now - self._start, self._max_budget)
        if self._tty:
            self._stream.write("\r" + line[:200].ljust(120))
        else:
            self._stream.write(line + "\n")
        self._stream.flush()
        self._printed = True

    def close(self) -> None:
        if self.enabled and self._printed:
            self.update(force=True)
            if self._tty:
                self._stream.write("\n")
                self._stream.flush()
