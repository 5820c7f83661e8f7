"""Problem names -> problems (built once per process)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from benchmarks import cost_aware
from benchmarks.problem import Problem
from hpo.core.types import Config
from hpo.errors import HPOError

SYNTHETIC = ("branin", "hartmann", "curves")
FULL = "@full"  # suffix: the problem at its full fidelity only, as a single-fidelity problem
FULL_FIDELITY = ("branin", "hartmann", "lcbench/167168", "lcbench/189873", "lcbench/189906")


class FullFidelity(Problem):
    """``<name>@full``: a multi-fidelity problem evaluated only at its maximum budget.

    Same space, optimum and reference (so regrets compare with the multi-fidelity runs); one
    evaluation costs what training to the full budget costs; no fidelity, so only
    single-fidelity methods (``bo``, random search, the single-fidelity peers) run on it.
    """

    def __init__(self, inner: Problem) -> None:
        if inner.fidelity is None:
            raise UnknownProblem(f"{inner.name!r} has no fidelity: no {FULL} variant")
        self.inner = inner
        self.name = inner.name + FULL
        self.space = inner.space
        self.fidelity = None
        self.resumable = True
        self.incremental = inner.incremental
        self.optimum, self.reference = inner.optimum, inner.reference
        self.cost_unit = inner.cost_unit

    def curve(self, config: Config, budgets: Sequence[float], seed: int,
              ) -> tuple[np.ndarray, np.ndarray]:
        return self._at_max(self.inner.curve(config, [self.inner.max_budget], seed), budgets)

    def segment(self, key: Any, config: Config, budgets: Sequence[float], seed: int,
                ) -> tuple[np.ndarray, np.ndarray]:
        return self._at_max(self.inner.segment(key, config, [self.inner.max_budget], seed),
                            budgets)

    @staticmethod
    def _at_max(result: tuple[np.ndarray, np.ndarray], budgets: Sequence[float],
                ) -> tuple[np.ndarray, np.ndarray]:
        losses, costs = result
        return (np.full(len(budgets), float(losses[-1])),
                np.full(len(budgets), float(costs[-1])))

    def end_run(self, run: Any) -> None:
        self.inner.end_run(run)

    def true_loss(self, config: Config) -> float:
        return self.inner.true_loss(config)


def all_names() -> list[str]:
    from benchmarks.tabular import FCNET_TASKS, LCDB_DATASETS
    from benchmarks.yahpo import INSTANCES

    names = list(SYNTHETIC) + ["digits"]
    for scenario, instances in INSTANCES.items():
        names += [f"{scenario}/{i}" for i in instances]
    names += [f"fcnet/{t}" for t in FCNET_TASKS]
    names += [f"lcdb/{d}" for d in LCDB_DATASETS]
    names += [f"{n}{FULL}" for n in FULL_FIDELITY]
    return names + cost_aware.names()


class UnknownProblem(HPOError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@cache
def get_problem(name: str) -> Problem:
    """Build a problem by name (see :func:`all_names`; any downloaded YAHPO scenario runs as
    ``<scenario>/<instance>``, see :func:`benchmarks.yahpo.known_scenarios`; any
    multi-fidelity problem at its full fidelity as ``<name>@full``; the cost-aware problems of
    :mod:`benchmarks.cost_aware` as ``<name>@cost``).

    Raises:
        UnknownProblem: the message lists the valid names (also for ``<name>@full`` of a
            problem without a fidelity).
        benchmarks.data.DataMissingError: its data is not available.
    """
    if name.endswith(FULL):
        return FullFidelity(get_problem(name[:-len(FULL)]))
    for suffix in (cost_aware.SUFFIX, cost_aware.STEPS):
        if name.endswith(suffix):
            inner = name[:-len(suffix)]
            if inner not in cost_aware.COST_AWARE:
                raise UnknownProblem(f"no cost-aware variant of {inner!r}; valid: "
                                     f"{cost_aware.names()}")
            return cost_aware.CostAware(get_problem(inner), steps=suffix == cost_aware.STEPS)
    family, _, instance = name.partition("/")
    if name in ("branin", "hartmann"):
        from benchmarks.synthetic import BotorchMF

        return BotorchMF(name)
    if name == "curves":
        from benchmarks.synthetic import LearningCurves

        return LearningCurves()
    if name == "digits":
        from benchmarks.training import DigitsMLP

        return DigitsMLP()
    if family == "fcnet" and instance:
        from benchmarks.tabular import FCNet

        return FCNet(instance)
    if family == "lcdb" and instance.isdigit():
        from benchmarks.tabular import LCDB

        return LCDB(int(instance))
    if instance:
        from benchmarks.yahpo import YahpoProblem, known_scenarios

        if family in known_scenarios():  # any YAHPO scenario with a known column layout
            return YahpoProblem(family, instance)
    raise UnknownProblem(f"unknown problem {name!r}; valid problems: {all_names()}")
