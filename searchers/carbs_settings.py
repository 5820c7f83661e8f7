"""The options of :class:`~searchers.carbs.CARBSSearcher` (defaults from the reference CARBS,
algorithms.md §4.7)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hpo import MethodError
from searchers.models.carbs_models import Hypers

ESTIMATORS = ("thompson", "mean")


@dataclass(frozen=True)
class CarbsSettings:
    """CARBS's options (defaults from the reference, algorithms.md §4.7).

    ``budget_param`` (not in the reference) names the searched dimension that is a trial's own
    training budget (epochs, steps, tokens) in the study's fidelity units: every report of a
    trial is then a result of its config *at the budget reached* (the trial's one row of data
    moves along its curve), so a trial stopped early, or still running, is already a cheaper
    point of the Pareto data. This assumes the loss at budget ``b`` does not depend on the
    planned budget (no schedule tied to it); where it does, partial results are pessimistic.
    """

    num_random_samples: int = 4
    search_radius: float = 0.3
    exploration_bias: float = 1.0
    candidates_per_dim: int = 100
    resample_frequency: int = 5
    max_suggestion_cost: float | None = None
    min_pareto_cost_fraction: float = 0.2
    conservative: bool = True
    clamp_pareto_value: bool = True
    outstanding: str = "thompson"
    noise: float = 0.01
    threads: int = 1
    budget_param: str | None = None

    def __post_init__(self) -> None:
        for name, low in (("num_random_samples", 1), ("candidates_per_dim", 1),
                          ("resample_frequency", 0), ("threads", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise MethodError(f"{name} must be an int >= {low}, got {value!r}")
        for name in ("search_radius", "noise"):
            value = getattr(self, name)
            if not _number(value) or not value > 0:
                raise MethodError(f"{name} must be a finite number > 0, got {value!r}")
        if not _number(self.exploration_bias) or self.exploration_bias < 0:
            raise MethodError(f"exploration_bias must be a finite number >= 0, got "
                              f"{self.exploration_bias!r}")
        if self.max_suggestion_cost is not None and not (
                _number(self.max_suggestion_cost) and self.max_suggestion_cost > 0):
            raise MethodError(f"max_suggestion_cost must be a number > 0 or None, got "
                              f"{self.max_suggestion_cost!r}")
        if not _number(self.min_pareto_cost_fraction) \
                or not 0 <= self.min_pareto_cost_fraction <= 1:
            raise MethodError(f"min_pareto_cost_fraction must be in [0, 1], got "
                              f"{self.min_pareto_cost_fraction!r}")
        if self.budget_param is not None and (not isinstance(self.budget_param, str)
                                              or not self.budget_param):
            raise MethodError(f"budget_param must be a parameter name or None, got "
                              f"{self.budget_param!r}")
        if self.outstanding not in ESTIMATORS:
            raise MethodError(f"outstanding must be one of {list(ESTIMATORS)}, got "
                              f"{self.outstanding!r}")

    @property
    def hypers(self) -> Hypers:
        return Hypers(lengthscale=self.search_radius, noise=self.noise)


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) \
        and math.isfinite(value)
