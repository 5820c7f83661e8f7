"""Numeric parameters: ``Float`` and ``Int`` (linear or log scale, optional grid).

* ``Float`` (linear or log): ``u = (t(v) - t(low)) / (t(high) - t(low))`` with ``t = log`` on a
  log scale; with a ``step`` the decoded value snaps to the grid ``low + k * step``.
* ``Int`` (linear): ``k`` levels share the interval in equal bins; level ``j`` encodes to the bin
  centre ``(j + 0.5) / k``, so uniform ``u`` gives uniform integers. ``Int`` (log): log-uniform
  between ``low`` and ``high``, rounded to the nearest integer.

Ranges whose coding cannot be represented in floating point are refused with a
:class:`~hpo.errors.SpaceError`: a width that overflows (``Float(-1e308, 1e308)``), integer
bounds beyond ``+-2**53``, a grid too fine for its bounds (``step=5e-324``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hpo.errors import SpaceError
from hpo.space.base import Param, _as_number, _check_name

_GRID_TOL = 1e-6
#: integers beyond this magnitude are not exactly representable as floats (encoding decodes
#: through floats)
_MAX_EXACT = 2**53
#: a float grid's ``max(|low|, |high|) / step``: beyond it, rounding error exceeds _GRID_TOL
_MAX_GRID_RATIO = 1e9


class _Numeric(Param):
    """Shared logic of Float and Int: bounds, log scale, optional grid."""

    low: Any
    high: Any
    log: bool
    step: Any

    def _validate_definition(self) -> None:
        _check_name(self.name)
        _as_number(self.name, "low", self.low)
        _as_number(self.name, "high", self.high)
        if self.low >= self.high:
            raise SpaceError(
                f"parameter {self.name!r}: low must be < high, got low={self.low!r}, "
                f"high={self.high!r}"
            )
        if self.log and self.low <= 0:
            raise SpaceError(
                f"parameter {self.name!r}: a log scale needs low > 0, got low={self.low!r}"
            )
        if self.step is not None:
            _as_number(self.name, "step", self.step)
            if self.step <= 0:
                raise SpaceError(f"parameter {self.name!r}: step must be > 0, got {self.step!r}")
            if self.step > self.high - self.low:
                raise SpaceError(
                    f"parameter {self.name!r}: step={self.step!r} is larger than the range "
                    f"high - low = {self.high - self.low!r}"
                )
        self._check_representable()

    def _check_representable(self) -> None:
        """Refuse ranges whose unit-cube coding would overflow or collapse in floats."""
        t_lo, t_hi = self._t(self.low), self._t(self.high)
        width = t_hi - t_lo
        if not math.isfinite(width) or not t_lo + width * 0.5 > t_lo:
            raise SpaceError(
                f"parameter {self.name!r}: the range [{self.low!r}, {self.high!r}] cannot be "
                f"represented in floating point (high - low = {width!r} on the "
                f"{'log' if self.log else 'linear'} scale): choose bounds whose difference is "
                "a finite float, well above their rounding error"
            )
        if self.step is not None and isinstance(self, Float):
            # grid membership is checked in floats: |bound| / step must stay well below 1/eps
            ratio = max(abs(self.low), abs(self.high)) / self.step
            if not math.isfinite(ratio) or ratio > _MAX_GRID_RATIO:
                raise SpaceError(
                    f"parameter {self.name!r}: step={self.step!r} is too fine for the range "
                    f"[{self.low!r}, {self.high!r}] (max |bound| / step = {ratio!r}, at most "
                    f"{_MAX_GRID_RATIO:.0e}); use a larger step or no step"
                )

    def _t(self, v: float) -> float:
        return math.log(v) if self.log else v

    @property
    def _levels(self) -> int:
        return math.floor((self.high - self.low) / self.step + _GRID_TOL) + 1

    def _snap(self, v: float) -> float:
        k = round((v - self.low) / self.step)
        k = min(max(k, 0), self._levels - 1)
        return self.low + k * self.step

    def encode(self, value: Any) -> float:
        if self.step is not None and not self.log:
            k = round((value - self.low) / self.step)
            return (k + 0.5) / self._levels
        t_lo, t_hi = self._t(self.low), self._t(self.high)
        return (self._t(value) - t_lo) / (t_hi - t_lo)

    def _decode_number(self, u: float) -> float:
        u = min(max(float(u), 0.0), 1.0)
        if self.step is not None and not self.log:
            k = min(self._levels - 1, math.floor(u * self._levels))
            return self.low + k * self.step
        t_lo, t_hi = self._t(self.low), self._t(self.high)
        t = t_lo + u * (t_hi - t_lo)
        v = math.exp(t) if self.log else t
        v = min(max(v, self.low), self.high)
        return self._snap(v) if self.step is not None else v

    def _as_float(self, value: Any, not_a_number: str) -> float:
        """``float(value)``, or the InvalidConfigError naming the value (too large: outside the
        range; not convertible: ``not_a_number``)."""
        try:
            return float(value)
        except OverflowError:
            raise self._bad(value, f"is outside [{self.low!r}, {self.high!r}]") from None
        except (TypeError, ValueError):
            raise self._bad(value, not_a_number) from None

    def _check_range(self, value: float) -> None:
        if not math.isfinite(value):
            raise self._bad(value, "is not finite")
        if value < self.low or value > self.high:
            raise self._bad(value, f"is outside [{self.low!r}, {self.high!r}]")
        if self.step is not None:
            k = (value - self.low) / self.step
            if abs(k - round(k)) > _GRID_TOL:
                raise self._bad(value, f"is not on the grid low + k * step (step={self.step!r})")


@dataclass(frozen=True)
class Float(_Numeric):
    """A real-valued hyperparameter on ``[low, high]``, linear or log scale, optional grid."""

    name: str
    low: float
    high: float
    log: bool = False
    step: float | None = None

    def __post_init__(self) -> None:
        self._validate_definition()

    def decode(self, u: float) -> float:
        return float(self._decode_number(u))

    def validate(self, value: Any) -> float:
        as_float = self._as_float(value, "is not a number")
        self._check_range(as_float)
        return as_float

    def to_json(self) -> dict[str, Any]:
        return {"type": "float", "name": self.name, "low": self.low, "high": self.high,
                "log": self.log, "step": self.step}


@dataclass(frozen=True)
class Int(_Numeric):
    """An integer hyperparameter on ``[low, high]`` (both inclusive), linear or log scale."""

    name: str
    low: int
    high: int
    log: bool = False
    step: int = 1

    def __post_init__(self) -> None:
        _check_name(self.name)
        for label in ("low", "high", "step"):
            value = _as_number(self.name, label, getattr(self, label))
            if float(value) != int(value):
                raise SpaceError(
                    f"parameter {self.name!r}: integer parameter needs a whole-number "
                    f"{label}, got {value!r}"
                )
            if abs(value) > _MAX_EXACT:
                raise SpaceError(
                    f"parameter {self.name!r}: {label}={value!r} is beyond +-2**53, where "
                    "integers are no longer exact in floating point"
                )
        self._validate_definition()
        for label in ("low", "high", "step"):
            object.__setattr__(self, label, int(getattr(self, label)))

    def decode(self, u: float) -> int:
        return round(self._decode_number(u))

    def validate(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self._bad(value, "is a bool, not an integer")
        as_float = self._as_float(value, "is not an integer")
        if not math.isfinite(as_float) or as_float != int(as_float):
            raise self._bad(value, "is not an integer")
        out = int(as_float)
        self._check_range(out)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"type": "int", "name": self.name, "low": self.low, "high": self.high,
                "log": self.log, "step": self.step}
