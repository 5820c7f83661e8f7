"""A discrete-event simulation of ``n`` workers running a study on a benchmark problem.

Schedulers run unchanged: the simulator drives ``study.ask / report / finish`` exactly as a real
executor would, but an evaluation takes the problem's cost in *simulated* seconds. A paused trial
keeps its progress: when it is resumed, a resumable problem charges only the cost from its last
budget to the new one; a non-resumable one (training-set size) charges a full retraining.
On a non-resumable problem a trial reports at its target and at the method's
``report_levels`` below it (a stopping-type method's rungs), re-training at each, as a user's
script would: every such report charges the full cost and resource of its training.

The run stops handing out work once the resource spent reaches ``max_budget`` (fidelity units,
counting retraining) or the clock reaches ``max_time``; running segments are finished.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.problem import Problem
from hpo import Study


@dataclass
class RunRecord:
    """What one simulated run produced.

    Attributes:
        trajectory: ``(sim_time, spent, true_loss)`` each time the incumbent changed; the
            incumbent is the best *observed* full-fidelity result, and the recorded loss is
            its noise-free loss (what regret is computed from).
        spent: resource consumed (fidelity units, retraining included).
        sim_time: simulated wall time at the end.
        n_trials / n_reports: trials created and results reported.
        decision_s: real seconds spent in ``ask`` / ``report`` (the optimiser's overhead).
        real_s: real seconds of the whole run.
        best_config: the final incumbent.
        evaluations: ``(cumulative cost, observed loss)`` of every trial's last report on a
            single-fidelity problem or one that ``records_evaluations`` (the data of the
            cost-aware Pareto metrics).
    """

    trajectory: list[tuple[float, float, float]] = field(default_factory=list)
    spent: float = 0.0
    sim_time: float = 0.0
    n_trials: int = 0
    n_reports: int = 0
    decision_s: float = 0.0
    real_s: float = 0.0
    best_config: dict[str, Any] | None = None
    evaluations: list[tuple[float, float]] = field(default_factory=list)

    @property
    def final_loss(self) -> float:
        return self.trajectory[-1][2] if self.trajectory else math.inf


_RUN_IDS = itertools.count()


@dataclass
class _Segment:
    trial_id: int
    config: dict[str, Any]
    budgets: list[float]
    losses: list[float]
    costs: list[float]
    base_budget: float
    base_cost: float
    index: int = 0


class Simulator:
    """Runs ``study`` on ``problem`` with ``workers`` simulated workers."""

    def __init__(self, study: Study, problem: Problem, *, workers: int, seed: int,
                 report_levels: Sequence[float] | None = None) -> None:
        self.study, self.problem = study, problem
        self.report_levels = list(report_levels) if report_levels else None
        self.workers, self.seed = workers, seed
        self.record = RunRecord()
        self._clock = 0.0
        self._heap: list[tuple[float, int, int]] = []
        self._segments: dict[int, _Segment] = {}
        self._reached: dict[int, tuple[float, float]] = {}  # trial -> (budget, cumulative cost)
        self._seq = 0
        self._best = math.inf
        self._run = next(_RUN_IDS)  # keys stateful problems' checkpoints to this run only

    def run(self, max_budget: float, max_time: float = math.inf,
            max_trials: int | None = None) -> RunRecord:
        start = time.perf_counter()
        while True:
            if self._clock < max_time and (max_trials is None or len(self.study) < max_trials):
                self._fill(max_budget, max_trials)
            if not self._heap:
                break
            finish, _, trial_id = heapq.heappop(self._heap)
            self._clock = finish
            self._report(self._segments[trial_id])
        self.problem.end_run(self._run)
        rec = self.record
        rec.sim_time, rec.real_s = self._clock, time.perf_counter() - start
        rec.n_trials = len(self.study)
        return rec

    def _fill(self, max_budget: float, max_trials: int | None) -> None:
        while (len(self._segments) < self.workers and self.record.spent < max_budget
               and (max_trials is None or len(self.study) < max_trials)):
            t0 = time.perf_counter()
            ticket = self.study.ask()
            self.record.decision_s += time.perf_counter() - t0
            if ticket is None:
                return
            self._launch(ticket)

    def _launch(self, ticket: Any) -> None:
        target = ticket.budget if ticket.budget is not None else 1
        budgets = self.problem.report_budgets(ticket.resume_from, target, self.report_levels)
        base_budget, base_cost = self._reached.get(ticket.trial_id, (0.0, 0.0))
        if not self.problem.resumable:
            base_budget, base_cost = 0.0, 0.0
        segment = _Segment(ticket.trial_id, ticket.config, list(budgets), [], [], base_budget,
                           base_cost)
        self._segments[ticket.trial_id] = segment
        self._evaluate(segment, 0)
        self._schedule(segment, segment.costs[0])

    def _evaluate(self, segment: _Segment, i: int) -> None:
        """Losses / costs up to report ``i``: all at once, or one at a time for incremental
        (real-training) problems, which never train epochs a stopped trial would not reach."""
        if i < len(segment.losses):
            return
        budgets = segment.budgets[i:i + 1] if self.problem.incremental else segment.budgets
        losses, costs = self.problem.segment((self._run, segment.trial_id), segment.config,
                                             budgets, self.seed)
        segment.losses += [float(v) for v in losses]
        if self.problem.resumable:
            segment.costs += [float(c) - segment.base_cost for c in costs]
        else:  # each report is a training from scratch: its cost adds up within the segment
            total = segment.costs[-1] if segment.costs else 0.0
            for c in costs:
                total += max(float(c), 0.0)
                segment.costs.append(total)

    def _schedule(self, segment: _Segment, duration: float) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (self._clock + max(duration, 0.0), self._seq,
                                    segment.trial_id))

    def _report(self, segment: _Segment) -> None:
        i = segment.index
        budget, loss = segment.budgets[i], segment.losses[i]
        increment = segment.costs[i] - (segment.costs[i - 1] if i else 0.0)
        t0 = time.perf_counter()
        verdict = self.study.report(segment.trial_id, {"loss": loss},
                                    budget=budget if self.problem.fidelity else None,
                                    cost=max(increment, 0.0))
        self.record.decision_s += time.perf_counter() - t0
        self.record.n_reports += 1
        if self.problem.resumable:
            self.record.spent += budget - (segment.budgets[i - 1] if i else segment.base_budget)
        else:
            self.record.spent += budget  # re-trained from scratch at this size
        previous = self._reached.get(segment.trial_id, (0.0, 0.0))
        self._reached[segment.trial_id] = (budget, previous[1] + max(increment, 0.0)
                                           if self.problem.resumable else segment.costs[i])
        if budget >= self.problem.max_budget and loss < self._best:
            self._best = loss
            self.record.best_config = dict(segment.config)
            true = self.problem.true_loss(segment.config)
            self.record.trajectory.append((self._clock, self.record.spent, true))
        last = i + 1 == len(segment.budgets)
        if (verdict.should_stop or last) and (self.problem.fidelity is None or getattr(
                self.problem, "records_evaluations", False)):
            self.record.evaluations.append((self._reached[segment.trial_id][1], loss))
        if verdict.should_stop or last:
            del self._segments[segment.trial_id]
            if not verdict.should_stop:
                self.study.finish(segment.trial_id)
            return
        segment.index += 1
        self._evaluate(segment, i + 1)
        self._schedule(segment, segment.costs[i + 1] - segment.costs[i])


def simulate(study: Study, problem: Problem, *, workers: int, max_budget: float, seed: int,
             max_time: float = math.inf, max_trials: int | None = None,
             report_levels: Sequence[float] | None = None) -> RunRecord:
    """Run a study on a problem in simulated time (see the module docstring)."""
    return Simulator(study, problem, workers=workers, seed=seed,
                     report_levels=report_levels).run(max_budget, max_time, max_trials)
