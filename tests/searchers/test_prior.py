"""Warm-start results as prior data of the GP searchers: journaled, replayed, and used."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hpo
from hpo import Fidelity, Float, PriorObservation, SearchSpace, Study
from hpo.core.warm_start import WarmStartError

SPACE = SearchSpace([Float("x", -5.0, 10.0), Float("y", 0.0, 15.0)])


def branin(c):
    x, y = c["x"], c["y"]
    return ((y - 5.1 / (4 * math.pi ** 2) * x ** 2 + 5 / math.pi * x - 6) ** 2
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10)


def prior(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        c = {"x": float(rng.uniform(-5, 10)), "y": float(rng.uniform(0, 15))}
        out.append(PriorObservation(c, None, branin(c), {"loss": branin(c)}, "test"))
    return out


def run(study, n):
    losses = []
    for _ in range(n):
        t = study.ask()
        loss = branin(t.config)
        losses.append(loss)
        study.tell(t.trial_id, {"loss": loss})
    return losses


def test_a_prior_replaces_the_initial_design_and_guides_the_first_proposals():
    cold = Study(SPACE, "loss", method="bo", seed=3)
    warm = Study(SPACE, "loss", method="bo", seed=3)
    assert warm.add_prior(prior(40)) is True
    cold_losses, warm_losses = run(cold, 5), run(warm, 5)
    searcher = warm.scheduler.searcher
    assert searcher._n_prior == 40 and sum(k[0] < 0 for k in searcher._rows) == 40
    # cold: 5 Sobol points; warm: 5 model decisions on 40 prior rows
    assert np.median(warm_losses) < np.median(cold_losses)
    assert min(warm_losses) < 1.0  # branin: minimum 0.398; the best of the prior is 1.64


def test_the_prior_is_journaled_and_a_reopened_study_decides_the_same(tmp_path):
    def make(path):
        study = Study(SPACE, "loss", method="bo", seed=1, storage=path)
        study.add_prior(prior(20, seed=4))
        return study

    straight = make(tmp_path / "a")
    run(straight, 8)
    expected = [straight.ask().config for _ in range(2)]

    first = make(tmp_path / "b")
    run(first, 8)
    del first
    lines = (tmp_path / "b" / "journal.jsonl").read_text().splitlines()
    assert sum('"e":"prior"' in line for line in lines) == 1
    reopened = Study.open(tmp_path / "b")
    assert reopened.scheduler.searcher._n_prior == 20
    assert [reopened.ask().config for _ in range(2)] == expected


def test_mobster_maps_prior_budgets_to_its_rung_levels(tmp_path):
    fid = Fidelity("epochs", 1, 27)
    old = Study(SPACE, "loss", method="asha", fidelity=fid, seed=0, storage=tmp_path / "old")
    for _ in range(12):
        t = old.ask()
        for b in range(int(t.resume_from) + 1, int(t.budget) + 1):
            verdict = old.report(t.trial_id, {"loss": branin(t.config) + 10 / b}, budget=b)
            if verdict.should_stop:
                break
        else:
            old.finish(t.trial_id)
    new = Study(SPACE, "loss", method="mobster", fidelity=fid, seed=0)
    warm = new.add_results(tmp_path / "old", enqueue=0)
    searcher = new.scheduler.searcher
    levels = {k[1] for k in searcher._rows if k[0] < 0}
    assert levels and levels <= set(searcher.levels)
    assert len(warm.observations) > len(searcher._rows)  # one row per config and level


def test_model_free_methods_ignore_the_prior_but_it_is_still_journaled(tmp_path):
    study = Study(SPACE, "loss", method="random", seed=0, storage=tmp_path / "r")
    assert study.add_prior(prior(3)) is False
    assert '"e":"prior"' in (tmp_path / "r" / "journal.jsonl").read_text()


def test_bad_prior_data_names_the_value():
    study = Study(SPACE, "loss", method="bo", seed=0)
    with pytest.raises(WarmStartError, match="42"):
        study.add_prior([42])
    with pytest.raises(hpo.InvalidConfigError, match="99"):
        study.add_prior([PriorObservation({"x": 99.0, "y": 1.0}, None, 1.0, {}, "t")])


def test_a_non_finite_prior_loss_round_trips_the_journal(tmp_path):
    study = Study(SPACE, "loss", method="bo", seed=0, storage=tmp_path / "s")
    study.add_prior([PriorObservation({"x": 1.0, "y": 1.0}, None, math.inf, {"loss": math.nan},
                                      "t")] + prior(3))
    reopened = Study.open(tmp_path / "s")
    rows = [v for k, v in reopened.scheduler.searcher._rows.items() if k[0] < 0]
    assert len(rows) == 4 and math.isinf(rows[0][2])


def test_carbs_takes_costed_prior_results_and_they_survive_a_reopen(tmp_path):
    space = SearchSpace([Float("lr", 1e-4, 1.0, log=True), Float("width", 8.0, 512.0, log=True)])

    def result(c):
        loss = (math.log10(c["lr"]) + 2) ** 2 + 64 / c["width"]
        return loss, c["width"] / 8

    rng = np.random.default_rng(0)
    obs = []
    for i in range(12):
        c = {"lr": float(10 ** rng.uniform(-4, 0)), "width": float(2 ** rng.uniform(3, 9))}
        loss, cost = result(c)
        obs.append(PriorObservation(c, None, loss, {"loss": loss}, "t", cost if i else None))
    study = Study(space, "loss", method="carbs", seed=0, storage=tmp_path / "c")
    assert study.add_prior(obs) is True
    searcher = study.scheduler.searcher
    assert sorted(searcher._results) == list(range(-11, 0))  # the one without a cost is left out
    assert searcher._results[-1][2] == pytest.approx(result(obs[1].config)[1])
    first = study.ask()
    assert first is not None and searcher.decision_record()["kind"] != "random"
    reopened = Study.open(tmp_path / "c")
    assert sorted(reopened.scheduler.searcher._results) == list(range(-11, 0))
    assert reopened.trials[first.trial_id].config == first.config


def test_warm_start_carries_costs_from_the_old_journal(tmp_path):
    old = Study(SPACE, "loss", method="random", seed=0, storage=tmp_path / "old")
    for _ in range(3):
        t = old.ask()
        old.tell(t.trial_id, {"loss": branin(t.config)}, cost=2.5)
    new = Study(SPACE, "loss", method="bo", seed=0)
    warm = new.add_results(tmp_path / "old", enqueue=0)
    assert [o.cost for o in warm.observations] == [2.5, 2.5, 2.5]
