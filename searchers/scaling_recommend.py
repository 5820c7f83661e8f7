"""The recommendation at the target (algorithms.md §5.8): settings, predicted loss, drifts.

``θ_rec = argmin E[y(θ, 0)] + κ·sd[y(θ, 0)]`` over candidates (the Laplace mean of ``θ*_T``,
Laplace draws of it and points around it) subject to ``P(fail | θ, 0) ≤ max_fail``; predicted
target loss with an 80% interval from the Laplace mixture; each hyper-parameter's drift per
doubling of each axis (``Γ``, 80% interval) and a plain verdict.

Verdicts per hyper-parameter and axis: ``"not enough data"`` when fewer than two distinct values
of the axis were run, or the posterior sd of ``Γ`` is above ``0.8×`` its prior sd (the data
barely moved the prior); ``"transfers"`` when the 80% interval lies within ``±tolerance``;
``"drifts by x per doubling of <axis>"`` when it excludes 0 (``x`` is the factor ``2^Γ`` for a
log-scaled hyper-parameter, an additive change of the unit coordinate otherwise); otherwise
``"not enough data"`` (the interval is too wide to tell).

Example: ``recommend(study.trials.values(), study.space, study.scaling, study.objective)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hpo import Objective, Scaling, SearchSpace, Trial
from hpo.errors import HPOError
from hpo.rng import derive_seed
from searchers.models.gp import torch_context
from searchers.scaling_data import Coords, scaling_data
from searchers.scaling_fit import MIN_RUNS, ScalingFit

Z80 = 1.2815515655446004


class NotEnoughDataError(HPOError, ValueError):
    """Too few successful runs to fit the scaling model."""


@dataclass(frozen=True)
class Drift:
    param: str
    axis: str
    per_doubling: float          # Γ: change of the natural coordinate per doubling
    interval: tuple[float, float]
    prior: tuple[float, float]   # prior mean, sd
    factor: float | None         # 2**Γ for a log-scaled hyper-parameter
    verdict: str


@dataclass(frozen=True)
class Recommendation:
    """JSON-serialisable (:meth:`to_json`) advice for the target scale."""

    config: dict[str, Any]
    target: dict[str, float]
    predicted_loss: float
    interval: tuple[float, float]           # 80%
    p_fail: float
    drifts: tuple[Drift, ...]
    verdicts: dict[str, str]                # one line per hyper-parameter
    parametrization: str
    n_runs: int
    n_failed: int
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        return json.loads(json.dumps(out))


def _verdict(name: str, axis: str, mean: float, lo: float, hi: float, sd: float,
             prior_sd: float, distinct: int, log: bool, tolerance: float) -> str:
    if distinct < 2 or sd > 0.8 * prior_sd:
        return "not enough data"
    if -tolerance <= lo and hi <= tolerance:
        return "transfers"
    if lo > 0 or hi < 0:
        how = f"x{2 ** mean:.3g}" if log else f"{mean:+.3g} (unit coordinate)"
        return f"drifts by {how} per doubling of {axis}"
    return "not enough data"


def _summarise(verdicts: list[str]) -> str:
    drifts = [v for v in verdicts if v.startswith("drifts")]
    if drifts:
        return "; ".join(drifts)
    if verdicts and all(v == "transfers" for v in verdicts):
        return "transfers"
    if any(v == "transfers" for v in verdicts):
        return "transfers (not enough data on some axes)"
    return "not enough data"


def recommend_from_fit(fit: ScalingFit, *, seed: int = 0, kappa: float = 0.5,
                       max_fail: float = 0.01, tolerance: float = 0.25,
                       candidates: int = 64) -> Recommendation:
    """The recommendation from a fitted model (see the module doc)."""
    c = fit.coords
    rng = np.random.default_rng(seed)
    t_mean, t_sd = fit.theta_star()
    cand = [t_mean]
    pos = fit._positions("theta_star")
    for v in fit.laplace.draws(rng, candidates // 2):
        cand.append(v[pos])
    cand += list(t_mean + rng.standard_normal((candidates // 2, c.p)) * np.maximum(t_sd, 0.1))
    thetas = np.clip(np.array(cand), c.bounds[0], c.bounds[1])
    rows = fit.target_rows(thetas)
    mean, sd, _ = fit.predict(rows, np.random.default_rng(derive_seed(seed, "predict")))
    pf = fit.p_fail(rows)
    score = mean + kappa * sd + np.where(pf <= max_fail, 0.0, 1e6 * (pf - max_fail))
    i = int(np.argmin(score))
    best_run = int(np.argmin(fit.data.y))
    config = c.config(thetas[i], fit.data.configs[best_run])
    _, _, samples = fit.predict(rows[i:i + 1], np.random.default_rng(derive_seed(seed, "pi")),
                                draws=64)
    lo, hi = np.quantile(samples[:, 0], [0.1, 0.9])
    g_mean, g_sd = fit.gamma()
    drifts, verdicts = [], {}
    for j, name in enumerate(c.names):
        per = []
        for a, axis in enumerate(c.axis_names):
            distinct = len({round(r[c.p + a], 9) for r in fit.data.X})
            m, s = float(g_mean[j, a]), float(g_sd[j, a])
            glo, ghi = m - Z80 * s, m + Z80 * s
            verdict = _verdict(name, axis, m, glo, ghi, s, float(fit.prior.gamma_sd[j, a]),
                               distinct, c.log[j], tolerance)
            drifts.append(Drift(name, axis, m, (glo, ghi),
                                (float(fit.prior.gamma_mean[j, a]),
                                 float(fit.prior.gamma_sd[j, a])),
                                2.0 ** m if c.log[j] else None, verdict))
            per.append(verdict)
        verdicts[name] = _summarise(per) if per else "not enough data"
    target = dict(c.scaling.target) if c.scaling is not None else {}
    return Recommendation(
        config=config, target=target, predicted_loss=float(mean[i]),
        interval=(float(lo), float(hi)), p_fail=float(pf[i]), drifts=tuple(drifts),
        verdicts=verdicts,
        parametrization=c.scaling.parametrization if c.scaling is not None else "mup",
        n_runs=fit.data.n, n_failed=len(fit.data.X_failed), diagnostics=fit.summary())


def recommend(trials: Iterable[Trial], space: SearchSpace, scaling: Scaling | None,
              objective: Objective | str | None = None, *, seed: int = 0,
              roles: Mapping[str, str] | None = None, kappa: float = 0.5,
              max_fail: float = 0.01, tolerance: float = 0.25, starts: int = 4,
              maxiter: int = 100, diverge_above: float | None = None,
              batch_policy: str = "fixed", completep: bool = False) -> Recommendation:
    """Fit the scaling model to the ended ``trials`` and recommend settings at the target.

    ``objective`` is accepted for symmetry with ``study.recommend()``; the trials' ``loss``
    (lower is better, already oriented by the objective) is what is modelled. Deterministic
    given ``seed``. Raises :class:`NotEnoughDataError` with fewer than 3 successful runs.
    """
    del objective
    coords = Coords(space, scaling, roles)
    data = scaling_data(list(trials), coords, diverge_above=diverge_above)
    if data.n < MIN_RUNS:
        raise NotEnoughDataError(f"the scaling model needs at least {MIN_RUNS} successful "
                                 f"runs, got {data.n} ({len(data.X_failed)} failed)")
    parametrization = scaling.parametrization if scaling is not None else "mup"
    with torch_context(derive_seed(seed, "recommend"), 1):
        fit = ScalingFit.fit(coords, data, parametrization, seed=derive_seed(seed, "map"),
                             starts=starts, maxiter=maxiter, batch_policy=batch_policy,
                             completep=completep)
        if fit is None:
            raise NotEnoughDataError("every MAP start of the scaling model failed")
        return recommend_from_fit(fit, seed=seed, kappa=kappa, max_fail=max_fail,
                                  tolerance=tolerance)
