"""Named methods: JSON-serialisable recipes that build a scheduler (with its searcher).

A *method* is a small frozen dataclass of typed options (``ASHA(eta=4)``) with a ``build`` that
returns a :class:`~hpo.protocols.Scheduler`. The journal records ``{"name": ..., "params": ...}``
so that a study can be reopened by path in another process.

``hpo`` never imports the packages that implement methods (imports run one way:
``hpo <- searchers <- schedulers <- benchmarks``). Methods are found by name through the
``scaletune.methods`` entry-point group declared in ``pyproject.toml`` (the built-in ones live in
``schedulers.methods``), and third-party or user code can add its own with
:func:`register_method` or its own entry points.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from importlib.metadata import entry_points
from typing import Any, ClassVar

from hpo.core.protocols import Scheduler
from hpo.core.types import Fidelity, Objective
from hpo.errors import MethodError
from hpo.space.search_space import SearchSpace

ENTRY_POINT_GROUP = "scaletune.methods"

_registry: dict[str, type[Method]] = {}


class Method(ABC):
    """Base class of method recipes. Subclasses are frozen dataclasses of their options.

    Class attributes:
        name: the registry name (``"asha"``).
        needs_fidelity: building without a fidelity raises :class:`MethodError`.
    """

    name: ClassVar[str] = ""
    needs_fidelity: ClassVar[bool] = False

    @abstractmethod
    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        """A fresh scheduler; same arguments -> same decisions."""

    def check(self, fidelity: Fidelity | None) -> None:
        """Raise :class:`MethodError` if the method cannot run with ``fidelity``."""
        if self.needs_fidelity and fidelity is None:
            raise MethodError(
                f"method {self.name!r} is multi-fidelity: pass fidelity=Fidelity(name, min, max) "
                "(e.g. Fidelity('epochs', 1, 81))"
            )

    def required(self, fidelity: Fidelity | None) -> Fidelity:
        """``fidelity`` itself, or the :meth:`check` error if a multi-fidelity method lacks one."""
        if fidelity is None:
            raise MethodError(
                f"method {self.name!r} is multi-fidelity: pass fidelity=Fidelity(name, min, max) "
                "(e.g. Fidelity('epochs', 1, 81))"
            )
        return fidelity

    def params(self) -> dict[str, Any]:
        if dataclasses.is_dataclass(self):
            return dataclasses.asdict(self)
        return {}

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params()}


def register_method(cls: type[Method]) -> type[Method]:
    """Register a method class under ``cls.name`` (usable as a decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Method)) or not cls.name:
        raise MethodError(f"register_method needs a Method subclass with a name, got {cls!r}")
    _registry[cls.name] = cls
    return cls


def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_methods() -> list[str]:
    """Every method name known (registered or installed)."""
    return sorted(set(_registry) | set(_entry_points()))


def method_class(name: str) -> type[Method]:
    """The method class registered under ``name``.

    Raises:
        MethodError: unknown name (the message lists the valid ones).
    """
    if name in _registry:
        return _registry[name]
    eps = _entry_points()
    if name in eps:
        cls = eps[name].load()
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise MethodError(f"entry point {name!r} does not name a Method class: {cls!r}")
        _registry[name] = cls
        return cls
    raise MethodError(f"unknown method {name!r}; available methods: {available_methods()}")


def resolve_method(method: str | Method) -> Method:
    """A method instance from a name (default options) or an instance."""
    if isinstance(method, Method):
        return method
    if isinstance(method, str):
        return method_class(method)()
    raise MethodError(f"method must be a name or a Method instance, got {method!r}")


def method_from_json(data: dict[str, Any]) -> Method:
    """Rebuild a method from ``Method.to_json()`` output (used when reopening a journal)."""
    cls = method_class(data["name"])
    try:
        return cls(**data.get("params", {}))
    except TypeError as err:
        raise MethodError(f"cannot rebuild method {data['name']!r} from {data!r}: {err}") from None
