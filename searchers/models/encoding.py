"""Encoding of an :class:`hpo.SearchSpace` for GP inputs, and back.

One column per non-constant parameter, in the space's coordinate order (constants are dropped):

==============================  =============================================================
parameter                       GP column
==============================  =============================================================
``Float`` (linear / log)        the space's unit-interval coordinate (log scale for ``log``)
``Int`` (linear / log)          the space's unit coordinate (linear: level ``j`` of ``k`` at the
                                bin centre ``(j + 0.5) / k``; log: log-uniform position);
                                decoding rounds to the nearest integer on the step grid
``Ordinal`` with ``k`` levels   ``(j + 0.5) / k`` (ordered, treated as numeric)
``Categorical`` with ``k``      the index ``j`` in ``0 .. k-1``, listed in :attr:`cat_dims`
                                (a categorical kernel, not a distance, compares it)
==============================  =============================================================

Numeric columns live in ``[0, 1]``; categorical columns in ``[0, k - 1]`` (see :attr:`bounds`).

**Conditional parameters** (a space with ``conditions``, see ``hpo.Condition``): an inactive
parameter is absent from decoded configs and is encoded at a fixed value, :data:`INACTIVE_NUMERIC`
(``0.5``, the centre of the unit interval) for numeric and ordinal columns and index ``0`` for
categorical ones, so that all configs where it is inactive agree on that coordinate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from hpo import Categorical, SearchSpace

INACTIVE_NUMERIC = 0.5
INACTIVE_CATEGORY = 0


class Encoder:
    """Maps configs of ``space`` to float64 GP input rows and rows back to configs.

    Example:
        >>> from hpo import SearchSpace, Float, Int, Categorical, Constant
        >>> space = SearchSpace([Float("lr", 1e-4, 1e-1, log=True), Int("n", 1, 4),
        ...                      Categorical("act", ["relu", "gelu"]), Constant("seed", 0)])
        >>> enc = Encoder(space)
        >>> enc.dim, enc.cat_dims
        (3, [2])
        >>> enc.decode_one(enc.encode_one({"lr": 1e-2, "n": 3, "act": "gelu", "seed": 0}))["n"]
        3
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.params = space.coded_params
        self.cat_dims = [i for i, p in enumerate(self.params) if isinstance(p, Categorical)]
        self._is_cat = [isinstance(p, Categorical) for p in self.params]
        upper = [len(p.choices) - 1 if isinstance(p, Categorical) else 1.0 for p in self.params]
        self.bounds = np.array([[0.0] * len(self.params), upper], dtype=np.float64)
        self._conditional = bool(getattr(space, "conditions", ()))

    @property
    def dim(self) -> int:
        return len(self.params)

    # -- encode ---------------------------------------------------------------------------
    def encode_one(self, config: Mapping[str, Any]) -> np.ndarray:
        row = np.empty(self.dim, dtype=np.float64)
        for i, p in enumerate(self.params):
            if p.name not in config or not self._active(p.name, config):
                row[i] = INACTIVE_CATEGORY if self._is_cat[i] else INACTIVE_NUMERIC
            elif self._is_cat[i]:
                row[i] = float(p.index(config[p.name]))  # type: ignore[attr-defined]
            else:
                row[i] = p.encode(config[p.name])
        return row

    def encode(self, configs: Iterable[Mapping[str, Any]]) -> np.ndarray:
        rows = [self.encode_one(c) for c in configs]
        return np.array(rows, dtype=np.float64).reshape(len(rows), self.dim)

    # -- decode ---------------------------------------------------------------------------
    def decode_one(self, row: Any) -> dict[str, Any]:
        """The config of a GP row (numeric columns clipped to [0, 1], indices rounded)."""
        row = np.asarray(row, dtype=np.float64).reshape(-1)
        if row.shape[0] != self.dim:
            raise ValueError(f"expected a row of length {self.dim}, got shape {row.shape}")
        values = iter(row.tolist())
        config: dict[str, Any] = {}
        for p in self.space.params:
            if not p.n_dims:
                config[p.name] = p.decode(0.0)
                continue
            x = next(values)
            if isinstance(p, Categorical):
                j = int(min(max(round(x), 0), len(p.choices) - 1))
                config[p.name] = p.choices[j]
            else:
                config[p.name] = p.decode(x)
        return self._drop_inactive(config)

    def decode(self, rows: Any) -> list[dict[str, Any]]:
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, self.dim)
        return [self.decode_one(r) for r in rows]

    def canonical(self, rows: Any) -> np.ndarray:
        """``encode(decode(rows))``: integers, levels and categories snapped, inactive
        coordinates set to their fixed value (what the model sees for the decoded config)."""
        return self.encode(self.decode(rows))

    # -- conditional parameters -----------------------------------------------------------
    def _active(self, name: str, config: Mapping[str, Any]) -> bool:
        return not self._conditional or bool(self.space.is_active(name, config))

    def _drop_inactive(self, config: dict[str, Any]) -> dict[str, Any]:
        """Remove inactive parameters until none is left (a parent may itself be inactive)."""
        if not self._conditional:
            return config
        while True:
            inactive = [n for n in config if not self._active(n, config)]
            if not inactive:
                return config
            for n in inactive:
                del config[n]
