"""Issue #14 items 1, 8, 9, 10: journal and memory never disagree; bad input and bad journals
are HPOErrors naming the value; decision records make replay cheap."""

from __future__ import annotations

import errno
import json
import math
import os

import pytest

import hpo
from hpo import FidelityError, HPOError, StorageError, Study
from hpo.journal import storage as storage_module
from schedulers.fifo import FIFOScheduler
from searchers.random import RandomSearcher
from tests.hpo.helpers import FIDELITY, SPACE, curve


def _run(study, n):
    for _ in range(n):
        ticket = study.ask()
        study.tell(ticket.trial_id, {"loss": curve(ticket.config, 1)})


def test_unencodable_report_is_refused_before_the_scheduler_and_study_goes_on(tmp_path):
    study = Study(SPACE, "loss", method="random", seed=3, storage=tmp_path)
    ticket = study.ask()
    with pytest.raises(FidelityError, match="inf"):
        study.report(ticket.trial_id, {"loss": -100.0}, budget=math.inf)
    study.tell(ticket.trial_id, {"loss": 1.0})
    _run(study, 5)
    reopened = Study.open(tmp_path)  # before the fix: ReplayError (replay diverged)
    assert len(reopened.trials) == 6


@pytest.mark.parametrize("budget", [-5, 0, math.nan, 10**400])
def test_no_fidelity_budget_must_be_positive_and_finite(budget):
    study = Study(SPACE, "loss", method="random", seed=0)
    ticket = study.ask()
    with pytest.raises(FidelityError, match="finite number > 0"):
        study.report(ticket.trial_id, {"loss": 1.0}, budget=budget)
    assert study.budget_used == 0


class _FailingStorage(hpo.MemoryStorage):
    fail_next = False

    def append(self, events, *, durable=False):
        if self.fail_next:
            self.fail_next = False
            raise StorageError("disk full (simulated)")
        super().append(events, durable=durable)


def test_failed_append_after_a_decision_makes_the_study_refuse_further_calls():
    storage = _FailingStorage()
    study = Study(SPACE, "loss", method="asha", fidelity=FIDELITY, seed=1, storage=storage)
    ticket = study.ask()
    storage.fail_next = True
    with pytest.raises(StorageError, match="simulated"):
        study.report(ticket.trial_id, {"loss": 0.5}, budget=1)  # ASHA already decided
    with pytest.raises(StorageError, match="reopen"):
        study.ask()
    with pytest.raises(StorageError, match="reopen"):
        study.report(ticket.trial_id, {"loss": 0.5}, budget=1)
    # the journal is the truth: a study rebuilt from it goes on exactly like a fresh one
    rebuilt = Study(SPACE, "loss", method="asha", fidelity=FIDELITY, seed=1,
                    storage=_replayed(storage))
    fresh = Study(SPACE, "loss", method="asha", fidelity=FIDELITY, seed=1)
    fresh.ask()
    assert rebuilt.ask().config == fresh.ask().config


def _replayed(storage):
    copy = hpo.MemoryStorage()
    with copy.lock():
        copy.read_new()
        copy.append(storage.events)
    copy._read = 0
    return copy


def test_failed_append_in_ask_refuses_further_calls():
    storage = _FailingStorage()
    study = Study(SPACE, "loss", method="random", seed=1, storage=storage)
    storage.fail_next = True
    with pytest.raises(StorageError):
        study.ask()
    with pytest.raises(StorageError, match="reopen"):
        study.ask()


def test_disk_full_is_a_storage_error_naming_the_path_and_nothing_is_half_written(
        tmp_path, monkeypatch):
    study = Study(SPACE, "loss", method="random", seed=2, storage=tmp_path)
    ticket = study.ask()
    size = (tmp_path / "journal.jsonl").stat().st_size
    real_write = os.write

    def short_then_full(fd, data):
        real_write(fd, data[:7])  # a partial line, then the disk fills up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage_module.os, "write", short_then_full)
    with pytest.raises(StorageError, match=r"journal.jsonl.*No space left.*full"):
        study.tell(ticket.trial_id, {"loss": 0.1})
    monkeypatch.undo()
    assert (tmp_path / "journal.jsonl").stat().st_size == size
    assert len(Study.open(tmp_path).trials) == 1


def test_read_only_directory_says_to_use_read_only(tmp_path, monkeypatch):
    Study(SPACE, "loss", method="random", seed=2, storage=tmp_path)
    real_open = os.open

    def erofs(path, flags, *args):
        if flags & os.O_RDWR:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(storage_module.os, "open", erofs)
    with pytest.raises(StorageError, match="read_only=True"):
        Study.open(tmp_path)
    assert Study.open(tmp_path, read_only=True).read_only


@pytest.mark.parametrize("field, value, match", [
    ("b", "x", "'b' must be a number"), ("m", 5, "'m' must be an object of numbers"),
    ("m", {"loss": "z"}, "'m' must be an object"), ("v", "z", "verdict 'v' must be one of"),
    ("t", True, "'t' must be a trial id"), ("c", -1, "'c' must be a number >= 0")])
def test_hand_edited_report_lines_are_storage_errors_naming_the_line(tmp_path, field, value,
                                                                     match):
    study = Study(SPACE, "loss", method="random", seed=2, storage=tmp_path)
    _run(study, 2)
    path = tmp_path / "journal.jsonl"
    lines = path.read_text().splitlines()
    n = next(i for i, line in enumerate(lines) if '"e":"report"' in line)
    event = json.loads(lines[n])
    event[field] = value
    lines[n] = json.dumps(event)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(StorageError, match=rf"journal.jsonl:{n + 1}: .*{match}"):
        Study.open(tmp_path, read_only=True)


