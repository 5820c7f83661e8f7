"""Observation groups and CARBS's Pareto groups (algorithms.md §4.2), on numpy arrays.

Values are *maximised* here (pass ``-loss``). A group is the set of observations with identical
inputs (resamples); its cost and value are means over the group.

* **Plain**: with ``c_q`` the ``fraction`` quantile of all observation costs, the first Pareto
  group is the best group with mean cost ``<= c_q`` (this buckets the noisy cheapest
  observations); then, walking the other groups by increasing mean cost, a group is appended
  whenever its mean value beats the last appended one.
* **Conservative** (CARBS's default): a singleton group must beat the *maximum* single
  observation of the last appended group (a resampled group only its mean); and if resampled
  groups exist below ``c_q``, only they are eligible for the first group.

Ties are broken by first appearance (rows in the order given), so results are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_DECIMALS = 12


@dataclass(frozen=True)
class Group:
    """Observations with identical inputs.

    Attributes:
        members: row indices, in row order (``members[0]`` is the group's origin).
        cost: mean cost. value: mean value (maximised). best: the largest single value.
    """

    members: tuple[int, ...]
    cost: float
    value: float
    best: float

    def __len__(self) -> int:
        return len(self.members)


def group_rows(X: np.ndarray, values: np.ndarray, costs: np.ndarray) -> list[Group]:
    """Rows with identical inputs (to 12 decimals) grouped, in order of first appearance."""
    keys: dict[bytes, list[int]] = {}
    rounded = np.round(np.asarray(X, dtype=np.float64), _DECIMALS) + 0.0  # -0.0 -> 0.0
    for i, row in enumerate(rounded):
        keys.setdefault(row.tobytes(), []).append(i)
    v, c = np.asarray(values, dtype=np.float64), np.asarray(costs, dtype=np.float64)
    return [Group(tuple(m), float(np.mean(c[m])), float(np.mean(v[m])), float(np.max(v[m])))
            for m in keys.values()]


def pareto_groups(groups: list[Group], costs: np.ndarray, fraction: float = 0.2,
                  conservative: bool = True) -> list[Group]:
    """CARBS's Pareto groups (module docstring), cheapest first. ``costs``: every observation's
    cost (for the quantile). Empty input gives an empty list."""
    if not groups:
        return []
    c_q = float(np.quantile(np.asarray(costs, dtype=np.float64), fraction))
    cheap = [g for g in groups if g.cost <= c_q]
    if not cheap:  # cannot happen for fraction in [0, 1]; keep the cheapest group
        cheap = [min(groups, key=lambda g: g.cost)]
    if conservative and any(len(g) > 1 for g in cheap):
        cheap = [g for g in cheap if len(g) > 1]
    first = cheap[int(np.argmax([g.value for g in cheap]))]
    rest = sorted((g for g in groups if g.cost > c_q), key=lambda g: g.cost)
    out = [first]
    for g in rest:
        last = out[-1]
        if not conservative or len(g) > 1:
            better = g.value > last.value
        else:
            better = g.value > last.best
        if better:
            out.append(g)
    return out
