"""Deterministic toy problems and drivers shared by the tests."""

from __future__ import annotations

import math

from hpo import Fidelity, Float, Int, SearchSpace, Study

SPACE = SearchSpace([Float("x", 0.0, 1.0), Int("n", 1, 4)])
FIDELITY = Fidelity("epochs", 1, 27)


def curve(config, budget):
    """A learning curve: converges to (x - 0.3)^2 + 0.01 n, crossing curves for some n."""
    return (config["x"] - 0.3) ** 2 + 0.01 * config["n"] + (0.5 + 0.1 * config["n"]) / budget


def drive(study: Study, max_budget: float, *, step: int = 1) -> list[tuple]:
    """Run a study sequentially (one worker), reporting every ``step`` budget units.

    Returns the decision sequence: (kind, trial, budget/config, verdict) tuples.
    """
    decisions = []
    while study.budget_used < max_budget:
        ticket = study.ask()
        if ticket is None:
            break
        decisions.append(("ask", ticket.trial_id, ticket.resume_from, ticket.budget,
                          tuple(sorted(ticket.config.items()))))
        b = ticket.resume_from
        top = ticket.max_budget if study.fidelity else 1
        while b < top:
            b = min(b + step, top)
            verdict = study.report(ticket.trial_id, {"loss": curve(ticket.config, b)}, budget=b,
                                   cost=b)
            decisions.append(("verdict", ticket.trial_id, b, verdict.decision.value))
            if verdict.should_stop:
                break
        else:
            study.finish(ticket.trial_id)
    return decisions


def journal_decisions(path) -> list[tuple]:
    """The decision events of a journal, without timestamps, owners and costs."""
    import json

    out = []
    for line in (path / "journal.jsonl").read_text().splitlines()[1:]:
        event = json.loads(line)
        event.pop("ts", None), event.pop("o", None), event.pop("c", None)
        out.append(json.dumps(event, sort_keys=True))
    return out


def finite(x):
    return x is not None and math.isfinite(x)
