"""Value types shared by every layer: configs, the objective (the one place that owns the
min/max sign) and the fidelity axis (what a *budget* is).

Budget semantics
----------------
A **fidelity** is a resource axis along which a trial can be trained further: epochs, optimiser
steps, tokens, training-set size. A trial's **budget** is the *cumulative* amount of that resource
it has consumed. Reporting ``budget=9`` means "after 9 epochs in total", whether or not the trial
was paused in between. Promoting (resuming) a trial continues it from its checkpoint to a higher
budget; it never restarts it. A trial resumed without a checkpoint re-reports budgets it already
reported; those reports are ignored (never recorded twice), and the real cost of redoing the work
is charged to the next recorded report.

Axes that are fixed for a trial's whole life (model width, depth: "scale") are not budgets: a
trial at another width is another trial. They travel with the trial as ``Trial.scale`` (a mapping
axis -> value), so a study over width x tokens needs no new data model: tokens is the fidelity,
width is the scale.

**Cost** is what an observation cost to produce: wall-clock seconds by default, or whatever the
objective reports (FLOPs, GPU-hours, dollars). It is accumulated per trial.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hpo.errors import FidelityError, ReportError

ParamValue = float | int | str | bool | None
Config = dict[str, Any]

WORST_LOSS = math.inf


class Direction(Enum):
    """Whether the objective metric is minimised or maximised."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @classmethod
    def parse(cls, value: Direction | str) -> Direction:
        """A ``Direction``, or one of ``"min"``, ``"minimize"``, ``"max"``, ``"maximize"``."""
        if isinstance(value, Direction):
            return value
        if isinstance(value, str):
            key = value.strip().lower()
            if key in ("min", "minimize", "minimise"):
                return cls.MINIMIZE
            if key in ("max", "maximize", "maximise"):
                return cls.MAXIMIZE
        raise ValueError(
            f"direction must be 'minimize' or 'maximize' (or 'min' / 'max'), got {value!r}"
        )


@dataclass(frozen=True)
class Objective:
    """The metric to optimise and its direction.

    Internally every component minimises a **loss**: ``loss = value`` when minimising and
    ``loss = -value`` when maximising. :meth:`loss` is the only place where that sign is applied.
    A non-finite metric (NaN, +-inf: a diverged run) maps to the worst loss, ``+inf``.

    Example:
        >>> Objective("accuracy", "max").loss({"accuracy": 0.9})
        -0.9
    """

    metric: str = "loss"
    direction: Direction = Direction.MINIMIZE

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ValueError(f"objective metric must be a non-empty string, got {self.metric!r}")
        object.__setattr__(self, "direction", Direction.parse(self.direction))

    @property
    def sign(self) -> float:
        return 1.0 if self.direction is Direction.MINIMIZE else -1.0

    def loss(self, metrics: Mapping[str, Any]) -> float:
        """The loss (lower is better) of a metrics mapping.

        Raises:
            ReportError: the metric is missing or not a real number.
        """
        if self.metric not in metrics:
            raise ReportError(
                f"reported metrics {sorted(metrics)} do not contain the objective metric "
                f"{self.metric!r}"
            )
        raw = metrics[self.metric]
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            try:
                raw = float(raw)  # numpy / torch scalars
            except (TypeError, ValueError):
                raise ReportError(
                    f"objective metric {self.metric!r} must be a number, got {raw!r}"
                ) from None
        value = float(raw)
        if not math.isfinite(value):
            return WORST_LOSS
        return self.sign * value

    def value(self, loss: float) -> float:
        """Map a loss back to the metric's own units."""
        return self.sign * loss

    def to_json(self) -> dict[str, str]:
        return {"metric": self.metric, "direction": self.direction.value}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Objective:
        return cls(metric=data["metric"], direction=data["direction"])


