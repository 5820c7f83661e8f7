"""The GP methods bo / mobster / hyperband-bo: contracts, by-name studies, journaled options."""

import shutil
import warnings

import pytest

import hpo
from hpo import Categorical, Fidelity, Float, Int, SearchSpace
from hpo.testing import check_scheduler_contract
from schedulers.model_based import BO, MOBSTER, HyperbandBO

SPACE = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("layers", 1, 4),
                     Categorical("act", ["relu", "gelu", "tanh"])])
CHEAP = {"n_candidates": 32, "n_refine": 0, "refit_every": 8, "fit_maxiter": 20,
         "warm_maxiter": 5, "mc_samples": 16}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@pytest.fixture(scope="module", autouse=True)
def _registered():
    """The entry points need a reinstall (`pip install -e .`); register until then."""
    for cls in (BO, MOBSTER, HyperbandBO):
        if cls.name not in hpo.available_methods():
            hpo.register_method(cls)


@pytest.mark.parametrize("method,fidelity,budget", [
    (BO(**CHEAP), None, None),
    pytest.param(BO(**CHEAP), Fidelity("epochs", 1, 27), None, marks=pytest.mark.slow),
    (MOBSTER(**CHEAP), Fidelity("epochs", 1, 27), 6 * 27),
    pytest.param(MOBSTER(brackets=2, **CHEAP), Fidelity("tokens", 0.1, 2.7, integer=False),
                 8 * 2.7, marks=pytest.mark.slow),
    (HyperbandBO(**CHEAP), Fidelity("epochs", 1, 27), 6 * 27),
    (MOBSTER(kernel="exp-decay-sum", **CHEAP), Fidelity("epochs", 1, 27), 6 * 27),
], ids=["bo", "bo-fidelity", "mobster", "mobster-2-brackets-float", "hyperband-bo",
        "mobster-exp-decay-sum"])
def test_scheduler_contract(method, fidelity, budget):
    check_scheduler_contract(method, SPACE, fidelity, workers=3, max_budget=budget)


def _objective(config, budget):
    import math
    return (math.log10(config["lr"]) + 2.5) ** 2 + 0.1 * config["layers"] + 0.5 / budget


@pytest.mark.parametrize("name,fidelity", [("bo", None), ("mobster", Fidelity("epochs", 1, 9)),
                                           ("hyperband-bo", Fidelity("epochs", 1, 9))])
def test_short_study_by_name(name, fidelity):
    space = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("layers", 1, 4)])
    study = hpo.Study(space, "loss", method=name, fidelity=fidelity, seed=0)
    trials = 0
    while trials < 20:
        ticket = study.ask()
        if ticket is None:
            break
        budget = ticket.budget if ticket.budget is not None else 1
        study.report(ticket.trial_id, {"loss": _objective(ticket.config, budget)},
                     budget=ticket.budget)
        if fidelity is None or ticket.budget >= fidelity.max:
            study.finish(ticket.trial_id)
        trials += 1
    top = fidelity.max if fidelity is not None else 1
    best = min(t.loss for t in study.trials.values() if t.budget >= top)
    assert best < 0.1 + 0.5 / top + 0.3  # the optimum plus a margin random search often misses


@pytest.mark.parametrize("name,fidelity", [("bo", None), ("mobster", Fidelity("epochs", 1, 9)),
                                           ("mobster-exp-decay-sum", Fidelity("epochs", 1, 9))])
def test_reopened_journal_replays_without_fitting_and_continues_identically(
        tmp_path, monkeypatch, name, fidelity):
    """Resume is replay: reopening must not fit (records carry the hyper-parameters) and the
    next decisions must equal those of the uninterrupted run."""
    from searchers import bo

    space = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("layers", 1, 4)])
    method = {"bo": BO(**CHEAP), "mobster": MOBSTER(**CHEAP),
              "mobster-exp-decay-sum": MOBSTER(kernel="exp-decay-sum", **CHEAP)}[name]

    def drive(study, n):
        out = []
        for _ in range(n):
            ticket = study.ask()
            out.append((ticket.trial_id, ticket.budget, ticket.config))
            budget = ticket.budget if ticket.budget is not None else 1
            study.report(ticket.trial_id, {"loss": _objective(ticket.config, budget)},
                         budget=ticket.budget)
            if fidelity is None or ticket.budget >= fidelity.max:
                study.finish(ticket.trial_id)
        return out

    path = tmp_path / "study"
    original = hpo.Study(space, "loss", method=method, fidelity=fidelity, seed=3, storage=path)
    drive(original, 16)
    copy = tmp_path / "copy"
    shutil.copytree(path, copy)
    real_fit, real_propose = bo.fit_model, bo.propose

    def boom(*args, **kwargs):
        raise AssertionError("replay fitted or optimised")

    monkeypatch.setattr(bo, "fit_model", boom)
    monkeypatch.setattr(bo, "propose", boom)
    reopened = hpo.Study.open(copy)
    monkeypatch.setattr(bo, "fit_model", real_fit)
    monkeypatch.setattr(bo, "propose", real_propose)
    assert drive(reopened, 4) == drive(original, 4)


def test_methods_rebuild_from_their_json():
    from hpo.core.methods import method_from_json

    for method in (BO(refit_every=3), MOBSTER(eta=4, threads=2), HyperbandBO(iterations=2)):
        assert method_from_json(method.to_json()) == method
    assert MOBSTER().random_fraction == 0.1 and HyperbandBO().random_fraction == 1 / 3
    assert BO().random_fraction == 0.0


def test_bad_options_raise_method_errors():
    with pytest.raises(hpo.MethodError, match="max_rows must be an int >= 10, got 2"):
        BO(max_rows=2)
    with pytest.raises(hpo.MethodError, match="multi-fidelity: pass fidelity="):
        hpo.Study(SPACE, "loss", method=MOBSTER(), seed=0)
    with pytest.raises(hpo.MethodError, match="kernel must be one of .*'exp-decay'"):
        MOBSTER(kernel="exp-decay")
    with pytest.raises(hpo.MethodError, match="needs mode 'joint'"):
        hpo.Study(SPACE, "loss", method=BO(kernel="exp-decay-sum"), seed=0)
