"""SIGKILL a tuning process at random points, resume it, and compare with an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tests.hpo.helpers import journal_decisions

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = """
import sys
sys.path.insert(0, {root!r})
import hpo
from tests.hpo.objectives import checkpointed
from tests.hpo.helpers import SPACE, FIDELITY
hpo.tune(checkpointed, SPACE, method={method!r}, fidelity=FIDELITY, max_budget={budget},
         seed=11, storage={storage!r})
"""


def start(storage: Path, log: Path, method: str, budget: int) -> subprocess.Popen:
    env = {**os.environ, "HPO_TEST_EVAL_LOG": str(log), "HPO_TEST_DELAY": "0.002"}
    code = SCRIPT.format(root=str(ROOT), method=method, budget=budget, storage=str(storage))
    return subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)


def crash_and_resume(tmp_path: Path, method: str, budget: int, kills: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    reference, crashed = tmp_path / "reference", tmp_path / "crashed"
    proc = start(reference, tmp_path / "ref.log", method, budget)
    assert proc.wait(120) == 0, proc.stderr.read().decode()
    log = tmp_path / "crashed.log"
    killed = 0
    for _ in range(kills):
        proc = start(crashed, log, method, budget)
        time.sleep(rng.uniform(0.6, 1.6))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        killed += 1
    proc = start(crashed, log, method, budget)
    assert proc.wait(120) == 0, proc.stderr.read().decode()

    decisions = journal_decisions(crashed)
    assert decisions == journal_decisions(reference), "decisions differ from the uninterrupted run"
    reports = Counter((e["t"], e["b"]) for e in map(json.loads, decisions) if e["e"] == "report")
    assert max(reports.values()) == 1, "an observation was recorded twice"
    evaluated = Counter(tuple(line.split()) for line in log.read_text().splitlines())
    redone = sum(n - 1 for n in evaluated.values())
    return {"kills": killed, "events": len(decisions), "observations": len(reports),
            "re-evaluated epochs": redone}


@pytest.mark.parametrize("method", ["asha", "hyperband"])
def test_sigkill_and_resume_gives_the_uninterrupted_decisions(tmp_path, method):
    figures = crash_and_resume(tmp_path, method, budget=27 * 40, kills=4, seed=0)
    assert figures["kills"] >= 2, figures
    print(method, figures)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mobster", "freeze-thaw"])
def test_sigkill_and_resume_of_model_based_methods(tmp_path, method):
    """GP decisions are replayed from their journaled records (no refit) and the next fit
    after a resume sees the same data as the uninterrupted run's: the journals agree."""
    figures = crash_and_resume(tmp_path, method, budget=27 * 12, kills=3, seed=2)
    assert figures["kills"] >= 2, figures
    print(method, figures)


@pytest.mark.slow
def test_many_kills(tmp_path):
    figures = crash_and_resume(tmp_path, "asha", budget=27 * 120, kills=10, seed=1)
    assert figures["kills"] >= 6, figures
    print(figures)
