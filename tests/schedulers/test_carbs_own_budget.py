"""``carbs`` with ``budget_param`` (each trial to its own epochs, every report a result) and
``stop_eta`` (ASHA stopping along a candidate's own epochs)."""

from __future__ import annotations

import math

import pytest

import hpo
from schedulers.carbs_method import CARBS, OwnBudgetScheduler


def space(low_epochs: int) -> hpo.SearchSpace:
    return hpo.SearchSpace([hpo.Float("lr", 1e-3, 1.0, log=True),
                            hpo.Int("width", 8, 128, log=True),
                            hpo.Int("epochs", low_epochs, 27, log=True)])


SPACE = space(1)
FIDELITY = hpo.Fidelity("epochs", 1, 27)


def loss_at(config: dict, epoch: float) -> float:
    """Falls with epochs and width, best lr 0.1."""
    return (math.log10(config["lr"]) + 1) ** 2 + 1 / config["width"] + 1 / epoch


def cost_per_epoch(config: dict) -> float:
    return float(config["width"])


def drive(study: hpo.Study, n: int, losses=loss_at) -> list[tuple[int, float, str]]:
    """Run ``n`` trials one after another: (trial id, last budget, how it ended)."""
    out = []
    for _ in range(n):
        ticket = study.ask()
        assert ticket is not None
        assert ticket.budget == ticket.config["epochs"]
        for epoch in range(1, int(ticket.budget) + 1):
            verdict = study.report(ticket.trial_id, {"loss": losses(ticket.config, epoch)},
                                   budget=epoch, cost=cost_per_epoch(ticket.config))
            if verdict.should_stop:
                break
        trial = study.trials[ticket.trial_id]
        out.append((trial.id, trial.budget, verdict.reason))
    return out


def test_options_are_validated():
    with pytest.raises(hpo.MethodError, match="stop_eta needs budget_param"):
        CARBS(stop_eta=3)
    with pytest.raises(hpo.MethodError, match="stop_eta must be a number >= 2"):
        CARBS(budget_param="epochs", stop_eta=1)
    with pytest.raises(hpo.MethodError, match="budget_param must be a parameter name"):
        CARBS(budget_param="")
    with pytest.raises(hpo.MethodError, match="'depth' is not a searched"):
        hpo.Study(SPACE, "loss", method=CARBS(budget_param="depth"), fidelity=FIDELITY)
    with pytest.raises(hpo.MethodError, match="needs a fidelity"):
        hpo.Study(SPACE, "loss", method=CARBS(budget_param="epochs"))


def test_each_trial_runs_to_its_own_budget_and_every_report_is_a_result():
    study = hpo.Study(SPACE, "loss", method=CARBS(budget_param="epochs", candidates_per_dim=20),
                      fidelity=FIDELITY, seed=0)
    assert isinstance(study.scheduler, OwnBudgetScheduler)
    ticket = study.ask()
    searcher = study.scheduler.searcher
    for epoch in (1, 2, 3):
        study.report(ticket.trial_id, {"loss": loss_at(ticket.config, epoch)}, budget=epoch,
                     cost=cost_per_epoch(ticket.config))
        x, value, cost, config = searcher._results[ticket.trial_id]
        # the trial's one row is its config at the budget reached, with the cost so far
        assert config == {**ticket.config, "epochs": epoch}
        assert value == pytest.approx(-loss_at(ticket.config, epoch))
        assert cost == pytest.approx(epoch * cost_per_epoch(ticket.config))
        assert x[2] == pytest.approx(searcher.params[2].to_basic(epoch))
    ended = drive(study, 8)
    assert all(budget == study.trials[tid].config["epochs"] for tid, budget, _ in ended)
    assert all("reached its own budget" in why for _, _, why in ended)


def test_stop_eta_stops_candidates_outside_the_best_third_at_a_rung():
    method = CARBS(budget_param="epochs", stop_eta=3, candidates_per_dim=20)
    study = hpo.Study(space(3), "loss", method=method, fidelity=FIDELITY, seed=1)
    # rungs of 1..27 with eta 3, from the dimension's lower bound 3 on (below it a report is
    # not a result)
    assert study.scheduler.rungs == [3, 9]
    # each new trial is worse than every earlier one at every epoch: the first arrival at a
    # rung continues, every later one is outside the best ceil(n / 3) and stopped
    ended = drive(study, 5, losses=lambda config, epoch: len(study.trials) - 0.01 * epoch)
    first, *rest = ended
    assert first[1] == study.trials[first[0]].config["epochs"]  # ran to its own budget
    for tid, budget, why in rest:
        target = study.trials[tid].config["epochs"]
        if target == 3:
            assert budget == 3 and "reached its own budget" in why
            continue
        assert budget == 3 and "early stop at rung 3" in why, (tid, budget, why)
        # its one row is the config at epoch 3: a cheaper point of the Pareto data
        row = study.scheduler.searcher._results[tid]
        assert row[3]["epochs"] == 3
        assert row[2] == pytest.approx(3 * cost_per_epoch(study.trials[tid].config))
    assert sum("early stop" in why for _, _, why in rest) >= 2


def test_reports_below_the_budget_dimension_are_not_results():
    study = hpo.Study(space(9), "loss", method=CARBS(budget_param="epochs"),
                      fidelity=FIDELITY, seed=0)
    ticket = study.ask()
    searcher = study.scheduler.searcher
    for epoch in range(1, 10):
        study.report(ticket.trial_id, {"loss": loss_at(ticket.config, epoch)}, budget=epoch,
                     cost=1.0)
        assert (ticket.trial_id in searcher._results) == (epoch >= 9)


def test_a_good_trial_is_never_stopped():
    method = CARBS(budget_param="epochs", stop_eta=3, candidates_per_dim=20)
    study = hpo.Study(SPACE, "loss", method=method, fidelity=FIDELITY, seed=2)
    # every new trial is better than all before it at every epoch: none is stopped
    ended = drive(study, 6,
                  losses=lambda config, epoch: 10.0 - len(study.trials) - 0.01 * epoch)
    assert all(budget == study.trials[tid].config["epochs"] for tid, budget, _ in ended)


def test_reopened_study_replays_the_same_decisions(tmp_path):
    method = CARBS(budget_param="epochs", stop_eta=3, candidates_per_dim=20)
    uninterrupted = hpo.Study(SPACE, "loss", method=method, fidelity=FIDELITY, seed=3)
    drive(uninterrupted, 9)
    journaled = hpo.Study(SPACE, "loss", method=method, fidelity=FIDELITY, seed=3,
                          storage=tmp_path / "s")
    drive(journaled, 9)
    del journaled
    reopened = hpo.Study.open(tmp_path / "s")
    assert reopened.method == method
    assert reopened.scheduler._rung_losses == uninterrupted.scheduler._rung_losses
    assert drive(reopened, 3) == drive(uninterrupted, 3)
