"""Uncertainty beyond the MAP for the scaling model: Laplace on the parametric block.

Extrapolation to the target is dominated by ``(θ*_T, Γ)``, so the MAP alone is over-confident
(algorithms.md §5.6, §5.11). :func:`laplace` takes the Hessian of the negative log posterior
with respect to the parametric block (every raw parameter of the
:class:`~searchers.models.scaling.ScalingHead`: θ*_T, Γ, E, A, a, B, b, log h, χ, ν) with the GP
hyper-parameters fixed at the MAP, by central differences of autograd gradients (gpytorch's
exact marginal likelihood has no double backward), and returns a Gaussian over the block.
:func:`mixture_predict` predicts with draws from it (each draw re-conditions the GP on the
data), :func:`mean_jacobian` gives ``∂ mean / ∂ block`` for design criteria (§5.7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from botorch.models import SingleTaskGP

from searchers.models.gp import DTYPE, FIT_ERRORS
from searchers.models.scaling import head_of, neg_log_posterior

#: smallest Hessian eigenvalue kept (a flatter direction gets this curvature: sd <= 10)
MIN_CURVATURE = 1e-2


def block(model: SingleTaskGP) -> list[tuple[str, torch.nn.Parameter]]:
    """The parametric block: the head's raw parameters, in a fixed order."""
    return list(head_of(model).named_parameters())


def get_vector(model: SingleTaskGP) -> np.ndarray:
    return np.concatenate([p.detach().reshape(-1).numpy() for _, p in block(model)])


def set_vector(model: SingleTaskGP, v: np.ndarray) -> None:
    offset = 0
    with torch.no_grad():
        for _, p in block(model):
            n = p.numel()
            p.copy_(torch.as_tensor(v[offset:offset + n], dtype=DTYPE).reshape(p.shape))
            offset += n
    model.train()  # drops the cached prediction strategy
    model.eval()


def index(model: SingleTaskGP, name: str) -> np.ndarray:
    """Positions in the block vector of the head parameter ``name`` (flattened)."""
    offset = 0
    for pname, p in block(model):
        if pname == name:
            return np.arange(offset, offset + p.numel())
        offset += p.numel()
    raise KeyError(name)


def hyper_parameters(model: SingleTaskGP) -> list[tuple[str, torch.nn.Parameter]]:
    """The GP's other trainable raw parameters (kernel, likelihood), in a fixed order."""
    head = {id(p) for _, p in block(model)}
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad and id(p) not in head]


def _flat(params: list[torch.nn.Parameter]) -> np.ndarray:
    return np.concatenate([p.detach().reshape(-1).numpy() for p in params])


def _assign(params: list[torch.nn.Parameter], v: np.ndarray) -> None:
    offset = 0
    with torch.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(torch.as_tensor(v[offset:offset + n], dtype=DTYPE).reshape(p.shape))
            offset += n


def _gradient(model: SingleTaskGP, v: np.ndarray,
              params: list[torch.nn.Parameter] | None = None) -> np.ndarray:
    if params is None:
        params = [p for _, p in block(model)]
    _assign(params, v)
    for p in params:
        p.grad = None
    with torch.enable_grad():
        loss = neg_log_posterior(model)
        grads = torch.autograd.grad(loss, params, allow_unused=True)
    out = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]
    return np.concatenate([g.detach().reshape(-1).numpy() for g in out])


@dataclass(frozen=True)
class Laplace:
    """Gaussian ``N(mean, cov)`` over the parametric block (raw parameters)."""

    mean: np.ndarray
    cov: np.ndarray
    clipped: int            # Hessian eigenvalues raised to MIN_CURVATURE (0 at a clean minimum)

    def sd(self, positions: np.ndarray) -> np.ndarray:
        return np.sqrt(np.diag(self.cov)[positions])

    def draws(self, rng: np.random.Generator, n: int) -> np.ndarray:
        chol = np.linalg.cholesky(self.cov + 1e-12 * np.eye(len(self.mean)))
        return self.mean + rng.standard_normal((n, len(self.mean))) @ chol.T


