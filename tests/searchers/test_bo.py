"""GPSearcher: contract, pending points, determinism, cheap replay, fallbacks, failures."""

import json
import math
import warnings

import numpy as np
import pytest

from hpo import (
    Categorical,
    Float,
    HPOWarning,
    Int,
    MethodError,
    Observation,
    SearchSpace,
    Trial,
    TrialStatus,
)
from hpo.testing import check_searcher_contract
from searchers import bo
from searchers.bo import GPSearcher, GPSettings
from searchers.models import FitReport

SPACE = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("layers", 1, 4),
                     Categorical("act", ["relu", "gelu"]), Float("x", -1.0, 1.0)])
FAST = GPSettings(n_candidates=64, n_refine=1, refit_every=4, fit_maxiter=30, warm_maxiter=10,
                  mc_samples=32)


def loss_of(config):
    return (math.log10(config["lr"]) + 2.5) ** 2 + 0.3 * config["layers"] \
        + (config["act"] == "gelu") * 0.5 + config["x"] ** 2


def tell(searcher, tid, config, loss, status=TrialStatus.COMPLETED):
    obs = Observation(budget=1, metrics={"loss": loss}, loss=loss, cost=1.0, time=0.0, step=0)
    searcher.observe(Trial(tid, config, TrialStatus.RUNNING, (obs,), None), obs)
    searcher.on_end(Trial(tid, config, status, (obs,), None))


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", HPOWarning)  # fallbacks must be asked for
        yield


def test_gp_searcher_contract():
    cheap = GPSettings(n_candidates=32, n_refine=0, refit_every=8, fit_maxiter=20,
                       warm_maxiter=5, mc_samples=16)
    check_searcher_contract(lambda space, seed: GPSearcher(space, seed=seed, settings=cheap),
                            SPACE)


def test_initial_design_is_sobol_then_the_model():
    s = GPSearcher(SPACE, seed=0, settings=FAST)
    assert s.n_init == 2 * (SPACE.dim + 1)
    kinds = []
    for tid in range(s.n_init + 3):
        config = s.suggest(tid)
        kinds.append(s.decision_record()["kind"])
        tell(s, tid, config, loss_of(config))
    assert kinds[:s.n_init] == ["init"] * s.n_init
    assert kinds[s.n_init] == "refit" and set(kinds[s.n_init:]) <= {"refit", "model"}


def test_pending_points_are_never_reproposed():
    space = SearchSpace([Int("a", 1, 3), Categorical("b", ["x", "y"])])  # 6 configs
    s = GPSearcher(space, seed=0, settings=GPSettings(n_init=2, n_candidates=64, n_refine=1))
    for tid in range(2):
        config = s.suggest(tid)
        tell(s, tid, config, float(config["a"]))
    running = [s.suggest(tid) for tid in range(2, 6)]  # nobody reports: all pending
    kinds = [json.dumps(c, sort_keys=True) for c in running]
    assert len(set(kinds)) == 4
    seen = {json.dumps(c, sort_keys=True) for c in s.encoder.decode(
        np.array([r[0] for r in s._rows.values()]))}
    assert not seen & set(kinds)


def test_pending_continuous_points_differ_and_use_x_pending():
    s = GPSearcher(SPACE, seed=3, settings=FAST)
    for tid in range(s.n_init):
        config = s.suggest(tid)
        tell(s, tid, config, loss_of(config))
    batch = [s.suggest(tid) for tid in range(s.n_init, s.n_init + 4)]
    X = s.encoder.encode(batch)
    gaps = [np.abs(X[i] - X[j]).max() for i in range(4) for j in range(i)]
    assert min(gaps) > 1e-6
    assert len(s._pending) == 4


def run(searcher, n, *, start=0, records=None, replay=None):
    """Suggest n configs; every third one stays pending for 2 rounds; losses from loss_of."""
    out, held = [], []
    for tid in range(start, start + n):
        if replay is not None:
            rec = replay[tid]
            config = searcher.replay_suggest(tid, budget=None, config=rec["config"],
                                             record=rec["record"])
        else:
            config = searcher.suggest(tid)
        if records is not None:
            records[tid] = json.loads(json.dumps({"config": config,
                                                  "record": searcher.decision_record()}))
        out.append(config)
        held.append((tid, config))
        if tid % 3 != 0 or len(held) > 2:
            t, c = held.pop(0)
            tell(searcher, t, c, loss_of(c) if t % 7 else math.nan)
    return out


