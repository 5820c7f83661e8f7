"""Conditional parameters: a parameter that exists only when another one takes given values.

As ConfigSpace's ``InCondition`` (and Ray Tune's nested choices) express it:
``Condition("momentum", "optimizer", ["sgd"])`` makes ``momentum`` *active* only in configs
whose ``optimizer`` is ``"sgd"``. Several conditions on one parameter must all hold (AND); a
parameter whose parent is inactive is inactive too. Inactive parameters are absent from
configs: they are not sampled, not validated and not reported; encoders put them at a fixed
value.

Example:
    >>> from hpo import Categorical, Condition, Float, SearchSpace
    >>> space = SearchSpace([Categorical("opt", ["sgd", "adam"]), Float("momentum", 0.0, 0.99)],
    ...                     conditions=[Condition("momentum", "opt", ["sgd"])])
    >>> space.validate({"opt": "adam"})
    {'opt': 'adam'}
    >>> space.is_active("momentum", {"opt": "sgd", "momentum": 0.9})
    True
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hpo.errors import InvalidConfigError, SpaceError
from hpo.space.params import Param


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class Condition:
    """``child`` is active only when ``parent`` is active and takes one of ``values``.

    Raises:
        SpaceError: a name is not a non-empty string, ``child == parent``, or ``values`` is not
            a non-empty list / tuple.
    """

    child: str
    parent: str
    values: tuple[Any, ...]

    def __init__(self, child: str, parent: str, values: Sequence[Any]) -> None:
        for label, name in (("child", child), ("parent", parent)):
            if not isinstance(name, str) or not name:
                raise SpaceError(f"condition {label} must be a parameter name, got {name!r}")
        if child == parent:
            raise SpaceError(f"parameter {child!r} cannot be conditional on itself")
        if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)) \
                or not values:
            raise SpaceError(f"condition values for {child!r} must be a non-empty list of "
                             f"{parent!r} values, got {values!r}")
        object.__setattr__(self, "child", child)
        object.__setattr__(self, "parent", parent)
        object.__setattr__(self, "values", tuple(values))

    def holds(self, config: Mapping[str, Any]) -> bool:
        """Whether ``config``'s value of the parent is one of ``values``."""
        if self.parent not in config:
            return False
        key = _key(config[self.parent])
        return any(_key(v) == key for v in self.values)

    def to_json(self) -> dict[str, Any]:
        return {"child": self.child, "parent": self.parent, "values": list(self.values)}

    @classmethod
    def from_json(cls, data: Any) -> Condition:
        if not isinstance(data, Mapping) or set(data) != {"child", "parent", "values"}:
            raise SpaceError(f"a condition JSON needs child, parent and values, got {data!r}")
        return cls(data["child"], data["parent"], data["values"])


class Conditions:
    """The conditions of one space, checked against its parameters, in evaluation order.

    Args:
        params: the space's parameters (by name).
        conditions: the conditions.

    Raises:
        SpaceError: an unknown child or parent, a value the parent can never take, or a cycle.
    """

    def __init__(self, params: Mapping[str, Param], conditions: Iterable[Condition]) -> None:
        self.items = tuple(conditions)
        self._on: dict[str, list[Condition]] = {}
        for cond in self.items:
            if not isinstance(cond, Condition):
                raise SpaceError(f"conditions must be hpo.Condition objects, got {cond!r}")
            for label, name in (("parameter", cond.child), ("parent", cond.parent)):
                if name not in params:
                    raise SpaceError(f"condition on {cond.child!r}: unknown {label} {name!r}; "
                                     f"the space has {list(params)}")
            for value in cond.values:
                try:
                    params[cond.parent].validate(value)
                except InvalidConfigError as err:
                    raise SpaceError(f"condition on {cond.child!r}: {cond.parent!r} can never "
                                     f"be {value!r} ({err})") from None
            self._on.setdefault(cond.child, []).append(cond)
        self.order = self._topological(list(params))

    def _topological(self, names: list[str]) -> tuple[str, ...]:
        """Parameter names with every parent before its children (stable otherwise)."""
        done: list[str] = []
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = " -> ".join(path[path.index(name):] + [name])
                raise SpaceError(f"conditions form a cycle: {cycle}")
            state[name] = 1
            for cond in self._on.get(name, ()):
                visit(cond.parent, path + [name])
            state[name] = 2
            done.append(name)

        for name in names:
            visit(name, [])
        return tuple(done)

    def __bool__(self) -> bool:
        return bool(self.items)

    def active(self, config: Mapping[str, Any]) -> set[str]:
        """Names of the parameters active in ``config`` (parents are judged first)."""
        active: set[str] = set()
        for name in self.order:
            if all(c.parent in active and c.holds(config) for c in self._on.get(name, ())):
                active.add(name)
        return active

    def is_conditional(self, name: str) -> bool:
        return name in self._on

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self.items]