def laplace(model: SingleTaskGP, *, marginal: bool = True) -> Laplace:
    """The Laplace approximation at the model's current (MAP) parameters.

    ``marginal`` (default): the Hessian is taken over the head *and* the GP's hyper-parameters
    (kernel scales and lengthscales, the residual correlation across scale, the noise) and the
    head's covariance is the head block of its inverse, i.e. the head's marginal under the joint
    Gaussian: the uncertainty of the hyper-parameters widens it (the residual GP can trade fit
    with the head). ``marginal=False`` conditions on the hyper-parameters at the MAP (the
    inverse of the head's own Hessian block; narrower).
    """
    head = [p for _, p in block(model)]
    params = head + ([p for _, p in hyper_parameters(model)] if marginal else [])
    v0 = _flat(params)
    n_head = len(_flat(head))
    n = len(v0)
    hess = np.zeros((n, n))
    try:
        for i in range(n):
            step = 1e-4 * max(1.0, abs(v0[i]))
            up, down = v0.copy(), v0.copy()
            up[i] += step
            down[i] -= step
            hess[:, i] = (_gradient(model, up, params) - _gradient(model, down, params)) \
                / (2 * step)
    finally:
        _assign(params, v0)
        model.train()  # drops the cached prediction strategy
        model.eval()
    hess = 0.5 * (hess + hess.T)
    if not np.all(np.isfinite(hess)):
        return Laplace(v0[:n_head], np.eye(n_head) / MIN_CURVATURE, n_head)
    lam, vec = np.linalg.eigh(hess)
    clipped = int(np.sum(lam < MIN_CURVATURE))
    lam = np.maximum(lam, MIN_CURVATURE)
    cov = ((vec / lam) @ vec.T)[:n_head, :n_head]
    return Laplace(v0[:n_head], 0.5 * (cov + cov.T), clipped)


def predict(model: SingleTaskGP, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and variance of the latent loss at rows ``X`` under the current block."""
    model.eval()
    with torch.no_grad():
        post = model.posterior(torch.as_tensor(np.asarray(X, dtype=np.float64), dtype=DTYPE))
        return (post.mean.reshape(-1).numpy().copy(),
                post.variance.reshape(-1).clamp_min(0).numpy().copy())


def mixture_predict(model: SingleTaskGP, lap: Laplace, X: np.ndarray, draws: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw latent means and variances at ``X`` (``len(draws) × len(X)`` each); a draw
    whose GP cannot be conditioned is replaced by the MAP. The model is left at the MAP."""
    means, variances = [], []
    for v in draws:
        try:
            set_vector(model, v)
            m, var = predict(model, X)
            if not (np.all(np.isfinite(m)) and np.all(np.isfinite(var))):
                raise ValueError("non-finite prediction")
        except FIT_ERRORS:
            set_vector(model, lap.mean)
            m, var = predict(model, X)
        means.append(m)
        variances.append(var)
    set_vector(model, lap.mean)
    return np.array(means), np.array(variances)


def mean_jacobian(model: SingleTaskGP, X: np.ndarray) -> np.ndarray:
    """``∂ head(x) / ∂ block`` for each row of ``X`` (``len(X) × block size``)."""
    head = head_of(model)
    params = [p for _, p in block(model)]
    rows = []
    x = torch.as_tensor(np.asarray(X, dtype=np.float64), dtype=DTYPE)
    with torch.enable_grad():
        out = head(x)
        for i in range(x.shape[0]):
            grads = torch.autograd.grad(out[i], params, retain_graph=True, allow_unused=True)
            rows.append(np.concatenate([
                (torch.zeros_like(p) if g is None else g).detach().reshape(-1).numpy()
                for p, g in zip(params, grads)]))
    return np.array(rows).reshape(len(X), -1)


def noise_variance(model: SingleTaskGP) -> float:
    return float(model.likelihood.noise.detach().reshape(-1)[0])
