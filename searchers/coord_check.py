"""The coordinate check (algorithms.md §5.10 V1): does a μP implementation keep every layer's
activations width-independent?

``coord_check(model_factory, widths, batches, steps)`` builds a model and its optimiser at every
width (``model_factory(width) -> (model, optimizer)``, torch only), trains ``steps`` steps on
``batches`` (a list of ``(inputs, targets)``, reused cyclically; use a deliberately large LR),
and records ``mean |output|`` of every leaf module at every step. The slope of
``log(mean |activation|)`` against ``log(width)`` at the last step is each layer's verdict:
``|slope| <= tolerance`` (default 0.1) passes. A correct μP model passes; the SP control of the
same model must fail (some slope ``>= 0.3``), or the check has no power.

Example:
    >>> from searchers.mup import MuMLP, mup_adam
    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> batches = [(torch.randn(32, 16, generator=g), torch.randint(0, 10, (32,), generator=g))]
    >>> def factory(w):
    ...     model = MuMLP(w, generator=torch.Generator().manual_seed(w))
    ...     return model, mup_adam(model, 0.05)
    >>> coord_check(factory, [64, 128, 256], batches, 3).passed
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from hpo.errors import SpaceError


@dataclass(frozen=True)
class LayerSlope:
    layer: str
    slope: float                    # d log(mean |activation|) / d log(width), last step
    sizes: tuple[float, ...]        # mean |activation| per width, last step
    passed: bool


@dataclass(frozen=True)
class CoordCheck:
    widths: tuple[int, ...]
    steps: int
    tolerance: float
    layers: tuple[LayerSlope, ...]
    history: dict[str, list[list[float]]]   # layer -> per width, per step (1..steps)

    @property
    def passed(self) -> bool:
        return all(layer.passed for layer in self.layers)

    @property
    def max_abs_slope(self) -> float:
        return max(abs(layer.slope) for layer in self.layers)

    def to_json(self) -> dict[str, Any]:
        return {"widths": list(self.widths), "steps": self.steps, "tolerance": self.tolerance,
                "passed": self.passed,
                "layers": [{"layer": s.layer, "slope": s.slope, "sizes": list(s.sizes),
                            "passed": s.passed} for s in self.layers]}


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in model.named_modules() if name and not list(m.children())]


def _run(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Sequence[Any],
         steps: int, loss_fn: Callable[..., torch.Tensor]) -> dict[str, list[float]]:
    sizes: dict[str, list[float]] = {}
    current: dict[str, float] = {}
    hooks = []
    for name, module in _leaves(model):
        def hook(_m: nn.Module, _i: Any, out: Any, name: str = name) -> None:
            if isinstance(out, torch.Tensor):
                current[name] = float(out.detach().abs().mean())
        hooks.append(module.register_forward_hook(hook))
    try:
        for t in range(steps + 1):
            x, y = batches[t % len(batches)]
            current.clear()
            out = model(x)
            for name, value in current.items():
                if t:   # t = 0 is the forward before any update
                    sizes.setdefault(name, []).append(value)
            if t == steps:
                break
            optimizer.zero_grad()
            loss_fn(out, y).backward()
            optimizer.step()
    finally:
        for h in hooks:
            h.remove()
    return sizes


def coord_check(model_factory: Callable[[int], tuple[nn.Module, torch.optim.Optimizer]],
                widths: Sequence[int], batches: Sequence[Any], steps: int = 5, *,
                tolerance: float = 0.1,
                loss_fn: Callable[..., torch.Tensor] = nn.functional.cross_entropy
                ) -> CoordCheck:
    """Train at every width and report each layer's activation-size slope (see module doc)."""
    widths = [int(w) for w in widths]
    if len(widths) < 2 or len(set(widths)) != len(widths) or min(widths) < 1:
        raise SpaceError(f"coord_check needs at least two distinct positive widths, got "
                         f"{widths!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise SpaceError(f"coord_check steps must be an int >= 1, got {steps!r}")
    if not batches:
        raise SpaceError("coord_check needs at least one (inputs, targets) batch")
    runs = []
    with torch.random.fork_rng(devices=[]):
        for w in widths:
            model, optimizer = model_factory(w)
            runs.append(_run(model, optimizer, batches, steps, loss_fn))
    names = [n for n in runs[0] if all(n in r for r in runs)]
    logw = np.log(np.array(widths, dtype=np.float64))
    layers, history = [], {}
    for name in names:
        last = np.array([r[name][-1] for r in runs])
        logs = np.log(np.maximum(last, 1e-30))
        slope = float(np.polyfit(logw, logs, 1)[0]) if np.all(last > 0) else math.inf
        layers.append(LayerSlope(name, slope, tuple(float(v) for v in last),
                                 abs(slope) <= tolerance))
        history[name] = [list(r[name]) for r in runs]
    return CoordCheck(tuple(widths), steps, tolerance, tuple(layers), history)
