"""A study as its journal records it: trials, decisions and totals, followed as it grows.

:class:`StudyRecord` reads a study's journal (``DIR/journal.jsonl``) read-only, folds every event
as recorded (no scheduler is rebuilt, nothing is written or locked) and keeps what the trial
snapshots do not: the verdict of every report, the promotions (resumes) of every trial and the
budget each trial started at. :meth:`StudyRecord.refresh` folds in what was appended since, so
the plots and the dashboard work on a running study, from another process, and on a journal
copied from a cluster.

Example:
    >>> import hpo, tempfile
    >>> from hpo.analysis.record import StudyRecord
    >>> d = tempfile.mkdtemp()
    >>> study = hpo.Study({"x": hpo.Float("x", 0.0, 1.0)}, "loss", seed=0, storage=d)
    >>> t = study.ask(); _ = study.tell(t.trial_id, {"loss": 0.5})
    >>> record = StudyRecord.open(d)
    >>> len(record.trials), record.counts()["completed"]
    (1, 1)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpo.core.trial import Trial, TrialStatus
from hpo.core.types import Fidelity, Objective
from hpo.errors import HPOError
from hpo.journal.fold import Fold
from hpo.journal.storage import JOURNAL_NAME, JournalStorage, MemoryStorage
from hpo.space.search_space import SearchSpace

#: decision categories of a trial, in legend order (see :meth:`StudyRecord.decision`)
DECISIONS = ("completed", "promoted", "paused", "running", "stopped", "failed")


class AnalysisError(HPOError, ValueError):
    """An analysis or plot cannot be made: unknown plot kind, a study without the data it
    needs (no results, no fidelity, no cost), or a missing optional dependency."""


def require(module: str, extra: str) -> Any:
    """Import an optional dependency, or raise AnalysisError naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise AnalysisError(f"this needs the optional dependency {module.split('.')[0]!r}: "
                            f"pip install 'scaletune[{extra}]'") from None


