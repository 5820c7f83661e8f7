"""ASHA promotion rule on hand-computed sequences, and the stopping variant."""

import numpy as np
import pytest

from hpo import Fidelity, Float, SearchSpace, Study
from hpo.core.decisions import Decision
from schedulers import ASHA, ASHAScheduler
from searchers import RandomSearcher

SPACE = SearchSpace([Float("x", 0.0, 1.0)])
FID = Fidelity("epochs", 1, 9)  # rungs 1, 3, 9


def study(**kwargs):
    return Study(SPACE, "loss", method=ASHA(**kwargs), fidelity=FID, seed=0)


def test_hand_computed_promotions():
    st = study()
    # first eta = 3 jobs are new: floor(n/3) == 0 for n < 3
    t = [st.ask() for _ in range(3)]
    assert [x.trial_id for x in t] == [0, 1, 2] and all(x.budget == 1 for x in t)
    for tid, loss in [(0, 0.5), (1, 0.9)]:
        assert st.report(tid, {"loss": loss}, budget=1).decision is Decision.PAUSE
    # rung0 = {0: .5, 1: .9}: floor(2/3) = 0 -> a new trial
    assert (st.ask().trial_id, st.ask() is not None) == (3, True)  # trials 3 and 4
    st.report(2, {"loss": 0.7}, budget=1)
    # rung0 = {.5, .7, .9}: top floor(3/3) = 1 -> trial 0 is promoted first
    resumed = st.ask()
    assert (resumed.trial_id, resumed.resume_from, resumed.budget) == (0, 1, 3)
    # trial 0 already promoted; next best (2) is rank 2 > 1 -> new trial 5
    assert st.ask().trial_id == 5
    st.report(3, {"loss": 0.1}, budget=1)
    st.report(4, {"loss": 0.2}, budget=1)
    st.report(5, {"loss": 0.3}, budget=1)
    # rung0 = {.1(3), .2(4), .3(5), .5(0), .7(2), .9(1)}: top 2 = {3, 4}, both unpromoted
    assert st.ask().trial_id == 3 and st.ask().trial_id == 4
    assert st.ask().trial_id == 6  # top 2 exhausted: new trial
    # rung1: trial 0 reaches budget 3 first; promotions from higher rungs go first
    assert st.report(0, {"loss": 0.45}, budget=3).decision is Decision.PAUSE
    st.report(3, {"loss": 0.05}, budget=3)
    st.report(4, {"loss": 0.15}, budget=3)
    top = st.ask()  # rung1 = {.05(3), .15(4), .45(0)}: floor(3/3)=1 -> trial 3 to budget 9
    assert (top.trial_id, top.budget) == (3, 9)
    assert st.report(3, {"loss": 0.01}, budget=9).decision is Decision.STOP
    assert st.trials[3].status.value == "completed"


def test_promotions_have_priority_and_never_repeat():
    st = study()
    rng = np.random.default_rng(0)
    promoted = []
    running = {}
    for _ in range(300):
        ticket = st.ask()
        if ticket.is_resume:
            promoted.append((ticket.trial_id, ticket.resume_from))
        running[ticket.trial_id] = ticket
        tid = min(running)
        tk = running.pop(tid)
        st.report(tid, {"loss": tk.config["x"] + 1 / tk.budget + rng.normal(0, 0.01)},
                  budget=tk.budget)
    assert len(promoted) == len(set(promoted))
    scheduler = st.scheduler
    for rung in scheduler.rungs[0][:-1]:  # every promotable top-1/eta entry got promoted
        top = int(len(rung.entries) / 3)
        assert rung.candidate(3) is None
        assert not set(t for _, t in rung.entries[:top]) & set(t for _, t in rung.unpromoted)


def mispromotion_fraction(n, reps, seed):
    """Fraction of rung-0 promotions not in the final top n/eta (i.i.d. losses, 1 worker)."""
    rng = np.random.default_rng(seed)
    fractions = []
    for _ in range(reps):
        sched = ASHAScheduler(RandomSearcher(SPACE, seed=0), Fidelity("e", 1, 3), eta=3)
        rung = sched.rungs[0][0]
        losses = rng.random(n)
        promoted = []
        for i, loss in enumerate(losses):
            rung.add(float(loss), i, promotable=True)
            while (c := rung.candidate(3)) is not None:
                rung.remove_unpromoted(c)
                promoted.append(c)
        best = set(np.argsort(losses)[: n // 3])
        fractions.append(sum(p not in best for p in promoted) / len(promoted))
    return float(np.mean(fractions))


def test_mispromotions_shrink_as_rungs_fill():
    f81, f243, f729 = (mispromotion_fraction(n, 60, seed=n) for n in (81, 243, 729))
    assert f81 > f243 > f729
    assert f243 < 0.15


def test_stopping_variant_rule():
    st = study(variant="stopping")
    tickets = [st.ask() for _ in range(4)]
    assert all(t.budget == 9 for t in tickets)  # stopping trials run to the max budget
    # rung 1 (budget 1): keep iff rank < ceil(n/3); the first arrival always continues
    assert st.report(0, {"loss": 0.5}, budget=1).decision is Decision.CONTINUE   # 1/1
    assert st.report(1, {"loss": 0.6}, budget=1).decision is Decision.STOP       # 2nd of 2
    assert st.report(2, {"loss": 0.1}, budget=1).decision is Decision.CONTINUE   # best of 3
    verdict = st.report(3, {"loss": 0.3}, budget=1)                              # 2nd of 4: keep 2
    assert verdict.decision is Decision.CONTINUE
    assert st.report(0, {"loss": 0.4}, budget=2).decision is Decision.CONTINUE   # between rungs
    assert st.report(0, {"loss": 0.35}, budget=3).decision is Decision.CONTINUE  # first at rung 3
    stopped = st.report(2, {"loss": 0.9}, budget=3)
    assert stopped.decision is Decision.STOP and "rank 2 of 2" in stopped.reason
    assert st.report(0, {"loss": 0.2}, budget=9).decision is Decision.STOP
    assert st.trials[0].status.value == "completed" and st.trials[2].status.value == "stopped"


def test_skipped_rungs_are_recorded_at_the_highest_level_reached():
    st = study()
    for _ in range(3):
        st.ask()
    assert st.report(0, {"loss": 0.1}, budget=4).decision is Decision.PAUSE  # 1 and 3 passed
    assert [len(r) for r in st.scheduler.rungs[0]] == [0, 1, 0]


def test_multi_bracket_asha_uses_its_own_rng():
    a = study(brackets=3)
    b = study(brackets=3)
    budgets_a = [a.ask().budget for _ in range(200)]
    assert budgets_a == [b.ask().budget for _ in range(200)]
    freq = np.bincount([{1: 0, 3: 1, 9: 2}[x] for x in budgets_a]) / 200
    weights = np.array([3 / (3 * 1), 3 / (2 * 3), 3 / (1 * 9)])  # (s_max+1)/((s_max+1-b) r_b)
    expected = weights / weights.sum()
    assert np.allclose(freq, expected, atol=0.08)


def test_invalid_options():
    from hpo import MethodError

    with pytest.raises(MethodError, match="unknown ASHA variant 'kill'"):
        ASHA(variant="kill")
    with pytest.raises(MethodError, match=r"brackets must be in \[1, 3\]"):
        study(brackets=4)
