"""The ``transfer`` method: contract, scaling study by name, replay, and the acquisition's
preference for cheap proxies while the drift is uncertain (algorithms.md §5.7, V6 ii)."""

import math
import shutil

import numpy as np
import pytest

import hpo
from benchmarks.scaling_synthetic import make_problem, sweep
from hpo.testing import check_scheduler_contract
from schedulers.transfer import Transfer
from searchers.transfer import TransferSearcher

FAST = Transfer(n_init=6, starts=1, maxiter=30, candidates=8)


def test_scheduler_contract_single_scale():
    space = hpo.SearchSpace([hpo.Float("lr", 1e-5, 1e-1, log=True), hpo.Float("x", 0.0, 1.0)])
    check_scheduler_contract(Transfer(n_init=26, starts=1, maxiter=20, candidates=4), space,
                             None)


@pytest.mark.parametrize("bad", [dict(n_init=1), dict(growth=1.0), dict(starts=0),
                                 dict(batch_policy="x"), dict(roles=(("lr", "speed"),))])
def test_recipe_validates(bad):
    with pytest.raises(hpo.MethodError):
        Transfer(**bad)


def _run(study, problem, n, rng):
    for _ in range(n):
        ticket = study.ask()
        y = problem.evaluate(ticket.config, ticket.scale, rng)
        study.tell(ticket.trial_id, {"loss": y if math.isfinite(y) else float("nan")})


def test_study_by_name_runs_end_to_end_and_replays(tmp_path):
    problem = make_problem("sp", 5)
    study = hpo.Study(problem.space, "loss", method=FAST, seed=3, storage=tmp_path / "s",
                      scaling=problem.scaling)
    assert hpo.core.methods.method_class("transfer") is Transfer
    _run(study, problem, 9, np.random.default_rng(0))
    scales = [dict(t.scale) for t in study.trials.values()]
    assert all(problem.scaling.check(s) == s for s in scales)
    assert study.scheduler.decision_record()["mode"] == "model"
    # reopen a copy: both studies then go on independently (on the shared folder the
    # original's next start would be replayed into the reopened study as a running trial)
    shutil.copytree(tmp_path / "s", tmp_path / "copy")
    reopened = hpo.Study.open(tmp_path / "copy")
    assert [dict(t.scale) for t in reopened.trials.values()] == scales
    assert [t.config for t in reopened.trials.values()] == \
        [t.config for t in study.trials.values()]
    # the next decision after a resume equals the uninterrupted study's
    a, b = study.ask(), reopened.ask()
    assert a.trial_id == b.trial_id
    assert (a.config, a.scale) == (b.config, b.scale)


def test_acquisition_prefers_cheap_proxies_while_the_drift_is_uncertain():
    problem = make_problem("mup", 1)
    rng = np.random.default_rng(0)
    trials = [t for t in sweep(problem, rng, lrs=4) if t.scale["width"] <= 128]
    searcher = TransferSearcher(problem.space, seed=0, n_init=3, starts=1, maxiter=60)
    searcher.bind(problem.scaling)
    for t in trials:
        searcher.on_end(t)
    fit, _ = searcher._current_fit()
    X, scales, score = searcher.scores(fit, np.random.default_rng(1))
    best = {}
    for s, v in zip(scales, score):
        best[s["width"]] = max(best.get(s["width"], -np.inf), v)
    assert max(best, key=best.get) == 64.0
    assert best[64.0] > best[512.0]
    config, scale = searcher.propose(len(trials))
    assert scale == {"width": 64.0} and problem.space.validate(config) == config
