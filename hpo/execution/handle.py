"""What an objective receives: the trial's config and budget, ``report``, and checkpoints.

An objective is ``objective(trial) -> None | float | dict``::

    def objective(trial):
        state = trial.load_checkpoint()            # bytes saved before a pause, or None
        model, epoch = restore(state) if state else (build(trial.config), 0)
        while epoch < trial.max_budget:
            epoch += 1
            loss = train_one_epoch(model)
            verdict = trial.report({"loss": loss}, budget=epoch,
                                   checkpoint=lambda: serialise(model, epoch))
            if verdict.should_stop:                # PAUSE (may be resumed later) or STOP
                return

Checkpoints come in two forms, use either:

* **bytes**: ``trial.save_checkpoint(data)`` / ``trial.load_checkpoint()`` (written atomically;
  ``report(..., checkpoint=data_or_callable)`` saves right after the result is recorded and
  before ``report`` returns, so a paused trial has a checkpoint at its reported budget; a
  callable is only called when the verdict is PAUSE or STOP, so serialising costs nothing
  while training continues);
* **a directory**: ``trial.checkpoint_dir`` persists across pause / resume of this trial; write
  any files there yourself.

A returned number or metrics dict is recorded at ``trial.budget`` when the objective reported
nothing in this segment (the one-call style ``return train(config, epochs=trial.budget)``);
otherwise it is ignored.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hpo.core.decisions import Verdict
from hpo.core.trial import Ticket
from hpo.core.types import Config
from hpo.errors import HPOError

Reporter = Callable[[int, dict[str, Any], Any, float], Verdict]
CheckpointData = bytes | Callable[[], bytes]

BLOB = "checkpoint.bin"
META = "checkpoint.json"


class TrialHandle:
    """The objective's view of one trial segment (see the module docstring)."""

    #: fsync checkpoint files (off where another layer makes them durable, e.g. Ray's copy)
    fsync_checkpoints = True

    def __init__(self, ticket: Ticket, reporter: Reporter, *, metric: str,
                 checkpoint_root: Path | None) -> None:
        self._ticket = ticket
        self._reporter = reporter
        self._metric = metric
        self._root = checkpoint_root
        self._last_budget = ticket.resume_from
        self._reported = False
        self._verdict: Verdict | None = None
        self._mark = time.perf_counter()

    # -- what to run ----------------------------------------------------------------------
    @property
    def id(self) -> int:
        return self._ticket.trial_id

    @property
    def config(self) -> Config:
        return self._ticket.config

    @property
    def budget(self) -> Any:
        """The milestone of this segment (the scheduler pauses or stops the trial there)."""
        return self._ticket.budget

    @property
    def resume_from(self) -> float:
        """Budget already reached and recorded (0 for a new trial)."""
        return self._ticket.resume_from

    @property
    def max_budget(self) -> Any:
        """The fidelity maximum (None for a study without a fidelity)."""
        return self._ticket.max_budget

    @property
    def parent_id(self) -> int | None:
        return self._ticket.parent_id

    @property
    def scale(self) -> Mapping[str, float]:
        return self._ticket.scale

    @property
    def verdict(self) -> Verdict | None:
        """The last verdict received (None before the first report)."""
        return self._verdict

    # -- reporting ------------------------------------------------------------------------
    def report(self, metrics: Mapping[str, Any] | float, *, budget: Any = None,
               cost: float | None = None, checkpoint: CheckpointData | None = None) -> Verdict:
        """Record a result; returns CONTINUE, PAUSE or STOP (see ``Study.report``).

        Args:
            metrics: metrics mapping (with the objective metric) or a bare number.
            budget: cumulative resource consumed (default: reports so far + 1).
            cost: cost since the previous report (default: wall seconds measured here).
            checkpoint: bytes, or a callable returning bytes, saved with this budget after the
                result is recorded (a callable only when the verdict is PAUSE / STOP).
        """
        if self._verdict is not None and self._verdict.should_stop:
            return self._verdict  # already told to pause / stop: nothing more is recorded
        if budget is not None and self._last_budget and budget <= self._last_budget:
            return Verdict.cont("duplicate report ignored")  # replaying work done before
        if not isinstance(metrics, Mapping):
            metrics = {self._metric: metrics}
        now = time.perf_counter()
        increment = now - self._mark if cost is None else cost
        verdict = self._reporter(self.id, dict(metrics), budget, increment)
        self._mark = now
        self._reported = True
        self._verdict = verdict
        if budget is not None:
            self._last_budget = budget
        # recorded first, checkpointed second: a crash in between costs recomputation (the
        # resumed trial re-reports, duplicates are ignored), never a skipped observation
        if isinstance(checkpoint, (bytes, bytearray)):
            self.save_checkpoint(bytes(checkpoint), budget=budget)
        elif callable(checkpoint) and verdict.should_stop:
            self.save_checkpoint(checkpoint(), budget=budget)
        return verdict

    def _finish(self, result: Any) -> None:
        """Record a returned value when nothing was reported in this segment."""
        if result is None or self._reported:
            return
        if not isinstance(result, Mapping):
            try:
                result = {self._metric: float(result)}
            except (TypeError, ValueError):
                raise HPOError(f"the objective returned {result!r}; return None, a number or a "
                               "metrics dict") from None
        self.report(result, budget=self.budget)

    # -- checkpoints ----------------------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        """This trial's persistent checkpoint directory (created on first access)."""
        if self._root is None:
            raise HPOError("this study has no checkpoint storage: run it through hpo.run / "
                           "hpo.tune, or give Study(storage=directory)")
        path = self._root / str(self.id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def save_checkpoint(self, data: bytes, *, budget: Any = None) -> None:
        """Atomically store ``data`` as this trial's checkpoint (with the budget it is at)."""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"save_checkpoint needs bytes, got {type(data).__name__}")
        directory = self.checkpoint_dir
        _atomic_write(directory / BLOB, bytes(data), self.fsync_checkpoints)
        at = budget if budget is not None else self._last_budget
        _atomic_write(directory / META, json.dumps(self._checkpoint_meta(at)).encode(),
                      self.fsync_checkpoints)

    def _checkpoint_meta(self, budget: Any) -> dict[str, Any]:
        """What ``checkpoint.json`` records: the budget and the trial (subclasses add fields,
        e.g. the Ray backend's driver generation); readers use ``budget`` only."""
        return {"budget": budget, "trial": self.id}

    def load_checkpoint(self) -> bytes | None:
        """The bytes last saved by :meth:`save_checkpoint`, or None."""
        if self._root is None:
            return None
        try:
            return (self._root / str(self.id) / BLOB).read_bytes()
        except FileNotFoundError:
            return None

    @property
    def checkpoint_budget(self) -> Any:
        """The budget at which the bytes checkpoint was saved (None without one)."""
        if self._root is None:
            return None
        try:
            return json.loads((self._root / str(self.id) / META).read_bytes())["budget"]
        except FileNotFoundError:
            return None


def _atomic_write(path: Path, data: bytes, fsync: bool = True) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        if fsync:
            os.fsync(fh.fileno())
    os.replace(tmp, path)
