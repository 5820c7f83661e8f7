"""SIGKILL the Ray driver mid-study, restore, finish: nothing lost, nothing re-run, same
decisions as an uninterrupted in-process run with the same seed (rungs and brackets intact)."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import hpo
from hpo import Study

from tests.hpo.helpers import FIDELITY, SPACE, journal_decisions
from tests.hpo.objectives import epochs

pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]
DRIVER = Path(__file__).with_name("ray_driver.py")


def reports(storage: Path) -> int:
    journal = storage / "journal.jsonl"
    if not journal.exists():
        return 0
    return journal.read_text().count('"e":"report"')


def start(storage: Path, method: str, budget: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(DRIVER), str(ROOT), str(storage), method,
                             str(budget), str(log)], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("method, budget", [("asha", 27 * 6), ("hyperband", 27 * 5)])
def test_kill_driver_restore_and_finish(tmp_path, method, budget):
    hpo.tune(functools.partial(epochs), SPACE, method=method, fidelity=FIDELITY,
             max_budget=budget, seed=11, storage=tmp_path / "reference")
    storage, log = tmp_path / "ray", tmp_path / "evals.log"
    kills = []
    for after in (15, 60, 110):  # kill the driver's whole process group (driver + raylet)
        proc = start(storage, method, budget, log)
        deadline = time.monotonic() + 120
        while reports(storage) < after and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None:
            break
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        kills.append(reports(storage))
    proc = start(storage, method, budget, log)
    out = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 0, out[-3000:]
    assert len(kills) == 3, f"the run finished before all kills: {kills}"

    decisions = journal_decisions(storage)
    assert decisions == journal_decisions(tmp_path / "reference"), \
        "the restored Ray run decided differently from the uninterrupted run"
    observed = Counter((e["t"], e["b"]) for e in map(json.loads, decisions)
                       if e["e"] == "report")
    assert max(observed.values()) == 1, "an observation was recorded twice"
    evaluated = Counter(tuple(line.split()[:2]) for line in log.read_text().splitlines())
    assert set(evaluated) >= set((str(t), str(b)) for t, b in observed)
    redone = sum(n - 1 for n in evaluated.values())
    twice = sorted(k for k, n in evaluated.items() if n > 1)
    assert redone <= len(kills), f"{redone} epochs re-run after {len(kills)} kills: {twice}"
    Study.open(storage, read_only=True)  # the journal replays cleanly
    print(f"{method}: kills after {kills} reports; {len(decisions)} events, "
          f"{len(observed)} observations, {redone} epochs re-run")
