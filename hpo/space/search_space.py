"""The search space: named parameters, validation, seeded sampling, unit-cube encoding.

Example:
    >>> import numpy as np
    >>> from hpo import SearchSpace, Float, Int, Categorical
    >>> space = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("layers", 1, 4),
    ...                      Categorical("act", ["relu", "gelu"])])
    >>> config = space.sample(np.random.default_rng(0))
    >>> space.validate(config) == config
    True
    >>> space.decode(space.encode(config)) == config
    True
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from hpo.core.types import Config
from hpo.errors import InvalidConfigError, SpaceError
from hpo.space.conditions import Condition, Conditions
from hpo.space.params import Categorical, Constant, Float, Int, Ordinal, Param, param_from_json
from hpo.space.ray import flat_from_ray, is_ray_domain, param_from_ray, space_to_ray

__all__ = ["Categorical", "Constant", "Float", "Int", "Ordinal", "Param", "SearchSpace"]


class SearchSpace:
    """An ordered collection of uniquely named parameters.

    Args:
        params: the parameters, in the order of their unit-cube coordinates.
        conditions: :class:`~hpo.space.conditions.Condition` objects making some parameters
            active only when others take given values (inactive parameters are absent from
            configs; :meth:`encode` puts them at ``INACTIVE_CODE``).

    Raises:
        SpaceError: empty space, duplicate names, a non-parameter element, or an invalid
            condition (unknown names, impossible values, a cycle).
    """

    #: the unit-cube coordinate of an inactive parameter in :meth:`encode`
    INACTIVE_CODE = 0.5

    def __init__(self, params: Iterable[Param], conditions: Iterable[Condition] = ()) -> None:
        params = tuple(params)
        if not params:
            raise SpaceError("the search space is empty: give at least one parameter")
        seen: set[str] = set()
        for p in params:
            if not isinstance(p, Param):
                raise SpaceError(
                    f"search space elements must be Float, Int, Categorical, Ordinal or "
                    f"Constant parameters, got {p!r}"
                )
            if p.name in seen:
                raise SpaceError(f"duplicate parameter name {p.name!r} in the search space")
            seen.add(p.name)
        self._params = params
        self._by_name = {p.name: p for p in params}
        self._coded = tuple(p for p in params if p.n_dims)
        if not self._coded:
            raise SpaceError("the search space has only constants: nothing to search")
        if isinstance(conditions, (Condition, str)) or not isinstance(conditions, Iterable):
            raise SpaceError(f"conditions must be a list of hpo.Condition, got {conditions!r}")
        self._conditions = Conditions(self._by_name, conditions)

    @property
    def conditions(self) -> tuple[Condition, ...]:
        """The conditions (empty for a space without conditional parameters)."""
        return self._conditions.items

    def is_active(self, name: str, config: Mapping[str, Any]) -> bool:
        """Whether parameter ``name`` is active in ``config`` (always, without conditions)."""
        if name not in self._by_name:
            raise KeyError(f"no parameter named {name!r}; the space has {self.names}")
        if not self._conditions.is_conditional(name):
            return True
        return name in self._conditions.active(config)

    def _drop_inactive(self, config: Config) -> Config:
        if not self._conditions:
            return config
        active = self._conditions.active(config)
        return {k: v for k, v in config.items() if k in active}

    # -- collection protocol -------------------------------------------------------------
    @property
    def params(self) -> tuple[Param, ...]:
        return self._params

    @property
    def names(self) -> list[str]:
        return [p.name for p in self._params]

    @property
    def dim(self) -> int:
        """Number of unit-cube coordinates (constants excluded)."""
        return len(self._coded)

    @property
    def coded_params(self) -> tuple[Param, ...]:
        """The parameters that own a unit-cube coordinate, in coordinate order."""
        return self._coded

    def __len__(self) -> int:
        return len(self._params)

    def __iter__(self) -> Iterator[Param]:
        return iter(self._params)

    def __getitem__(self, name: str) -> Param:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no parameter named {name!r}; the space has {self.names}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, SearchSpace) and self._params == other._params
                and self.conditions == other.conditions)

    def __hash__(self) -> int:
        return hash((self._params, self.conditions))

    def __repr__(self) -> str:
        extra = f", conditions={list(self.conditions)!r}" if self.conditions else ""
        return f"SearchSpace({list(self._params)!r}{extra})"

    # -- validation ----------------------------------------------------------------------
    def validate(self, config: Mapping[str, Any]) -> Config:
        """Check that ``config`` belongs to the space and return its canonical form.

        Raises:
            InvalidConfigError: a missing or unknown parameter name, or a value outside its
                parameter's domain. The message names the parameter and the value.
        """
        if not isinstance(config, Mapping):
            raise InvalidConfigError(f"a config must be a mapping name -> value, got {config!r}")
        unknown = [k for k in config if k not in self._by_name]
        if unknown:
            raise InvalidConfigError(
                f"unknown parameter name(s) {unknown} in config; the space has {self.names}"
            )
        if self._conditions:
            return self._validate_conditional(config)
        missing = [p.name for p in self._params if p.name not in config]
        if missing:
            raise InvalidConfigError(f"config {dict(config)!r} lacks parameter(s) {missing}")
        return {p.name: p.validate(config[p.name]) for p in self._params}

    def _validate_conditional(self, config: Mapping[str, Any]) -> Config:
        """Validate active parameters (parents first); values of inactive ones are dropped."""
        valid: dict[str, Any] = {}
        for name in self._conditions.order:
            if not self.is_active(name, valid):
                continue
            if name not in config:
                raise InvalidConfigError(f"config {dict(config)!r} lacks parameter {name!r} "
                                         f"(active in it)")
            valid[name] = self._by_name[name].validate(config[name])
        return {p.name: valid[p.name] for p in self._params if p.name in valid}

    def contains(self, config: Mapping[str, Any]) -> bool:
        try:
            self.validate(config)
        except InvalidConfigError:
            return False
        return True

    # -- sampling & encoding -------------------------------------------------------------
    def sample(self, rng: np.random.Generator, n: int | None = None) -> Any:
        """Uniform samples (log-uniform on log scales) drawn from ``rng``.

        Returns one config when ``n`` is None, else a list of ``n`` configs.
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        count = 1 if n is None else int(n)
        u = rng.random((count, self.dim))
        configs = self.decode_many(u)
        return configs[0] if n is None else configs

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """Unit-cube vector of a (valid) config, shape ``(dim,)``."""
        if self._conditions:
            return np.array([p.encode(config[p.name]) if p.name in config
                             else self.INACTIVE_CODE for p in self._coded], dtype=float)
        return np.array([p.encode(config[p.name]) for p in self._coded], dtype=float)

    def decode(self, u: Any) -> Config:
        """Config of a unit-cube vector (values outside [0, 1] are clipped)."""
        u = np.asarray(u, dtype=float).reshape(-1)
        if u.shape[0] != self.dim:
            raise ValueError(f"expected a vector of length {self.dim}, got shape {u.shape}")
        it = iter(u.tolist())
        config = {p.name: (p.decode(next(it)) if p.n_dims else p.decode(0.0))
                  for p in self._params}
        return self._drop_inactive(config)

    def encode_many(self, configs: Iterable[Mapping[str, Any]]) -> np.ndarray:
        rows = [self.encode(c) for c in configs]
        return np.array(rows, dtype=float).reshape(len(rows), self.dim)

    def decode_many(self, u: Any) -> list[Config]:
        u = np.asarray(u, dtype=float)
        if u.ndim != 2 or u.shape[1] != self.dim:
            raise ValueError(f"expected an array of shape (n, {self.dim}), got {u.shape}")
        return [self.decode(row) for row in u]

    # -- serialisation -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"params": [p.to_json() for p in self._params]}
        if self._conditions:
            data["conditions"] = self._conditions.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> SearchSpace:
        """Build a space from :meth:`to_json` output (a dict or a JSON string)."""
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, Mapping) or "params" not in data:
            raise SpaceError(f"a search space JSON needs a 'params' list, got {data!r}")
        conditions = data.get("conditions") or []
        if not isinstance(conditions, list):
            raise SpaceError(f"search space 'conditions' must be a list, got {conditions!r}")
        return cls([param_from_json(p) for p in data["params"]],
                   [Condition.from_json(c) for c in conditions])

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any] | Iterable[Param]) -> SearchSpace:
        """Build a space from a mapping name -> parameter, Ray Tune domain, list, or constant.

        * a ``Param`` is renamed to the key if needed;
        * a list or tuple becomes a ``Categorical``;
        * a Ray Tune domain (``tune.uniform(...)``, ``tune.choice(...)``...) is converted;
        * a nested dict is flattened, its keys joined with ``/`` (as in :meth:`from_ray`):
          ``{"opt": {"lr": Float(...)}}`` has the parameter ``"opt/lr"``;
        * any other JSON value is a ``Constant``.

        A list or tuple of parameters is accepted too (``SearchSpace(params)``).

        Raises:
            SpaceError: ``spec`` is neither a mapping nor a sequence of parameters, or an
                entry is invalid (the message names it).
        """
        if isinstance(spec, (list, tuple)) and all(isinstance(p, Param) for p in spec):
            return cls(spec)
        if not isinstance(spec, Mapping):
            raise SpaceError(
                "a search space must be a SearchSpace, a dict name -> parameter (or Ray Tune "
                f"param_space) or a list of parameters, got {spec!r}"
            )
        params: list[Param] = []
        for name, value in flat_from_ray(spec).items():
            if isinstance(value, Param):
                params.append(value if value.name == name else _renamed(value, name))
            elif is_ray_domain(value):
                params.append(param_from_ray(name, value))
            elif isinstance(value, (list, tuple)):
                params.append(Categorical(name, value))
            else:
                params.append(Constant(name, value))
        return cls(params)

    @classmethod
    def coerce(cls, space: Any) -> SearchSpace:
        """``space`` itself if it is a SearchSpace, else :meth:`from_dict` of it."""
        return space if isinstance(space, SearchSpace) else cls.from_dict(space)

    @classmethod
    def from_ray(cls, param_space: Mapping[str, Any]) -> SearchSpace:
        """Convert a Ray Tune ``param_space`` (nested dicts flattened with ``/``).

        ``tune.grid_search`` is refused (scaletune samples, it never enumerates; see
        :mod:`hpo.space.ray`).
        """
        if not isinstance(param_space, Mapping):
            raise SpaceError(f"param_space must be a dict, got {param_space!r}")
        return cls.from_dict(param_space)

    def to_ray(self, *, nested: bool = True) -> dict[str, Any]:
        """The equivalent Ray Tune ``param_space``."""
        return space_to_ray(self, nested=nested)


def _renamed(p: Param, name: str) -> Param:
    data = p.to_json()
    data["name"] = name
    return param_from_json(data)
