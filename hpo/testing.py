"""Contract checks every scheduler and searcher must pass (used by scaletune's own tests; run
them on your own implementations too).

Example:
    >>> from hpo import Fidelity, SearchSpace, Float
    >>> from schedulers import ASHA
    >>> check_scheduler_contract(ASHA(), SearchSpace([Float("x", 0.0, 1.0)]),
    ...                          Fidelity("epochs", 1, 9))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from hpo.core.decisions import Verdict
from hpo.core.methods import Method
from hpo.core.protocols import Searcher
from hpo.core.study import Study
from hpo.core.trial import Observation, Trial, TrialStatus
from hpo.core.types import Fidelity
from hpo.space.search_space import SearchSpace


def toy_loss(config: dict[str, Any], space: SearchSpace, budget: float) -> float:
    """A deterministic learning curve over any space: distance to the cube centre + 1/budget."""
    u = space.encode(config)
    return float(np.sum((u - 0.4) ** 2)) + 1.0 / max(budget, 1e-9)


def simulate(study: Study, *, workers: int, max_budget: float, seed: int,
             extra_polls: int = 0, fail_every: int = 0) -> list[tuple]:
    """Drive ``study`` with ``workers`` simulated workers finishing in a seeded random order.

    Each running trial reports one budget unit at a time. ``extra_polls`` calls the scheduler's
    ``next_action`` again after every None (it must have no side effects); ``fail_every`` fails
    every n-th trial. Returns the decision log.
    """
    rng = np.random.default_rng(seed)
    running: dict[int, Any] = {}
    log: list[tuple] = []
    fidelity = study.fidelity
    step = max(1, (fidelity.max - fidelity.min) / 20) if fidelity else 1
    while True:
        while len(running) < workers and study.budget_used < max_budget:
            ticket = study.ask()
            if ticket is None:
                for _ in range(extra_polls):
                    study.scheduler.next_action(study.view())
                break
            running[ticket.trial_id] = [ticket, ticket.resume_from]
            log.append(("ask", ticket.trial_id, ticket.resume_from, ticket.budget,
                        sorted(ticket.config.items())))
        if not running:
            return log
        tid = int(rng.choice(sorted(running)))
        ticket, at = running[tid]
        if fail_every and tid % fail_every == fail_every - 1:
            study.fail(tid, "scripted failure")
            running.pop(tid)
            log.append(("fail", tid))
            continue
        top = fidelity.max if fidelity else 1
        at = min(top, at + step) if fidelity else 1
        if fidelity and fidelity.integer:
            at = int(math.ceil(at))
        running[tid][1] = at
        verdict = study.report(tid, {"loss": toy_loss(ticket.config, study.space, at)},
                               budget=at if fidelity else None, cost=0.5 * at)
        assert isinstance(verdict, Verdict), f"on_result returned {verdict!r}"
        log.append(("report", tid, at, verdict.decision.value))
        if verdict.should_stop:
            running.pop(tid)
        elif not fidelity or at >= top:
            study.finish(tid)
            running.pop(tid)


def check_scheduler_contract(method: Method, space: SearchSpace, fidelity: Fidelity | None, *,
                             workers: int = 3, max_budget: float | None = None) -> None:
    """Raise AssertionError if ``method``'s scheduler breaks the Scheduler contract."""
    max_budget = max_budget or (30 * fidelity.max if fidelity else 30)

    def run(seed: int, extra_polls: int = 0, fail_every: int = 0) -> tuple[Study, list[tuple]]:
        study = Study(space, "loss", method=method, fidelity=fidelity, seed=seed)
        return study, simulate(study, workers=workers, max_budget=max_budget, seed=seed,
                               extra_polls=extra_polls, fail_every=fail_every)

    study, log = run(0)
    assert any(e[0] == "report" for e in log), "the scheduler never started a trial"
    trials = list(study.trials.values())
    for trial in trials:
        budgets = [o.budget for o in trial.observations]
        assert budgets == sorted(budgets) and len(set(budgets)) == len(budgets), \
            f"trial {trial.id}: budgets went backwards or repeated: {budgets}"
        space.validate(trial.config)
    assert math.isclose(study.budget_used, sum(t.budget for t in trials))
    assert math.isclose(study.cost_used, sum(t.cost for t in trials))
    for event in log:  # a resume always continues from the trial's recorded budget
        if event[0] == "ask" and event[2] > 0:
            assert event[3] > event[2], f"resume to a budget not above the current one: {event}"
    assert run(0)[1] == log, "same seed, same events: different decisions"
    assert run(0, extra_polls=3)[1] == log, "a None from next_action changed the state"
    assert run(1)[1] != log, "different seeds gave identical decisions"
    failing, _ = run(2, fail_every=4)
    assert any(t.status is TrialStatus.FAILED for t in failing.trials.values())


def check_searcher_contract(make: Callable[[SearchSpace, int], Searcher],
                            space: SearchSpace) -> None:
    """Raise AssertionError if ``make(space, seed)``'s searcher breaks the Searcher contract."""

    def sequence(seed: int, n: int = 25) -> list[dict[str, Any]]:
        searcher = make(space, seed)
        out = []
        for tid in range(n):
            config = searcher.suggest(tid, budget=None)
            if config is None:
                break
            assert space.validate(config) == config, f"config {config} is not canonical"
            out.append(config)
            loss = math.nan if tid % 5 == 4 else toy_loss(config, space, 1.0)
            obs = Observation(budget=1, metrics={"loss": loss},
                              loss=math.inf if math.isnan(loss) else loss, cost=1.0, time=0.0,
                              step=0)
            status = TrialStatus.FAILED if tid % 7 == 6 else TrialStatus.COMPLETED
            trial = Trial(tid, config, TrialStatus.RUNNING, (obs,), 1)
            searcher.observe(trial, obs)
            searcher.on_end(Trial(tid, config, status, (obs,), 1))
        return out

    first = sequence(0)
    assert first, "the searcher suggested nothing"
    assert sequence(0) == first, "same seed gave a different sequence"
    assert sequence(1) != first, "different seeds gave the same sequence"
