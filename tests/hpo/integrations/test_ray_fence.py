"""Fencing of orphaned Ray workers (no Ray runtime): generations, write-once stamped snapshots,
driver-assigned loads, reaping of the previous runtime's processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from hpo.integrations import _ray_fence as fence
from hpo.integrations._ray_fence import Fence

ROOT = Path(__file__).resolve().parents[3]

ORPHAN = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from hpo.integrations import _ray_fence as fence
store, src = Path(sys.argv[2]), Path(sys.argv[3])
time.sleep(float(sys.argv[4]))                  # sleeps past the driver's death, then writes
for budget in (2, 3, 4, 5):                     # as a generation-1 worker of trial 0 would
    (src / "checkpoint.bin").write_bytes(f"orphan {budget}".encode())
    fence.write_snapshot(store, 0, budget, 1, src)
print("WROTE")
"""


def write(store: Path, budget: int, generation: int, content: str, tmp: Path) -> str:
    src = tmp / f"src-{generation}-{budget}"
    src.mkdir(parents=True)
    (src / "checkpoint.bin").write_bytes(content.encode())
    (src / "checkpoint.json").write_text(json.dumps({"budget": budget, "trial": 0,
                                                     "generation": generation}))
    return fence.write_snapshot(store, 0, budget, generation, src)


def load(store: Path, generation: int) -> tuple[float, bytes | None]:
    """What a worker of ``generation`` resumes trial 0 from: (budget, checkpoint bytes)."""
    assigned = fence.assignment(store, 0, generation)
    assert assigned is not None
    snapshot = assigned["snapshot"]
    data = (store / "0" / snapshot / "checkpoint.bin").read_bytes() if snapshot else None
    return assigned["budget"], data


def test_an_orphan_writing_after_the_kill_never_changes_what_the_resumed_trial_loads(tmp_path):
    root = tmp_path / "exp"
    store = root / "hpo_checkpoints"
    driver = Fence(root)
    assert driver.take_over({}, local_runtime=False) == 1
    for budget in (1, 2):  # recorded in the journal
        driver.record(0, budget, write(store, budget, 1, f"epoch {budget}", tmp_path))
    write(store, 3, 1, "epoch 3, never recorded", tmp_path)  # in flight at the kill
    src = tmp_path / "orphan-src"
    src.mkdir()
    orphan = subprocess.Popen([sys.executable, "-c", ORPHAN, str(ROOT), str(store), str(src),
                               "0.5"], stdout=subprocess.PIPE, text=True)
    del driver  # the driver is killed; generation 2 takes over with the journal at budget 2
    second = Fence(root)
    assert second.take_over({0: 2}, local_runtime=False) == 2
    assert second.beyond_journal == 1  # the unrecorded budget-3 snapshot
    assert load(store, 2) == (2, b"epoch 2")
    assert orphan.communicate(timeout=60)[0].strip() == "WROTE"
    assert load(store, 2) == (2, b"epoch 2"), "the orphan changed what the trial loads"
    assert fence.assignment(store, 0, 1) is None  # a stale generation's view is refused
    # the resumed trial goes on in generation 2; the orphan's writes are counted and deleted
    second.record(0, 3, write(store, 3, 2, "epoch 3 again", tmp_path))
    assert second.orphan_writes == 3  # budgets 3, 4 and 5 (its budget-2 write was refused)
    assert sorted(os.listdir(store / "0")) == ["3-g2", "current.json"]
    assert second.sweep()["orphan_writes"] == 3
    third = Fence(root)
    assert third.take_over({0: 3}, local_runtime=False) == 3
    assert load(store, 3) == (3, b"epoch 3 again")
    totals = json.loads((root / fence.GENERATION_FILE).read_text())["totals"]
    assert totals["orphan_writes"] == 3 and totals["beyond_journal"] == 1


