import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpo.cli import main

TOY = '''
import hpo
SPACE = {"x": hpo.Float("x", 0.0, 1.0)}
def objective(trial):
    for epoch in range(int(trial.resume_from) + 1, trial.max_budget + 1):
        if trial.report({"loss": (trial.config["x"] - 0.3) ** 2 + 1 / epoch},
                        budget=epoch).should_stop:
            return
'''

SLEEPY = '''
import os, time
import hpo
SPACE = {"x": hpo.Float("x", 0.0, 1.0)}
def objective(trial):
    open(os.path.join(os.environ["HPO_TEST_MARKERS"], f"{os.getpid()}-{trial.id}"), "w").close()
    time.sleep(3600)
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "toy_cli_mod.py").write_text(TOY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_run_status_best_trials_resume(project, capsys):
    assert main(["run", "toy_cli_mod:objective", "--method", "hyperband", "--fidelity",
                 "epochs:1:27", "--max-budget", "200", "--seed", "3", "--dir", "runs/hb"]) == 0
    out = capsys.readouterr().out
    assert '"name": "hyperband"' in out and "best       trial" in out
    assert main(["status", "runs/hb"]) == 0
    assert "seed 3" in capsys.readouterr().out
    assert main(["best", "runs/hb", "--json"]) == 0
    best = json.loads(capsys.readouterr().out)
    assert best["budget"] == 27 and 0 <= best["config"]["x"] <= 1
    assert main(["trials", "runs/hb", "--csv", "t.csv"]) == 0
    assert (project / "t.csv").read_text().startswith("trial_id,")
    assert main(["trials", "runs/hb", "--status", "completed"]) == 0
    assert "completed" in capsys.readouterr().out
    assert main(["resume", "runs/hb", "--max-budget", "400"]) == 0
    assert "budget 4" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["run", "toy_cli_mod:objective", "--method", "nope", "--max-trials", "3", "--dir", "r"],
     "unknown method 'nope'; available methods: ['asha', "),
    (["run", "toy_cli_mod:objective", "--method", "asha", "--fidelity", "epochs:9:3",
      "--max-trials", "3", "--dir", "r"], "min=9 > max=3"),
    (["run", "toy_cli_mod:objective", "--method", "asha", "--method-params", '{"eta": 1}',
      "--fidelity", "epochs:1:9", "--max-trials", "3", "--dir", "r"], "got eta=1"),
    (["run", "toy_cli_mod:objective", "--dir", "r"], "at least one of --max-trials"),
    (["run", "toy_cli_mod:nothing", "--max-trials", "3", "--dir", "r"],
     "has no attribute 'nothing'"),
    (["status", "missing"], "no study journal"),
])
def test_errors_are_one_line(project, capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_console_script_is_installed(project):
    out = subprocess.run([Path(sys.executable).parent / "hpo", "methods"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "asha" in out.stdout and "hyperband" in out.stdout


@pytest.mark.timeout(120)
@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_prints_one_line_per_worker_and_the_resume_command(project, workers):
    (project / "sleepy_cli_mod.py").write_text(SLEEPY)
    markers = project / "markers"
    markers.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpo", "run", "sleepy_cli_mod:objective", "--max-trials", "9",
         "--workers", str(workers), "--dir", "runs/sleepy"], cwd=project, text=True,
        env={**os.environ, "HPO_TEST_MARKERS": str(markers)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 90
    while len(list(markers.iterdir())) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "`hpo resume runs/sleepy` continues the study" in err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) <= workers + (workers > 1), err
