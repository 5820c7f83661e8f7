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

from hpo.errors import InvalidConfigError, SpaceError
from hpo.space.params import Categorical, Constant, Float, Int, Ordinal, Param, param_from_json
from hpo.core.types import Config
from hpo.space.ray import flat_from_ray, is_ray_domain, param_from_ray, space_to_ray

__all__ = ["SearchSpace", "Float", "Int", "Categorical", "Ordinal", "Constant", "Param"]


class SearchSpace:
    """An ordered collection of uniquely named parameters.

    Args:
        params: the parameters, in the order of their unit-cube coordinates.

    Raises:
        SpaceError: empty space, duplicate names, or a non-parameter element.
    """

    def __init__(self, params: Iterable[Param]) -> None:
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
        return isinstance(other, SearchSpace) and self._params == other._params

    def __hash__(self) -> int:
        return hash(self._params)

    def __repr__(self) -> str:
        return f"SearchSpace({list(self._params)!r})"

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
        missing = [p.name for p in self._params if p.name not in config]
        if missing:
            raise InvalidConfigError(f"config {dict(config)!r} lacks parameter(s) {missing}")
        return {p.name: p.validate(config[p.name]) for p in self._params}

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
        return np.array([p.encode(config[p.name]) for p in self._coded], dtype=float)

    def decode(self, u: Any) -> Config:
        """Config of a unit-cube vector (values outside [0, 1] are clipped)."""
        u = np.asarray(u, dtype=float).reshape(-1)
        if u.shape[0] != self.dim:
            raise ValueError(f"expected a vector of length {self.dim}, got shape {u.shape}")
        it = iter(u.tolist())
        return {p.name: (p.decode(next(it)) if p.n_dims else p.decode(0.0)) for p in self._params}

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
        return {"params": [p.to_json() for p in self._params]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> SearchSpace:
        """Build a space from :meth:`to_json` output (a dict or a JSON string)."""
        if isinstance(data, str):
            data = json.loads(data)
        if not isinstance(data, Mapping) or "params" not in data:
            raise SpaceError(f"a search space JSON needs a 'params' list, got {data!r}")
        return cls(param_from_json(p) for p in data["params"])

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> SearchSpace:
        """Build a space from a mapping name -> parameter, Ray Tune domain, list, or constant.

        * a ``Param`` is renamed to the key if needed;
        * a list or tuple becomes a ``Categorical``;
        * a Ray Tune domain (``tune.uniform(...)``, ``tune.choice(...)``...) is converted;
        * any other JSON value is a ``Constant``.
        """
        params: list[Param] = []
        for name, value in spec.items():
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
    def from_ray(cls, param_space: Mapping[str, Any]) -> SearchSpace:
        """Convert a Ray Tune ``param_space`` (nested dicts flattened with ``/``)."""
        return cls.from_dict(flat_from_ray(param_space))

    def to_ray(self, *, nested: bool = True) -> dict[str, Any]:
        """The equivalent Ray Tune ``param_space``."""
        return space_to_ray(self, nested=nested)


def _renamed(p: Param, name: str) -> Param:
    data = p.to_json()
    data["name"] = name
    return param_from_json(data)
