"""Conversion between Ray Tune search domains and scaletune parameters.

A Ray user's ``param_space`` works unchanged: ``SearchSpace.from_ray(param_space)`` (or
``SearchSpace.from_dict``) converts it, and :func:`space_to_ray` goes the other way.

Ray's bound conventions are kept exactly:

==============================  ==================================================
Ray domain                      scaletune parameter
==============================  ==================================================
``uniform(a, b)``               ``Float(a, b)``
``loguniform(a, b)``            ``Float(a, b, log=True)``
``quniform(a, b, q)``           ``Float(a', b', step=q)``, ``a'``/``b'`` = multiples of q inside
``qloguniform(a, b, q)``        ``Float(a', b', log=True, step=q)``
``randint(a, b)``               ``Int(a, b - 1)`` (Ray's upper bound is exclusive)
``lograndint(a, b)``            ``Int(a, b - 1, log=True)``
``qrandint(a, b, q)``, q > 1    ``Int(a', b', step=q)`` (upper bound inclusive, as in Ray)
``qlograndint(a, b, q)``        ``Int(a', b', log=True, step=q)``
``choice([...])``               ``Categorical([...])``
``grid_search([...])``          refused (see below)
constant value                  ``Constant``
nested dict                     flattened, keys joined with ``/``
==============================  ==================================================

``randn`` / ``qrandn`` (unbounded) and ``sample_from`` (arbitrary functions) have no bounded
equivalent and raise :class:`SpaceError`. So does ``grid_search``: Ray enumerates a grid (every
point of the cross product, ``num_samples`` times), while every scaletune method *samples*
configs, so a grid would silently become random search over its points. Use
``tune.choice([...])`` to sample the values, or enqueue the grid points
(``study.enqueue(config)`` for each, see :func:`grid_points`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hpo.errors import SpaceError
from hpo.space.params import Categorical, Constant, Float, Int, Ordinal, Param

SEPARATOR = "/"


def _sample_module() -> Any:
    from ray.tune.search import sample  # lazy: importing ray costs ~1.5 s

    return sample


def is_ray_domain(value: Any) -> bool:
    """True for Ray Tune ``Domain`` objects and ``{"grid_search": [...]}`` dicts."""
    if isinstance(value, Mapping) and set(value) == {"grid_search"}:
        return True
    module = type(value).__module__
    if not module.startswith("ray."):
        return False
    return isinstance(value, _sample_module().Domain)


def _finite(name: str, label: str, value: Any) -> float:
    try:
        ok = not isinstance(value, bool) and math.isfinite(value)
    except (TypeError, OverflowError):
        ok = False
    if not ok:
        raise SpaceError(f"parameter {name!r}: the Ray domain's {label} must be a finite "
                         f"number, got {value!r}")
    return value


def _grid_bounds(name: str, lower: float, upper: float, q: float) -> tuple[float, float]:
    if not _finite(name, "q", q) > 0:
        raise SpaceError(f"parameter {name!r}: the Ray domain's q must be > 0, got {q!r}")
    lo = math.ceil(lower / q - 1e-9) * q
    hi = math.floor(upper / q + 1e-9) * q
    if hi < lo:
        raise SpaceError(
            f"parameter {name!r}: no multiple of q={q!r} lies between {lower!r} and {upper!r}"
        )
    return lo, hi


def param_from_ray(name: str, domain: Any) -> Param:
    """Convert one Ray Tune domain (see the module table)."""
    if isinstance(domain, Mapping) and "grid_search" in domain:
        raise SpaceError(
            f"parameter {name!r}: tune.grid_search({domain['grid_search']!r}) is enumerated by "
            "Ray, but scaletune's methods sample configs, so the grid would be sampled at "
            "random: use tune.choice([...]) to sample these values, or study.enqueue() each "
            "grid point (hpo.space.ray.grid_points lists them)"
        )
    sample = _sample_module()
    sampler = getattr(domain, "sampler", None)
    q = None
    if isinstance(sampler, sample.Quantized):
        q, sampler = sampler.q, sampler.sampler
    log = isinstance(sampler, sample.LogUniform)
    if isinstance(sampler, sample.Normal):
        raise SpaceError(
            f"parameter {name!r}: Ray's randn/qrandn domain is unbounded; use tune.uniform or "
            "tune.loguniform with explicit bounds"
        )
    if isinstance(domain, sample.Categorical):
        return Categorical(name, list(domain.categories))
    if isinstance(domain, (sample.Float, sample.Integer)):
        _finite(name, "lower bound", domain.lower)
        _finite(name, "upper bound", domain.upper)
    if isinstance(domain, sample.Float):
        if q is None:
            return Float(name, float(domain.lower), float(domain.upper), log=log)
        lo, hi = _grid_bounds(name, domain.lower, domain.upper, q)
        return Float(name, float(lo), float(hi), log=log, step=float(q))
    if isinstance(domain, sample.Integer):
        if q is None or q == 1:
            return Int(name, int(domain.lower), int(domain.upper) - 1, log=log)
        lo, hi = _grid_bounds(name, domain.lower, domain.upper, q)
        return Int(name, int(lo), int(hi), log=log, step=int(q))
    raise SpaceError(
        f"parameter {name!r}: cannot convert Ray domain {domain!r} (sample_from and custom "
        "functions have no bounded equivalent)"
    )


def flatten(spec: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts (not domains) into ``{"a/b": value}``."""
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if not isinstance(key, str):
            raise SpaceError(f"param_space keys must be strings, got {key!r}")
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and not is_ray_domain(value):
            out.update(flatten(value, path + SEPARATOR))
        else:
            out[path] = value
    return out


