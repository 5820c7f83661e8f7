"""The parameter base class and the number checks every parameter type shares."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

from hpo.errors import InvalidConfigError, SpaceError


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise SpaceError(f"parameter names must be non-empty strings, got {name!r}")


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float))


def _finite(value: Any) -> bool:
    """``math.isfinite`` that is False (not OverflowError) for an int beyond float range."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _as_number(name: str, label: str, value: Any) -> float:
    if not _is_number(value) or not _finite(value):
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
