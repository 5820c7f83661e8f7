"""`hpo trials` / `run` / `resume` (issue 14, items 17 and 19)."""

import os
import sys

import pytest

from hpo.cli import main

TOY = '''
import math
import hpo
SPACE = {"x": hpo.Float("x", 0.0, 1.0)}
def objective(trial):
    return (trial.config["x"] - 0.3) ** 2
def nan_objective(trial):
    return math.nan
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "toy_cmds_mod.py").write_text(TOY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "toy_cmds_mod", raising=False)
    return tmp_path


def _run(*extra):
    return main(["run", "toy_cmds_mod:objective", "--seed", "0", *extra])


def _rows(out):
    return [line for line in out.strip().splitlines()[1:] if not line.startswith("...")]


def test_trials_says_how_many_are_hidden_and_shows_all_top_and_sorted(project, capsys):
    assert _run("--max-trials", "60", "--dir", "r") == 0
    capsys.readouterr()
    assert main(["trials", "r"]) == 0
    out = capsys.readouterr().out
    assert len(_rows(out)) == 50
    assert "... 10 more trials (60 in all; --all shows every one" in out
    assert main(["trials", "r", "--all"]) == 0
    out = capsys.readouterr().out
    assert len(_rows(out)) == 60 and "more trials" not in out
    assert main(["trials", "r", "--top", "3"]) == 0
    out = capsys.readouterr().out
    column = out.splitlines()[0].split().index("loss")
    losses = [float(line.split()[column]) for line in _rows(out)]
    assert len(losses) == 3 and losses == sorted(losses)
    assert "... 57 more trials" in out
    assert main(["trials", "r", "--sort", "config/x", "--limit", "5"]) == 0
    xs = [float(line.split()[-1]) for line in _rows(capsys.readouterr().out)]
    assert xs == sorted(xs) and len(xs) == 5
    assert main(["trials", "r", "--sort", "nope"]) == 2
    assert "--sort 'nope': no such column" in capsys.readouterr().err


def test_a_failed_run_leaves_no_directory_behind(project, capsys):
    assert main(["run", "toy_cmds_mod:objective", "--method", "asha", "--fidelity",
                 "e:1:9", "--method-params", '{"brackets": "2"}', "--max-trials", "3",
                 "--dir", "runs/bad"]) == 2
    assert "ASHA brackets must be an int >= 1, got '2'" in capsys.readouterr().err
    assert not (project / "runs").exists()
    (project / "kept").mkdir()     # a directory that existed before is never removed
    assert main(["run", "toy_cmds_mod:objective", "--method", "nope", "--max-trials", "3",
                 "--dir", "kept"]) == 2
    assert (project / "kept").is_dir()


def test_an_all_nan_study_exits_1_with_a_warning(project, capsys):
    assert main(["run", "toy_cmds_mod:nan_objective", "--max-trials", "3", "--dir", "n"]) == 1
    captured = capsys.readouterr()
    assert "warning: no trial produced a finite loss (3 trials" in captured.err
    assert "best       none: no trial has a finite loss" in captured.out


def test_resume_prints_what_it_imports_and_refuses_another_cwd(project, capsys, tmp_path_factory,
                                                             monkeypatch):
    assert _run("--max-trials", "3", "--dir", "r") == 0
    capsys.readouterr()
    assert main(["resume", "r", "--max-trials", "4"]) == 0
    err = capsys.readouterr().err
    assert f"importing toy_cmds_mod:objective with {project} on the import path" in err
    assert f"objective toy_cmds_mod:objective from {project / 'toy_cmds_mod.py'}" in err
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    study_dir = str(project / "r")
    assert main(["resume", study_dir, "--max-trials", "5"]) == 2
    err = capsys.readouterr().err
    assert f"was started in {project}, not in the current directory {elsewhere}" in err
    assert "--allow-other-cwd" in err
    assert main(["resume", study_dir, "--max-trials", "5", "--allow-other-cwd"]) == 0
    assert "trials     5 " in capsys.readouterr().out
    assert os.getcwd() == str(elsewhere)
