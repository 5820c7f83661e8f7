"""A small μP implementation (algorithms.md §5.1) for tests, examples and the coordinate check.

:class:`MuMLP` is an MLP ``input -> hidden^depth -> readout`` in μP or SP, with ``base_width``
the width at which both coincide (width multiplier ``m = width / base_width``):

=========================  ===========================  ================  ===================
tensor                     init (μP)                    Adam LR (μP)      forward multiplier
=========================  ===========================  ================  ===================
input weight, all biases   ``N(0, 1/fan_in)``           ``η``             1
hidden weights             ``N(0, 1/fan_in)``           ``η / m``         1
readout weight             zero                         ``η``             ``1 / m``
=========================  ===========================  ================  ===================

SP uses PyTorch-style ``N(0, 1/fan_in)`` init everywhere, the same ``η`` for every tensor and no
readout multiplier. :func:`mup_adam` builds the per-tensor Adam groups (schedulers must scale
each group's ``lr`` *relatively*, never overwrite it).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hpo.errors import SpaceError

PARAMETRIZATIONS = ("mup", "sp")


class MuMLP(nn.Module):
    """An MLP in μP (``parametrization="mup"``) or SP with ``depth`` hidden layers."""

    def __init__(self, width: int, *, d_in: int = 16, d_out: int = 10, depth: int = 2,
                 base_width: int = 64, parametrization: str = "mup",
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if parametrization not in PARAMETRIZATIONS:
            raise SpaceError(f"unknown parametrization {parametrization!r}; choose one of "
                             f"{list(PARAMETRIZATIONS)}")
        for label, value in (("width", width), ("base_width", base_width), ("depth", depth)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpaceError(f"MuMLP {label} must be an int >= 1, got {value!r}")
        self.parametrization, self.width, self.base_width = parametrization, width, base_width
        self.input = nn.Linear(d_in, width)
        self.hidden = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
        self.readout = nn.Linear(width, d_out)
        with torch.no_grad():
            for layer in [self.input, *self.hidden, self.readout]:
                fan_in = layer.weight.shape[1]
                layer.weight.normal_(0.0, 1.0 / math.sqrt(fan_in), generator=generator)
                layer.bias.zero_()
            if parametrization == "mup":
                self.readout.weight.zero_()

    @property
    def multiplier(self) -> float:
        """Width multiplier ``m = width / base_width``."""
        return self.width / self.base_width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.input(x))
        for layer in self.hidden:
            h = torch.relu(layer(h))
        if self.parametrization == "mup":
            h = h / self.multiplier
        return self.readout(h)


def mup_adam(model: MuMLP, lr: float) -> torch.optim.Adam:
    """Adam with the μP per-tensor learning rates (one global ``lr`` for SP)."""
    if model.parametrization == "sp":
        return torch.optim.Adam(model.parameters(), lr=lr)
    hidden = [layer.weight for layer in model.hidden]
    hidden_ids = {id(p) for p in hidden}
    rest = [p for p in model.parameters() if id(p) not in hidden_ids]
    return torch.optim.Adam([{"params": rest, "lr": lr},
                             {"params": hidden, "lr": lr / model.multiplier}])
