"""CARBS's surrogate pieces (algorithms.md §4.3, §4.5): transforms, fixed-kernel GPs, EI.

* :class:`QuantileNormal`: the output transform, a quantile map to a standard normal with
  ``n_quantiles = floor(sqrt(N))`` (as scikit-learn's ``QuantileTransformer(output_distribution=
  "normal")``, written here: botorch has no quantile outcome transform).
* :class:`MinMax`: log cost scaled to ``[-1, 1]``.
* :func:`fixed_gp` (:class:`FixedGP`): a float64 botorch ``SingleTaskGP`` with
  ``LinearKernel + ScaleKernel(Matern-3/2 ARD)`` (or a 1-D ``ScaleKernel(RBF)`` for the Pareto
  model), zero mean, no outcome transform, and **fixed** hyper-parameters: lengthscale = the
  search radius, variances 1, noise 0.01 plus CARBS's jitter 1e-4. The reference "fits" them
  with 1,000 Adam steps at lr 1e-4, which barely moves them; fixing them costs one Cholesky per
  model and needs no replay state.
* :func:`predict`, :func:`thompson` (a joint posterior sample from a caller-drawn normal
  vector: no torch RNG), :func:`log_expected_improvement` (numerically safe for very negative
  ``z``) and :func:`log_success_probability` (``Phi(-mu / sd)`` with the *sd*; the reference
  passes the variance).

Call the GP functions inside :func:`searchers.models.gp.torch_context`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import botorch  # noqa: F401  (botorch's linear-algebra settings)
import numpy as np
import torch
from botorch.models import SingleTaskGP
from gpytorch.constraints import GreaterThan
from gpytorch.kernels import Kernel, LinearKernel, MaternKernel, RBFKernel, ScaleKernel
from gpytorch.likelihoods import GaussianLikelihood
from scipy.special import erfcx, log_ndtr, ndtr, ndtri

DTYPE = torch.float64
JITTER = 1e-4
_BOUND = 1e-7  # as scikit-learn's BOUNDS_THRESHOLD


@dataclass(frozen=True)
class QuantileNormal:
    """Quantile transform of a sample to a standard normal (monotone, invertible on its range)."""

    quantiles: np.ndarray
    references: np.ndarray

    @classmethod
    def fit(cls, y: np.ndarray) -> QuantileNormal:
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        n_q = min(len(y), max(2, int(math.sqrt(len(y)))))
        refs = np.linspace(0.0, 1.0, n_q)
        q = np.maximum.accumulate(np.percentile(y, refs * 100.0))
        return cls(q, refs)

    @property
    def constant(self) -> bool:
        return not self.quantiles[-1] > self.quantiles[0]

    def transform(self, y: np.ndarray) -> np.ndarray:
        y = np.asarray(y, dtype=np.float64)
        if self.constant:
            return np.zeros_like(y)
        q, r = self.quantiles, self.references
        p = 0.5 * (np.interp(y, q, r) - np.interp(-y, -q[::-1], -r[::-1]))
        p = np.where(y - _BOUND < q[0], 0.0, np.where(y + _BOUND > q[-1], 1.0, p))
        return ndtri(np.clip(p, _BOUND, 1 - _BOUND))

    def inverse(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        if self.constant:
            return np.full_like(z, self.quantiles[0])
        return np.interp(ndtr(z), self.references, self.quantiles)


@dataclass(frozen=True)
class MinMax:
    """Affine map of ``[low, high]`` to ``[-1, 1]`` (constant data maps to 0)."""

    low: float
    high: float

    @classmethod
    def fit(cls, t: np.ndarray) -> MinMax:
        t = np.asarray(t, dtype=np.float64)
        return cls(float(np.min(t)), float(np.max(t)))

    def transform(self, t: np.ndarray) -> np.ndarray:
        t = np.asarray(t, dtype=np.float64)
        width = self.high - self.low
        if not width > 1e-12:
            return np.zeros_like(t)
        return 2.0 * (t - self.low) / width - 1.0

    def inverse(self, s: np.ndarray) -> np.ndarray:
        s = np.asarray(s, dtype=np.float64)
        return self.low + (s + 1.0) * 0.5 * (self.high - self.low)


@dataclass(frozen=True)
class Hypers:
    """The fixed GP hyper-parameters (JSON-able; recorded with every model decision)."""

    lengthscale: float = 0.3
    linear_variance: float = 1.0
    matern_variance: float = 1.0
    noise: float = 0.01
    pareto_lengthscale: float = 1.0
    pareto_variance: float = 1.0

    def to_json(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in self.__dataclass_fields__}


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=DTYPE)


def _kernel(d: int, pareto: bool) -> Kernel:
    if pareto:
        return ScaleKernel(RBFKernel())
    return LinearKernel() + ScaleKernel(MaternKernel(nu=1.5, ard_num_dims=d))


def _set_hypers(model: SingleTaskGP, hypers: Hypers, pareto: bool) -> None:
    covar = model.covar_module
    if pareto:
        covar.base_kernel.lengthscale = hypers.pareto_lengthscale
        covar.outputscale = hypers.pareto_variance
    else:
        linear, matern = covar.kernels
        linear.variance = hypers.linear_variance
        matern.base_kernel.lengthscale = torch.full_like(matern.base_kernel.lengthscale,
                                                         hypers.lengthscale)
        matern.outputscale = hypers.matern_variance
    model.likelihood.noise = hypers.noise + JITTER
    with torch.no_grad():
        model.mean_module.constant.fill_(0.0)


class FixedGP:
    """A float64 ``SingleTaskGP`` with fixed hyper-parameters and its Cholesky factor.

    Predictions use the dense closed form on the model's gpytorch kernel (one Cholesky per
    model, about 3x faster than gpytorch's lazy prediction path at these sizes; they agree to
    1e-12): ``mean = K_*^T (K + s^2 I)^-1 y``, ``var = k_** - K_*^T (K + s^2 I)^-1 K_*``.
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, hypers: Hypers, *,
                 pareto: bool = False) -> None:
        train_X = _tensor(X).reshape(len(X), -1)
        train_Y = _tensor(y).reshape(-1, 1)
        likelihood = GaussianLikelihood(noise_constraint=GreaterThan(1e-8))
        model = SingleTaskGP(train_X, train_Y, likelihood=likelihood,
                             covar_module=_kernel(train_X.shape[-1], pareto),
                             outcome_transform=None)
        model.to(DTYPE)
        _set_hypers(model, hypers, pareto)
        model.eval()
        self.model = model
        with torch.no_grad():
            K = model.covar_module(train_X, train_X).to_dense()
            K = K + (hypers.noise + JITTER) * torch.eye(len(train_X), dtype=DTYPE)
            self._chol = torch.linalg.cholesky(K)
            self._alpha = torch.cholesky_solve(train_Y, self._chol).squeeze(-1)
        self._train_X = train_X

    def _cross(self, X: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        Xt = _tensor(X).reshape(len(X), -1)
        Ks = self.model.covar_module(Xt, self._train_X).to_dense()
        return Xt, Ks

    def predict(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent posterior mean and variance at ``X`` (variance floored at 1e-12)."""
        with torch.no_grad():
            Xt, Ks = self._cross(X)
            mean = Ks @ self._alpha
            v = torch.linalg.solve_triangular(self._chol, Ks.T, upper=False)
            var = self.model.covar_module(Xt, diag=True) - (v * v).sum(0)
        return mean.numpy().copy(), np.maximum(var.numpy(), 1e-12)

    def joint(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latent posterior mean and covariance at ``X``."""
        with torch.no_grad():
            Xt, Ks = self._cross(X)
            v = torch.linalg.solve_triangular(self._chol, Ks.T, upper=False)
            cov = self.model.covar_module(Xt, Xt).to_dense() - v.T @ v
            mean = Ks @ self._alpha
        return mean.numpy().copy(), cov.numpy().copy()


def fixed_gp(X: np.ndarray, y: np.ndarray, hypers: Hypers, *, pareto: bool = False) -> FixedGP:
    """A :class:`FixedGP` on ``(X, y)`` (see the module docstring)."""
    return FixedGP(X, y, hypers, pareto=pareto)


def predict(gp: FixedGP, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latent posterior mean and variance at ``X`` (numpy float64)."""
    return gp.predict(X)


def thompson(gp: FixedGP, X: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """A joint noiseless posterior sample at ``X`` from the standard-normal vector ``normal``."""
    mean, cov = gp.joint(X)
    cov = 0.5 * (cov + cov.T)
    jitter = 1e-10 * max(1.0, float(np.max(np.diag(cov))))
    for _ in range(6):
        try:
            chol = np.linalg.cholesky(cov + jitter * np.eye(len(cov)))
            break
        except np.linalg.LinAlgError:
            jitter *= 100.0
    else:  # independent marginals as a last resort
        chol = np.diag(np.sqrt(np.maximum(np.diag(cov), 0.0)))
    return mean + chol @ np.asarray(normal, dtype=np.float64)


def log_expected_improvement(mu: np.ndarray, var: np.ndarray, baseline: np.ndarray,
                             bias: float) -> np.ndarray:
    """``log EI`` of maximising ``f ~ N(mu, var)`` over ``baseline + bias``:
    ``EI = sd * (phi(z) + z Phi(z))``, ``z = (mu - baseline - bias) / sd``."""
    sd = np.sqrt(np.maximum(np.asarray(var, dtype=np.float64), 1e-24))
    z = (np.asarray(mu, dtype=np.float64) - baseline - bias) / sd
    log_phi = -0.5 * z * z - 0.5 * math.log(2 * math.pi)
    out = np.empty_like(z)
    big = z > -5.0
    zb = z[big]
    out[big] = np.log(np.exp(log_phi[big]) + zb * ndtr(zb))
    zs = z[~big]  # phi(z) (1 + z sqrt(pi/2) erfcx(-z / sqrt 2)), positive and stable
    out[~big] = log_phi[~big] + np.log1p(zs * math.sqrt(math.pi / 2) * erfcx(-zs / math.sqrt(2)))
    return np.log(sd) + out


def log_success_probability(mu: np.ndarray, var: np.ndarray) -> np.ndarray:
    """``log P(success) = log Phi(-mu / sd)`` for the success GP (labels -1 ok, +1 failed)."""
    sd = np.sqrt(np.maximum(np.asarray(var, dtype=np.float64), 1e-24))
    return log_ndtr(-np.asarray(mu, dtype=np.float64) / sd)
