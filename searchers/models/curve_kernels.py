"""The freeze-thaw pieces gpytorch lacks: a centred exponential-decay kernel and a curve mean.

With ``kappa(t) = (beta / (t + beta)) ** alpha`` (``kappa(t) = E[exp(-lam t)]`` for
``lam ~ Gamma(alpha, rate=beta)``):

* :class:`CentredExpDecayKernel` is ``k(t, t') = kappa(t + t') - kappa(t) kappa(t')``, the
  covariance of ``exp(-lam t)`` under that Gamma mixture, hence positive semi-definite. It is 0
  at ``t = 0`` and its variance ``kappa(2t) - kappa(t)^2`` tends to 0 as ``t -> inf``: the
  transient of a learning curve dies out and only the asymptote is left (algorithms.md §3.2,
  the ``delta = 0`` "exp-decay-sum" family, and §3.6a).
* :class:`CurveMean` is ``mu0 + gamma * kappa(t)`` with ``gamma >= 0``: curves start above their
  asymptote and decay towards it, with the same ``alpha, beta`` as the kernel.

Both act on one column, the normalised budget ``t = budget / max_budget`` (the kernel through
``active_dims``, the mean through ``t_dim``). Priors (standardised targets): ``alpha ~
Gamma(2, 2)``, ``beta ~ LogNormal(log 0.1, 1)``, ``gamma ~ HalfNormal(2)``.

:class:`FreezeThawKernel` is the whole FT-GP covariance over rows ``[u, t]``,
``s_a^2 M52(u, u') + s_d^2 M52'(u, u') k(t, t')``, evaluated densely in one ``forward``:
gpytorch's lazy ``ProductKernel`` would multiply the two training matrices through a Lanczos
root decomposition (approximate, and 100x slower here).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from gpytorch.constraints import GreaterThan, Interval, Positive
from gpytorch.kernels import Kernel, MaternKernel
from gpytorch.means import Mean
from gpytorch.priors import GammaPrior, HalfNormalPrior, LogNormalPrior


def kappa(t: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """``(beta / (t + beta)) ** alpha`` computed as ``exp(alpha (log beta - log(t + beta)))``."""
    return torch.exp(alpha * (torch.log(beta) - torch.log(t + beta)))


class CentredExpDecayKernel(Kernel):
    """``kappa(t + t') - kappa(t) kappa(t')`` on one (time) column; positive ``alpha, beta``.

    Example:
        >>> import torch
        >>> k = CentredExpDecayKernel().double()
        >>> t = torch.tensor([[0.0], [0.5], [1.0]], dtype=torch.float64)
        >>> float(k(t, diag=True)[0])  # no transient at t = 0
        0.0
    """

    has_lengthscale = False

    def __init__(self, *, alpha_prior: Any = None, beta_prior: Any = None,
                 active_dims: Any = None) -> None:
        super().__init__(active_dims=active_dims)
        self.register_parameter("raw_alpha", torch.nn.Parameter(torch.zeros(1)))
        self.register_parameter("raw_beta", torch.nn.Parameter(torch.zeros(1)))
        # register_constraint resets the raw value to the initial value (model-code.md §8.9)
        self.register_constraint("raw_alpha", Interval(1e-3, 250.0, initial_value=1.0))
        self.register_constraint("raw_beta", Interval(1e-4, 100.0, initial_value=0.1))
        alpha_prior = GammaPrior(2.0, 2.0) if alpha_prior is None else alpha_prior
        beta_prior = LogNormalPrior(math.log(0.1), 1.0) if beta_prior is None else beta_prior
        self.register_prior("alpha_prior", alpha_prior, _getter("alpha"), _setter("alpha"))
        self.register_prior("beta_prior", beta_prior, _getter("beta"), _setter("beta"))

    @property
    def is_stationary(self) -> bool:
        return False

    @property
    def alpha(self) -> torch.Tensor:
        return self.raw_alpha_constraint.transform(self.raw_alpha)

    @alpha.setter
    def alpha(self, value: Any) -> None:
        self._set("raw_alpha", value)

    @property
    def beta(self) -> torch.Tensor:
        return self.raw_beta_constraint.transform(self.raw_beta)

    @beta.setter
    def beta(self, value: Any) -> None:
        self._set("raw_beta", value)

    def _set(self, name: str, value: Any) -> None:
        raw = getattr(self, name)
        value = torch.as_tensor(value, dtype=raw.dtype).reshape(raw.shape)
        constraint = getattr(self, f"{name}_constraint")
        self.initialize(**{name: constraint.inverse_transform(value)})

    def kappa(self, t: torch.Tensor) -> torch.Tensor:
        return kappa(t, self.alpha, self.beta)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False,
                last_dim_is_batch: bool = False, **params: Any) -> torch.Tensor:
        if last_dim_is_batch:
            raise NotImplementedError("CentredExpDecayKernel does not batch over dimensions")
        t1 = x1[..., 0]
        t2 = x2[..., 0]
        if diag:
            return self.kappa(t1 + t2) - self.kappa(t1) * self.kappa(t2)
        s = t1.unsqueeze(-1) + t2.unsqueeze(-2)
        return self.kappa(s) - self.kappa(t1).unsqueeze(-1) * self.kappa(t2).unsqueeze(-2)


def _getter(name: str) -> Any:
    return lambda module: getattr(module, name)


def _setter(name: str) -> Any:
    def set_value(module: Any, value: Any) -> None:
        setattr(module, name, value)
    return set_value


class CurveMean(Mean):
    """``mu0 + sign * gamma * kappa(x[..., t_dim])`` with ``gamma >= 0`` and ``decay``'s kappa.

    ``sign = 1`` for losses (curves start above their asymptote), ``-1`` for targets to
    maximise (minus the loss). ``decay`` is not registered as a sub-module (it lives in the
    covariance module), so its parameters and priors are counted once.
    """

    def __init__(self, decay: CentredExpDecayKernel, t_dim: int, sign: float = 1.0) -> None:
        super().__init__()
        self._kappa = decay.kappa  # a bound method: not a registered sub-module
        self.t_dim = t_dim
        self.sign = float(sign)
        self.register_parameter("constant", torch.nn.Parameter(torch.zeros(1)))
        self.register_parameter("raw_gamma", torch.nn.Parameter(torch.zeros(1)))
        self.register_constraint("raw_gamma", Positive(initial_value=0.5))
        self.register_prior("gamma_prior", HalfNormalPrior(2.0), _getter("gamma"),
                            _setter("gamma"))

    @property
    def gamma(self) -> torch.Tensor:
        return self.raw_gamma_constraint.transform(self.raw_gamma)

    @gamma.setter
    def gamma(self, value: Any) -> None:
        value = torch.as_tensor(value, dtype=self.raw_gamma.dtype).reshape(self.raw_gamma.shape)
        self.initialize(raw_gamma=self.raw_gamma_constraint.inverse_transform(value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.constant + self.sign * self.gamma * self._kappa(x[..., self.t_dim])


def _matern(d: int) -> MaternKernel:
    """Matern-5/2 ARD with botorch's dimension-scaled LogNormal lengthscale prior."""
    prior = LogNormalPrior(math.sqrt(2) + 0.5 * math.log(d), math.sqrt(3))
    return MaternKernel(nu=2.5, ard_num_dims=d, lengthscale_prior=prior,
                        lengthscale_constraint=GreaterThan(2.5e-2, transform=None,
                                                           initial_value=prior.mode))


