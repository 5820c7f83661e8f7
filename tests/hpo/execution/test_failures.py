"""Objectives that hang, end their process or kill their worker: the run must go on (or end)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hpo
from hpo import ProcessPoolExecutor, Study, TrialStatus, tune
from hpo.execution.relaunch import RelaunchLedger
from tests.hpo import objectives
from tests.hpo.execution import local_objectives
from tests.hpo.helpers import SPACE

ROOT = Path(__file__).resolve().parents[3]



# -- item 2: an objective that ends the driver process ------------------------------------

EXITS = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import hpo
from tests.hpo.execution.local_objectives import exits_on_trial_0
from tests.hpo.helpers import SPACE
hpo.tune(exits_on_trial_0, SPACE, max_trials=3, seed=0, storage=sys.argv[1], max_relaunches=1)
"""


def test_a_trial_that_keeps_killing_the_driver_process_is_failed(tmp_path):
    codes = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", EXITS, str(tmp_path)], capture_output=True,
                             text=True, timeout=120, check=False)
        codes.append(out.returncode)
    assert codes == [5, 5, 0], out.stderr
    trials = Study.open(tmp_path, read_only=True).trials
    assert trials[0].status is TrialStatus.FAILED
    assert "died 2 times" in trials[0].reason and "max_relaunches=1" in trials[0].reason
    assert [trials[i].status for i in (1, 2)] == [TrialStatus.COMPLETED] * 2


def test_by_default_a_trial_is_relaunched_twice(tmp_path):
    # in one process: its own earlier trials count as orphans, as a dead driver's would
    for _ in range(3):
        with pytest.raises(SystemExit):
            tune(local_objectives.exits_on_trial_0, SPACE, max_trials=3, seed=0, storage=tmp_path)
    result = tune(local_objectives.exits_on_trial_0, SPACE, max_trials=3, seed=0,
                  storage=tmp_path)
    trials = result.study.trials
    assert trials[0].status is TrialStatus.FAILED and "max_relaunches=2" in trials[0].reason
    assert "died 3 times" in trials[0].reason and trials[2].status is TrialStatus.COMPLETED


def test_relaunch_count_restarts_on_progress_and_skips_deliberate_stops(tmp_path):
    study = Study(SPACE, seed=0, storage=tmp_path)
    ticket = study.ask()
    ledger = RelaunchLedger(study)
    assert ledger.relaunch(study.trials[0], limit=1) is None
    assert "died 2 times" in ledger.relaunch(study.trials[0], limit=1)
    study.report(ticket.trial_id, 0.5)  # progress: the count starts again
    assert RelaunchLedger(study).relaunch(study.trials[0], limit=1) is None
    ledger.interrupted([0], "max_wall_s=1 s reached")
    assert RelaunchLedger(study).interruption(0) == "max_wall_s=1 s reached"
    assert ledger.relaunch(study.trials[0], limit=1) is None  # a deliberate stop: not counted
    assert "died 2 times" in ledger.relaunch(study.trials[0], limit=1)
    with pytest.raises(hpo.HPOError, match="max_relaunches must be a non-negative int, got -1"):
        hpo.run(study, objectives.single, limits=hpo.Limits(max_trials=2), max_relaunches=-1)


# -- item 3: a hung objective, trial_timeout_s and max_wall_s ---------------------------

@pytest.mark.timeout(90)
@pytest.mark.parametrize("workers", [1, 2])
def test_trial_timeout_fails_a_hung_trial(workers):
    result = tune(local_objectives.hangs_on_trial_1, SPACE, max_trials=3, seed=0,
                  workers=workers, trial_timeout_s=1.0)
    trials = result.study.trials
    assert trials[1].status is TrialStatus.FAILED
    assert "timed out" in trials[1].reason and "trial_timeout_s=1" in trials[1].reason
    assert [trials[i].status for i in (0, 2)] == [TrialStatus.COMPLETED] * 2


@pytest.mark.timeout(90)
@pytest.mark.parametrize("workers, wall", [(1, 2.0), (2, 6.0)])  # 6 s: spawned workers boot
def test_max_wall_s_ends_the_run_and_the_trial_resumes(tmp_path, workers, wall, monkeypatch):
    marker = tmp_path / "hung"
    monkeypatch.setenv("HPO_TEST_HANG_MARKER", str(marker))
    result = tune(local_objectives.hangs_on_trial_1, SPACE, max_trials=3, seed=0,
                  workers=workers, max_wall_s=wall, storage=tmp_path / "study")
    assert marker.exists()  # trial 1 did hang, and the run still ended
    assert result.study.trials[1].status.is_active  # left running: resumable
    reason = RelaunchLedger(result.study).interruption(1)
    assert reason is not None and f"max_wall_s={wall:g} s reached" in reason
    again = tune(objectives.single, SPACE, max_trials=3, seed=0, storage=tmp_path / "study")
    assert all(t.status is TrialStatus.COMPLETED for t in again.study.trials.values())
    assert RelaunchLedger(again.study).interruption(1) is None


def test_trial_timeout_is_validated():
    with pytest.raises(hpo.HPOError, match="trial_timeout_s must be a positive number or "
                                           "None, got 0"):
        tune(objectives.single, SPACE, max_trials=1, trial_timeout_s=0)


# -- item 4: a worker dying while the driver sends its verdict --------------------------

def test_worker_dying_before_its_verdict_fails_the_trial(monkeypatch):
    study = Study(SPACE, seed=0)
    real_report = study.report

    def report(trial_id, metrics, **kwargs):
        verdict = real_report(trial_id, metrics, **kwargs)
        if trial_id == 1:  # the worker dies after sending the report, before the verdict
            os.kill(int(metrics["pid"]), signal.SIGKILL)
            time.sleep(0.5)
        return verdict

    monkeypatch.setattr(study, "report", report)
    hpo.run(study, local_objectives.reports_pid, executor=ProcessPoolExecutor(2),
            limits=hpo.Limits(max_trials=4))
    trials = study.trials
    assert trials[1].status is TrialStatus.FAILED and "died" in trials[1].reason
    assert sum(t.status is TrialStatus.COMPLETED for t in trials.values()) == 3


# -- item 14: workers=N in a script without the __main__ guard ---------------------------

UNGUARDED = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import hpo
from tests.hpo.helpers import SPACE, curve

def objective(trial):
    return curve(trial.config, 27)

hpo.tune(objective, SPACE, max_trials=4, workers=2, seed=0)
"""


def test_unguarded_script_with_workers_names_the_missing_main_guard(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(UNGUARDED)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode != 0
    assert 'if __name__ == "__main__":' in out.stderr, out.stderr
    assert "importable module" not in out.stderr and "bootstrapping" not in out.stderr
    guarded = UNGUARDED.replace("hpo.tune(", 'if __name__ == "__main__":\n    hpo.tune(')
    script.write_text(guarded)
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
