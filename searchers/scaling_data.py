"""Trials at their scales -> the scaling model's arrays, and past sweeps -> trials.

* :class:`Coords` maps configs to natural coordinates (``log2`` of log-scaled numeric
  hyper-parameters, the unit coordinate of the others; categoricals are not modelled: they are
  carried from the best run) and scale points to model columns ``[s (one per axis), s_N, s_D]``.
* :func:`scaling_data` reads final losses of trials: a COMPLETED or STOPPED trial with a finite
  final loss (and below ``diverge_above`` when given) is a row of the loss model; a FAILED trial,
  a non-finite loss or one above ``diverge_above`` is a *failure* row of the divergence model.
* :func:`load_sweep` turns a past sweep (a pandas DataFrame, anything with
  ``to_dict("records")``, a list of dicts, or a CSV path) into completed trials, no re-runs.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hpo import Categorical, Float, Int, Observation, Scaling, SearchSpace, Trial, TrialStatus
from hpo.errors import ReportError, SpaceError
from searchers.models.encoding import Encoder
from searchers.models.scaling_prior import ROLES, roles_for


class Coords:
    """Natural coordinates of a space's numeric hyper-parameters and of a scaling's axes."""

    def __init__(self, space: SearchSpace, scaling: Scaling | None,
                 roles: Mapping[str, str] | None = None) -> None:
        self.space, self.scaling = space, scaling
        self.encoder = Encoder(space)
        self.params: list[Any] = [p for p in space.coded_params
                                  if not isinstance(p, Categorical)]
        if not self.params:
            raise SpaceError("the scaling model needs at least one numeric hyper-parameter")
        self.names = [p.name for p in self.params]
        for name, role in dict(roles or {}).items():
            if name not in self.names or role not in ROLES:
                raise SpaceError(f"role {name!r}: {role!r} must name a numeric parameter of the "
                                 f"space {self.names} and a role among {list(ROLES)}")
        self.roles = roles_for(self.names, roles)
        self.log = [isinstance(p, (Float, Int)) and bool(p.log) for p in self.params]
        low = [math.log2(p.low) if lg else 0.0 for p, lg in zip(self.params, self.log)]
        high = [math.log2(p.high) if lg else 1.0 for p, lg in zip(self.params, self.log)]
        self.bounds = np.array([low, high], dtype=np.float64)
        self.axes = list(scaling.axes) if scaling is not None else []
        self.axis_names = [a.name for a in self.axes]
        self.axis_kinds = [a.kind for a in self.axes]
        lr = [j for j, r in enumerate(self.roles) if r == "lr"]
        self.lr_index = lr[0] if lr else 0

    @property
    def p(self) -> int:
        return len(self.params)

    @property
    def k(self) -> int:
        return len(self.axes)

    def theta(self, config: Mapping[str, Any]) -> np.ndarray:
        out = np.empty(self.p)
        for j, (param, lg) in enumerate(zip(self.params, self.log)):
            value = config.get(param.name)
            if value is None:
                out[j] = 0.5 * (self.bounds[0, j] + self.bounds[1, j])
            elif lg:
                out[j] = math.log2(float(value))
            else:
                out[j] = param.encode(value)
        return out

    def config(self, theta: np.ndarray, base: Mapping[str, Any]) -> dict[str, Any]:
        """The canonical config with numeric values from ``theta`` (clipped to the space) and
        every other parameter from ``base``."""
        theta = np.clip(np.asarray(theta, dtype=np.float64), self.bounds[0], self.bounds[1])
        row = self.encoder.encode_one(base)
        for j, (param, lg) in enumerate(zip(self.params, self.log)):
            col = self.encoder.params.index(param)
            row[col] = param.encode(min(max(2.0 ** theta[j], param.low), param.high)) if lg \
                else float(theta[j])
        return self.encoder.decode_one(row)

    def scale_row(self, scale: Mapping[str, float] | None) -> np.ndarray:
        """``[s_1..s_k, s_N, s_D]`` of a scale point (the target: all zeros)."""
        if self.scaling is None or not self.axes:
            return np.zeros(2)
        point = dict(self.scaling.target)
        point.update({k: float(v) for k, v in (scale or {}).items() if k in point})
        rel = self.scaling.relative(point)
        s = [rel[n] for n in self.axis_names]
        s_n = math.log2(self.scaling.n_params(point) / self.scaling.n_params(self.scaling.target))
        s_d = math.log2(self.scaling.tokens(point) / self.scaling.tokens(self.scaling.target))
        return np.array(s + [s_n, s_d], dtype=np.float64)

    def row(self, config: Mapping[str, Any], scale: Mapping[str, float] | None) -> np.ndarray:
        return np.concatenate([self.theta(config), self.scale_row(scale)])


@dataclass(frozen=True)
class ScalingData:
    """Model rows of successful runs (``X``, raw losses ``y``) and of failures."""

    X: np.ndarray
    y: np.ndarray
    X_failed: np.ndarray
    configs: tuple[dict[str, Any], ...]      # successful runs, aligned with y
    scales: tuple[dict[str, float], ...]     # successful runs, aligned with y

    @property
    def n(self) -> int:
        return len(self.y)


def is_failure(trial: Trial, diverge_above: float | None) -> bool:
    if trial.status is TrialStatus.FAILED:
        return True
    loss = trial.loss
    return not math.isfinite(loss) or (diverge_above is not None and loss > diverge_above)


def scaling_data(trials: Sequence[Trial], coords: Coords, *,
                 diverge_above: float | None = None) -> ScalingData:
    """Rows of every ended trial (COMPLETED, STOPPED or FAILED), in trial-id order."""
    ok_rows, ys, fail_rows, configs, scales = [], [], [], [], []
    for trial in sorted(trials, key=lambda t: t.id):
        if not trial.status.is_terminal or (trial.status is not TrialStatus.FAILED
                                            and not trial.observations):
            continue
        row = coords.row(trial.config, trial.scale)
        if is_failure(trial, diverge_above):
            fail_rows.append(row)
        else:
            ok_rows.append(row)
            ys.append(float(trial.loss))
            configs.append(dict(trial.config))
            scales.append(dict(trial.scale))
    width = coords.p + coords.k + 2
    return ScalingData(np.array(ok_rows, dtype=np.float64).reshape(-1, width),
                       np.array(ys, dtype=np.float64),
                       np.array(fail_rows, dtype=np.float64).reshape(-1, width),
                       tuple(configs), tuple(scales))


def _records(table: Any) -> list[dict[str, Any]]:
    if isinstance(table, (str, Path)):
        with open(table, newline="") as fh:
            return [dict(r) for r in csv.DictReader(fh)]
    if hasattr(table, "to_dict"):
        return [dict(r) for r in table.to_dict("records")]
    if isinstance(table, Sequence) and all(isinstance(r, Mapping) for r in table):
        return [dict(r) for r in table]
    raise ReportError(f"a sweep must be a DataFrame, a CSV path or a list of dicts, got "
                      f"{type(table).__name__}")


def _number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ReportError(f"{what} must be a number, got {value!r}") from None


def load_sweep(table: Any, space: SearchSpace, scaling: Scaling | None, *, loss: str = "loss",
               cost: str | None = "cost", status: str | None = None,
               scale_columns: Mapping[str, str] | None = None) -> list[Trial]:
    """Completed trials from the rows of a past sweep (no re-runs).

    Each row gives the hyper-parameters (columns named as the space's parameters), the scale
    (one column per scaling axis, named as the axis unless ``scale_columns`` maps axis ->
    column; each value on the axis ladder or the target), the final ``loss`` (empty, NaN or inf:
    a diverged run) and optionally its ``cost`` and a ``status`` column (``"failed"`` marks a
    failed run). Raises :class:`hpo.ReportError` / :class:`hpo.SpaceError` naming the bad value.
    """
    columns = dict(scale_columns or {})
    trials = []
    for i, rec in enumerate(_records(table)):
        config = {}
        for p in space.params:
            if p.name not in rec:
                raise ReportError(f"sweep row {i}: no column for parameter {p.name!r}")
            value = rec[p.name]
            if isinstance(value, str) and not isinstance(p, Categorical):
                value = _number(value, f"sweep row {i} {p.name!r}")
                if isinstance(p, Int):
                    value = int(round(value))
            config[p.name] = value
        config = space.validate(config)
        scale: dict[str, float] = {}
        if scaling is not None:
            raw = {}
            for axis in scaling.axes:
                col = columns.get(axis.name, axis.name)
                if col not in rec:
                    raise ReportError(f"sweep row {i}: no column {col!r} for scale axis "
                                      f"{axis.name!r}")
                raw[axis.name] = _number(rec[col], f"sweep row {i} scale {col!r}")
            scale = scaling.check(raw)
        value = rec.get(loss)
        y = math.nan if value in (None, "") else _number(value, f"sweep row {i} {loss!r}")
        c = _number(rec[cost], f"sweep row {i} {cost!r}") if cost and rec.get(cost) not in \
            (None, "") else (scaling.flops(scale) if scaling is not None else 1.0)
        failed = status is not None and str(rec.get(status, "")).lower() == "failed"
        obs = Observation(budget=1, metrics={loss: y}, loss=y if math.isfinite(y) else math.inf,
                          cost=c, time=0.0, step=0)
        trials.append(Trial(i, config, TrialStatus.FAILED if failed else TrialStatus.COMPLETED,
                            (obs,), 1, scale=scale))
    return trials
