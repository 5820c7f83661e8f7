"""The μP / SP prior table of the scaling model (algorithms.md §5.5) and its coordinates.

Numpy only. Two things live here:

* **Coordinates.** A hyper-parameter ``θ_j`` is modelled in its *natural* coordinate:
  ``log2(value)`` for a log-scaled ``Float`` / ``Int`` (so a drift ``Γ = -1`` halves it per
  doubling), the space's unit coordinate otherwise. Scale columns are ``log2(value / target)``
  per axis (the target at the origin), plus the derived ``s_N = log2(N / N_T)`` (parameter count)
  and ``s_D = log2(D / D_T)`` (tokens) of the Chinchilla-style mean.
* **Roles and priors.** Each hyper-parameter gets a *role* (``"lr"``, ``"init"``, ``"out"``,
  ``"attn"``, ``"wd"``, ``"batch"``, ``"other"``; guessed from its name, or given) and each axis
  has a *kind* (``hpo.ScaleAxis.kind``); :func:`drift_prior` returns the normal prior of
  ``Γ[hp, axis]`` from the table of §5.5 for ``parametrization`` ``"mup"`` or ``"sp"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

ROLES = ("lr", "init", "out", "attn", "wd", "batch", "other")
BATCH_POLICIES = ("fixed", "coscaled")

_ROLE_PATTERNS = (
    ("lr", r"(^|_)(lr|learning_rate|eta|step_size)($|_)"),
    ("wd", r"(^|_)(wd|weight_decay|decay)($|_)"),
    ("attn", r"attn|attention"),
    ("out", r"(^|_)(out|output|readout|alpha_out|logit)"),
    ("init", r"init|sigma|std"),
    ("batch", r"batch"),
)


def guess_role(name: str) -> str:
    """The role of a hyper-parameter from its name (``"other"`` when nothing matches)."""
    low = name.lower()
    for role, pattern in _ROLE_PATTERNS:
        if re.search(pattern, low):
            return role
    return "other"


def drift_prior(role: str, axis_kind: str, parametrization: str, *,
                batch_policy: str = "fixed", completep: bool = False) -> tuple[float, float]:
    """``(mean, sd)`` of the normal prior on ``Γ[hp, axis]`` (change of θ per doubling)."""
    mup = parametrization == "mup"
    if axis_kind == "width":
        if role == "lr":
            return (0.0, 0.1) if mup else (-1.0, 0.5)
        if role in ("init", "out", "attn"):
            return (0.0, 0.1) if mup else (0.0, 0.5)
        return 0.0, 0.3
    if axis_kind in ("tokens", "steps"):
        if role == "lr":
            return (-0.32, 0.15) if batch_policy == "fixed" else (0.3, 0.2)
        if role == "batch":
            return 0.57, 0.2
        return 0.0, 0.3
    if axis_kind == "batch":
        return (0.5, 0.3) if role == "lr" else (0.0, 0.3)
    if axis_kind == "depth":
        return (0.0, 0.1) if (mup and completep) else (0.0, 0.5)
    return 0.0, 0.3


@dataclass(frozen=True)
class PriorTable:
    """Every prior of the scaling model, in model units (``y' = (y - y_shift) / y_scale``).

    Vectors are per hyper-parameter (``p``), ``gamma_*`` are ``p × k`` (``k`` scale axes).
    """

    theta_mean: np.ndarray
    theta_sd: np.ndarray
    gamma_mean: np.ndarray
    gamma_sd: np.ndarray
    log_h_mean: np.ndarray
    chi_mean: np.ndarray
    nu_mean: np.ndarray
    nu_sd: np.ndarray
    lengthscale: np.ndarray          # prior mean of the Matern lengthscale per hp (natural units)
    e_mean: float
    e_sd: float
    level_sd: float                  # HalfNormal scale of A and B_D
    rho_beta: tuple[float, float]


def prior_table(theta: np.ndarray, y: np.ndarray, theta_range: np.ndarray, roles: Sequence[str],
                axis_kinds: Sequence[str], parametrization: str, *, batch_policy: str = "fixed",
                completep: bool = False, theta_best: np.ndarray | None = None) -> PriorTable:
    """The §5.5 priors for data ``theta`` (n × p natural coordinates) and scaled losses ``y``.

    ``theta_range`` is the width of each hyper-parameter's range (natural units); the basin
    curvature prior ``log h ~ N(log h0, 1)`` takes ``h0`` as a basin that rises by the spread of
    ``y`` over half the range; ``theta_best`` centres ``θ*_T`` (default: the range centre).
    """
    p, k = len(roles), len(axis_kinds)
    rng_width = np.maximum(np.asarray(theta_range, dtype=np.float64), 1e-9)
    centre = (np.asarray(theta_best, dtype=np.float64) if theta_best is not None
              else np.asarray(theta, dtype=np.float64).mean(axis=0))
    gm, gs = np.zeros((p, k)), np.zeros((p, k))
    for j, role in enumerate(roles):
        for a, kind in enumerate(axis_kinds):
            gm[j, a], gs[j, a] = drift_prior(role, kind, parametrization,
                                             batch_policy=batch_policy, completep=completep)
    spread = float(np.ptp(y)) if len(y) > 1 else 1.0
    spread = max(spread, 1e-3)
    h0 = spread / (rng_width / 2.0) ** 2 * 4.0
    is_lr = np.array([r == "lr" for r in roles])
    return PriorTable(
        theta_mean=centre, theta_sd=rng_width / 2.0, gamma_mean=gm, gamma_sd=gs,
        log_h_mean=np.log(h0), chi_mean=np.where(is_lr, -0.2, 0.0),
        nu_mean=np.where(is_lr, 0.3, 0.0), nu_sd=np.where(is_lr, 0.3, 0.1),
        lengthscale=rng_width / 2.0, e_mean=float(np.min(y)) - 0.25 * spread, e_sd=spread,
        level_sd=spread, rho_beta=(4.0, 2.0) if parametrization == "mup" else (2.0, 4.0))


def roles_for(names: Sequence[str], given: Mapping[str, str] | None = None) -> list[str]:
    """The role of each name: ``given[name]`` when present, else :func:`guess_role`."""
    given = dict(given or {})
    return [given.get(n, guess_role(n)) for n in names]
