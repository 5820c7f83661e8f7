"""Synthetic multi-fidelity problems (no data needed).

* ``branin`` / ``hartmann``: botorch's ``AugmentedBranin`` (2-D) and ``AugmentedHartmann``
  (6-D) with the fidelity as their last input, ``s = budget / max`` (s = 1 is the target).
  Cumulative cost = budget (one simulated second per epoch); promotions resume.
* ``curves``: a parametric learning-curve family with noise and *crossing* curves: a high
  learning rate converges fast to a worse asymptote, a low one slowly to a better one, so early
  rungs mislead (the hard case for successive halving).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from benchmarks.problem import Problem, median_random_loss, noise_rng
from hpo import Fidelity, Float, Int, SearchSpace
from hpo.core.types import Config

EPOCHS = Fidelity("epochs", 1, 81)


class BotorchMF(Problem):
    """A botorch multi-fidelity test function (minimised; fidelity as the last input)."""

    def __init__(self, kind: str, fidelity: Fidelity = EPOCHS) -> None:
        from botorch.test_functions.multi_fidelity import AugmentedBranin, AugmentedHartmann

        if kind == "branin":
            self._fn = AugmentedBranin()
            self.space = SearchSpace([Float("x1", -5.0, 10.0), Float("x2", 0.0, 15.0)])
            self.optimum = 0.397887
        elif kind == "hartmann":
            self._fn = AugmentedHartmann()
            self.space = SearchSpace([Float(f"x{i}", 0.0, 1.0) for i in range(1, 7)])
            self.optimum = -3.32237
        else:
            raise ValueError(f"unknown botorch problem {kind!r}")
        self.name = kind
        self.fidelity = fidelity
        self.resumable = True
        self.reference = self._median_random(4000)

    def _median_random(self, n: int) -> float:
        import torch

        u = np.random.default_rng(12345).random((n, self.space.dim))
        rows = [[c[p.name] for p in self.space.params] + [1.0] for c in self.space.decode_many(u)]
        with torch.no_grad():
            values = self._fn.evaluate_true(torch.tensor(rows, dtype=torch.double)).numpy()
        return float(np.median(values))

    def _evaluate(self, config: Config, fractions: Sequence[float]) -> np.ndarray:
        import torch

        x = [config[p.name] for p in self.space.params]
        rows = torch.tensor([x + [s] for s in fractions], dtype=torch.double)
        with torch.no_grad():
            return self._fn.evaluate_true(rows).numpy()

    def curve(self, config: Config, budgets: Sequence[float], seed: int,
              ) -> tuple[np.ndarray, np.ndarray]:
        fractions = [b / self.fidelity.max for b in budgets]
        return self._evaluate(config, fractions), np.asarray(budgets, dtype=float)

    def true_loss(self, config: Config) -> float:
        return float(self._evaluate(config, [1.0])[0])


class LearningCurves(Problem):
    """Crossing, noisy learning curves over (lr, momentum, width, dropout).

    ``y(t) = a(x) + (1 - a(x)) * (1 + t / tau)**(-c(x)) + noise``, with the asymptote ``a``
    smallest around ``lr = 3e-3``, but the speed ``c`` increasing with the learning rate: at a
    few epochs large learning rates look best. Noise ``N(0, 0.01^2)``, seeded by (config,
    budget, run seed). Cumulative cost = budget times a width-dependent cost per epoch.
    """

    TAU = 4.0
    NOISE = 0.01

    def __init__(self, fidelity: Fidelity = EPOCHS, noise: float = NOISE) -> None:
        self.name = "curves"
        self.fidelity = fidelity
        self.resumable = True
        self.noise = noise
        self.space = SearchSpace([Float("lr", 1e-4, 1.0, log=True),
                                  Float("momentum", 0.0, 0.99),
                                  Int("width", 16, 1024, log=True),
                                  Float("dropout", 0.0, 0.8)])
        # the minimum of true_loss (60 Nelder-Mead starts; tests/benchmarks re-check it) at
        # lr=8.31e-3, momentum=0.9, width=256, dropout=0.2
        self.optimum = 0.07809351428936587
        self.reference = median_random_loss(self)

    def _params(self, config: Config) -> tuple[float, float, float]:
        lg = math.log10(config["lr"])
        width = math.log2(config["width"])
        a = (0.05 + 0.08 * (lg + 2.5) ** 2 + 0.3 * (config["momentum"] - 0.9) ** 2
             + 0.04 * (width - 8.0) ** 2 / 4 + 0.4 * (config["dropout"] - 0.2) ** 2)
        c = 0.25 + 2.5 / (1.0 + math.exp(-2.5 * (lg + 2.0)))
        cost_per_epoch = 0.5 + config["width"] / 512
        return a, c, cost_per_epoch

    def _mean(self, config: Config, budgets: np.ndarray) -> np.ndarray:
        a, c, _ = self._params(config)
        t = budgets / self.fidelity.max * 81
        return a + (1.0 - a) * (1.0 + t / self.TAU) ** (-c)

    def curve(self, config: Config, budgets: Sequence[float], seed: int,
              ) -> tuple[np.ndarray, np.ndarray]:
        b = np.asarray(budgets, dtype=float)
        mean = self._mean(config, b)
        noise = np.array([noise_rng(config, x, seed).normal(0, self.noise) for x in b])
        _, _, per_epoch = self._params(config)
        return mean + noise, b * per_epoch

    def true_loss(self, config: Config) -> float:
        return float(self._mean(config, np.array([self.fidelity.max]))[0])