def test_replay_from_records_is_cheap_and_continues_identically(monkeypatch):
    a = GPSearcher(SPACE, seed=5, settings=FAST)
    records = {}
    run(a, 18, records=records)
    b = GPSearcher(SPACE, seed=5, settings=FAST)

    def boom(*args, **kwargs):
        raise AssertionError("replay must not fit or optimise")

    monkeypatch.setattr(bo, "fit_model", boom)
    monkeypatch.setattr(bo, "propose", boom)
    assert run(b, 18, replay=records) == [records[t]["config"] for t in range(18)]
    monkeypatch.undo()
    assert b.decision_record() == records[17]["record"]
    assert run(a, 5, start=18) == run(b, 5, start=18)


def test_replay_without_a_record_recomputes():
    a = GPSearcher(SPACE, seed=2, settings=FAST)
    records = {}
    run(a, 13, records=records)
    for rec in records.values():
        rec["record"] = None
    b = GPSearcher(SPACE, seed=2, settings=FAST)
    assert run(b, 13, replay=records) == [records[t]["config"] for t in range(13)]
    assert run(a, 2, start=13) == run(b, 2, start=13)


def test_same_seed_same_proposals_other_seed_other():
    def seq(seed):
        return run(GPSearcher(SPACE, seed=seed, settings=FAST), 12)

    assert seq(4) == seq(4)
    assert seq(4) != seq(6)


def test_fit_failure_falls_back_to_previous_hypers_then_random(monkeypatch):
    s = GPSearcher(SPACE, seed=0, settings=GPSettings(n_init=4, refit_every=1,
                                                     n_candidates=32, n_refine=0))
    for tid in range(4):
        config = s.suggest(tid)
        tell(s, tid, config, loss_of(config))
    real = bo.fit_model
    monkeypatch.setattr(bo, "fit_model", lambda model, **kw: FitReport(False, "boom"))
    with pytest.warns(HPOWarning, match="no previous hyper-parameters"):
        config = s.suggest(4)
    assert s.decision_record()["kind"] == "fallback" and SPACE.validate(config) == config
    tell(s, 4, config, loss_of(config))
    monkeypatch.setattr(bo, "fit_model", real)
    s.suggest(5)
    assert s.decision_record()["kind"] == "refit"
    hypers = s.decision_record()["hypers"]
    monkeypatch.setattr(bo, "fit_model", lambda model, **kw: FitReport(False, "boom"))
    with pytest.warns(HPOWarning, match="previous hyper-parameters"):
        s.suggest(6)
    assert s.decision_record()["kind"] == "previous-hypers"
    assert s.decision_record()["hypers"] == hypers


def test_failed_and_nan_trials_become_penalised_rows():
    s = GPSearcher(SPACE, seed=1, settings=FAST)
    for tid in range(s.n_init + 4):
        config = s.suggest(tid)
        if tid % 3 == 0:
            s.on_end(Trial(tid, config, TrialStatus.FAILED, (), None))  # crash, no report
        else:
            tell(s, tid, config, math.nan if tid % 3 == 1 else loss_of(config))
    losses = [r[2] for r in s._rows.values()]
    assert sum(not math.isfinite(v) for v in losses) == 10 and not s._pending
    assert s.decision_record()["kind"] in ("refit", "model")


def test_random_fraction_one_is_random_search_after_the_design():
    s = GPSearcher(SPACE, seed=1, settings=GPSettings(n_init=3, random_fraction=1.0))
    for tid in range(6):
        config = s.suggest(tid)
        tell(s, tid, config, loss_of(config))
    assert s.decision_record()["kind"] == "random"


def test_bad_settings_are_method_errors():
    with pytest.raises(MethodError, match="refit_every must be an int >= 1, got 0"):
        GPSettings(refit_every=0)
    with pytest.raises(MethodError, match=r"random_fraction must be in \[0, 1\], got 2"):
        GPSettings(random_fraction=2)
    with pytest.raises(MethodError, match="mode 'joint' needs a fidelity"):
        GPSearcher(SPACE, seed=0, mode="joint")
    with pytest.raises(MethodError, match="unknown GP searcher mode 'x'"):
        GPSearcher(SPACE, seed=0, mode="x")


@pytest.mark.slow
def test_bo_beats_random_on_a_smooth_problem():
    """GP BO's best after 30 trials beats random search's in at least 8 of 10 seeds (a
    false failure needs BO to lose 3 of 10 to random: rare on this 4-D bowl)."""
    from searchers import RandomSearcher

    wins = 0
    for seed in range(10):
        gp, rnd = GPSearcher(SPACE, seed=seed), RandomSearcher(SPACE, seed=seed)
        best = []
        for s in (gp, rnd):
            values = []
            for tid in range(30):
                config = s.suggest(tid)
                values.append(loss_of(config))
                tell(s, tid, config, values[-1])
            best.append(min(values))
        wins += best[0] < best[1]
    assert wins >= 8
