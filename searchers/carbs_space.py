"""CARBS parameters: a search centre and a transform to the "basic" space searched in.

Every parameter maps its value ``v`` to a basic coordinate ``b`` where one unit is "a comparable
change" (algorithms.md §4.1):

* ``"linear"``: ``b = v / scale``;
* ``"log"``: ``b = log10(v) / scale`` (learning rates, widths, tokens, epochs);
* ``"logit"``: ``b = log10(v / (1 - v)) / scale`` (values in (0, 1)).

Bounds are optional (``None`` = unbounded: the search is local around the centre, so an unbounded
parameter needs only a sensible ``scale``). ``step`` rounds values to ``offset + k * step`` (an
integer grid when ``integer``; CARBS's ``rounding_factor``); rounding happens in basic space on
candidates before they are scored (:meth:`CarbsParam.round_basic`). Integer bounds get 0.1 slack
in parameter units, as in CARBS.

:func:`carbs_params` derives the parameters of a :class:`hpo.SearchSpace` (log scale -> ``log``,
linear -> ``linear`` with ``scale = high - low`` (at least ``1 / 0.3`` for integers, so that a
search radius of 0.3 reaches neighbouring integers), the centre in the middle of the basic range)
and applies optional user overrides (:meth:`CarbsParam.from_json`), e.g. a cheap centre. In a
study the space's bounds always apply too (configs are validated against it): for an effectively
unbounded parameter give the space wide bounds and the override a centre and a scale — the search
is local, so the bounds are then never approached.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from hpo import Constant, Float, Int, MethodError, SearchSpace

KINDS = ("linear", "log", "logit")
_INT_SLACK = 0.1
_MIN_INT_SCALE = 1 / 0.3


def _bad(name: str, why: str) -> MethodError:
    return MethodError(f"CARBS parameter {name!r}: {why}")


@dataclass(frozen=True)
class CarbsParam:
    """One searched dimension (see the module docstring).

    Attributes:
        name: the parameter's name in the config.
        kind: ``"linear"``, ``"log"`` or ``"logit"``.
        centre: the search centre in parameter units (the user's best, preferably cheap, guess).
        scale: parameter (or log10) units per basic unit.
        low, high: optional bounds in parameter units (None: unbounded on that side).
        integer: values are ints. step: round to ``offset + k * step`` (None: no grid).
        offset: origin of the grid (default 0).
    """

    name: str
    kind: str
    centre: float
    scale: float = 1.0
    low: float | None = None
    high: float | None = None
    integer: bool = False
    step: float | None = None
    offset: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise _bad(self.name, f"kind must be one of {list(KINDS)}, got {self.kind!r}")
        for label in ("centre", "scale", "offset"):
            value = getattr(self, label)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                raise _bad(self.name, f"{label} must be a finite number, got {value!r}")
        if self.scale <= 0:
            raise _bad(self.name, f"scale must be > 0, got {self.scale!r}")
        if self.step is not None and (isinstance(self.step, bool) or not self.step > 0):
            raise _bad(self.name, f"step must be > 0 or None, got {self.step!r}")
        for label in ("low", "high"):
            value = getattr(self, label)
            if value is not None and (not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise _bad(self.name, f"{label} must be a finite number or None, got {value!r}")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise _bad(self.name, f"low must be < high, got {self.low!r} >= {self.high!r}")
        lo, hi = self.domain
        if not lo < self.centre < hi and not (self.kind == "linear" and lo <= self.centre <= hi):
            raise _bad(self.name, f"centre {self.centre!r} is outside {self.domain}")

    @property
    def domain(self) -> tuple[float, float]:
        """Where values may lie: the bounds intersected with the transform's domain."""
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        if self.kind == "log":
            lo = max(lo, 0.0)
        if self.kind == "logit":
            lo, hi = max(lo, 0.0), min(hi, 1.0)
        return lo, hi

    # -- transforms -----------------------------------------------------------------------
    def to_basic(self, value: float) -> float:
        v = float(value)
        if self.kind == "linear":
            return v / self.scale
        if self.kind == "log":
            return math.log10(v) / self.scale if v > 0 else -math.inf
        if v <= 0 or v >= 1:
            return -math.inf if v <= 0 else math.inf
        return math.log10(v / (1 - v)) / self.scale

    def _raw(self, b: np.ndarray) -> np.ndarray:
        t = np.asarray(b, dtype=np.float64) * self.scale
        if self.kind == "linear":
            return t
        if self.kind == "log":
            return np.power(10.0, t)
        return 1.0 / (np.power(10.0, -t) + 1.0)

    def _snap(self, v: np.ndarray) -> np.ndarray:
        if self.step is not None:
            v = self.offset + np.round((v - self.offset) / self.step) * self.step
        elif self.integer:
            v = np.round(v)
        return v

    def from_basic(self, b: float, *, rounded: bool = True) -> float | int:
        """The parameter value of basic coordinate ``b`` (rounded to the grid by default)."""
        v = float(self._snap(self._raw(np.array([b])))[0]) if rounded \
            else float(self._raw(np.array([b]))[0])
        return int(round(v)) if self.integer and rounded else v

    def round_basic(self, b: np.ndarray) -> np.ndarray:
        """Basic coordinates moved onto the grid (identity without ``integer`` / ``step``)."""
        if self.step is None and not self.integer:
            return np.asarray(b, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = self._snap(self._raw(b))
            if self.kind == "linear":
                return v / self.scale
            if self.kind == "log":
                return np.log10(v) / self.scale
            return np.log10(v / (1 - v)) / self.scale

    def basic_bounds(self) -> tuple[float, float]:
        """Bounds in basic space (with CARBS's 0.1 slack for integers; infinite if unbounded)."""
        slack = _INT_SLACK if self.integer else 0.0
        lo = -math.inf if self.low is None else self.to_basic(self.low - slack)
        hi = math.inf if self.high is None else self.to_basic(self.high + slack)
        return lo, hi

    @property
    def bounded(self) -> bool:
        return self.low is not None or self.high is not None

    # -- JSON -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "centre": self.centre,
                "scale": self.scale, "low": self.low, "high": self.high,
                "integer": self.integer, "step": self.step, "offset": self.offset}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], base: CarbsParam | None = None) -> CarbsParam:
        """A parameter from a JSON mapping; missing fields come from ``base`` (if given)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            raise MethodError(f"a CARBS parameter spec must be a mapping with a 'name', "
                              f"got {data!r}")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise _bad(data["name"], f"unknown fields {sorted(unknown)}; valid: {sorted(known)}")
        if base is not None:
            return replace(base, **dict(data))
        try:
            return cls(**dict(data))
        except TypeError as err:
            raise _bad(data["name"], f"incomplete spec {dict(data)!r}: {err}") from None


def _derived(p: Float | Int) -> CarbsParam:
    integer = isinstance(p, Int)
    step = p.step if (p.step is not None and not (integer and p.step == 1)) else None
    if p.log:
        kind, scale = "log", 1.0
    else:
        kind, scale = "linear", float(p.high - p.low)
        if integer:
            scale = max(scale, _MIN_INT_SCALE)
    base = CarbsParam(p.name, kind, centre=float(p.low + p.high) / 2, scale=scale,
                      low=p.low, high=p.high, integer=integer, step=step,
                      offset=float(p.low) if step is not None else 0.0)
    b_lo, b_hi = base.to_basic(p.low), base.to_basic(p.high)
    return replace(base, centre=float(base.from_basic((b_lo + b_hi) / 2, rounded=False)))


def carbs_params(space: SearchSpace,
                 overrides: Sequence[Mapping[str, Any]] = ()) -> list[CarbsParam]:
    """The CARBS parameters of ``space`` (Float and Int only; Constants are carried as they are).

    ``overrides`` are partial :meth:`CarbsParam.to_json` mappings by name (e.g. ``{"name": "lr",
    "centre": 1e-3}``); their bounds must lie within the space's, which always applies.
    """
    out = []
    for p in space.params:
        if isinstance(p, Constant):
            continue
        if not isinstance(p, (Float, Int)):
            raise MethodError(f"CARBS searches real and integer parameters only; {p.name!r} is "
                              f"a {type(p).__name__} (use an Int or a Float)")
        out.append(_derived(p))
    by_name = {c.name: i for i, c in enumerate(out)}
    for spec in overrides:
        name = spec.get("name") if isinstance(spec, Mapping) else None
        if name not in by_name:
            raise MethodError(f"CARBS parameter spec {spec!r} names no Float / Int of the space "
                              f"{sorted(by_name)}")
        base = out[by_name[name]]
        merged = CarbsParam.from_json(spec, base)
        sp = space[name]
        if not isinstance(sp, (Float, Int)):  # cannot happen: only those are in by_name
            raise MethodError(f"CARBS parameter {name!r} is not a Float / Int")
        lo = sp.low if merged.low is None else max(merged.low, sp.low)
        hi = sp.high if merged.high is None else min(merged.high, sp.high)
        out[by_name[name]] = replace(merged, low=lo, high=hi)
    return out
