"""Scale: the fixed size of a trial (width, depth, tokens...), the target, and proxy ladders.

A scaling study tunes hyper-parameters for a *target* model too expensive to sweep, by running
cheap *proxies*: narrower, shallower or shorter versions of it. Each trial runs at one point of
the proxy ladder for its whole life (its ``scale``: a mapping axis name -> value); within that
scale its learning curve is still a fidelity, so ASHA or freeze-thaw can run inside a proxy scale.

The cost of a scale point is 6·N·D training FLOPs by default, with N the parameter count (from a
power law in width and depth that the user sets, e.g. ``12·L·n²`` for a transformer block stack,
plus ``vocab·n`` embedding parameters) and D the training tokens; ``cost="measured"`` uses the
costs the objective reports instead.

Example:
    >>> import hpo
    >>> scaling = hpo.Scaling([hpo.ScaleAxis("width", 1024, [64, 128, 256], kind="width"),
    ...                        hpo.ScaleAxis("tokens", 2e9, [2.5e8, 5e8], kind="tokens")],
    ...                       parametrization="mup")
    >>> scaling.relative({"width": 128, "tokens": 5e8})
    {'width': -3.0, 'tokens': -2.0}
    >>> f"{scaling.flops(scaling.target):.3g}"
    '1.51e+17'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hpo.errors import SpaceError

AXIS_KINDS = ("width", "depth", "tokens", "steps", "batch", "other")
PARAMETRIZATIONS = ("mup", "sp")
COST_MODELS = ("6ND", "measured")


def _positive(label: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpaceError(f"{label} must be a positive number, got {value!r}")
    try:
        ok = math.isfinite(value) and value > 0
    except OverflowError:
        ok = False
    if not ok:
        raise SpaceError(f"{label} must be a finite number > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class ScaleAxis:
    """One axis of scale.

    Args:
        name: the key of this axis in a trial's ``scale`` (and the objective's ``trial.scale``).
        target: its value at the target model.
        ladder: the values proxies may use (the target is always allowed too, for a final check).
        kind: what it is: ``"width"``, ``"depth"``, ``"tokens"``, ``"steps"``, ``"batch"`` or a
            user-defined ``"other"`` axis; the cost model and the scaling priors read it.
    """

    name: str
    target: float
    ladder: tuple[float, ...]
    kind: str = "other"

    def __init__(self, name: str, target: float, ladder: Sequence[float],
                 kind: str = "other") -> None:
        if not isinstance(name, str) or not name:
            raise SpaceError(f"a scale axis needs a non-empty name, got {name!r}")
        if kind not in AXIS_KINDS:
            raise SpaceError(f"scale axis {name!r}: unknown kind {kind!r}; choose one of "
                             f"{list(AXIS_KINDS)}")
        if isinstance(ladder, (str, bytes)) or not isinstance(ladder, Sequence) or not ladder:
            raise SpaceError(f"scale axis {name!r}: ladder must be a non-empty list of values, "
                             f"got {ladder!r}")
        values = tuple(sorted({_positive(f"scale axis {name!r} ladder value", v)
                               for v in ladder}))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "target", _positive(f"scale axis {name!r} target", target))
        object.__setattr__(self, "ladder", values)
        object.__setattr__(self, "kind", kind)

    @property
    def allowed(self) -> tuple[float, ...]:
        return tuple(sorted(set(self.ladder) | {self.target}))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "target": self.target, "ladder": list(self.ladder),
                "kind": self.kind}


@dataclass(frozen=True)
class Scaling:
    """The scale axes of a study, its target, its parametrization and its cost model.

    Args:
        axes: the :class:`ScaleAxis` objects (unique names).
        parametrization: ``"mup"`` (μP; hyper-parameters expected to transfer across width) or
            ``"sp"`` (standard parametrization); selects the scaling model's priors.
        cost: ``"6ND"`` (FLOPs from the parameter count and tokens) or ``"measured"``.
        param_coef, width_exponent, depth_exponent: N = ``param_coef · n^width_exponent ·
            L^depth_exponent`` (+ ``vocab · n``), n the width, L the depth (1 without a depth
            axis); defaults 12, 2, 1: a transformer block stack.
        vocab: embedding rows counted in N (0: non-embedding parameters only).
        default: the scale of a trial started without one (default: the cheapest proxy).
    """

    axes: tuple[ScaleAxis, ...]
    parametrization: str = "mup"
    cost: str = "6ND"
    param_coef: float = 12.0
    width_exponent: float = 2.0
    depth_exponent: float = 1.0
    vocab: float = 0.0
    default: Mapping[str, float] | None = None

    def __init__(self, axes: Iterable[ScaleAxis], *, parametrization: str = "mup",
                 cost: str = "6ND", param_coef: float = 12.0, width_exponent: float = 2.0,
                 depth_exponent: float = 1.0, vocab: float = 0.0,
                 default: Mapping[str, float] | None = None) -> None:
        axes = tuple(axes) if not isinstance(axes, ScaleAxis) else (axes,)
        if not axes or not all(isinstance(a, ScaleAxis) for a in axes):
            raise SpaceError(f"Scaling needs a non-empty list of hpo.ScaleAxis, got {axes!r}")
        names = [a.name for a in axes]
        if len(set(names)) != len(names):
            raise SpaceError(f"duplicate scale axis names in {names}")
        if parametrization not in PARAMETRIZATIONS:
            raise SpaceError(f"unknown parametrization {parametrization!r}; choose one of "
                             f"{list(PARAMETRIZATIONS)}")
        if cost not in COST_MODELS:
            raise SpaceError(f"unknown cost model {cost!r}; choose one of {list(COST_MODELS)}")
        for label, value in (("param_coef", param_coef), ("width_exponent", width_exponent),
                             ("depth_exponent", depth_exponent)):
            _positive(label, value)
        if isinstance(vocab, bool) or not isinstance(vocab, (int, float)) or vocab < 0:
            raise SpaceError(f"vocab must be a number >= 0, got {vocab!r}")
        values: tuple[tuple[str, Any], ...] = (
            ("axes", axes), ("parametrization", parametrization), ("cost", cost),
            ("param_coef", float(param_coef)), ("width_exponent", float(width_exponent)),
            ("depth_exponent", float(depth_exponent)), ("vocab", float(vocab)))
        for field, value in values:
            object.__setattr__(self, field, value)
        object.__setattr__(self, "default", None)
        object.__setattr__(self, "default", self.check(default) if default is not None
                           else self.cheapest())

    # -- points of the ladder ------------------------------------------------------------
    def axis(self, kind_or_name: str) -> ScaleAxis | None:
        """The axis with this name, else the first of this kind, else None."""
        for a in self.axes:
            if a.name == kind_or_name:
                return a
        return next((a for a in self.axes if a.kind == kind_or_name), None)

    @property
    def target(self) -> dict[str, float]:
        return {a.name: a.target for a in self.axes}

    def proxies(self) -> list[dict[str, float]]:
        """Every proxy point: the cross product of the ladders (the target excluded)."""
        points = [dict(zip([a.name for a in self.axes], values))
                  for values in itertools.product(*(a.ladder for a in self.axes))]
        return [p for p in points if p != self.target]

    def cheapest(self) -> dict[str, float]:
        candidates = self.proxies() or [self.target]
        return min(candidates, key=lambda p: (self.flops(p), sorted(p.items())))

    def check(self, scale: Mapping[str, Any]) -> dict[str, float]:
        """A validated scale point: exactly the axes, each value on its ladder or the target."""
        if not isinstance(scale, Mapping) or set(scale) != {a.name for a in self.axes}:
            raise SpaceError(f"a scale must give exactly the axes "
                             f"{[a.name for a in self.axes]}, got {scale!r}")
        out = {}
        for a in self.axes:
            value = scale[a.name]
            if not any(_close(value, v) for v in a.allowed):
                raise SpaceError(f"scale axis {a.name!r} = {value!r} is not on its ladder "
                                 f"{list(a.ladder)} nor the target {a.target}")
            out[a.name] = next(v for v in a.allowed if _close(value, v))
        return out

    def relative(self, scale: Mapping[str, float]) -> dict[str, float]:
        """``log2(value / target)`` per axis: 0 at the target, negative for proxies."""
        return {a.name: math.log2(float(scale[a.name]) / a.target) for a in self.axes}

    # -- cost ----------------------------------------------------------------------------
    def n_params(self, scale: Mapping[str, float]) -> float:
        width = self._value(scale, "width", 1.0)
        depth = self._value(scale, "depth", 1.0)
        return (self.param_coef * width ** self.width_exponent * depth ** self.depth_exponent
                + self.vocab * width)

    def tokens(self, scale: Mapping[str, float]) -> float:
        """Training tokens: the tokens axis, else steps × batch (1 for a missing factor)."""
        if self.axis("tokens") is not None:
            return self._value(scale, "tokens", 1.0)
        return self._value(scale, "steps", 1.0) * self._value(scale, "batch", 1.0)

    def flops(self, scale: Mapping[str, float]) -> float:
        """Predicted training FLOPs 6·N·D of a run at ``scale``."""
        return 6.0 * self.n_params(scale) * self.tokens(scale)

    def _value(self, scale: Mapping[str, float], kind: str, missing: float) -> float:
        axis = next((a for a in self.axes if a.kind == kind), None)
        return missing if axis is None else float(scale[axis.name])

    # -- serialisation -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {"axes": [a.to_json() for a in self.axes], "parametrization": self.parametrization,
                "cost": self.cost, "param_coef": self.param_coef,
                "width_exponent": self.width_exponent, "depth_exponent": self.depth_exponent,
                "vocab": self.vocab, "default": dict(self.default or {})}

    @classmethod
    def from_json(cls, data: Any) -> Scaling:
        if not isinstance(data, Mapping) or not isinstance(data.get("axes"), list):
            raise SpaceError(f"a scaling JSON needs an 'axes' list, got {data!r:.200}")
        try:
            axes = [ScaleAxis(a["name"], a["target"], a["ladder"], a.get("kind", "other"))
                    for a in data["axes"]]
            return cls(axes, parametrization=data.get("parametrization", "mup"),
                       cost=data.get("cost", "6ND"), param_coef=data.get("param_coef", 12.0),
                       width_exponent=data.get("width_exponent", 2.0),
                       depth_exponent=data.get("depth_exponent", 1.0),
                       vocab=data.get("vocab", 0.0), default=data.get("default") or None)
        except (KeyError, TypeError) as err:
            raise SpaceError(f"malformed scaling JSON ({err!r}): {data!r:.200}") from None


def _close(a: Any, b: float) -> bool:
    return (isinstance(a, (int, float)) and not isinstance(a, bool)
            and math.isclose(float(a), b, rel_tol=1e-9))
