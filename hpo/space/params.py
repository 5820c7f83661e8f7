"""Hyperparameter types and their unit-interval encodings.

Every parameter maps its values to one coordinate of the unit cube (``Constant`` to none):

* ``Float`` (linear or log): ``u = (t(v) - t(low)) / (t(high) - t(low))`` with ``t = log`` on a
  log scale; with a ``step`` the decoded value snaps to the grid ``low + k * step``.
* ``Int`` (linear): ``k`` levels share the interval in equal bins; level ``j`` encodes to the bin
  centre ``(j + 0.5) / k``, so uniform ``u`` gives uniform integers. ``Int`` (log): log-uniform
  between ``low`` and ``high``, rounded to the nearest integer.
* ``Categorical`` / ``Ordinal`` with ``k`` values: value ``j`` encodes to ``(j + 0.5) / k`` and
  ``u`` decodes to ``min(k - 1, floor(u * k))`` (each value owns an interval of width ``1/k``).
  ``Ordinal`` values are ordered (neighbouring levels are similar); ``Categorical`` are not.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from hpo.errors import InvalidConfigError, SpaceError

_GRID_TOL = 1e-6


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise SpaceError(f"parameter names must be non-empty strings, got {name!r}")


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _as_number(name: str, label: str, value: Any) -> float:
    if not _is_number(value) or not math.isfinite(value):
        raise SpaceError(f"parameter {name!r}: {label} must be a finite number, got {value!r}")
    return value


class Param(ABC):
    """A named hyperparameter. Subclasses are frozen dataclasses."""

    name: str

    #: number of unit-cube coordinates this parameter occupies (0 or 1)
    n_dims: int = 1

    @abstractmethod
    def encode(self, value: Any) -> float:
        """Map a valid value to ``[0, 1]``."""

    @abstractmethod
    def decode(self, u: float) -> Any:
        """Map ``u`` in ``[0, 1]`` (clipped) to a value."""

    @abstractmethod
    def validate(self, value: Any) -> Any:
        """Return the canonical form of ``value`` or raise :class:`InvalidConfigError`."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable description (``{"type": ..., "name": ..., ...}``)."""

    def _bad(self, value: Any, why: str) -> InvalidConfigError:
        return InvalidConfigError(f"parameter {self.name!r}: value {value!r} {why}")


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

    def _t(self, v: float) -> float:
        return math.log(v) if self.log else v

    @property
    def _levels(self) -> int:
        return int(math.floor((self.high - self.low) / self.step + _GRID_TOL)) + 1

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
            k = min(self._levels - 1, int(math.floor(u * self._levels)))
            return self.low + k * self.step
        t_lo, t_hi = self._t(self.low), self._t(self.high)
        t = t_lo + u * (t_hi - t_lo)
        v = math.exp(t) if self.log else t
        v = min(max(v, self.low), self.high)
        return self._snap(v) if self.step is not None else v

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
        if not _is_number(value):
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise self._bad(value, "is not a number") from None
        value = float(value)
        self._check_range(value)
        return value

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
        for label in ("low", "high", "step"):
            value = getattr(self, label)
            if _is_number(value) and float(value) != int(value):
                raise SpaceError(
                    f"parameter {self.name!r}: integer parameter needs a whole-number "
                    f"{label}, got {value!r}"
                )
        self._validate_definition()
        for label in ("low", "high", "step"):
            object.__setattr__(self, label, int(getattr(self, label)))

    def decode(self, u: float) -> int:
        return int(round(self._decode_number(u)))

    def validate(self, value: Any) -> int:
        if isinstance(value, bool):
            raise self._bad(value, "is a bool, not an integer")
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise self._bad(value, "is not an integer") from None
        if not math.isfinite(as_float) or as_float != int(as_float):
            raise self._bad(value, "is not an integer")
        out = int(as_float)
        self._check_range(out)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"type": "int", "name": self.name, "low": self.low, "high": self.high,
                "log": self.log, "step": self.step}


