"""Pure conversions between Ray Tune's vocabulary and ours (no Ray import; tested without it).

* A Ray result dict -> (metrics, budget, cost): the budget is ``result[time_attr]``
  (``training_iteration`` by default), the cost ``result[cost_attr]`` (``time_this_iter_s``),
  the metrics every numeric entry Ray did not add itself.
* Our verdict -> Ray's decision string (``CONTINUE`` / ``PAUSE`` / ``STOP``).
* Ray's ``metric`` / ``mode`` are checked against our objective: a conflict raises
  :class:`~hpo.errors.IntegrationError` instead of being silently rebound.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hpo.core.decisions import Decision, Verdict
from hpo.core.types import Direction, Objective
from hpo.errors import IntegrationError

#: keys Ray Tune adds to every result (never treated as user metrics)
RAY_AUTO_KEYS = frozenset({
    "training_iteration", "time_this_iter_s", "time_total_s", "timestamp", "pid", "hostname",
    "node_ip", "config", "date", "done", "episodes_total", "timesteps_total", "trial_id",
    "experiment_id", "experiment_tag", "iterations_since_restore", "time_since_restore",
    "timesteps_since_restore", "checkpoint_dir_name", "should_checkpoint", "warmup_time",
    "episodes_this_iter", "timesteps_this_iter", "trial_resources"})

RAY_DECISIONS = {Decision.CONTINUE: "CONTINUE", Decision.PAUSE: "PAUSE", Decision.STOP: "STOP"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return float(value.item())
        except (TypeError, ValueError):
            return None
    return None


def result_to_report(result: Mapping[str, Any], *, time_attr: str, cost_attr: str | None,
                     ) -> tuple[dict[str, float], float | None, float | None]:
    """``(metrics, budget, cost)`` of a Ray result (budget / cost None when absent)."""
    metrics = {}
    for key, value in result.items():
        if key in RAY_AUTO_KEYS or key in (time_attr, cost_attr) or key.startswith("config/"):
            continue
        number = _number(value)
        if number is not None:
            metrics[key] = number
    budget = _number(result.get(time_attr))
    cost = _number(result.get(cost_attr)) if cost_attr else None
    if cost is not None and (not math.isfinite(cost) or cost < 0):
        cost = None
    return metrics, budget, cost


def verdict_to_ray(verdict: Verdict) -> str:
    return RAY_DECISIONS[verdict.decision]


def ray_mode(objective: Objective) -> str:
    return "min" if objective.direction is Direction.MINIMIZE else "max"


def check_metric_mode(objective: Objective, metric: str | None, mode: str | None,
                      where: str) -> None:
    """Raise IntegrationError if Ray's metric / mode disagree with the study's objective."""
    if metric is not None and metric != objective.metric:
        raise IntegrationError(
            f"{where}: Ray Tune passed metric={metric!r}, but the study optimises "
            f"{objective.metric!r}; drop metric/mode from TuneConfig (the study owns them) or "
            "make them agree")
    if mode is not None and mode != ray_mode(objective):
        raise IntegrationError(
            f"{where}: Ray Tune passed mode={mode!r}, but the study's objective is to "
            f"{objective.direction.value} {objective.metric!r} (mode={ray_mode(objective)!r})")


def check_resources(resources: Mapping[str, Any] | None) -> dict[str, float]:
    """Per-trial resources as Ray wants them: ``{"cpu": 1, "gpu": 0.5, "custom": 1}``.

    Defaults to one CPU. Values must be finite and >= 0 (fractions allowed); zero entries are
    dropped; at least one resource must remain.
    """
    if resources is None:
        return {"cpu": 1.0}
    if not isinstance(resources, Mapping):
        raise IntegrationError(f"resources must be a dict like {{'cpu': 1, 'gpu': 0.5}}, "
                               f"got {resources!r}")
    out = {}
    for key, value in resources.items():
        number = _number(value)
        if not isinstance(key, str) or number is None or not math.isfinite(number) \
                or number < 0:
            raise IntegrationError(f"invalid trial resource {key!r}: {value!r} (need a number "
                                   ">= 0, e.g. {'cpu': 1, 'gpu': 0.5})")
        if number > 0:
            out[key.lower() if key.lower() in ("cpu", "gpu") else key] = number
    if not out:
        raise IntegrationError(f"resources {dict(resources)!r} ask for nothing; give at least "
                               "one CPU or GPU")
    return out
