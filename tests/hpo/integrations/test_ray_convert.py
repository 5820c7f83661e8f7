"""The pure Ray <-> scaletune conversions (no Ray runtime needed)."""

import math

import numpy as np
import pytest

from hpo import IntegrationError, Objective
from hpo.core.decisions import Verdict
from hpo.integrations._ray_convert import (
    check_metric_mode,
    check_resources,
    ray_mode,
    result_to_report,
    verdict_to_ray,
)


def test_result_to_report_keeps_user_metrics_only():
    result = {"loss": 0.5, "acc": np.float32(0.75), "epoch": 3, "training_iteration": 3,
              "time_this_iter_s": 1.25, "time_total_s": 9.0, "done": False, "pid": 123,
              "hostname": "h", "config/lr": 0.1, "config": {"lr": 0.1}, "tag": "text",
              "flag": True, "trial_id": "abc"}
    metrics, budget, cost = result_to_report(result, time_attr="training_iteration",
                                             cost_attr="time_this_iter_s")
    assert metrics == {"loss": 0.5, "acc": 0.75, "epoch": 3.0}
    assert budget == 3.0 and cost == 1.25


def test_custom_budget_and_cost_keys_are_not_metrics():
    metrics, budget, cost = result_to_report({"loss": 1.0, "tokens": 4096, "gpu_h": 0.5},
                                             time_attr="tokens", cost_attr="gpu_h")
    assert metrics == {"loss": 1.0} and budget == 4096.0 and cost == 0.5


@pytest.mark.parametrize("bad", [float("nan"), -1.0, float("inf"), "x"])
def test_invalid_cost_falls_back_to_none(bad):
    _, _, cost = result_to_report({"loss": 1.0, "c": bad}, time_attr="t", cost_attr="c")
    assert cost is None


def test_missing_budget_and_cost():
    metrics, budget, cost = result_to_report({"loss": 2.0}, time_attr="training_iteration",
                                             cost_attr=None)
    assert metrics == {"loss": 2.0} and budget is None and cost is None


def test_nan_metric_passes_through_for_the_study_to_judge():
    metrics, _, _ = result_to_report({"loss": float("nan")}, time_attr="t", cost_attr=None)
    assert math.isnan(metrics["loss"])


def test_verdicts():
    assert verdict_to_ray(Verdict.cont()) == "CONTINUE"
    assert verdict_to_ray(Verdict.pause("rung 1")) == "PAUSE"
    assert verdict_to_ray(Verdict.stop("loser")) == "STOP"


def test_metric_and_mode_agreement():
    obj = Objective("acc", "max")
    assert ray_mode(obj) == "max" and ray_mode(Objective("loss", "min")) == "min"
    check_metric_mode(obj, None, None, "X")
    check_metric_mode(obj, "acc", "max", "X")
    with pytest.raises(IntegrationError, match=r"metric='loss'.*optimises 'acc'"):
        check_metric_mode(obj, "loss", None, "RaySearcher")
    with pytest.raises(IntegrationError, match=r"mode='min'.*maximize 'acc'"):
        check_metric_mode(obj, "acc", "min", "RayScheduler")


def test_resources():
    assert check_resources(None) == {"cpu": 1.0}
    assert check_resources({"CPU": 2, "gpu": 0.5, "accel": 1, "memory": 0}) == \
        {"cpu": 2.0, "gpu": 0.5, "accel": 1.0}
    for bad, message in [({"gpu": -1}, "'gpu': -1"), ({"cpu": "two"}, "'cpu': 'two'"),
                         ({"gpu": float("nan")}, "'gpu': nan"), ({"cpu": 0}, "ask for nothing"),
                         ([("cpu", 1)], "must be a dict")]:
        with pytest.raises(IntegrationError, match=message):
            check_resources(bad)