class StudyRecord:
    """The trials of one study as its journal records them (read-only, refreshable).

    Build it with :meth:`open` (a study directory), :meth:`of` (a directory, a ``Study`` or a
    record). Thread-safe: :meth:`refresh` and :meth:`snapshot` take a lock.
    """

    def __init__(self, storage: JournalStorage | MemoryStorage, where: str) -> None:
        self._storage = storage
        self._memory = 0  # events of a MemoryStorage already folded
        self.where = where
        self.header: dict[str, Any] = {}
        self.space: SearchSpace | None = None
        self.objective = Objective("loss")
        self.fidelity: Fidelity | None = None
        self._fold = Fold(self.objective, None)
        #: trial id -> verdict code ("c", "p", "s") of each of its reports, in order
        self.verdicts: dict[int, list[str]] = {}
        #: trial id -> budgets it was resumed (promoted) to, in order
        self.resumes: dict[int, list[float]] = {}
        #: trial id -> the target budget of its start (its bracket's lowest rung)
        self.start_budgets: dict[int, float | None] = {}
        #: trial id -> time of its last event
        self.updated: dict[int, float] = {}
        self.n_events = 0
        self.last_time = 0.0
        self._lock = threading.RLock()
        self.refresh()
        if not self.header:
            raise AnalysisError(f"{where}: the journal has no study header yet")

    @classmethod
    def open(cls, directory: str | os.PathLike[str]) -> StudyRecord:
        """The study in ``directory`` (AnalysisError if it is not a study directory)."""
        path = Path(directory)
        if not path.is_dir():
            raise AnalysisError(f"no study directory at {str(path)!r}")
        if not (path / JOURNAL_NAME).is_file():
            raise AnalysisError(f"{str(path)!r} is not a study directory: it has no "
                                f"{JOURNAL_NAME}")
        return cls(JournalStorage(path, read_only=True), str(path))

    @classmethod
    def of(cls, source: Any) -> StudyRecord:
        """A record of ``source``: a study directory, a ``Study`` or a ``StudyRecord``."""
        if isinstance(source, StudyRecord):
            source.refresh()
            return source
        if isinstance(source, (str, os.PathLike)):
            return cls.open(source)
        storage = getattr(source, "storage", None)
        if storage is not None and storage.directory is not None:
            return cls.open(storage.directory)
        if isinstance(storage, MemoryStorage):
            return cls(storage, "an in-memory study")
        raise AnalysisError(f"expected a study directory, a Study or a StudyRecord, got "
                            f"{source!r:.80}")

    # -- reading ---------------------------------------------------------------------------
    def refresh(self) -> int:
        """Fold in the events appended since the last read; returns how many there were."""
        with self._lock:
            if isinstance(self._storage, MemoryStorage):
                events = self._storage.events[self._memory:]
                self._memory += len(events)
            else:
                events = self._storage.read_new()
            for event in events:
                self._apply(event)
            return len(events)

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["e"]
        self.n_events += 1
        if kind == "study":
            self.header = event
            self.space = SearchSpace.from_json(event["space"])
            self.objective = Objective.from_json(event["objective"])
            self.fidelity = Fidelity.from_json(event["fidelity"]) if event["fidelity"] else None
            self._fold = Fold(self.objective, self.fidelity)
            self.last_time = float(event.get("created") or 0.0)
            return
        self._fold.apply_recorded(event)
        tid = event.get("t")
        if tid is None:
            return
        if kind == "start":
            self.start_budgets[tid] = event["b"]
        elif kind == "resume":
            self.resumes.setdefault(tid, []).append(event["b"])
        elif kind == "report":
            self.verdicts.setdefault(tid, []).append(event["v"])
        if "ts" in event:
            self.updated[tid] = float(event["ts"])
            self.last_time = max(self.last_time, float(event["ts"]))

    @property
    def trials(self) -> Mapping[int, Trial]:
        """Trial id -> latest snapshot (as of the last :meth:`refresh`)."""
        return self._fold.trials

    def snapshot(self) -> list[Trial]:
        """The trials in id order (a consistent copy, safe while another thread refreshes)."""
        with self._lock:
            return [self._fold.trials[k] for k in sorted(self._fold.trials)]

    @property
    def created(self) -> float:
        return float(self.header.get("created") or 0.0)

    @property
    def method_name(self) -> str:
        method = self.header.get("method")
        return str(method["name"]) if method else "custom scheduler"

    @property
    def budget_used(self) -> float:
        return self._fold.budget_used

    @property
    def cost_used(self) -> float:
        return self._fold.cost_used

    def counts(self) -> dict[str, int]:
        """Trials per status string, every status present."""
        counts = {status.value: 0 for status in TrialStatus}
        for trial in self.snapshot():
            counts[trial.status.value] += 1
        return counts

    def decision(self, trial: Trial) -> str:
        """The trial's decision category (one of :data:`DECISIONS`): ``failed``, ``stopped``,
        ``completed`` as ended; a trial not ended is ``promoted`` once the scheduler resumed it
        past a rung, else ``paused`` or ``running``."""
        if trial.status.is_terminal:
            return trial.status.value
        if self.resumes.get(trial.id):
            return "promoted"
        return "paused" if trial.status is TrialStatus.PAUSED else "running"

    def value(self, loss: float) -> float:
        """A loss in the objective's own units (negated back when maximising)."""
        return self.objective.value(loss)

    def best(self) -> Trial | None:
        from hpo.analysis.views import best_trial

        return best_trial(self.snapshot())

    def require_results(self, what: str) -> list[Trial]:
        """The trials with at least one observation; AnalysisError if there is none."""
        trials = [t for t in self.snapshot() if t.observations]
        if not trials:
            raise AnalysisError(f"{what}: the study at {self.where} has no results yet")
        return trials