def test_snapshots_are_write_once_and_stamped(tmp_path):
    store = tmp_path / "store"
    first = write(store, 4, 7, "first", tmp_path)
    assert first == "4-g7"
    assert write(store, 4, 7, "second", tmp_path / "again") == first
    assert (store / "0" / first / "checkpoint.bin").read_bytes() == b"first"
    meta = json.loads((store / "0" / first / "checkpoint.json").read_text())
    assert meta == {"budget": 4, "trial": 0, "generation": 7}
    assert fence.parse_snapshot("4-g7") == (4.0, 7)
    assert fence.parse_snapshot("2.5") == (2.5, 0)  # written before generations existed
    assert fence.parse_snapshot(".tmp-4-g7-host-1") is None
    assert fence.parse_snapshot("current.json") is None


def test_take_over_without_a_checkpoint_at_the_journal_budget_keeps_the_last_one(tmp_path):
    root = tmp_path / "exp"
    store = root / "hpo_checkpoints"
    driver = Fence(root)
    driver.take_over({}, local_runtime=False)
    driver.record(0, 1, write(store, 1, 1, "epoch 1", tmp_path))
    driver.record(0, 2, None)  # reported without a checkpoint
    assert load(store, 1) == (2, b"epoch 1")
    second = Fence(root)
    second.take_over({0: 2}, local_runtime=False)
    assert load(store, 2) == (2, b"epoch 1")
    second.take_over({}, local_runtime=False)  # a trial with no result in the journal
    assert fence.assignment(store, 0, 3) is None


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_the_previous_drivers_own_runtime_is_reaped_before_relaunch(tmp_path):
    root = tmp_path / "exp"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    raylet, worker, stranger = _sleeper(), _sleeper(), _sleeper()
    try:
        time.sleep(0.2)
        previous = {"generation": 4, "host": os.uname().nodename, "pid": gone.pid,
                    "pid_start": 1, "runtime": {"local": True,
                                                "pids": [[raylet.pid,
                                                          fence.process_start(raylet.pid)]]}}
        root.mkdir()
        (root / fence.GENERATION_FILE).write_text(json.dumps(previous))
        workers = root / fence.WORKERS_DIR / "g4"
        workers.mkdir(parents=True)
        (workers / "w.json").write_text(json.dumps({
            "host": os.uname().nodename, "pid": worker.pid,
            "start": fence.process_start(worker.pid)}))
        (workers / "reused.json").write_text(json.dumps({  # same pid, another process
            "host": os.uname().nodename, "pid": stranger.pid, "start": 1}))
        guard = Fence(root)
        assert guard.take_over({}, local_runtime=True) == 5
        assert guard.reaped == 2
        assert raylet.wait(10) and worker.wait(10)  # killed (SIGKILL: returncode -9)
        assert stranger.poll() is None, "a process that merely reuses a pid was killed"
    finally:
        for proc in (raylet, worker, stranger):
            proc.kill()
            proc.wait()


def test_nothing_is_reaped_on_a_cluster_or_while_the_previous_driver_lives(tmp_path):
    root = tmp_path / "exp"
    root.mkdir()
    other = _sleeper()
    try:
        time.sleep(0.2)
        for local, driver in ((False, 999999), (True, other.pid)):
            (root / fence.GENERATION_FILE).write_text(json.dumps({
                "generation": 1, "host": os.uname().nodename, "pid": driver,
                "pid_start": fence.process_start(driver),
                "runtime": {"local": local, "pids": [[other.pid,
                                                      fence.process_start(other.pid)]]}}))
            guard = Fence(root)
            guard.take_over({}, local_runtime=True)
            assert guard.reaped == 0 and other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_descendants_include_grandchildren():
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                               "subprocess.Popen([sys.executable, '-c', 'import time; "
                               "time.sleep(30)']); time.sleep(30)"])
    try:
        deadline = time.monotonic() + 20
        while len(fence.descendants([parent.pid])) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        family = fence.descendants([parent.pid])
        assert parent.pid in family and len(family) == 2
    finally:
        for pid in fence.descendants([parent.pid])[::-1]:
            os.kill(pid, 9)
        parent.wait()
