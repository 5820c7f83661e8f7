"""The freeze-thaw learning-curve GP ("FT-GP", algorithms.md §3.6a and §7.1).

Inputs are rows ``[u, t]`` with ``u`` the encoded config (unit cube) and ``t = budget / t_max``;
targets are losses, standardised with the statistics of the rows conditioned on::

    y(u, t) = mu0 + gamma kappa(t) + a(u) + d(u, t) + eps
    a ~ GP(0, s_a^2 M52_ARD(u, u'))                                  asymptote over configs
    d ~ GP(0, (s_d^2 M52_ARD'(u, u') + s_i^2 1[u = u']) C(t, t'))     transient -> 0
    C(t, t') = kappa(t + t') - kappa(t) kappa(t')
    kappa(t) = (beta / (t + beta)) ** alpha,   eps ~ N(0, sigma^2)

(:mod:`searchers.models.curve_kernels`). **Fitting** (:meth:`LearningCurveModel.fit`): MAP by
``fit_gpytorch_mll`` (L-BFGS-B) of a botorch ``SingleTaskGP`` that shares this object's kernel,
mean and likelihood modules, from their current values (a warm start), inside
:func:`~searchers.models.gp.torch_context`; no retries from prior samples (they would land
outside the parameter boxes): a failed fit restores the previous values and says why.

**Prediction** (:class:`CurvePosterior`) is exact GP algebra with one Cholesky factor per data
set, computed here rather than by gpytorch so that pending work can be added as kriging-believer
fantasies by a block update (:meth:`CurvePosterior.with_pending`) and candidates are scored in
one batch. Every result is float64 numpy in the units of the losses.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from typing import Any

import botorch  # noqa: F401  (botorch's linear-algebra defaults before gpytorch runs)
import numpy as np
import torch
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.utils.gpytorch_modules import get_gaussian_likelihood_with_lognormal_prior
from gpytorch.mlls import ExactMarginalLogLikelihood

from searchers.models.curve_kernels import CurveMean, FreezeThawKernel
from searchers.models.gp import FIT_ERRORS, torch_context

DTYPE = torch.float64
_JITTER = (0.0, 1e-8, 1e-6, 1e-4)


@dataclass(frozen=True)
class FitReport:
    ok: bool
    reason: str = ""


class LearningCurveModel:
    """The FT-GP's hyper-parameters for configs of dimension ``dim`` (0 is allowed).

    Example:
        >>> import numpy as np
        >>> m = LearningCurveModel(1)
        >>> X = np.array([[0.2, 0.1], [0.2, 0.5], [0.8, 0.1], [0.8, 0.5]])
        >>> post = m.posterior(X, np.array([1.0, 0.6, 2.0, 1.5]))
        >>> mean, var = post.predict(np.array([[0.2, 1.0]]))
        >>> bool(var[0] > 0)
        True
    """

    def __init__(self, dim: int) -> None:
        self.dim = dim
        d = max(dim, 1)
        self.covar = FreezeThawKernel(d).to(DTYPE)
        self.decay = self.covar.decay
        self.mean = CurveMean(self.decay, t_dim=d).to(DTYPE)
        self.likelihood = get_gaussian_likelihood_with_lognormal_prior().to(DTYPE)
        self._modules = torch.nn.ModuleDict({"covar": self.covar, "mean": self.mean,
                                             "likelihood": self.likelihood})
        self._modules.eval()

    # -- hyper-parameters --------------------------------------------------------------------
    def hypers(self) -> dict[str, list[float]]:
        """The raw hyper-parameters as ``{name: floats}`` (JSON round-trips them exactly)."""
        return {name: [float(v) for v in p.detach().reshape(-1).tolist()]
                for name, p in self._modules.named_parameters()}

    def load_hypers(self, hypers: dict[str, Any]) -> bool:
        """Copy ``hypers`` in; False (nothing changed) if names, sizes or values are bad."""
        params = dict(self._modules.named_parameters())
        if set(params) != set(hypers):
            return False
        values = {}
        for name, p in params.items():
            flat = hypers[name]
            if not isinstance(flat, list) or len(flat) != p.numel() or not all(
                    isinstance(v, (int, float)) and math.isfinite(v) for v in flat):
                return False
            values[name] = torch.tensor(flat, dtype=p.dtype).reshape(p.shape)
        with torch.no_grad():
            for name, p in params.items():
                p.copy_(values[name])
        return True

    def summary(self) -> dict[str, float]:
        """Readable hyper-parameters (standardised units): alpha, beta, gamma, scales, noise."""
        values = {"alpha": self.decay.alpha, "beta": self.decay.beta, "gamma": self.mean.gamma,
                  "mu0": self.mean.constant, "s_a2": self.covar.scale_a,
                  "s_d2": self.covar.scale_d, "s_i2": self.covar.scale_i,
                  "noise": self.likelihood.noise}
        return {k: float(v.detach().reshape(-1)[0]) for k, v in values.items()}

    # -- fitting -----------------------------------------------------------------------------
    def pad(self, X: np.ndarray) -> torch.Tensor:
        """Rows as a float64 tensor (a zero config column when ``dim == 0``)."""
        X = np.asarray(X, dtype=np.float64).reshape(-1, self.dim + 1)
        if self.dim == 0:
            X = np.column_stack([np.zeros(len(X)), X])
        return torch.as_tensor(X, dtype=DTYPE)

    def fit(self, X: np.ndarray, y: np.ndarray, *, center: float, scale: float, maxiter: int,
            seed: int, threads: int = 1) -> FitReport:
        """MAP fit on rows ``X`` and raw losses ``y`` standardised by ``(center, scale)``."""
        before = self.hypers()
        train_X = self.pad(X)
        train_Y = torch.as_tensor((np.asarray(y, dtype=np.float64) - center) / scale,
                                  dtype=DTYPE).reshape(-1, 1)
        with torch_context(seed, threads), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gp = SingleTaskGP(train_X, train_Y, likelihood=self.likelihood,
                              covar_module=self.covar, mean_module=self.mean,
                              outcome_transform=None)
            mll = ExactMarginalLogLikelihood(gp.likelihood, gp)
            try:
                fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": maxiter}},
                                 max_attempts=1)
                ok, reason = True, ""
            except FIT_ERRORS as err:
                ok, reason = False, f"{type(err).__name__}: {err}"[:200]
            gp.eval()
            self._modules.eval()
        if ok and not all(math.isfinite(v) for flat in self.hypers().values() for v in flat):
            ok, reason = False, "non-finite hyper-parameters after fitting"
        if not ok:
            self.load_hypers(before)
        return FitReport(ok, reason)

    # -- prediction --------------------------------------------------------------------------
    def posterior(self, X: np.ndarray, y: np.ndarray, *, threads: int = 1) -> CurvePosterior:
        """The posterior given rows ``X`` and raw losses ``y`` (standardised by their stats)."""
        y = np.asarray(y, dtype=np.float64)
        center = float(np.mean(y)) if len(y) else 0.0
        scale = float(np.std(y)) if len(y) > 1 else 1.0
        return CurvePosterior(self, X, y, center=center, scale=scale if scale > 1e-12 else 1.0,
                              threads=threads)


class CurvePosterior:
    """Exact posterior of a :class:`LearningCurveModel` given rows; ``predict`` in loss units."""

    def __init__(self, model: LearningCurveModel, X: np.ndarray, y: np.ndarray, *,
                 center: float, scale: float, threads: int = 1) -> None:
        self.model, self.center, self.scale, self.threads = model, center, scale, threads
        self.var_scale = 1.0  # predictive variances are multiplied by it (see ``widened``)
        self.X = model.pad(X)
        self.n = len(self.X)
        with torch_context(0, threads), torch.no_grad():
            self._y = torch.as_tensor((np.asarray(y, dtype=np.float64) - center) / scale,
                                      dtype=DTYPE)
            self._noise = model.likelihood.noise.detach().reshape(()).to(DTYPE)
            if self.n:
                K = model.covar(self.X).to_dense() + self._noise * torch.eye(self.n, dtype=DTYPE)
                self._L = _cholesky(K)
                self._alpha = torch.cholesky_solve(
                    (self._y - model.mean(self.X)).unsqueeze(-1), self._L).squeeze(-1)

    @property
    def noise(self) -> float:
        """The observation-noise variance in loss units."""
        return float(self._noise) * self.scale ** 2

    def _predict_std(self, Q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.model.mean(Q)
        var = self.model.covar(Q, diag=True)
        if self.n:
            Kq = self.model.covar(Q, self.X).to_dense()
            mean = mean + Kq @ self._alpha
            v = torch.linalg.solve_triangular(self._L, Kq.T, upper=False)
            var = var - (v * v).sum(0)
        return mean, var.clamp_min(1e-12)

    def predict(self, Q: np.ndarray, *, noise: bool = False,
                batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance at rows ``Q`` (latent, or of a new observation with ``noise``)."""
        Qt = self.model.pad(Q)
        means, variances = [], []
        with torch_context(0, self.threads), torch.no_grad():
            for i in range(0, len(Qt), batch):
                m, v = self._predict_std(Qt[i:i + batch])
                means.append(m)
                variances.append(v)
        mean = torch.cat(means).numpy() if means else np.empty(0)
        var = torch.cat(variances).numpy() if variances else np.empty(0)
        var = var + (float(self._noise) if noise else 0.0)
        return mean * self.scale + self.center, var * self.scale ** 2 * self.var_scale

    def widened(self, factor: float) -> CurvePosterior:
        """This posterior with every predictive variance multiplied by ``factor`` (the means
        unchanged; :func:`searchers.models.curve_calibration.extrapolation_inflation`)."""
        out = copy.copy(self)
        out.var_scale = self.var_scale * float(factor)
        return out

    def with_pending(self, P: np.ndarray) -> CurvePosterior:
        """This posterior after observing its own mean at rows ``P`` (kriging believer): the
        mean is unchanged everywhere, the variance shrinks around the pending work."""
        Pt = self.model.pad(P)
        if len(Pt) == 0:
            return self
        out = object.__new__(CurvePosterior)
        out.model, out.center, out.scale, out.threads = (self.model, self.center, self.scale,
                                                         self.threads)
        out.var_scale = self.var_scale
        out._noise = self._noise
        with torch_context(0, self.threads), torch.no_grad():
            mean_p, _ = self._predict_std(Pt)
            Kpp = self.model.covar(Pt).to_dense() + self._noise * torch.eye(len(Pt), dtype=DTYPE)
            if self.n:
                B = torch.linalg.solve_triangular(
                    self._L, self.model.covar(self.X, Pt).to_dense(), upper=False)
                S = _cholesky(Kpp - B.T @ B)
                top = torch.cat([self._L, torch.zeros(self.n, len(Pt), dtype=DTYPE)], 1)
                L = torch.cat([top, torch.cat([B.T, S], 1)], 0)
            else:
                L = _cholesky(Kpp)
            out.X = torch.cat([self.X, Pt], 0)
            out.n = len(out.X)
            out._y = torch.cat([self._y, mean_p])
            out._L = L
            out._alpha = torch.cholesky_solve((out._y - self.model.mean(out.X)).unsqueeze(-1),
                                              L).squeeze(-1)
        return out


def _cholesky(K: torch.Tensor) -> torch.Tensor:
    scale = float(K.diagonal().mean()) if len(K) else 1.0
    for jitter in _JITTER:
        A = K + jitter * scale * torch.eye(len(K), dtype=K.dtype) if jitter else K
        L, info = torch.linalg.cholesky_ex(A)
        if int(info) == 0:
            return L
    raise np.linalg.LinAlgError("the curve model's covariance is not positive definite")
