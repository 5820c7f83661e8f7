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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from hpo.errors import SpaceError
from hpo.space.base import Param, _check_name
from hpo.space.numeric import Float, Int

__all__ = ["Categorical", "Constant", "Float", "Int", "Ordinal", "Param", "param_from_json"]


def _as_values(name: Any, label: str, values: Any) -> tuple:
    """The choices of a Categorical / Ordinal as a tuple (a list, tuple or other iterable)."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        _check_name(name)
        raise SpaceError(f"parameter {name!r}: {label}s must be a list of values, got "
                         f"{values!r}")
    return tuple(values)


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
        return self.values_[min(k - 1, math.floor(u * k))]

    def validate(self, value: Any) -> Any:
        return self.values_[self.index(value)]


@dataclass(frozen=True, init=False)
class Categorical(_Choice):
    """An unordered choice among JSON scalars."""

    name: str
    choices: tuple

    def __init__(self, name: str, choices: Any) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "choices", _as_values(name, "choice", choices))
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
        object.__setattr__(self, "values", _as_values(name, "value", values))
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