def test_header_with_boolean_schema_is_refused(tmp_path):
    Study(SPACE, "loss", method="random", seed=2, storage=tmp_path)
    path = tmp_path / "journal.jsonl"
    header = json.loads(path.read_text().splitlines()[0])
    header["schema"] = True
    path.write_text(json.dumps(header) + "\n")
    with pytest.raises(StorageError, match="journal.jsonl:1: .*schema"):
        Study.open(tmp_path)


class _Recording(RandomSearcher):
    """A searcher that records a counter with every suggestion and counts real suggestions."""

    def __init__(self, seed):
        super().__init__(SPACE, seed=seed)
        self.suggested = self.replayed = 0
        self.records = []

    def suggest(self, trial_id, *, budget=None):
        self.suggested += 1
        return super().suggest(trial_id, budget=budget)

    def decision_record(self):
        return {"n": self.suggested + self.replayed}

    def replay_suggest(self, trial_id, *, budget, config, record):
        self.replayed += 1
        self.records.append(record)
        super().suggest(trial_id, budget=budget)  # keep the RNG stream where it was
        return config


def test_decision_records_are_journaled_and_handed_back_on_replay(tmp_path):
    study = Study(SPACE, "loss", method=FIFOScheduler(_Recording(5), None), seed=5,
                  storage=tmp_path)
    study.enqueue({"x": 0.5, "n": 2})
    _run(study, 6)
    events = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    starts = [e for e in events if e["e"] == "start"]
    assert [s["x"] for s in starts] == [{"n": i} for i in range(1, 7)]
    assert "px" in starts[0] and starts[0]["cfg"] == {"x": 0.5, "n": 2}
    fresh = _Recording(5)
    reopened = Study.open(tmp_path, method=FIFOScheduler(fresh, None))
    assert fresh.suggested == 0 and fresh.replayed == 6
    assert fresh.records == [{"n": i} for i in range(1, 7)]
    uninterrupted = Study(SPACE, "loss", method=FIFOScheduler(_Recording(5), None), seed=5)
    uninterrupted.enqueue({"x": 0.5, "n": 2})
    _run(uninterrupted, 6)
    assert reopened.ask().config == uninterrupted.ask().config


def test_errors_are_hpo_errors():
    assert issubclass(StorageError, HPOError) and issubclass(FidelityError, HPOError)


class _PauseThenResume(hpo.Scheduler):
    """Starts two trials at budget 1, then resumes each to 2, recording why it resumed."""

    def __init__(self):
        self.seen = []
        self.resumed = set()

    def next_action(self, view):
        self.seen.append(view.replaying)
        paused = [t for t in view.with_status(hpo.TrialStatus.PAUSED)
                  if t.id not in self.resumed]
        if paused:
            self.resumed.add(paused[0].id)
            self._record = {"why": f"best of {len(paused)}"}
            return hpo.Resume(paused[0].id, 2)
        if view.next_trial_id < 2:
            self._record = None
            return hpo.Start({"x": 0.1 * (view.next_trial_id + 1), "n": 1}, 1)
        return None

    def decision_record(self):
        return self._record

    def on_result(self, trial, obs):
        return hpo.Verdict.pause() if obs.budget < 2 else hpo.Verdict.cont()


def test_resume_decision_records_are_journaled_and_replayed(tmp_path):
    study = Study(SPACE, "loss", method=_PauseThenResume(), seed=0, storage=tmp_path,
                  fidelity=hpo.Fidelity("epochs", 1, 2))
    while (ticket := study.ask()) is not None:
        study.report(ticket.trial_id, {"loss": 1.0}, budget=ticket.budget)
    events = [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]
    resumes = [e for e in events if e["e"] == "resume"]
    assert len(resumes) == 2 and all(r["x"] == {"why": "best of 1"} for r in resumes)
    replayer = _PauseThenResume()
    Study.open(tmp_path, method=replayer)
    hints = [(h.kind, h.trial_id, h.budget, h.record) for h in replayer.seen
             if isinstance(h, hpo.core.protocols.RecordedDecision)]
    assert hints == [("resume", r["t"], r["b"], r["x"]) for r in resumes]


def test_a_retired_trial_loses_its_checkpoints(tmp_path):
    class PauseThenRetire(_PauseThenResume):
        def next_action(self, view):
            paused = view.with_status(hpo.TrialStatus.PAUSED)
            self._record = None
            if paused:
                return hpo.Retire(paused[0].id, "hopeless")
            if view.next_trial_id < 1:
                return hpo.Start({"x": 0.5, "n": 1}, 1)
            return None

    study = Study(SPACE, "loss", method=PauseThenRetire(), seed=0, storage=tmp_path,
                  fidelity=hpo.Fidelity("epochs", 1, 2))
    ticket = study.ask()
    ticket.checkpoint_dir.mkdir(parents=True)
    (ticket.checkpoint_dir / "state.bin").write_bytes(b"x" * 100)
    study.report(ticket.trial_id, {"loss": 1.0}, budget=1)  # paused
    assert study.ask() is None  # the retire, then nothing
    assert study.trials[0].status is hpo.TrialStatus.STOPPED
    assert not ticket.checkpoint_dir.exists()
