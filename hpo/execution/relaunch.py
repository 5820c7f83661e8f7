"""The crash-loop guard: how often a trial was relaunched after the process running it died.

A driver that dies while a trial runs (the objective calls ``sys.exit`` or ``os._exit``, the OOM
killer, a crash in native code) leaves the trial running in the journal, and the next run
relaunches it first (``Study.orphans``). An objective that always ends its process would so make
every rerun die on the same trial, forever. The loop therefore counts relaunches and fails a
trial relaunched more than ``max_relaunches`` times (default :data:`MAX_RELAUNCHES`) without
progress, with a reason saying so.

Where the count lives: a sidecar file, ``relaunches.json`` in the study directory, not the
journal. The journal cannot count relaunches: a relaunch writes no event (the trial's ``start``
/ ``resume`` event, with its owner ``o``, stays the one of the driver that first launched it),
so three dead drivers look like one; and a relaunch is no scheduler decision to replay. The file
is rewritten atomically (fsync, rename) under the study's lock *before* the trial is relaunched,
so the count survives the very crash it counts. Deleting it only resets the counts.

What counts: a relaunch of a trial whose journal state (number of results, target budget) is
the same as at its previous relaunch. A trial that recorded a new result, or was resumed to a new
target, in between starts from zero, so a long trial that lives through unrelated driver crashes
(a SIGKILL by the user, a reboot) is not failed as long as it makes progress. Trials a run stops
on purpose (``max_wall_s``, Ctrl-C, an error in the driver) are marked as interrupted, with the
reason; their next relaunch is not counted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from hpo.core.study import Study
from hpo.core.trial import Trial

#: relaunches of a trial without progress before it is failed (it then ran 1 + 2 times)
MAX_RELAUNCHES = 2
FILE_NAME = "relaunches.json"


def _progress(trial: Trial) -> list[Any]:
    return [len(trial.observations), trial.target_budget]


class RelaunchLedger:
    """Relaunch counts and deliberate interruptions of a study's trials (see the module doc).

    In memory for a study without a directory (its trials can only be relaunched by this
    process anyway).
    """

    def __init__(self, study: Study) -> None:
        self._study = study
        directory = study.directory
        self._path = directory / FILE_NAME if directory is not None else None
        self._memory: dict[str, dict[str, Any]] = {}

    def relaunch(self, trial: Trial, *, limit: int) -> str | None:
        """Count a relaunch of ``trial``. Returns None to go ahead, or the reason to fail it
        instead when this would be relaunch number ``limit + 1`` without progress."""
        with self._study.storage.lock():
            entries = self._read()
            entry = entries.get(str(trial.id), {})
            progress = _progress(trial)
            count = 0
            if entry.get("progress") == progress and not entry.get("interrupted"):
                count = int(entry.get("relaunches", 0))
            count += 1
            entries[str(trial.id)] = {"progress": progress, "relaunches": count}
            self._write(entries)
        if count <= limit:
            return None
        return (f"the process running this trial died {count} times before the trial recorded "
                f"a new result (it was relaunched {count - 1} times, max_relaunches={limit}): "
                "the objective probably ends its process (sys.exit, os._exit, a fatal signal, "
                "the OOM killer)")

    def interrupted(self, trial_ids: Iterable[int], reason: str) -> None:
        """Record that this run stopped these trials on purpose (their relaunch is free)."""
        ids = list(trial_ids)
        if not ids:
            return
        with self._study.storage.lock():
            trials = self._study.trials
            entries = self._read()
            for tid in ids:
                if tid in trials and trials[tid].status.is_active:
                    entries[str(tid)] = {"progress": _progress(trials[tid]), "relaunches": 0,
                                         "interrupted": reason}
            self._write(entries)

    def interruption(self, trial_id: int) -> str | None:
        """Why the last run stopped this (still running) trial, or None."""
        with self._study.storage.lock():
            return self._read().get(str(trial_id), {}).get("interrupted")

    def _read(self) -> dict[str, dict[str, Any]]:
        if self._path is None:
            return dict(self._memory)
        try:
            data = json.loads(self._path.read_text())
        except (FileNotFoundError, ValueError):  # none yet, or damaged: counts start again
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
        active = set(self._study.active_ids())
        kept = {k: v for k, v in entries.items() if k.isdigit() and int(k) in active}
        if self._path is None:
            self._memory = kept
            return
        tmp = self._path.with_name(f"{FILE_NAME}.tmp{os.getpid()}")
        with open(tmp, "w") as fh:
            json.dump(kept, fh, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self._path)
