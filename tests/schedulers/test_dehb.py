"""DEHB: population sizes, bracket bookkeeping, first-iteration promotions, async runs."""

import numpy as np
import pytest

from hpo import Fidelity, Float, MethodError, SearchSpace, Study, TrialStatus
from schedulers import DEHB
from schedulers.brackets import hyperband_brackets
from schedulers.dehb import population_sizes

SPACE = SearchSpace([Float("x", 0.0, 1.0), Float("y", 0.0, 1.0)])
FID = Fidelity("epochs", 1, 81)


def toy(config, budget):
    return config["x"] + 0.1 * config["y"] + 1.0 / budget


def run(study, workers, seed, max_budget):
    """Random completion order with `workers` workers; each job reports at its budget."""
    rng = np.random.default_rng(seed)
    running, log = {}, []
    while True:
        while len(running) < workers and study.budget_used < max_budget:
            ticket = study.ask()
            if ticket is None:
                break
            running[ticket.trial_id] = ticket
            log.append(("ask", ticket.trial_id, ticket.budget, ticket.is_resume))
        if not running:
            return log
        tid = int(rng.choice(sorted(running)))
        ticket = running.pop(tid)
        verdict = study.report(tid, {"loss": toy(ticket.config, ticket.budget)},
                               budget=ticket.budget)
        log.append(("result", tid, ticket.budget, verdict.decision.value))


def test_population_sizes_and_bracket_counts():
    brackets = hyperband_brackets(1, 81, 3, convention="hpbandster")
    assert population_sizes(brackets) == {1: 81, 3: 27, 9: 9, 27: 6, 81: 5}
    assert [list(b.counts) for b in brackets] == [[81, 27, 9, 3, 1], [27, 9, 3, 1], [9, 3, 1],
                                                   [6, 2], [5]]
    study = Study(SPACE, "loss", method="dehb", fidelity=FID, seed=0)
    sizes = {b: p.size for b, p in study.scheduler.de.populations.items()}
    assert sizes == {1: 81, 3: 27, 9: 9, 27: 6, 81: 5}


def test_first_iteration_promotes_the_top_of_each_rung_by_resuming():
    study = Study(SPACE, "loss", method=DEHB(mode="sync"), fidelity=FID, seed=0)
    run(study, workers=4, seed=0, max_budget=297)  # bracket s=4 with checkpoint reuse
    first = [t for t in study.trials.values() if t.id < 81]
    assert len(first) == 81
    for low, high, n in ((1, 3, 27), (3, 9, 9), (9, 27, 3), (27, 81, 1)):
        at_low = [t for t in first if t.loss_at(low) is not None]
        promoted = sorted(t.id for t in at_low if t.loss_at(high) is not None)
        best = sorted(t.id for t in sorted(at_low, key=lambda t: (t.loss_at(low), t.id))[:n])
        assert promoted == best
    assert sum(t.status is TrialStatus.COMPLETED for t in first) == 1


def test_rungs_are_synchronous_inside_each_bracket():
    study = Study(SPACE, "loss", method="dehb", fidelity=FID, seed=1)
    log = run(study, workers=4, seed=1, max_budget=6000)
    sched = study.scheduler
    assert sched._opened > len(sched.brackets)  # later iterations ran (DE everywhere)
    bracket_of = {tid: b for tid, (b, _) in sched._where.items()}
    # no rung-(i+1) job of a bracket before all its rung-i results
    by_bracket = {}
    for n, event in enumerate(log):
        b = bracket_of.get(event[1])
        if b is not None:
            by_bracket.setdefault(b.index, []).append((n, event))
    for events in by_bracket.values():
        budgets = sorted({e[2] for _, e in events})
        for low, high in zip(budgets, budgets[1:]):
            last_low = max(n for n, e in events if e[0] == "result" and e[2] == low)
            first_high = min(n for n, e in events if e[0] == "ask" and e[2] == high)
            assert last_low < first_high


def test_async_brackets_overlap_and_no_worker_waits():
    study = Study(SPACE, "loss", method="dehb", fidelity=FID, seed=2)
    rng = np.random.default_rng(2)
    running = {}
    max_active = 0
    for _ in range(3000):
        while len(running) < 16:
            ticket = study.ask()
            assert ticket is not None, "a worker had to wait"
            running[ticket.trial_id] = ticket
        max_active = max(max_active, len(study.scheduler._active))
        tid = int(rng.choice(sorted(running)))
        ticket = running.pop(tid)
        study.report(tid, {"loss": toy(ticket.config, ticket.budget)}, budget=ticket.budget)
    assert max_active >= 3


def test_populations_never_get_worse():
    study = Study(SPACE, "loss", method="dehb", fidelity=FID, seed=3)
    pops = study.scheduler.de.populations
    history = {b: [] for b in pops}
    rng = np.random.default_rng(3)
    for _ in range(1500):
        ticket = study.ask()
        study.report(ticket.trial_id, {"loss": toy(ticket.config, ticket.budget) +
                                       rng.normal(0, 0.01)}, budget=ticket.budget)
        for b, pop in pops.items():
            history[b].append(pop.best_loss())
    for values in history.values():
        assert all(b <= a for a, b in zip(values, values[1:]))


def test_dehb_is_deterministic_and_beats_random_on_the_toy():
    def best(method, seed):
        study = Study(SPACE, "loss", method=method, fidelity=FID, seed=seed)
        run(study, workers=4, seed=seed, max_budget=81 * 40)
        return study.best().loss, [t.config for t in study.trials.values()]

    a, b = best("dehb", 5), best("dehb", 5)
    assert a == b
    dehb = [best("dehb", s)[0] for s in range(5)]
    random = [best("random", s)[0] for s in range(5)]
    assert np.median(dehb) < np.median(random)


def test_invalid_dehb_options():
    with pytest.raises(MethodError, match="mode"):
        DEHB(mode="fast")
    with pytest.raises(MethodError, match="strategy"):
        DEHB(strategy="rand9_bin")
    with pytest.raises(MethodError, match="eta"):
        DEHB(eta=1)
