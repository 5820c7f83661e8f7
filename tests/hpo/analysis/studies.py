"""Small real studies for the analysis tests, built with the public API (ask / report / tell)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import hpo

SPACE = hpo.SearchSpace([hpo.Float("lr", 1e-4, 1e-1, log=True), hpo.Int("layers", 1, 4),
                         hpo.Categorical("opt", ["adam", "sgd"])])
FIDELITY = hpo.Fidelity("epoch", 1, 27)
FAIL_REASON = "RuntimeError: CUDA out of memory <b>at</b> epoch 2"


def loss(config, epoch):
    """Driven by lr (far from 1e-2 is bad); layers and opt matter little."""
    return (math.log10(config["lr"]) + 2) ** 2 + 0.01 * config["layers"] + 1.0 / epoch


@dataclass
class Built:
    path: Path
    study: hpo.Study
    failed: list[int] = field(default_factory=list)
    running: list[int] = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)

    def events(self, kind=None):
        lines = (self.path / "journal.jsonl").read_text().splitlines()
        events = [json.loads(line) for line in lines]
        return [e for e in events if kind is None or e["e"] == kind]


def run_trials(built: Built, n_tickets: int, *, fail_every: int = 0, nan_at: int = -1,
               leave_running: bool = False) -> None:
    """Hand out ``n_tickets`` tickets and run each to its verdict, one epoch per report: every
    ``fail_every``-th new trial fails after one report, ticket ``nan_at`` reports NaN (stopped),
    and with ``leave_running`` the last ticket is handed out and never reported."""
    study = built.study
    for k in range(n_tickets):
        ticket = study.ask()
        assert ticket is not None
        tid, epoch = ticket.trial_id, ticket.resume_from
        if leave_running and k == n_tickets - 1:
            built.running.append(tid)
            return
        if k == nan_at and not ticket.is_resume:
            study.report(tid, {"loss": math.nan}, budget=1, cost=0.5)
            built.stopped.append(tid)
            continue
        if fail_every and k % fail_every == fail_every - 1 and not ticket.is_resume:
            study.report(tid, {"loss": loss(ticket.config, 1)}, budget=1, cost=0.5)
            study.fail(tid, FAIL_REASON)
            built.failed.append(tid)
            continue
        while True:
            epoch += 1
            verdict = study.report(tid, {"loss": loss(ticket.config, epoch), "acc": 1 / epoch},
                                   budget=epoch, cost=0.5)
            if verdict.should_stop:
                break


def asha_study(path: Path, n_tickets: int = 30, **kwargs) -> Built:
    study = hpo.Study(SPACE, "loss", method="asha", fidelity=FIDELITY, seed=0, storage=path)
    built = Built(path, study)
    run_trials(built, n_tickets, fail_every=kwargs.get("fail_every", 9),
               nan_at=kwargs.get("nan_at", 4), leave_running=kwargs.get("leave_running", True))
    return built
