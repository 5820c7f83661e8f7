"""Warm-starting a study from other studies' journals or a results DataFrame."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

import hpo
from hpo import Categorical, Constant, Fidelity, Float, Int, SearchSpace, Study
from hpo.core.warm_start import WarmStartError, map_config
from tests.hpo.helpers import SPACE, curve


def old_study(path, n=8, seed=0, mode="min"):
    study = Study(SPACE, hpo.Objective("loss", mode), method="random", seed=seed, storage=path)
    for _ in range(n):
        ticket = study.ask()
        loss = curve(ticket.config, 27)
        study.tell(ticket.trial_id, {"loss": loss if mode == "min" else -loss, "aux": 1.0})
    return study


def first_configs(study, n):
    out = []
    for _ in range(n):
        ticket = study.ask()
        out.append(ticket.config)
        study.tell(ticket.trial_id, {"loss": 0.0})
    return out


def test_map_config_drops_unknown_fills_constants_and_skips_the_rest():
    space = SearchSpace([Float("x", 0.0, 1.0), Constant("opt", "adam"), Int("n", 1, 2)])
    assert map_config({"x": 0.5, "n": 2, "gone": 3}, space) == {"x": 0.5, "opt": "adam", "n": 2}
    assert map_config({"x": 0.5}, space) is None  # n missing and not a constant
    assert map_config({"x": 0.5, "n": 4}, space) is None  # outside the new domain
    assert map_config({"x": 0.5, "n": 1, "opt": "sgd"}, space) is None


def test_random_search_evaluates_the_best_old_configs_first(tmp_path):
    old = old_study(tmp_path / "old")
    best = sorted(old.trials.values(), key=lambda t: t.loss)
    new = Study(SPACE, "loss", method="random", seed=5, storage=tmp_path / "new",
                warm_start=[tmp_path / "old"])
    assert first_configs(new, 3) == [t.config for t in best[:3]]
    # the enqueued configs are journaled: reopening replays them and enqueues nothing twice
    reopened = Study.open(tmp_path / "new")
    assert [t.config for t in reopened.trials.values()] == [t.config for t in best[:3]]
    assert len(old.trials) == 8 and Study.open(tmp_path / "old", read_only=True).counts()[
        "completed"] == 8  # the old study is untouched


def test_an_overlapping_space_and_a_maximised_metric(tmp_path):
    old_study(tmp_path / "old", mode="max")  # loss = -metric there
    space = SearchSpace([Float("x", 0.0, 1.0), Int("n", 1, 2), Constant("act", "relu")])
    new = Study(space, hpo.Objective("loss", "max"), method="random", seed=1)
    warm = new.add_results([tmp_path / "old"], enqueue=None)
    old = Study.open(tmp_path / "old", read_only=True)
    fits = [t for t in old.trials.values() if t.config["n"] <= 2]
    assert len(warm.observations) == len(fits) and warm.skipped == 8 - len(fits)
    assert all(o.config["act"] == "relu" for o in warm.observations)
    values = sorted(t.observations[-1].metrics["loss"] for t in fits)[::-1]  # best first: max
    assert [o.metrics["loss"] for o in sorted(warm.observations, key=lambda o: o.loss)] \
        == values
    assert len(warm.configs()) == len(fits)


def test_from_a_dataframe_both_layouts(tmp_path):
    old = old_study(tmp_path / "old")
    new = Study(SPACE, "loss", method="random", seed=2)
    warm = new.add_results(old.dataframe(), enqueue=2)
    assert len(warm.observations) == 8
    best = sorted(old.trials.values(), key=lambda t: t.loss)
    assert first_configs(new, 2) == [t.config for t in best[:2]]
    plain = pd.DataFrame({"x": [0.3, 0.9, 2.0], "n": [1, 2, 1], "loss": [0.1, 0.5, 0.0]})
    warm = Study(SPACE, "loss", method="random", seed=2).add_results(plain)
    assert [o.config for o in warm.observations] == [{"x": 0.3, "n": 1}, {"x": 0.9, "n": 2}]
    assert warm.skipped == 1  # x = 2.0 is outside the space


def test_budgets_and_a_model_based_prior(tmp_path):
    fid = Fidelity("epochs", 1, 9)
    old = Study(SPACE, "loss", method="asha", fidelity=fid, seed=0, storage=tmp_path / "old")
    from tests.hpo.helpers import drive
    drive(old, 40)

    got = []

    class Prior(hpo.Searcher):
        def suggest(self, trial_id, *, budget=None):
            return {"x": 0.5, "n": 1}

        def add_prior(self, observations):
            got.extend(observations)
            return True

    class Sched(hpo.Scheduler):
        searcher = Prior()

        def add_prior(self, observations):
            return self.searcher.add_prior(observations)

        def next_action(self, view):
            return None

        def on_result(self, trial, obs):
            return hpo.Verdict.cont()

    new = Study(SPACE, "loss", method=Sched(), fidelity=Fidelity("epochs", 1, 3), seed=0,
                storage=tmp_path / "new")
    warm = new.add_results(tmp_path / "old", enqueue=0)
    recorded = [o for t in old.trials.values() for o in t.observations if o.budget <= 3]
    assert got == list(warm.observations) and len(got) == len(recorded)
    assert all(o.budget <= 3 and math.isfinite(o.loss) for o in got)
    got.clear()  # the prior is journaled: a replay hands the same observations over again
    Study(SPACE, "loss", method=Sched(), fidelity=Fidelity("epochs", 1, 3), seed=0,
          storage=tmp_path / "new")
    assert got == list(warm.observations)


@pytest.mark.parametrize("bad", [42, {"x": 1}, [1, 2]])
def test_bad_sources_name_the_value(bad):
    with pytest.raises(WarmStartError, match=re.escape(repr(bad))):
        Study(SPACE, "loss", method="random", seed=0).add_results(bad)


def test_a_directory_without_a_study_and_a_bad_enqueue(tmp_path):
    study = Study(SPACE, "loss", method="random", seed=0)
    with pytest.raises(WarmStartError, match="nowhere"):
        study.add_results([tmp_path / "nowhere"])
    with pytest.raises(WarmStartError, match="-1"):
        study.add_results(pd.DataFrame({"x": [0.1], "n": [1], "loss": [1.0]}), enqueue=-1)


def test_a_categorical_space(tmp_path):
    space = SearchSpace([Categorical("act", ["relu", "gelu"]), Float("x", 0.0, 1.0)])
    frame = pd.DataFrame({"act": ["gelu", "tanh"], "x": [0.2, 0.3], "loss": [1.0, 0.5]})
    warm = Study(space, "loss", method="random", seed=0).add_results(frame)
    assert [o.config for o in warm.observations] == [{"act": "gelu", "x": 0.2}]
