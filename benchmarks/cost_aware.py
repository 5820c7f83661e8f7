"""Cost-aware problems: compute is a search dimension, and a result is a (loss, cost) pair.

``<name>@cost`` turns a multi-fidelity problem into a single-fidelity one whose fidelity is an
ordinary (log-scale) hyper-parameter: a config trains to *its own* number of epochs and costs what
that training costs, so a method must trade loss against cost (issue 12, algorithms.md §4). Every
other cost-driving dimension of the inner problem stays searched (LCBench's ``max_units`` and
``num_layers``, the digits MLP's ``hidden`` width and batch size).

* ``lcbench/<task>@cost``: YAHPO LCBench, ``epoch`` in 1..52 searched; the cost is the
  surrogate's predicted training time (seconds) to that epoch, the loss its validation error
  there. Noise-free, so the observed loss is the true loss.
* ``digits@cost``: the real torch MLP of :mod:`benchmarks.training`, ``epochs`` in 1..27 and
  the batch size (a log-scale integer here, so that every method, the reference CARBS included,
  can search it) searched with the width. Training is deterministic per config; the cost is
  its training FLOPs, ``6 * parameters * samples * epochs``, the standard dense-network count
  (wall seconds of real training on a shared 2-core machine differ between otherwise identical
  runs, which would make seeds of one method incomparable).

``<name>@cost-steps`` is the same problem with the fidelity kept: a trial reports at every step
up to its own budget (the config's value of the fidelity dimension), so a method may stop a
candidate early along its own epochs (``carbs`` with ``budget_param`` / ``stop_eta``). Only
methods that take each trial's budget from its config run on it (``own_budget``); its runs are
scored together with the ``@cost`` problem's, with every trial's last report as its result.

Regret is normalised with the inner problem's optimum and reference at full fidelity, so a
regret of 0 is the best known result at any cost. The Pareto metrics are in
:mod:`benchmarks.pareto_metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.problem import Problem
from hpo import Float, Int, Ordinal, SearchSpace
from hpo.core.types import Config

SUFFIX = "@cost"
STEPS = "@cost-steps"
#: the problems that have an ``@cost`` variant (deterministic inner problems only)
COST_AWARE = ("lcbench/167168", "lcbench/189873", "lcbench/189906", "digits")


class CostAware(Problem):
    """``<inner>@cost``: the inner problem's fidelity searched as a log-scale dimension."""

    #: every trial's last report is recorded as an evaluation (the Pareto metrics' data)
    records_evaluations = True

    def __init__(self, inner: Problem, *, steps: bool = False) -> None:
        if inner.fidelity is None or not inner.resumable:
            raise ValueError(f"{inner.name!r} has no resumable fidelity: no {SUFFIX} variant")
        self.inner = inner
        self.steps = steps
        self.name = inner.name + (STEPS if steps else SUFFIX)
        self.report_name = inner.name + SUFFIX  # scored together with the @cost problem
        fidelity = inner.fidelity
        self.axis = fidelity.name
        params = [_searchable(p) for p in inner.space]
        dim = (Int(self.axis, int(fidelity.min), int(fidelity.max), log=True)
               if fidelity.integer else Float(self.axis, fidelity.min, fidelity.max, log=True))
        self.space = SearchSpace(params + [dim])
        self.fidelity = fidelity if steps else None
        #: the dimension a trial's own budget comes from (methods must honour it)
        self.own_budget_axis = self.axis if steps else None
        self.resumable = True
        self.incremental = inner.incremental
        self.optimum, self.reference = inner.optimum, inner.reference
        self.is_flops = inner.name == "digits"
        self.cost_unit = "FLOPs" if self.is_flops else inner.cost_unit
        self._losses: dict[str, float] = {}

    def _split(self, config: Config) -> tuple[Config, float]:
        inner = {k: v for k, v in config.items() if k != self.axis}
        return inner, float(config[self.axis])

    def cost(self, config: Config, budget: float | None = None) -> float:
        """What training ``config`` to its own budget (or to ``budget``) costs (FLOPs or
        surrogate seconds)."""
        inner, own = self._split(config)
        budget = own if budget is None else budget
        if self.is_flops:
            from benchmarks.training import _data

            width = int(inner["hidden"])
            parameters = 64 * width + width + 10 * width + 10
            return 6.0 * parameters * len(_data()[1]) * budget
        return float(self.inner.curve(inner, [budget], 0)[1][-1])

    def segment(self, key: Any, config: Config, budgets: Sequence[float], seed: int,
                ) -> tuple[np.ndarray, np.ndarray]:
        if not self.steps:
            return self.curve(config, budgets, seed)
        inner, _ = self._split(config)
        return self._stepwise(config, budgets, *self.inner.segment(key, inner, budgets, seed))

    def _stepwise(self, config: Config, budgets: Sequence[float], losses: np.ndarray,
                  costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A ``@cost-steps`` segment's reports: remember the loss at the config's own budget
        (its true loss) and, for real training, put FLOPs in place of the measured seconds."""
        own = self._split(config)[1]
        for budget, loss in zip(budgets, losses):
            if budget >= own * (1 - 1e-9):
                self._losses[_key(config)] = float(loss)
        if self.is_flops:
            costs = np.array([self.cost(config, b) for b in budgets])
        return losses, costs

    def end_run(self, run: Any) -> None:
        self.inner.end_run(run)

    def reference_points(self, n: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """``(costs, losses)`` of ``n`` random configs (the cost range and, for a surrogate, a
        dense reference front); a real-training inner problem gives only the cost corners (its
        losses are ``inf``: nothing is trained)."""
        if self.is_flops:
            fidelity = self.inner.fidelity
            hidden = [p for p in self.space if p.name == "hidden"][0]
            corners = [{"hidden": h, self.axis: b} for h in (hidden.low, hidden.high)
                       for b in (fidelity.min, fidelity.max)]
            return np.array([self.cost(c) for c in corners]), np.full(len(corners), np.inf)
        evaluate = self.inner.evaluate_many  # type: ignore[attr-defined]  # YAHPO
        inner = [self._split(c) for c in self.space.sample(np.random.default_rng(seed), n)]
        losses, costs = evaluate([c for c, _ in inner], [b for _, b in inner])
        return np.asarray(costs, dtype=float), np.asarray(losses, dtype=float)

    def curve(self, config: Config, budgets: Sequence[float], seed: int,
              ) -> tuple[np.ndarray, np.ndarray]:
        if self.steps:
            return self._stepwise(config, budgets,
                                  *self.inner.curve(self._split(config)[0], budgets, seed))
        inner, budget = self._split(config)
        losses, costs = self.inner.curve(inner, [budget], seed)
        loss = float(losses[-1])
        self._losses[_key(config)] = loss
        cost = self.cost(config) if self.is_flops else float(costs[-1])
        return np.full(len(budgets), loss), np.full(len(budgets), cost)

    def true_loss(self, config: Config) -> float:
        """The loss at the config's own budget (both inner problems are deterministic, so it
        is the observed one, cached: real training is not repeated)."""
        key = _key(config)
        if key not in self._losses:
            self.curve(config, [self._split(config)[1]] if self.steps else [1], 0)
        loss = self._losses[key]
        return loss if np.isfinite(loss) else float("inf")


def _searchable(param: Any) -> Any:
    """Ordinals of integers become log-scale integers (the reference CARBS has no ordinals)."""
    if isinstance(param, Ordinal) and all(isinstance(v, int) for v in param.values):
        values = sorted(param.values)
        return Int(param.name, values[0], values[-1], log=values[0] > 0)
    return param


def _key(config: Config) -> str:
    return repr(sorted(config.items()))


def names() -> list[str]:
    return [n + SUFFIX for n in COST_AWARE] + [n + STEPS for n in COST_AWARE]