class _Choice(Param):
    values_: tuple

    def _validate_choices(self, label: str) -> None:
        _check_name(self.name)
        if len(self.values_) == 0:
            raise SpaceError(f"parameter {self.name!r}: needs at least one {label}")
        keys = []
        for v in self.values_:
            try:
                keys.append(self._key(v))
            except (TypeError, ValueError):
                raise SpaceError(
                    f"parameter {self.name!r}: {label} {v!r} is not JSON-serialisable "
                    "(use str, int, float, bool, None, or lists / dicts of those)"
                ) from None
        if len(set(keys)) != len(keys):
            raise SpaceError(f"parameter {self.name!r}: duplicate {label}s in {self.values_!r}")

    @staticmethod
    def _key(v: Any) -> str:
        # canonical JSON: 1 and True differ, (1, 2) and [1, 2] are the same value
        if hasattr(v, "item") and not isinstance(v, (str, bytes)):
            v = v.item()  # numpy / torch scalars
        return json.dumps(v, sort_keys=True, allow_nan=False)

    def index(self, value: Any) -> int:
        try:
            key = self._key(value)
        except (TypeError, ValueError):
            raise self._bad(value, f"is not one of {list(self.values_)!r}") from None
        for j, v in enumerate(self.values_):
            if self._key(v) == key:
                return j
        raise self._bad(value, f"is not one of {list(self.values_)!r}")

    def encode(self, value: Any) -> float:
        return (self.index(value) + 0.5) / len(self.values_)

    def decode(self, u: float) -> Any:
        k = len(self.values_)
        u = min(max(float(u), 0.0), 1.0)
        return self.values_[min(k - 1, int(math.floor(u * k)))]

    def validate(self, value: Any) -> Any:
        return self.values_[self.index(value)]


@dataclass(frozen=True, init=False)
class Categorical(_Choice):
    """An unordered choice among JSON scalars."""

    name: str
    choices: tuple

    def __init__(self, name: str, choices: Any) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "choices", tuple(choices))
        object.__setattr__(self, "values_", self.choices)
        self._validate_choices("choice")

    def to_json(self) -> dict[str, Any]:
        return {"type": "categorical", "name": self.name, "choices": list(self.choices)}


@dataclass(frozen=True, init=False)
class Ordinal(_Choice):
    """An ordered choice (e.g. batch size 32 < 64 < 128): neighbouring levels are similar."""

    name: str
    values: tuple

    def __init__(self, name: str, values: Any) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "values", tuple(values))
        object.__setattr__(self, "values_", self.values)
        self._validate_choices("value")

    def to_json(self) -> dict[str, Any]:
        return {"type": "ordinal", "name": self.name, "values": list(self.values)}


@dataclass(frozen=True)
class Constant(Param):
    """A fixed value carried in every config (occupies no unit-cube coordinate)."""

    name: str
    value: Any
    n_dims = 0

    def __post_init__(self) -> None:
        _check_name(self.name)
        try:
            json.dumps(self.value, allow_nan=False)
        except (TypeError, ValueError):
            raise SpaceError(
                f"parameter {self.name!r}: constant {self.value!r} is not JSON-serialisable"
            ) from None

    def encode(self, value: Any) -> float:
        raise TypeError("a Constant has no unit-cube coordinate")

    def decode(self, u: float) -> Any:
        return self.value

    def validate(self, value: Any) -> Any:
        if value != self.value:
            raise self._bad(value, f"differs from the constant {self.value!r}")
        return self.value

    def to_json(self) -> dict[str, Any]:
        return {"type": "constant", "name": self.name, "value": self.value}


def param_from_json(data: dict[str, Any]) -> Param:
    """Inverse of ``Param.to_json``."""
    kind = data.get("type")
    try:
        if kind == "float":
            return Float(data["name"], data["low"], data["high"], data.get("log", False),
                         data.get("step"))
        if kind == "int":
            return Int(data["name"], data["low"], data["high"], data.get("log", False),
                       data.get("step", 1))
        if kind == "categorical":
            return Categorical(data["name"], data["choices"])
        if kind == "ordinal":
            return Ordinal(data["name"], data["values"])
        if kind == "constant":
            return Constant(data["name"], data["value"])
    except KeyError as missing:
        raise SpaceError(f"parameter description {data!r} lacks the field {missing}") from None
    raise SpaceError(
        f"unknown parameter type {kind!r} in {data!r}; expected one of float, int, "
        "categorical, ordinal, constant"
    )
