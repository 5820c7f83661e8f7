"""In-process callbacks of the tuning loop: see every trial start, report and end as it happens.

    class Printer(hpo.Callback):
        def on_report(self, trial, obs):
            print(trial.id, obs.budget, obs.metrics)

    hpo.tune(objective, space, max_trials=10, callbacks=[Printer()])

The driver calls them (in the driver process, also with worker processes) **after** the
journal recorded the event, so a callback sees exactly what the journal holds and can never
lose or change a result: an exception raised by a callback is turned into an
:class:`~hpo.errors.HPOWarning` (and logged), and the run goes on. Trackers that mirror every
report to TensorBoard, MLflow or W&B are in :mod:`hpo.integrations.trackers`.

Call order within one run (``hpo.run`` / ``hpo.tune``):

1. ``on_run_start(study)`` once;
2. ``on_trial_start(trial)`` each time a segment of a trial is launched: a new trial, a paused
   one resumed (``trial.observations`` is then non-empty) or one relaunched after a crash;
3. ``on_report(trial, obs)`` for every report the journal recorded (duplicates a resumed
   trial re-reports are not recorded and not passed on); ``trial`` already contains ``obs``
   and has the status the verdict gave it (PAUSED after a pause);
4. ``on_trial_end(trial)`` once a started trial reached COMPLETED, STOPPED or FAILED (a
   paused trial that is never resumed ends when the method retires it);
5. ``on_run_end(study)`` once, also when the run stops on an error; trials still paused or
   left running then get no ``on_trial_end`` in this run.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hpo.core.trial import Observation, Trial
from hpo.errors import HPOError, HPOWarning

if TYPE_CHECKING:
    from hpo.core.study_state import StudyState

logger = logging.getLogger(__name__)

__all__ = ["Callback", "CallbackError", "CallbackList"]


class CallbackError(HPOError, TypeError):
    """Something passed as a callback is not an :class:`Callback`-like object."""


class Callback:
    """Base class of loop callbacks; every hook is optional (the defaults do nothing)."""

    def on_run_start(self, study: StudyState) -> None:
        """The run starts (before any trial is launched)."""

    def on_trial_start(self, trial: Trial) -> None:
        """A segment of ``trial`` is launched (new, resumed or relaunched)."""

    def on_report(self, trial: Trial, obs: Observation) -> None:
        """The journal recorded ``obs`` for ``trial``."""

    def on_trial_end(self, trial: Trial) -> None:
        """``trial`` reached a terminal status."""

    def on_run_end(self, study: StudyState) -> None:
        """The run ended (flush and close here)."""


_HOOKS = ("on_run_start", "on_trial_start", "on_report", "on_trial_end", "on_run_end")


def check_callbacks(callbacks: Iterable[Any] | None) -> list[Any]:
    """The callbacks as a list (CallbackError: not a list of objects with at least one hook)."""
    if callbacks is None:
        return []
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable) \
            or any(hasattr(callbacks, h) for h in _HOOKS):
        raise CallbackError(f"callbacks must be a list of hpo.Callback objects, got "
                            f"{callbacks!r}")
    out = list(callbacks)
    for cb in out:
        if isinstance(cb, type) or not any(callable(getattr(cb, h, None)) for h in _HOOKS):
            raise CallbackError(f"callback {cb!r} has none of the hooks {list(_HOOKS)} (pass an "
                                "instance of an hpo.Callback subclass)")
    return out


class CallbackList:
    """Dispatches the loop's events to callbacks, turning their errors into warnings.

    The loop tells it what happened (``launched``, ``reported``, ``settled``); it reads the
    recorded trial from the study, so callbacks see the journal's truth, and keeps the set of
    trials it started, so each gets one ``on_trial_end`` whichever way it ended.
    """

    def __init__(self, callbacks: Iterable[Any] | None, study: StudyState) -> None:
        self.callbacks = check_callbacks(callbacks)
        self.study = study
        self._open: dict[int, int] = {}  # started trial -> observations passed on so far

    def __bool__(self) -> bool:
        return bool(self.callbacks)

    def _call(self, hook: str, *args: Any) -> None:
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is None:
                continue
            try:
                method(*args)
            except Exception as err:  # noqa: BLE001 - a callback never stops the run
                logger.debug("callback %r failed in %s", cb, hook, exc_info=True)
                warnings.warn(f"callback {type(cb).__name__}.{hook} raised "
                              f"{type(err).__name__}: {err} (the result is recorded; the run "
                              "goes on)", HPOWarning, stacklevel=3)

    def _trial(self, trial_id: int) -> Trial | None:
        try:
            return self.study.trials.get(trial_id)
        except Exception:  # noqa: BLE001 - reading for a callback must never break the run
            logger.debug("could not read trial %d for the callbacks", trial_id, exc_info=True)
            return None

    def started(self) -> None:
        if self.callbacks:
            self._call("on_run_start", self.study)

    def launched(self, trial_id: int) -> None:
        if not self.callbacks:
            return
        trial = self._trial(trial_id)
        if trial is None:
            return
        self._open.setdefault(trial_id, len(trial.observations))
        self._call("on_trial_start", trial)
        self._sweep()

    def reported(self, trial_id: int) -> None:
        if not self.callbacks:
            return
        trial = self._trial(trial_id)
        if trial is None:
            return
        seen = self._open.setdefault(trial_id, len(trial.observations) - 1)
        for obs in trial.observations[seen:]:  # nothing new: a duplicate report was ignored
            self._call("on_report", trial, obs)
        self._open[trial_id] = len(trial.observations)
        self.settled(trial_id, trial)

    def settled(self, trial_id: int, trial: Trial | None = None) -> None:
        if not self.callbacks or trial_id not in self._open:
            return
        trial = trial or self._trial(trial_id)
        if trial is not None and trial.status.is_terminal:
            del self._open[trial_id]
            self._call("on_trial_end", trial)

    def _sweep(self) -> None:
        """End the started trials that ended out of sight (e.g. a paused trial retired)."""
        for tid in list(self._open):
            self.settled(tid)

    def close(self) -> None:
        if not self.callbacks:
            return
        self._sweep()
        self._call("on_run_end", self.study)
