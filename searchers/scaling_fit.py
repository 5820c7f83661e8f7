"""One fit of the scaling model to a study's runs: MAP + Laplace + failure model, and what the
recommendation and the proxy acquisition read from it.

Losses are scaled once, ``y' = (y - median) / sd`` (fixed constants of the data: the physical
mean is fitted in those units and every prediction is mapped back). Drifts ``Γ`` and the target
optimum ``θ*_T`` are in natural coordinates (see :mod:`searchers.scaling_data`); their
uncertainty is the Laplace approximation of :mod:`searchers.models.scaling_laplace`, not the MAP
alone. Call :meth:`ScalingFit.fit` inside :func:`searchers.models.gp.torch_context`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from botorch.models import SingleTaskGP

from searchers.models import scaling_laplace as lp
from searchers.models.scaling import fit_scaling_gp, head_of
from searchers.models.scaling_failure import FailureModel, fit_failure
from searchers.models.scaling_prior import PriorTable, prior_table
from searchers.scaling_data import Coords, ScalingData

#: fewest successful runs the model is fitted on
MIN_RUNS = 3


@dataclass
class ScalingFit:
    coords: Coords
    data: ScalingData
    model: SingleTaskGP
    laplace: lp.Laplace
    failure: FailureModel
    prior: PriorTable
    shift: float
    scale: float
    map_value: float
    starts: int

    # -- fitting --------------------------------------------------------------------------
    @classmethod
    def fit(cls, coords: Coords, data: ScalingData, parametrization: str, *, seed: int,
            starts: int = 4, maxiter: int = 100, batch_policy: str = "fixed",
            completep: bool = False) -> ScalingFit | None:
        """The fitted model, or None with fewer than :data:`MIN_RUNS` runs or if every MAP
        start failed."""
        if data.n < MIN_RUNS:
            return None
        shift = float(np.median(data.y))
        scale = float(np.std(data.y))
        scale = scale if scale > 1e-12 else 1.0
        y = (data.y - shift) / scale
        p, k = coords.p, coords.k
        best = data.X[int(np.argmin(y))]
        prior0 = prior_table(data.X[:, :p], y, coords.bounds[1] - coords.bounds[0],
                             coords.roles, coords.axis_kinds, parametrization,
                             batch_policy=batch_policy, completep=completep)
        centre = best[:p] - prior0.gamma_mean @ best[p:p + k]
        prior = prior_table(data.X[:, :p], y, coords.bounds[1] - coords.bounds[0],
                            coords.roles, coords.axis_kinds, parametrization,
                            batch_policy=batch_policy, completep=completep, theta_best=centre)
        fit = fit_scaling_gp(data.X, y, p, k, prior, seed=seed, starts=starts, maxiter=maxiter)
        if fit is None:
            return None
        lap = lp.laplace(fit.model)
        out = cls(coords, data, fit.model, lap, fit_failure(np.zeros(0), np.zeros((0, k)),
                                                              np.zeros(0)),
                  prior, shift, scale, fit.value, fit.starts)
        out.failure = out._fit_failure()
        return out

    def _fit_failure(self) -> FailureModel:
        c = self.coords
        rows = np.concatenate([self.data.X, self.data.X_failed])
        failed = np.r_[np.zeros(self.data.n, bool), np.ones(len(self.data.X_failed), bool)]
        return fit_failure(self.lr_offset(rows), rows[:, c.p:c.p + c.k], failed)

    # -- the parametric block -------------------------------------------------------------
    def _positions(self, name: str) -> np.ndarray:
        return lp.index(self.model, name)

    def theta_star(self) -> tuple[np.ndarray, np.ndarray]:
        """Laplace mean and sd of ``θ*_T`` (natural coordinates)."""
        pos = self._positions("theta_star")
        return self.laplace.mean[pos], self.laplace.sd(pos)

    def gamma(self) -> tuple[np.ndarray, np.ndarray]:
        """Laplace mean and sd of ``Γ`` (``p × k``, natural units per doubling)."""
        p, k = self.coords.p, self.coords.k
        if not k:
            return np.zeros((p, 0)), np.zeros((p, 0))
        pos = self._positions("gamma")
        return self.laplace.mean[pos].reshape(p, k), self.laplace.sd(pos).reshape(p, k)

    def gamma_prior_sd(self) -> np.ndarray:
        return self.prior.gamma_sd

    def curvature(self) -> np.ndarray:
        """MAP basin curvature ``h`` per hyper-parameter (scaled-loss units)."""
        return np.exp(head_of(self.model).log_h.detach().numpy())

    def optimum_at(self, s: np.ndarray) -> np.ndarray:
        """MAP ``θ*(s)`` for rows of relative scale ``s`` (``n × k``)."""
        mean, _ = self.theta_star()
        g, _ = self.gamma()
        s = np.asarray(s, dtype=np.float64)
        s = s.reshape(s.shape[0] if s.ndim == 2 else -1, self.coords.k)
        return mean + s @ g.T

    def lr_offset(self, rows: np.ndarray) -> np.ndarray:
        c = self.coords
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, c.p + c.k + 2)
        opt = self.optimum_at(rows[:, c.p:c.p + c.k])
        return rows[:, c.lr_index] - opt[:, c.lr_index]

    def p_fail(self, rows: np.ndarray) -> np.ndarray:
        c = self.coords
        rows = np.asarray(rows, dtype=np.float64).reshape(-1, c.p + c.k + 2)
        return self.failure.probability(self.lr_offset(rows), rows[:, c.p:c.p + c.k])

    # -- predictions ----------------------------------------------------------------------
    def target_rows(self, thetas: np.ndarray) -> np.ndarray:
        thetas = np.asarray(thetas, dtype=np.float64).reshape(-1, self.coords.p)
        return np.hstack([thetas, np.zeros((len(thetas), self.coords.k + 2))])

    def predict(self, rows: np.ndarray, rng: np.random.Generator, draws: int = 16
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mixture over Laplace draws at model rows: latent mean and sd (raw loss units) and
        ``draws × len(rows)`` sampled run losses (latent + noise) for intervals."""
        vs = self.laplace.draws(rng, draws)
        means, variances = lp.mixture_predict(self.model, self.laplace, rows, vs)
        mean = means.mean(0)
        var = variances.mean(0) + means.var(0)
        noise = lp.noise_variance(self.model)
        samples = means + np.sqrt(variances + noise) * rng.standard_normal(means.shape)
        return (self.shift + self.scale * mean, self.scale * np.sqrt(var),
                self.shift + self.scale * samples)

    # -- design (§5.7): expected regret reduction at the target ---------------------------
    def design_gain(self, rows: np.ndarray, pending: np.ndarray | None = None) -> np.ndarray:
        """For each candidate row: the reduction of the expected target regret
        ``½ Σ_j h_j Var(θ*_T,j)`` (scaled-loss units) one run there would bring, by the
        Laplace linearisation of the mean (pending runs are conditioned on first)."""
        cov = self.laplace.cov.copy()
        eff_noise = lp.noise_variance(self.model) + float(
            self.model.covar_module.outputscale.detach())
        if pending is not None and len(pending):
            jp = lp.mean_jacobian(self.model, pending)
            S = jp @ cov @ jp.T + eff_noise * np.eye(len(jp))
            cov = cov - cov @ jp.T @ np.linalg.solve(S, jp @ cov)
        J = lp.mean_jacobian(self.model, rows)
        pos = self._positions("theta_star")
        w = np.zeros(len(cov))
        w[pos] = 0.5 * self.curvature()
        cj = cov @ J.T                                         # P × c
        denom = np.einsum("ic,ic->c", J.T, cj) + eff_noise     # J Σ Jᵀ + σ²
        return np.einsum("i,ic->c", w, cj ** 2) / denom

    def block_vector(self) -> list[float]:
        return [float(v) for v in self.laplace.mean]

    def summary(self) -> dict[str, Any]:
        mean, sd = self.gamma()
        t_mean, t_sd = self.theta_star()
        return {"gamma": mean.tolist(), "gamma_sd": sd.tolist(), "theta_star": t_mean.tolist(),
                "theta_star_sd": t_sd.tolist(), "map": self.map_value, "starts": self.starts,
                "clipped": self.laplace.clipped, "failure": self.failure.to_json()}
