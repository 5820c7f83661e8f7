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
from hpo.core.trial import TrialStatus
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


@pytest.mark.parametrize("method, budget, kill_points", [
    ("asha", 27 * 6, (15, 60, 110)), ("hyperband", 27 * 5, (15, 60, 110)),
    # freeze-thaw thaws one step at a time: every thaw restarts a trial from its checkpoint
    ("freeze-thaw", 27 * 5, (10, 40, 80))])
def test_kill_driver_restore_and_finish(tmp_path, method, budget, kill_points):
    hpo.tune(functools.partial(epochs), SPACE, method=method, fidelity=FIDELITY,
             max_budget=budget, seed=11, storage=tmp_path / "reference")
    storage, log = tmp_path / "ray", tmp_path / "evals.log"
    launch = functools.partial(start, storage, method, budget, log)
    kills = kill_and_restart(launch, storage, kill_points, wait_s=120, finish_s=300)
    decisions, observed, redone = check_restored(storage, tmp_path / "reference", log, kills)
    Study.open(storage, read_only=True)  # the journal replays cleanly
    print(f"{method}: kills after {kills} reports; {len(decisions)} events, "
          f"{len(observed)} observations, {redone} epochs re-run")


def kill_and_restart(launch, storage: Path, points, *, wait_s: float,
                     finish_s: float) -> list[int]:
    """Start the driver, SIGKILL its process group (driver + raylet) once the journal holds
    each of ``points`` reports, restart; then let the last start finish. Returns the report
    counts at the kills (all of ``points`` must have been reached)."""
    kills = []
    for after in points:
        proc = launch()
        deadline = time.monotonic() + wait_s
        while reports(storage) < after and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is not None:
            break
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        kills.append(reports(storage))
    proc = launch()
    out = proc.communicate(timeout=finish_s)[0].decode()
    assert proc.returncode == 0, out[-3000:]
    assert len(kills) == len(points), f"the run finished before all kills: {kills}"
    return kills


def check_restored(storage: Path, reference: Path, log: Path, kills: list[int]):
    """Same journal as the uninterrupted run, no observation twice, at most one epoch re-run
    per kill (the one in flight)."""
    decisions = journal_decisions(storage)
    assert decisions == journal_decisions(reference), \
        "the restored Ray run decided differently from the uninterrupted run"
    observed = Counter((e["t"], e["b"]) for e in map(json.loads, decisions)
                       if e["e"] == "report")
    assert max(observed.values()) == 1, "an observation was recorded twice"
    evaluated = Counter(tuple(line.split()[:2]) for line in log.read_text().splitlines())
    assert set(evaluated) >= set((str(t), str(b)) for t, b in observed)
    redone = sum(n - 1 for n in evaluated.values())
    twice = sorted(k for k, n in evaluated.items() if n > 1)
    assert redone <= len(kills), f"{redone} epochs re-run after {len(kills)} kills: {twice}"
    return decisions, observed, redone


def start_own(storage: Path, method: str, budget: int, log: Path,
              delay: float = 0.05) -> subprocess.Popen:
    """A driver that lets hpo start (and own) the Ray runtime."""
    return subprocess.Popen([sys.executable, str(DRIVER), str(ROOT), str(storage), method,
                             str(budget), str(log), "hpo", "1", str(delay)],
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)


@pytest.mark.timeout(1500)
def test_five_kills_orphaned_workers_are_fenced_and_reaped(tmp_path):
    """hpo owns the runtime; SIGKILL the driver's process group 5 times (Ray's workers are not
    in it and outlive it): each restart reaps them, their late checkpoint writes are ignored,
    and the final journal still equals an uninterrupted in-process run's."""
    method, budget = "asha", 27 * 6
    hpo.tune(functools.partial(epochs), SPACE, method=method, fidelity=FIDELITY,
             max_budget=budget, seed=11, storage=tmp_path / "reference")
    storage, log = tmp_path / "ray", tmp_path / "evals.log"
    launch = functools.partial(start_own, storage, method, budget, log)
    kills = kill_and_restart(launch, storage, (10, 30, 50, 70, 90), wait_s=180, finish_s=400)
    _, _, redone = check_restored(storage, tmp_path / "reference", log, kills)
    state = json.loads((storage / "ray" / "tune" / "hpo_generation.json").read_text())
    assert state["generation"] == 6
    totals = state["totals"]
    print(f"5 kills after {kills} reports: {totals['beyond_journal']} checkpoints beyond the "
          f"journal ignored at take-over, {totals['orphan_writes']} orphan writes after "
          f"take-over ignored, {totals['reaped']} leftover runtime processes reaped; "
          f"{redone} epochs re-run")


def test_a_runtime_hpo_starts_listens_on_loopback_only(tmp_path):
    proc = start_own(tmp_path / "study", "asha", 27, tmp_path / "log", delay=0)
    out = proc.communicate(timeout=300)[0].decode()
    assert proc.returncode == 0, out[-3000:]
    line = next(x for x in out.splitlines() if x.startswith("LISTEN "))
    addresses = json.loads(line[len("LISTEN "):])
    assert len(addresses) >= 4, addresses  # gcs_server, raylet, agents, workers, the driver
    exposed = [a for a in addresses
               if not a.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:", "[::1]:"))]
    assert not exposed, f"listening beyond loopback: {exposed}"


def test_sigint_with_the_ray_backend_exits_130_with_the_resume_hint(tmp_path):
    study = tmp_path / "study"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from hpo.cli import main; sys.exit(main())", "run",
         "tests.hpo.objectives:epochs", "--space", "tests.hpo.helpers:SPACE", "--method",
         "asha", "--fidelity", "epochs:1:27", "--max-budget", "5000", "--seed", "1",
         "--dir", str(study), "--backend", "ray"],
        cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while reports(study) < 10 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1][-3000:]
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the foreground process group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "hpo resume" in err and str(study) in err, err[-2000:]
    interrupted = Study.open(study, read_only=True)
    assert interrupted.budget_used >= 10
    assert interrupted.counts()[TrialStatus.FAILED] == 0, "Ctrl-C failed trials"
