"""The GP itself: botorch ``SingleTaskGP`` / ``MixedSingleTaskGP``, fitting, hyper-parameters.

* **Model**: float64 ``SingleTaskGP`` with botorch's defaults (RBF kernel with the
  dimension-scaled LogNormal lengthscale prior, Gaussian likelihood with its noise prior); with
  categorical columns the kernel is :func:`categorical_kernel`. Outcomes ``Standardize(m=1)``;
  no input transform (the encoder already maps numeric columns to the unit cube).
* **Fitting**: :func:`fit_model` runs ``fit_gpytorch_mll`` (L-BFGS-B on the MAP objective, i.e.
  with the default priors) from the current values (a warm start when hyper-parameters were
  loaded), ``maxiter`` capped. Retries (botorch re-draws from the priors) happen inside
  :func:`torch_context`, so they are seeded and leave the global RNG alone. A failure returns a
  :class:`FitReport` with ``ok=False``: the caller falls back, nothing raises.
* **Hyper-parameters** are the model's raw parameters, as JSON lists of floats
  (:func:`hypers_to_json` / :func:`load_hypers`); JSON floats round-trip float64 exactly, so a
  searcher can journal them and a replay rebuilds the identical model without fitting.
* **Determinism and threads**: every torch call of a searcher runs in :func:`torch_context`
  ``(seed, threads)``: ``torch.random.fork_rng`` + ``torch.manual_seed(seed)`` and
  ``torch.set_num_threads(threads)``, all restored on exit. Same data, seed and thread count
  give bitwise the same fit; a different thread count can move the hyper-parameters in the last
  digits, so the thread count is a recipe option (default 1).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botorch  # noqa: F401  (sets botorch's linear-algebra defaults before gpytorch runs)
import numpy as np
import torch
from botorch.exceptions.errors import ModelFittingError
from botorch.fit import fit_gpytorch_mll
from botorch.models import SingleTaskGP
from botorch.models.kernels.categorical import CategoricalKernel
from botorch.models.transforms.outcome import Standardize
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from gpytorch.constraints import GreaterThan  # type: ignore[import-untyped]
from gpytorch.kernels import Kernel, ScaleKernel  # type: ignore[import-untyped]
from gpytorch.mlls import ExactMarginalLogLikelihood  # type: ignore[import-untyped]
from linear_operator.utils.errors import NanError, NotPSDError  # type: ignore[import-untyped]
from linear_operator.utils.warnings import NumericalWarning  # type: ignore[import-untyped]

from searchers.models.curve_kernels import CentredExpDecayKernel, CurveMean

DTYPE = torch.float64
FIT_ERRORS = (ModelFittingError, NotPSDError, NanError, RuntimeError, ValueError)


@contextmanager
def torch_context(seed: int, threads: int) -> Iterator[None]:
    """Seeded, thread-pinned torch block that restores the global RNG and thread count."""
    previous = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        # jitter added to a near-singular matrix is handled (and retried) here, not news
        warnings.simplefilter("ignore", NumericalWarning)
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


def categorical_kernel(d: int, cat_dims: list[int]) -> Kernel:
    """``ScaleKernel(k_cont * CategoricalKernel)``: botorch's default dimension-scaled RBF over
    the numeric columns times botorch's ``CategoricalKernel`` over the index columns (the
    product half of ``MixedSingleTaskGP``'s kernel; the full sum-plus-product costs about 2.5x
    per decision for little gain at our data sizes)."""
    cat = CategoricalKernel(ard_num_dims=len(cat_dims), active_dims=cat_dims,
                            lengthscale_constraint=GreaterThan(1e-06))
    cont_dims = [j for j in range(d) if j not in cat_dims]
    if not cont_dims:
        return ScaleKernel(cat)
    cont = get_covar_module_with_dim_scaled_prior(ard_num_dims=len(cont_dims),
                                                  active_dims=cont_dims)
    return ScaleKernel(cont * cat)


def build_model(X: np.ndarray, y: np.ndarray, cat_dims: list[int],
                curve_dim: int | None = None) -> SingleTaskGP:
    """A fresh GP on ``(X, y)`` (targets to maximise) with default hyper-parameters.

    ``curve_dim``: the column of ``t = budget / max_budget`` for the exp-decay-sum model over
    (config, budget) (:func:`exp_decay_sum`); None: one kernel over every column.
    """
    train_X = torch.as_tensor(np.asarray(X, dtype=np.float64), dtype=DTYPE)
    train_Y = torch.as_tensor(np.asarray(y, dtype=np.float64), dtype=DTYPE).reshape(-1, 1)
    if curve_dim is not None:
        covar, mean = exp_decay_sum(curve_dim, list(cat_dims))
        return SingleTaskGP(train_X, train_Y, covar_module=covar, mean_module=mean,
                            outcome_transform=Standardize(m=1))
    covar = categorical_kernel(train_X.shape[-1], list(cat_dims)) if cat_dims else None
    return SingleTaskGP(train_X, train_Y, covar_module=covar, outcome_transform=Standardize(m=1))


def exp_decay_sum(t_dim: int, cat_dims: list[int]) -> tuple[Kernel, CurveMean]:
    """MOBSTER's default "exp-decay-sum" model (Tiao et al. 2020; algorithms.md §3.2, δ = 0)
    over rows ``[x (t_dim columns), t]``, for targets to maximise:

        mean    mu0 - gamma kappa(t)
        kernel  k_x(x, x') + s^2 [kappa(t + t') - kappa(t) kappa(t')]

    ``k_x`` is the config kernel of the single-fidelity GP (botorch's default over the numeric
    columns, times a categorical kernel where there are categoricals); the transient is shared
    by all configs and dies out as ``t`` grows, so a low-budget result informs the config's
    asymptote. Unlike Syne Tune the transient's scale ``s`` is its own hyper-parameter rather
    than tied to the mean's ``gamma``. The sum is exact in gpytorch (no Lanczos products).
    """
    x_dims = list(range(t_dim))
    if cat_dims:
        k_x = categorical_kernel(t_dim, cat_dims)
    else:
        k_x = ScaleKernel(get_covar_module_with_dim_scaled_prior(ard_num_dims=t_dim,
                                                                  active_dims=x_dims))
    decay = CentredExpDecayKernel(active_dims=[t_dim])
    transient = ScaleKernel(decay)
    return k_x + transient, CurveMean(decay, t_dim=t_dim, sign=-1.0)


def hypers_to_json(model: torch.nn.Module) -> dict[str, list[float]]:
    """The raw hyper-parameters as ``{name: flat list of floats}``."""
    return {name: [float(v) for v in p.detach().reshape(-1).tolist()]
            for name, p in model.named_parameters()}


def load_hypers(model: torch.nn.Module, hypers: dict[str, Any]) -> bool:
    """Copy ``hypers`` into ``model``; False (model unchanged) if the names or sizes differ."""
    params = dict(model.named_parameters())
    if set(params) != set(hypers):
        return False
    values = {}
    for name, p in params.items():
        flat = hypers[name]
        if not isinstance(flat, list) or len(flat) != p.numel():
            return False
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in flat):
            return False
        values[name] = torch.tensor(flat, dtype=p.dtype).reshape(p.shape)
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(values[name])
    return True


def finite_hypers(hypers: dict[str, list[float]]) -> bool:
    return all(math.isfinite(v) for flat in hypers.values() for v in flat)


@dataclass(frozen=True)
class FitReport:
    ok: bool
    reason: str = ""


def fit_model(model: SingleTaskGP, *, maxiter: int, max_attempts: int = 2) -> FitReport:
    """MAP fit of ``model`` in place (call inside :func:`torch_context`); never raises.

    On success the model is in eval mode with the fitted hyper-parameters. On failure
    (``ModelFittingError``, a non-PSD matrix, NaNs) the report says why and the model's
    parameters are unspecified: the caller reloads what it falls back to.
    """
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_gpytorch_mll(mll, optimizer_kwargs={"options": {"maxiter": maxiter}},
                             max_attempts=max_attempts)
    except FIT_ERRORS as err:
        model.eval()
        return FitReport(False, f"{type(err).__name__}: {err}"[:200])
    model.eval()
    if not finite_hypers(hypers_to_json(model)):
        return FitReport(False, "non-finite hyper-parameters after fitting")
    return FitReport(True)


def predict(model: SingleTaskGP, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and variance of the latent function at ``X`` (numpy, float64)."""
    model.eval()
    with torch.no_grad():
        post = model.posterior(torch.as_tensor(np.asarray(X, dtype=np.float64), dtype=DTYPE))
        mean = post.mean.reshape(-1).numpy().copy()
        var = post.variance.reshape(-1).numpy().copy()
    return mean, var


def noise_variance(model: SingleTaskGP) -> float:
    """The fitted observation-noise variance in the units of the targets."""
    noise = float(model.likelihood.noise.detach().reshape(-1)[0])
    stdvs = getattr(getattr(model, "outcome_transform", None), "stdvs", None)
    return noise * float(stdvs.reshape(-1)[0]) ** 2 if stdvs is not None else noise
