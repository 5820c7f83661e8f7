"""The shifted-basin multi-fidelity GP of algorithms.md §5.5-5.6 (the μP-aware scaling model).

Inputs are rows ``[θ (p natural coordinates), s (k relative log2 scale axes), s_N, s_D]``
(see :mod:`searchers.models.scaling_prior`); outputs are final losses scaled once by fixed
constants, ``y' = (y - shift) / scale`` (no data-dependent ``Standardize``: the mean is physical).
The model is a float64 botorch ``SingleTaskGP`` with

* mean :class:`ScalingHead`: ``L∞(s) + Q(θ - θ*(s); s)`` where ``θ*(s) = θ*_T + Γ s``,
  ``L∞(s) = E + A·2^(-a s_N) + B·2^(-b s_D)``,
  ``Q = Σ_j h_j 2^(χ_j s_D) ½(1 + ν_j sign δ_j) δ_j²``;
* kernel ``ScaleKernel(`` :class:`ShiftedKernel` ``)``: Matern-5/2 on the optimum-aligned
  coordinates ``θ - Γ s`` (the *same* Γ parameter as the mean) times ``ρ + (1 - ρ)·RBF(s)``;
* every parameter with its prior registered (``register_prior``), so the exact marginal
  log-likelihood is the MAP objective.

:func:`fit_scaling_gp` runs a seeded multi-start MAP (L-BFGS-B from ``starts`` points drawn
from the priors, ``θ*_T`` at the best observed configuration) and keeps the best. Call it inside
:func:`searchers.models.gp.torch_context`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from botorch.models import SingleTaskGP
from botorch.models.utils.priors import BetaPrior
from gpytorch.constraints import GreaterThan, Interval, Positive  # type: ignore[import-untyped]
from gpytorch.kernels import Kernel, MaternKernel, RBFKernel, ScaleKernel  # type: ignore
from gpytorch.likelihoods import GaussianLikelihood  # type: ignore[import-untyped]
from gpytorch.means import Mean  # type: ignore[import-untyped]
from gpytorch.priors import GammaPrior, HalfNormalPrior, LogNormalPrior, NormalPrior  # type: ignore[import-untyped]
from scipy.optimize import minimize

from searchers.models.gp import DTYPE, FIT_ERRORS
from searchers.models.scaling_prior import PriorTable

#: head parameters that are constrained (raw name -> public name)
_CONSTRAINED = {"raw_A": "A", "raw_B": "B", "raw_a": "a", "raw_b": "b", "raw_nu": "nu"}


def _t(values: Any) -> torch.Tensor:
    """A float64 *copy* (a parameter must never share memory with a prior's location)."""
    return torch.tensor(np.asarray(values, dtype=np.float64), dtype=DTYPE)


def _getter(name: str) -> Any:
    return lambda module: getattr(module, name)


def _setter(name: str) -> Any:
    def set_value(module: Any, value: Any) -> None:
        module.set_constrained(name, value)
    return set_value


class ScalingHead(Mean):
    """The parametric part: ``θ*_T``, ``Γ``, the loss level and the basin (see module doc)."""

    def __init__(self, p: int, k: int, prior: PriorTable) -> None:
        super().__init__()
        self.p, self.k = p, k
        self.register_parameter("theta_star", torch.nn.Parameter(_t(prior.theta_mean)))
        self.register_prior("theta_star_prior",
                            NormalPrior(_t(prior.theta_mean), _t(prior.theta_sd)), "theta_star")
        if k:
            self.register_parameter("gamma", torch.nn.Parameter(_t(prior.gamma_mean)))
            self.register_prior("gamma_prior", NormalPrior(_t(prior.gamma_mean),
                                                           _t(prior.gamma_sd)), "gamma")
        else:
            self.register_buffer("gamma", torch.zeros(p, 0, dtype=DTYPE))
        self.register_parameter("E", torch.nn.Parameter(_t([prior.e_mean])))
        self.register_prior("E_prior", NormalPrior(prior.e_mean, prior.e_sd), "E")
        for raw, name, initial, pri in (
                ("raw_A", "A", 0.5 * prior.level_sd, HalfNormalPrior(prior.level_sd)),
                ("raw_B", "B", 0.5 * prior.level_sd, HalfNormalPrior(prior.level_sd)),
                ("raw_a", "a", 0.3, LogNormalPrior(math.log(0.3), 0.5)),
                ("raw_b", "b", 0.3, LogNormalPrior(math.log(0.3), 0.5))):
            self.register_parameter(raw, torch.nn.Parameter(torch.zeros(1, dtype=DTYPE)))
            self.register_constraint(raw, Positive())
            self.set_constrained(name, initial)
            self.register_prior(f"{name}_prior", pri, _getter(name), _setter(name))
        self.register_parameter("log_h", torch.nn.Parameter(_t(prior.log_h_mean)))
        self.register_prior("log_h_prior", NormalPrior(_t(prior.log_h_mean), 1.0), "log_h")
        self.register_parameter("chi", torch.nn.Parameter(_t(prior.chi_mean)))
        self.register_prior("chi_prior", NormalPrior(_t(prior.chi_mean), 0.2), "chi")
        self.register_parameter("raw_nu", torch.nn.Parameter(torch.zeros(p, dtype=DTYPE)))
        self.register_constraint("raw_nu", Interval(-0.95, 0.95))
        self.set_constrained("nu", prior.nu_mean)
        self.register_prior("nu_prior", NormalPrior(_t(prior.nu_mean), _t(prior.nu_sd)),
                            _getter("nu"), _setter("nu"))

    def __getattr__(self, name: str) -> Any:
        if name in _CONSTRAINED.values():
            raw = "raw_" + name
            return getattr(self, raw + "_constraint").transform(getattr(self, raw))
        return super().__getattr__(name)

    def set_constrained(self, name: str, value: Any) -> None:
        raw = "raw_" + name
        param = getattr(self, raw)
        value = torch.as_tensor(value, dtype=DTYPE).reshape(param.shape)
        value = getattr(self, raw + "_constraint").inverse_transform(value)
        with torch.no_grad():
            param.copy_(value)

    # -- the model ------------------------------------------------------------------------
    def aligned(self, x: torch.Tensor) -> torch.Tensor:
        """``θ - Γ s``: the optimum-aligned coordinates the residual GP sees."""
        theta = x[..., :self.p]
        if not self.k:
            return theta
        return theta - x[..., self.p:self.p + self.k] @ self.gamma.transpose(-1, -2)

    def optimum(self, s: torch.Tensor) -> torch.Tensor:
        """``θ*(s) = θ*_T + Γ s`` for rows of relative scale ``s`` (``... × k``)."""
        if not self.k:
            return self.theta_star.expand(*s.shape[:-1], self.p)
        return self.theta_star + s @ self.gamma.transpose(-1, -2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p, k = self.p, self.k
        s_n, s_d = x[..., p + k], x[..., p + k + 1]
        level = (self.E + self.A * torch.exp2(-self.a * s_n)
                 + self.B * torch.exp2(-self.b * s_d))
        delta = self.aligned(x) - self.theta_star
        psi = 0.5 * (1.0 + self.nu * torch.sign(delta)) * delta ** 2
        curvature = torch.exp(self.log_h) * torch.exp2(self.chi * s_d.unsqueeze(-1))
        return level + (curvature * psi).sum(-1)


class ShiftedKernel(Kernel):
    """``Matern52(θ - Γs, θ' - Γs') · [ρ + (1 - ρ)·RBF(s, s')]`` with Γ from ``head``.

    ``head`` is held by reference (not a sub-module) so that its parameters and priors are
    counted once, in the mean.
    """

    has_lengthscale = False

    def __init__(self, head: ScalingHead, prior: PriorTable) -> None:
        super().__init__()
        self._head = (head,)
        p, k = head.p, head.k
        ls = _t(prior.lengthscale)
        self.matern = MaternKernel(nu=2.5, ard_num_dims=p,
                                   lengthscale_prior=GammaPrior(3.0, 3.0 / ls),
                                   lengthscale_constraint=GreaterThan(1e-4))
        self.matern.lengthscale = ls
        self.rbf = None
        if k:
            self.rbf = RBFKernel(ard_num_dims=k, lengthscale_prior=GammaPrior(3.0, 1.5),
                                 lengthscale_constraint=GreaterThan(1e-3))
            self.rbf.lengthscale = torch.full((k,), 2.0, dtype=DTYPE)
            self.register_parameter("raw_rho", torch.nn.Parameter(torch.zeros(1, dtype=DTYPE)))
            self.register_constraint("raw_rho", Interval(0.0, 1.0))
            a, b = prior.rho_beta
            self.register_prior("rho_prior", BetaPrior(a, b), _getter("rho"), _rho_setter)
            _rho_setter(self, a / (a + b))

    @property
    def is_stationary(self) -> bool:
        return False

    @property
    def rho(self) -> torch.Tensor:
        return self.raw_rho_constraint.transform(self.raw_rho)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False,
                last_dim_is_batch: bool = False, **params: Any) -> torch.Tensor:
        head = self._head[0]
        p, k = head.p, head.k
        out = self.matern.forward(head.aligned(x1), head.aligned(x2), diag=diag)
        if self.rbf is not None:
            ks = self.rbf.forward(x1[..., p:p + k], x2[..., p:p + k], diag=diag)
            out = out * (self.rho + (1.0 - self.rho) * ks)
        return out


def _rho_setter(module: Any, value: Any) -> None:
    value = torch.as_tensor(value, dtype=DTYPE).reshape(1).clamp(1e-4, 1 - 1e-4)
    with torch.no_grad():
        module.raw_rho.copy_(module.raw_rho_constraint.inverse_transform(value))


def build_scaling_gp(X: np.ndarray, y: np.ndarray, p: int, k: int,
                     prior: PriorTable) -> SingleTaskGP:
    """A fresh model on rows ``X`` (``n × (p + k + 2)``) and scaled losses ``y``."""
    train_X, train_Y = _t(X), _t(y).reshape(-1, 1)
    head = ScalingHead(p, k, prior)
    covar = ScaleKernel(ShiftedKernel(head, prior), outputscale_prior=GammaPrior(2.0, 40.0))
    covar.outputscale = torch.tensor(0.05, dtype=DTYPE)
    likelihood = GaussianLikelihood(noise_prior=LogNormalPrior(math.log(1e-2), 1.5),
                                    noise_constraint=GreaterThan(1e-6))
    likelihood.noise = torch.tensor(1e-2, dtype=DTYPE)
    return SingleTaskGP(train_X, train_Y, likelihood=likelihood, covar_module=covar,
                        mean_module=head, outcome_transform=None)


def head_of(model: SingleTaskGP) -> ScalingHead:
    head = model.mean_module
    if not isinstance(head, ScalingHead):
        raise TypeError(f"not a scaling model (mean {type(head).__name__})")
    return head


def neg_log_posterior(model: SingleTaskGP) -> torch.Tensor:
    """``-(log marginal likelihood + log priors)`` of the training data: the MAP objective that
    ``ExactMarginalLogLikelihood`` computes (times ``n``), written densely (one Cholesky, no
    linear-operator overhead)."""
    X, y = model.train_inputs[0], model.train_targets
    covar = model.covar_module
    K = covar.outputscale * covar.base_kernel.forward(X, X)
    n = X.shape[-2]
    K = K + (model.likelihood.noise + 1e-9) * torch.eye(n, dtype=DTYPE)
    chol = torch.linalg.cholesky(K)
    r = (y - head_of(model)(X)).unsqueeze(-1)
    alpha = torch.cholesky_solve(r, chol)
    nll = 0.5 * (r * alpha).sum() + torch.log(torch.diagonal(chol)).sum() \
        + 0.5 * n * math.log(2 * math.pi)
    priors: Any = model.named_priors()  # type: ignore[operator]
    for _, module, prior, closure, _ in priors:
        value: Any = closure(module)
        nll = nll - prior.log_prob(value).sum()
    return nll


def _flat(model: SingleTaskGP) -> tuple[list[torch.nn.Parameter], np.ndarray]:
    params = [p for _, p in model.named_parameters()]
    return params, np.concatenate([p.detach().reshape(-1).numpy() for p in params])


def _assign(params: list[torch.nn.Parameter], v: np.ndarray) -> None:
    offset = 0
    with torch.no_grad():
        for p in params:
            p.copy_(torch.as_tensor(v[offset:offset + p.numel()], dtype=DTYPE).reshape(p.shape))
            offset += p.numel()


def map_fit(model: SingleTaskGP, maxiter: int) -> float:
    """L-BFGS-B on :func:`neg_log_posterior` over every raw parameter, in place; the value."""
    params, v0 = _flat(model)

    def value_and_grad(v: np.ndarray) -> tuple[float, np.ndarray]:
        _assign(params, v)
        with torch.enable_grad():
            loss = neg_log_posterior(model)
            grads = torch.autograd.grad(loss, params, allow_unused=True)
        g = np.concatenate([(torch.zeros_like(p) if gr is None else gr).reshape(-1).numpy()
                            for p, gr in zip(params, grads)])
        f = float(loss)
        if not (math.isfinite(f) and np.all(np.isfinite(g))):
            return 1e30, np.zeros_like(v)
        return f, g

    result = minimize(value_and_grad, v0, jac=True, method="L-BFGS-B",
                      options={"maxiter": maxiter, "gtol": 1e-5})
    _assign(params, result.x)
    model.train()
    model.eval()
    with torch.no_grad():
        return float(neg_log_posterior(model))


@dataclass(frozen=True)
class MapFit:
    """The best of the multi-start MAP fits."""

    model: SingleTaskGP
    value: float            # negative log posterior at the MAP
    starts: int             # fits that finished
    failures: tuple[str, ...] = ()


def _randomise(head: ScalingHead, prior: PriorTable, rng: np.random.Generator) -> None:
    p, k = head.p, head.k
    with torch.no_grad():
        head.theta_star.copy_(_t(prior.theta_mean + rng.normal(0, 0.25, p) * prior.theta_sd))
        if k:
            head.gamma.copy_(_t(rng.normal(prior.gamma_mean, prior.gamma_sd)))
        head.log_h.copy_(_t(rng.normal(prior.log_h_mean, 0.5)))


def fit_scaling_gp(X: np.ndarray, y: np.ndarray, p: int, k: int, prior: PriorTable, *,
                   seed: int, starts: int = 8, maxiter: int = 200) -> MapFit | None:
    """Multi-start MAP; start 0 at the prior means (θ*_T at ``prior.theta_mean``), the others
    drawn from the priors with a numpy generator seeded by ``seed``. None if every start
    failed."""
    rng = np.random.default_rng(seed)
    best: MapFit | None = None
    failures: list[str] = []
    done = 0
    for i in range(starts):
        model = build_scaling_gp(X, y, p, k, prior)
        if i:
            _randomise(head_of(model), prior, rng)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = map_fit(model, maxiter)
        except FIT_ERRORS as err:
            failures.append(f"start {i}: {type(err).__name__}: {err}"[:200])
            continue
        if not math.isfinite(value):
            failures.append(f"start {i}: non-finite posterior")
            continue
        done += 1
        if best is None or value < best.value:
            best = MapFit(model, value, 0)
    if best is None:
        return None
    return MapFit(best.model, best.value, done, tuple(failures))