def unflatten(config: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten` for configs handed to a Ray trainable."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        node = out
        parts = key.split(SEPARATOR)
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def flat_from_ray(param_space: Mapping[str, Any]) -> dict[str, Any]:
    """A Ray Tune ``param_space`` as the flat mapping ``SearchSpace.from_dict`` accepts."""
    if not isinstance(param_space, Mapping):
        raise SpaceError(f"param_space must be a dict, got {type(param_space).__name__}")
    return flatten(param_space)


def grid_points(param_space: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The cross product of a ``param_space``'s ``grid_search`` values, as flat configs of the
    grid parameters only (``[{}]`` without grids), the last grid key varying fastest.

    Example: enqueue each point with the other parameters fixed, for a study over the rest::

        for point in grid_points(param_space):
            study.enqueue({**defaults, **point})
    """
    grids = []
    for key, value in flat_from_ray(param_space).items():
        if isinstance(value, Mapping) and set(value) == {"grid_search"}:
            grids.append((key, _as_grid(key, value["grid_search"])))
    points: list[dict[str, Any]] = [{}]
    for key, values in grids:
        points = [{**point, key: v} for point in points for v in values]
    return points


def _as_grid(name: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
        raise SpaceError(f"parameter {name!r}: grid_search needs a list of values, got "
                         f"{values!r}")
    return list(values)


def param_to_ray(p: Param) -> Any:
    """The Ray Tune domain of one parameter (constants are returned as plain values)."""
    from ray import tune

    if isinstance(p, Constant):
        return p.value
    if isinstance(p, (Categorical, Ordinal)):
        return tune.choice(list(p.values_))
    if isinstance(p, Float):
        if p.step is None:
            return tune.loguniform(p.low, p.high) if p.log else tune.uniform(p.low, p.high)
        if p.log:
            return tune.qloguniform(p.low, p.high, p.step)
        return tune.quniform(p.low, p.high, p.step)
    if isinstance(p, Int):
        if p.step == 1:
            return tune.lograndint(p.low, p.high + 1) if p.log else tune.randint(p.low, p.high + 1)
        if p.log:
            return tune.qlograndint(p.low, p.high, p.step)
        return tune.qrandint(p.low, p.high, p.step)
    raise SpaceError(f"no Ray Tune domain for parameter {p!r}")


def space_to_ray(space: Any, *, nested: bool = True) -> dict[str, Any]:
    """A Ray Tune ``param_space`` for ``space`` (nested back along ``/`` when ``nested``)."""
    flat = {p.name: param_to_ray(p) for p in space}
    return unflatten(flat) if nested else flat
