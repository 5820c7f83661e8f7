"""The benchmark problem interface: space, fidelity, learning curves with costs, regret.

A problem evaluates a config along its fidelity. ``segment`` returns the loss at each requested
budget and the *cumulative* cost of training from scratch to that budget, so the simulator can
charge a resumed trial only the increment (``resumable`` problems: epochs with checkpoints) or
the full retraining cost (non-resumable fidelities such as training-set size).

Normalised regret of a loss ``y`` is ``(y - optimum) / (reference - optimum)``: 0 at the best
known value, 1 at the reference (a typical random configuration, or the worst known value).
"""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from hpo import Fidelity, SearchSpace
from hpo.core.types import Config


class Problem(ABC):
    """A benchmark problem. Subclasses set the attributes in ``__init__``.

    Attributes:
        name: unique name, ``family/instance`` (e.g. ``lcbench/167168``).
        space: the search space.
        fidelity: the fidelity axis, or None for a single-fidelity problem.
        resumable: promotions continue from checkpoints (else retrain from scratch).
        incremental: the simulator asks for one budget at a time (real training).
        optimum: best known loss (lower is better).
        reference: loss used as regret 1 (median random config or worst known value).
        cost_unit: what a cost is (``"s"`` simulated seconds).
    """

    name: str
    space: SearchSpace
    fidelity: Fidelity | None
    resumable: bool = True
    incremental: bool = False  # evaluate one report at a time (expensive, stateful problems)
    optimum: float
    reference: float
    cost_unit: str = "s"

    @abstractmethod
    def curve(self, config: Config, budgets: Sequence[float], seed: int,
              ) -> tuple[np.ndarray, np.ndarray]:
        """Observed losses at ``budgets`` and cumulative from-scratch costs to reach them."""

    def segment(self, key: Any, config: Config, budgets: Sequence[float], seed: int,
                ) -> tuple[np.ndarray, np.ndarray]:
        """Like :meth:`curve` for one segment of trial ``key`` (stateful problems override)."""
        return self.curve(config, budgets, seed)

    def end_run(self, run: Any) -> None:
        """A simulation whose segment keys are ``(run, trial_id)`` ended: drop its state."""

    @abstractmethod
    def true_loss(self, config: Config) -> float:
        """Noise-free loss at the maximum fidelity (what regret is measured on)."""

    def regret(self, loss: float) -> float:
        return (loss - self.optimum) / (self.reference - self.optimum)

    @property
    def max_budget(self) -> float:
        return self.fidelity.max if self.fidelity is not None else 1

    def report_budgets(self, start: float, target: float,
                       levels: Sequence[float] | None = None) -> list[float]:
        """Budgets a trial reports at between ``start`` (exclusive) and ``target``.

        A resumable trial reports at every step (epochs) or on a 25-point geometric grid.
        A non-resumable one (training-set size) reports at ``target`` and, as a script for a
        stopping-type method would, at each of the method's rung ``levels`` below it, each a
        separate training from scratch.
        """
        if self.fidelity is None:
            return [1]
        if not self.resumable:
            return [b for b in (levels or ()) if start < b < target] + [target]
        if self.fidelity.integer and target - start <= 200:
            steps: list[float] = list(range(int(start) + 1, int(target) + 1))
            return steps if steps and steps[-1] == target else steps + [target]
        grid = np.geomspace(self.fidelity.min, self.fidelity.max, 25)
        points = [float(b) for b in grid if start < b < target] + [target]
        if self.fidelity.integer:
            points = sorted({round(b) for b in points if round(b) > start})
        return points

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "dims": self.space.dim,
                "fidelity": self.fidelity.to_json() if self.fidelity else None,
                "resumable": self.resumable, "optimum": self.optimum,
                "reference": self.reference}


def noise_rng(config: Config, budget: float, seed: int) -> np.random.Generator:
    """A generator for observation noise that depends only on (config, budget, seed)."""
    key = zlib.crc32(repr((sorted(config.items()), float(budget))).encode())
    return np.random.default_rng([seed, key])


def median_random_loss(problem: Problem, n: int = 2000, seed: int = 12345) -> float:
    """Median true loss of ``n`` random configs (a reference for normalised regret)."""
    rng = np.random.default_rng(seed)
    return float(np.median([problem.true_loss(c) for c in problem.space.sample(rng, n)]))