class FreezeThawKernel(Kernel):
    """``s_a^2 M52(u, u') + (s_d^2 M52'(u, u') + s_i^2 1[u = u']) [kappa(t + t') - kappa(t)
    kappa(t')]``.

    Rows are ``[u (d columns), t]``. The ``s_i`` term is Swersky's per-curve transient (configs
    are unique per trial, so ``u = u'`` identifies a curve): each curve may decay at its own
    rate, not only as its neighbours do. Scales ``s_a^2 ~ Gamma(2, 2)``, ``s_d^2, s_i^2 ~
    Gamma(2, 4)``.
    """

    has_lengthscale = False

    def __init__(self, d: int) -> None:
        super().__init__()
        self.d = d
        self.asymptote = _matern(d)
        self.transient = _matern(d)
        self.decay = CentredExpDecayKernel()
        for name, prior in (("a", GammaPrior(2.0, 2.0)), ("d", GammaPrior(2.0, 4.0)),
                            ("i", GammaPrior(2.0, 4.0))):
            raw = f"raw_scale_{name}"
            self.register_parameter(raw, torch.nn.Parameter(torch.zeros(1)))
            self.register_constraint(raw, Positive(initial_value=0.5))
            self.register_prior(f"scale_{name}_prior", prior, _getter(f"scale_{name}"),
                                _setter(f"scale_{name}"))

    @property
    def is_stationary(self) -> bool:
        return False

    @property
    def scale_a(self) -> torch.Tensor:
        return self.raw_scale_a_constraint.transform(self.raw_scale_a)

    @scale_a.setter
    def scale_a(self, value: Any) -> None:
        self._set_scale("raw_scale_a", value)

    @property
    def scale_d(self) -> torch.Tensor:
        return self.raw_scale_d_constraint.transform(self.raw_scale_d)

    @scale_d.setter
    def scale_d(self, value: Any) -> None:
        self._set_scale("raw_scale_d", value)

    @property
    def scale_i(self) -> torch.Tensor:
        return self.raw_scale_i_constraint.transform(self.raw_scale_i)

    @scale_i.setter
    def scale_i(self, value: Any) -> None:
        self._set_scale("raw_scale_i", value)

    def _set_scale(self, name: str, value: Any) -> None:
        raw = getattr(self, name)
        value = torch.as_tensor(value, dtype=raw.dtype).reshape(raw.shape)
        self.initialize(**{name: getattr(self, f"{name}_constraint").inverse_transform(value)})

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False,
                last_dim_is_batch: bool = False, **params: Any) -> torch.Tensor:
        if last_dim_is_batch:
            raise NotImplementedError("FreezeThawKernel does not batch over dimensions")
        u1, u2 = x1[..., :self.d], x2[..., :self.d]
        t1, t2 = x1[..., self.d:self.d + 1], x2[..., self.d:self.d + 1]
        ka = self.asymptote.forward(u1, u2, diag=diag)
        if diag:
            same = torch.ones_like(ka)
        else:
            # exact per-coordinate comparison: cdist's matmul path leaves ~1e-8 between a
            # point and itself, which would drop the per-curve term off the diagonal
            same = ((u1.unsqueeze(-2) - u2.unsqueeze(-3)).abs().amax(-1) < 1e-12).to(
                ka.dtype) if self.d else torch.ones_like(ka)
        kt = self.scale_d * self.transient.forward(u1, u2, diag=diag) + self.scale_i * same
        return self.scale_a * ka + kt * self.decay.forward(t1, t2, diag=diag)
