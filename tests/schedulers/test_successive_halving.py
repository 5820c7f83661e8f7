"""Synchronous SH / Hyperband on a deterministic toy: y(x, r) = x + 1/r."""

import numpy as np

from hpo import Fidelity, Float, SearchSpace, Study, TrialStatus
from schedulers import Hyperband, SuccessiveHalving
from schedulers.brackets import hyperband_brackets

SPACE = SearchSpace([Float("x", 0.0, 1.0)])
FID = Fidelity("epochs", 1, 81)


def toy(config, budget):
    return config["x"] + 1.0 / budget


def run_parallel(study, workers, rng, max_trials_seen=None, stop_budget=None):
    """Simulate `workers` parallel workers finishing their segments in random order."""
    running = {}
    log = []
    while True:
        while len(running) < workers:
            ticket = study.ask()
            if ticket is None:
                break
            running[ticket.trial_id] = ticket
            log.append(("ask", ticket.trial_id, ticket.budget))
        if not running or (stop_budget and study.budget_used >= stop_budget):
            return log
        tid = rng.choice(sorted(running))
        ticket = running.pop(tid)
        verdict = study.report(tid, {"loss": toy(ticket.config, ticket.budget)},
                               budget=ticket.budget)
        log.append(("result", tid, ticket.budget, verdict.decision.value))


def test_one_bracket_keeps_the_best_at_every_rung():
    study = Study(SPACE, "loss", method=SuccessiveHalving(eta=3), fidelity=FID, seed=0)
    bracket = hyperband_brackets(1, 81, 3)[0]
    log = run_parallel(study, workers=4, rng=np.random.default_rng(0), stop_budget=297)
    trials = study.trials
    for i, (count, budget) in enumerate(zip(bracket.counts, bracket.budgets)):
        at_rung = [t for t in trials.values() if t.loss_at(budget) is not None and t.id < 81]
        assert len(at_rung) == count
        if i + 1 < len(bracket.counts):
            xs = sorted(t.config["x"] for t in at_rung)
            promoted = sorted(t.config["x"] for t in at_rung
                              if t.loss_at(bracket.budgets[i + 1]) is not None)
            assert promoted == xs[:bracket.counts[i + 1]]  # exactly the n_{i+1} smallest x
    finished = [t for t in trials.values() if t.status is TrialStatus.COMPLETED]
    assert len(finished) >= 1 and finished[0].budget == 81
    # the synchronous barrier: no rung-(i+1) job before every rung-i result of the bracket
    results_at = {b: [n for n, e in enumerate(log) if e[0] == "result" and e[2] == b and e[1] < 81]
                  for b in bracket.budgets}
    for low, high in zip(bracket.budgets, bracket.budgets[1:]):
        first_high_ask = min(n for n, e in enumerate(log) if e[0] == "ask" and e[2] == high)
        assert max(results_at[low]) < first_high_ask


def test_losers_are_retired_not_left_paused():
    study = Study(SPACE, "loss", method=SuccessiveHalving(eta=3, halvings=2), fidelity=FID,
                  seed=0)
    # halvings=2 on the ladder 1..81: budgets 9, 27, 81 with li2018 counts 15, 5, 1
    run_parallel(study, workers=1, rng=np.random.default_rng(1),
                 stop_budget=15 * 9 + 5 * (27 - 9) + (81 - 27))
    first = [t for t in study.trials.values() if t.id < 15]
    statuses = sorted(t.status.value for t in first)
    assert statuses.count("completed") == 1 and statuses.count("stopped") == 14
    assert all("not promoted" in t.reason for t in first if t.status is TrialStatus.STOPPED)


def test_hyperband_cycles_the_paper_brackets_with_one_worker():
    study = Study(SPACE, "loss", method=Hyperband(iterations=1), fidelity=FID, seed=0)
    run_parallel(study, workers=1, rng=np.random.default_rng(0))
    assert len(study) == 143
    assert study.budget_used == 1581  # the paper's table with checkpoint reuse
    assert study.is_finished()
    assert study.ask() is None


def test_hyperband_pipelines_brackets_when_workers_wait():
    study = Study(SPACE, "loss", method="hyperband", fidelity=FID, seed=0)
    log = run_parallel(study, workers=8, rng=np.random.default_rng(2), stop_budget=2000)
    asks = [e for e in log if e[0] == "ask"]
    # with 8 workers, bracket s=3 starts (budget 3) before bracket s=4 (81 configs) finishes
    first_b3 = min(n for n, e in enumerate(asks) if e[2] == 3 and e[1] >= 81)
    last_b4_rung0 = max(n for n, e in enumerate(asks) if e[1] < 81 and e[2] == 1)
    assert first_b3 > last_b4_rung0
    assert study.budget_used >= 2000
