import io
import json
import math

import pandas as pd
import pytest

import hpo
from hpo import HPOError, ProcessPoolExecutor, Study, TrialStatus, tune
from hpo.core.trial import Ticket
from hpo.execution.handle import TrialHandle
from hpo.execution.progress import Progress
from schedulers import Hyperband
from tests.hpo import objectives
from tests.hpo.helpers import FIDELITY, SPACE, curve


def test_tune_single_fidelity_in_process():
    result = tune(lambda t: (t.config["x"] - 0.3) ** 2, SPACE, max_trials=30, seed=0)
    assert len(result.study) == 30
    assert result.best_value == min(
        (c - 0.3) ** 2 for c in result.dataframe["config/x"])
    assert result.best_config == result.best_trial.config
    assert isinstance(result.dataframe, pd.DataFrame)
    assert {"trial_id", "status", "budget", "loss", "value", "cost",
            "config/x", "config/n"} <= set(result.dataframe.columns)
    assert "metric/loss" not in result.dataframe.columns     # the same numbers as "value"


def test_maximize_and_dict_results():
    result = tune(lambda t: {"acc": 1 - (t.config["x"] - 0.7) ** 2, "other": 1.0}, SPACE,
                  metric="acc", mode="max", max_trials=20, seed=1)
    assert result.best_value == result.dataframe["value"].max()
    assert "metric/other" in result.dataframe.columns and "metric/acc" not in result.dataframe


@pytest.mark.parametrize("method", ["hyperband", "asha", "sh"])
def test_checkpoints_carry_over_pause_and_resume(method):
    result = tune(objectives.checkpointed, SPACE, method=method, fidelity=FIDELITY,
                  max_budget=27 * 15, seed=2)
    frame = result.dataframe
    for tid, rows in frame.groupby("trial_id"):
        budgets = list(rows["budget"])
        assert budgets == list(range(1, len(budgets) + 1)), f"trial {tid} restarted: {budgets}"
    assert (frame["status"] == "completed").any()
    assert result.best_trial.budget == 27


def test_one_call_style_objective_at_each_rung():
    calls = []

    def objective(trial):  # retrains from scratch to trial.budget, returns the loss
        calls.append((trial.id, trial.resume_from, trial.budget))
        return curve(trial.config, trial.budget)

    result = tune(objective, SPACE, method=Hyperband(iterations=1), fidelity=FIDELITY, seed=0)
    assert result.study.budget_used == sum(b.total_budget() for b in
                                           result.study.scheduler.brackets)
    assert any(r > 0 for _, r, _ in calls)  # promotions resumed the same trial ids


def test_objective_errors_fail_the_trial_with_traceback():
    result = tune(objectives.flaky, SPACE, max_trials=9, seed=0)
    failed = [t for t in result.study.trials.values() if t.status is TrialStatus.FAILED]
    assert [t.id for t in failed] == [1, 4, 7]
    assert all("RuntimeError: boom in trial" in t.reason and "Traceback" in t.reason
               for t in failed)
    assert result.best_trial.status is TrialStatus.COMPLETED


def test_bad_return_value_fails_the_trial():
    result = tune(lambda t: "great", SPACE, max_trials=2, seed=0)
    assert all("return None, a number or a metrics dict" in t.reason
               for t in result.study.trials.values())


def test_limits_are_validated():
    with pytest.raises(ValueError, match="at least one stop criterion"):
        tune(objectives.single, SPACE)
    with pytest.raises(ValueError, match="max_trials must be a positive int or None, got 0"):
        tune(objectives.single, SPACE, max_trials=0)
    with pytest.raises(ValueError, match="max_budget must be a positive number"):
        tune(objectives.single, SPACE, max_budget=-5)


def test_rerunning_tune_on_its_directory_continues(tmp_path):
    first = tune(objectives.single, SPACE, max_trials=10, seed=4, storage=tmp_path)
    again = tune(objectives.single, SPACE, max_trials=25, seed=4, storage=tmp_path)
    assert len(first.study) == 10 and len(again.study) == 25
    fresh = tune(objectives.single, SPACE, max_trials=25, seed=4)
    assert [t.config for t in again.study.trials.values()] == \
        [t.config for t in fresh.study.trials.values()]


def test_process_pool_runs_and_checkpoints(tmp_path):
    result = tune(objectives.checkpointed, SPACE, method="asha", fidelity=FIDELITY,
                  max_budget=27 * 10, workers=2, seed=0, storage=tmp_path)
    frame = result.dataframe
    for _, rows in frame.groupby("trial_id"):
        assert list(rows["budget"]) == list(range(1, len(rows) + 1))
    assert not (frame["status"] == "failed").any()
    reopened = Study.open(tmp_path)
    assert len(reopened) == len(result.study)


def test_dead_worker_fails_its_trial_and_is_replaced():
    result = tune(objectives.dies, SPACE, max_trials=6, workers=2, seed=0)
    trial = result.study.trials[2]
    assert trial.status is TrialStatus.FAILED and "exit code 13" in trial.reason
    assert sum(t.status is TrialStatus.COMPLETED for t in result.study.trials.values()) == 5


def test_workers_that_always_die_stop_the_run():
    with pytest.raises(HPOError, match="died 5 times in a row"):
        tune(objectives.always_dies, SPACE, max_trials=50, workers=2, seed=0)


def test_unpicklable_objective_with_workers():
    with pytest.raises(HPOError, match="cannot be sent to worker processes"):
        hpo.run(Study(SPACE, seed=0), lambda t: 1.0, executor=ProcessPoolExecutor(2),
                limits=hpo.Limits(max_trials=2))


def test_handle_checkpoint_and_duplicate_rules(tmp_path):
    reports = []

    def reporter(tid, metrics, budget, cost):
        reports.append((tid, metrics, budget))
        return hpo.Verdict.pause() if budget == 3 else hpo.Verdict.cont()

    ticket = Ticket(trial_id=7, config={"x": 0.1}, budget=3, resume_from=1, max_budget=9)
    handle = TrialHandle(ticket, reporter, metric="loss", checkpoint_root=tmp_path)
    assert handle.load_checkpoint() is None
    assert handle.report(0.9, budget=1).decision.value == "continue"  # duplicate: not sent
    assert handle.report(0.5, budget=2).decision.value == "continue"
    calls = []
    verdict = handle.report({"loss": 0.4}, budget=3,
                            checkpoint=lambda: calls.append(1) or b"state@3")
    assert verdict.is_pause and calls == [1]
    assert handle.load_checkpoint() == b"state@3" and handle.checkpoint_budget == 3
    assert handle.report(0.1, budget=4).is_pause  # after a pause nothing more is sent
    assert [r[2] for r in reports] == [2, 3]
    assert (tmp_path / "7").is_dir() and handle.checkpoint_dir == tmp_path / "7"


def test_progress_line_mentions_the_best():
    study = Study(SPACE, seed=0)
    hpo.run(study, objectives.single, limits=hpo.Limits(max_trials=5))
    stream = io.StringIO()
    progress = Progress(study, enabled=True, stream=stream, interval=0)
    progress.update(force=True)
    line = stream.getvalue()
    assert "trials 5 (0 running, 0 paused, 5 done, 0 failed)" in line and "best loss=" in line


def test_dataframe_of_an_empty_and_failed_study():
    study = Study(SPACE, seed=0)
    assert list(study.dataframe().columns)[:3] == ["trial_id", "status", "reason"]
    study.fail(study.ask().trial_id, "x")
    frame = study.dataframe()
    assert len(frame) == 1 and math.isnan(frame["loss"][0])
    assert json.dumps(study.trials[0].config)
