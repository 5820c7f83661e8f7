"""Bad input is an HPOError naming the value, raised before a journal header is written
(issue 14, item 6), and the readable results of item 17."""

import dataclasses
import math

import pytest

import hpo
from hpo import (
    FidelityError,
    Float,
    HPOError,
    HPOWarning,
    LimitError,
    MethodError,
    ReportError,
    Study,
    TrialStatus,
    UnknownTrialError,
)


def _study(**kwargs):
    return Study({"x": Float("x", 0.0, 1.0)}, seed=0, **kwargs)


@pytest.mark.parametrize("make, error, match", [
    (lambda: hpo.Fidelity("e", 1, 10**400), FidelityError, "max must be finite, got 1000"),
    (lambda: hpo.Fidelity("e", 10**400, 10**401, integer=False), FidelityError,
     "min must be finite"),
    (lambda: hpo.Limits(max_trials=float("inf")), LimitError, "max_trials .* got inf"),
    (lambda: hpo.Limits(max_trials=math.nan), LimitError, "got nan"),
])
def test_definitions(make, error, match):
    with pytest.raises(error, match=match):
        make()


@pytest.mark.parametrize("kwargs, match", [
    ({"metrics": {"loss": 10**400}}, "metric 'loss'=1000.* is beyond the float range"),
    ({"metrics": 10**400}, "metric 'loss'=1000"),
    ({"metrics": {"loss": 1.0}, "cost": 10**400}, "cost must be a finite number >= 0, got 1000"),
])
def test_report_overflow_is_a_report_error_and_records_nothing(kwargs, match):
    study = _study()
    ticket = study.ask()
    with pytest.raises(ReportError, match=match):
        study.report(ticket.trial_id, **kwargs)
    assert not study.trials[ticket.trial_id].observations
    study.report(ticket.trial_id, 0.5)          # the study goes on


def test_fidelity_budget_overflow_is_a_fidelity_error():
    study = Study({"x": Float("x", 0.0, 1.0)}, method="asha", fidelity=hpo.Fidelity("e", 1, 9),
                  seed=0)
    ticket = study.ask()
    with pytest.raises(FidelityError, match="budget must be a finite number > 0, got 1000"):
        study.report(ticket.trial_id, 0.5, budget=10**400)


def test_tell_with_an_unknown_status_names_it():
    study = _study()
    ticket = study.ask()
    with pytest.raises(ReportError, match="unknown trial status 'bogus'; valid: \\['pending'"):
        study.tell(ticket.trial_id, status="bogus")
    assert study.tell(ticket.trial_id, status="FAILED", reason="x").status is TrialStatus.FAILED


@pytest.mark.parametrize("method, fidelity, match", [
    ("asha", hpo.Fidelity("e", 1e-300, 1e300, integer=False), "more than 64 halvings"),
    ("dehb", hpo.Fidelity("steps", 1, 10**9), "population of 387420489 configs"),
])
def test_impossible_method_setups_fail_before_the_header(tmp_path, method, fidelity, match):
    with pytest.raises(MethodError, match=match):
        _study(method=method, fidelity=fidelity, storage=tmp_path / "s")
    journal = tmp_path / "s" / "journal.jsonl"
    assert not journal.exists() or journal.read_text() == ""


def test_counts_are_keyed_by_status_strings():
    study = _study()
    study.tell(study.ask().trial_id, 0.5)
    study.fail(study.ask().trial_id, "boom")
    counts = study.counts()
    assert counts == {"pending": 0, "running": 0, "paused": 0, "completed": 1, "stopped": 0,
                      "failed": 1}
    assert all(type(k) is str for k in counts)
    assert counts[TrialStatus.FAILED] == 1      # enum members still index it


def test_trial_repr_is_one_short_line():
    study = _study()
    ticket = study.ask()
    for step in range(1, 500):
        study.report(ticket.trial_id, {"loss": 1 / step, "acc": 0.5}, budget=step)
    study.tell(ticket.trial_id)
    text = repr(study.best())
    assert text.startswith("Trial(id=0, status='completed', budget=499, loss=0.00200401, "
                           "reports=499, config={'x': ")
    assert len(text) < 200 and "\n" not in text
    assert len(dataclasses.asdict(study.best())["observations"]) == 499


def test_dataframe_has_no_duplicate_metric_columns():
    study = Study({"x": Float("x", 0.0, 1.0)}, hpo.Objective("acc", "max"), seed=0)
    study.tell(study.ask().trial_id, {"acc": 0.75, "other": 2.0})
    study.tell(study.ask().trial_id, {"acc": math.nan})
    frame = study.dataframe()
    assert "metric/acc" not in frame.columns and "metric/other" in frame.columns
    assert frame["value"].tolist()[0] == 0.75 and frame["loss"].tolist()[0] == -0.75
    assert math.isnan(frame["value"].tolist()[1]) and frame["loss"].tolist()[1] == math.inf


def test_unknown_trial_in_an_empty_study():
    with pytest.raises(UnknownTrialError, match="unknown trial id 3; the study has no trials yet"):
        _study().report(3, 1.0)


def test_tune_warns_when_no_trial_has_a_finite_result():
    with pytest.warns(HPOWarning, match="no trial produced a finite loss \\(3 trials"):
        result = hpo.tune(lambda t: math.nan, {"x": Float("x", 0.0, 1.0)}, max_trials=3, seed=0)
    assert result.best_value is None


def test_every_bad_input_error_is_an_hpo_error():
    for error in (FidelityError, LimitError, MethodError, ReportError, UnknownTrialError):
        assert issubclass(error, HPOError)