@dataclass(frozen=True)
class Fidelity:
    """A resumable resource axis (epochs, steps, tokens, ...) with its bounds.

    Args:
        name: what the budget counts, e.g. ``"epochs"``; used in reports and tables.
        min: smallest budget a scheduler may assign (the first rung), > 0.
        max: the full budget of the target run (``R`` in Hyperband), >= ``min``.
        integer: budgets are whole numbers (epochs, steps). Rung levels are then integers.

    Raises:
        FidelityError: ``min <= 0``, ``min > max``, non-finite or non-integer bounds.
    """

    name: str
    min: float
    max: float
    integer: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise FidelityError(f"fidelity name must be a non-empty string, got {self.name!r}")
        for label, bound in (("min", self.min), ("max", self.max)):
            if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                raise FidelityError(f"fidelity {label} must be a number, got {bound!r}")
            if not _finite(bound):
                raise FidelityError(f"fidelity {label} must be finite, got {bound!r}")
        if self.min <= 0:
            raise FidelityError(f"fidelity min budget must be > 0, got min={self.min!r}")
        if self.min > self.max:
            raise FidelityError(
                f"fidelity min budget must be <= max budget, got min={self.min!r} > "
                f"max={self.max!r}"
            )
        if self.integer:
            for label, bound in (("min", self.min), ("max", self.max)):
                if float(bound) != int(bound):
                    raise FidelityError(
                        f"integer fidelity {self.name!r} needs whole-number bounds, got "
                        f"{label}={bound!r} (pass integer=False for a continuous resource)"
                    )
            object.__setattr__(self, "min", int(self.min))
            object.__setattr__(self, "max", int(self.max))
        else:
            object.__setattr__(self, "min", float(self.min))
            object.__setattr__(self, "max", float(self.max))

    def normalize(self, budget: float) -> float:
        """Position of ``budget`` in ``[0, 1]`` on a log scale (0 = min, 1 = max)."""
        if self.max == self.min:
            return 1.0
        return math.log(budget / self.min) / math.log(self.max / self.min)

    def check_budget(self, budget: Any) -> float:
        """Validate a reported budget and return it as a number.

        Raises:
            FidelityError: not a finite positive number, or larger than ``max``.
        """
        if isinstance(budget, bool) or not isinstance(budget, (int, float)):
            try:
                budget = float(budget)
            except (TypeError, ValueError):
                raise FidelityError(
                    f"budget must be a number of {self.name}, got {budget!r}"
                ) from None
        if not _finite(budget) or budget <= 0:
            raise FidelityError(f"budget must be a finite number > 0, got {budget!r}")
        if budget > self.max * (1 + 1e-9):
            raise FidelityError(
                f"reported budget {budget!r} exceeds the fidelity maximum "
                f"{self.name}={self.max!r}"
            )
        if self.integer and float(budget) == int(budget):
            return int(budget)
        return float(budget)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "min": self.min, "max": self.max, "integer": self.integer}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fidelity:
        return cls(name=data["name"], min=data["min"], max=data["max"], integer=data["integer"])


def _finite(value: Any) -> bool:
    """``math.isfinite`` that is False (not OverflowError) for an int beyond float range."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_cost(cost: Any) -> float:
    """Validate a reported cost increment (>= 0, finite)."""
    raw = cost
    try:
        cost = float(cost)
    except OverflowError:
        raise ReportError(f"cost must be a finite number >= 0, got {raw!r}") from None
    except (TypeError, ValueError):
        raise ReportError(f"cost must be a number, got {raw!r}") from None
    if not math.isfinite(cost) or cost < 0:
        raise ReportError(f"cost must be a finite number >= 0, got {cost!r}")
    return cost


def clean_metrics(metrics: Mapping[str, Any] | float, metric: str) -> dict[str, float]:
    """A reported metrics mapping (or a bare number for ``metric``) as ``{name: float}``.

    Raises:
        ReportError: a non-string name or a value that is not a number.
    """
    if not isinstance(metrics, Mapping):
        metrics = {metric: metrics}
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise ReportError(f"metric names must be strings, got {key!r}")
        try:
            out[key] = float(value)
        except OverflowError:  # an int beyond float range
            raise ReportError(f"metric {key!r}={value!r} is beyond the float range") from None
        except (TypeError, ValueError):
            raise ReportError(f"metric {key!r} must be a number, got {value!r}") from None
    return out


def resolve_budget(fidelity: Fidelity | None, budget: Any, n_reports: int) -> float:
    """The budget of a report: the given one (validated) or the report count + 1."""
    if budget is None:
        step = n_reports + 1
        return step if fidelity is None or fidelity.integer else float(step)
    if fidelity is None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float)):
            raise FidelityError(f"budget must be a number, got {budget!r}")
        try:
            ok = math.isfinite(budget) and budget > 0
        except OverflowError:  # an int beyond float range
            ok = False
        if not ok:
            raise FidelityError(f"budget must be a finite number > 0 (the step count or "
                                f"resource used), got {budget!r}")
        return budget
    return fidelity.check_budget(budget)
