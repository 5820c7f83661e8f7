import json

from benchmarks.__main__ import main
from benchmarks.report import report
from benchmarks.runner import Task, run_one, run_tasks


def test_a_crashing_method_is_recorded_and_the_rest_go_on(tmp_path, monkeypatch):
    from benchmarks import methods

    real = methods.registry

    class Broken(methods.Ours):
        def start(self, problem, seed):
            if seed == 1:
                raise RuntimeError("boom")
            return super().start(problem, seed)

    def fake_registry():
        known = real()
        known["broken"] = Broken("broken", known["asha"].method)
        return known

    monkeypatch.setattr("benchmarks.runner.registry", fake_registry)
    tasks = [Task("t", "branin", m, s, 2, 3, 10) for m in ("random", "broken") for s in (0, 1)]
    records = run_tasks(tasks, tmp_path, jobs=1, echo=False)
    errors = [r for r in records if "error" in r]
    assert len(records) == 4 and len(errors) == 1 and "boom" in errors[0]["error"]
    text = report(tmp_path)
    assert "| broken |" in text and "[1 failed]" in text
    assert (tmp_path / "plots" / "regret_branin.png").exists()
    again = run_tasks(tasks, tmp_path, jobs=1, echo=False)  # only the failed run is retried
    assert len(again) == 1


def test_single_fidelity_problem_skips_multi_fidelity_methods(monkeypatch):
    from benchmarks.problems import get_problem

    problem = get_problem("branin")
    monkeypatch.setattr(problem, "fidelity", None)
    record = run_one(Task("t", "branin", "asha", 0, 1, 3, 5))
    assert record["skipped"].startswith("needs a fidelity")


def test_cli_errors_list_valid_names(capsys, tmp_path):
    assert main(["run", "--problems", "nope", "--out", str(tmp_path)]) == 2
    assert "valid problems" in capsys.readouterr().err
    assert main(["run", "--methods", "nope", "--out", str(tmp_path)]) == 2
    assert "valid:" in capsys.readouterr().err
    assert main(["run", "--suite", "huge", "--out", str(tmp_path)]) == 2
    assert "valid suites" in capsys.readouterr().err


def test_cli_run_and_report(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", "--problems", "branin", "--methods", "random", "asha", "--seeds", "2",
                 "--budget", "4", "--jobs", "1", "--out", str(out)]) == 0
    lines = (out / "runs.jsonl").read_text().splitlines()
    assert len(lines) == 4 and all("trajectory" in json.loads(x) for x in lines)
    assert main(["report", "--out", str(out)]) == 0
    assert "| asha |" in capsys.readouterr().out

