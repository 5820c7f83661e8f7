"""Acquisition: ``qLogNoisyExpectedImprovement`` with pending points, optimised cheaply.

:func:`propose` (call inside :func:`~searchers.models.gp.torch_context`):

1. builds ``qLogNoisyExpectedImprovement(model, X_baseline, X_pending=pending)`` with a seeded
   ``SobolQMCNormalSampler`` (``mc_samples`` draws); the baseline is first cut to the
   ``max_baseline`` rows of highest posterior mean (the others are almost never the incumbent,
   and botorch's own pruning costs a joint posterior over every row);
2. scores ``n_candidates`` canonical candidates in one batch: half uniform in the bounds, half
   Gaussian perturbations (sd 0.1 of the range) of the ``centres`` (the best observed rows);
   categorical columns are drawn as indices; candidates come from the caller's numpy generator;
3. refines the ``n_refine`` best with ``optimize_acqf`` (L-BFGS-B from those starts, so
   botorch's global-RNG initialisers are never used), categorical and ``fixed`` columns held
   fixed; refined points are snapped to the space (``canonical``) and re-scored;
4. returns the best point that is not within ``1e-9`` of an ``exclude`` row (pending and
   observed configs): asynchronous workers never receive a duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import torch
from botorch.acquisition.logei import qLogNoisyExpectedImprovement
from botorch.models.model import Model
from botorch.optim import optimize_acqf
from botorch.sampling import SobolQMCNormalSampler

from searchers.models.gp import DTYPE

Canonical = Callable[[np.ndarray], np.ndarray]


def candidates(bounds: np.ndarray, cat_dims: list[int], centres: np.ndarray, n: int,
               rng: np.random.Generator) -> np.ndarray:
    """``n`` raw candidates: uniform, plus perturbations of ``centres`` (rows) if any."""
    lo, hi = bounds
    d = len(lo)
    n_local = n // 2 if len(centres) else 0
    uniform = lo + rng.random((n - n_local, d)) * (hi - lo)
    local = np.empty((0, d))
    if n_local:
        picks = centres[rng.integers(len(centres), size=n_local)]
        local = np.clip(picks + rng.normal(0.0, 0.1, size=picks.shape) * (hi - lo), lo, hi)
    out = np.vstack([uniform, local])
    for j in cat_dims:  # categorical columns: uniform indices (no meaningful neighbourhood)
        out[:, j] = rng.integers(int(hi[j]) + 1, size=len(out))
    return out


def _score(acqf: qLogNoisyExpectedImprovement, X: np.ndarray, chunk: int = 512) -> np.ndarray:
    out = []
    with torch.no_grad():
        for start in range(0, len(X), chunk):
            block = torch.as_tensor(X[start:start + chunk], dtype=DTYPE).unsqueeze(1)
            out.append(acqf(block).numpy().copy())
    return np.concatenate(out) if out else np.empty(0)


def _is_new(x: np.ndarray, exclude: np.ndarray) -> bool:
    return not len(exclude) or bool(np.all(np.max(np.abs(exclude - x), axis=1) > 1e-9))


def propose(model: Model, baseline: np.ndarray, pending: np.ndarray,
            exclude: np.ndarray, centres: np.ndarray, *, bounds: np.ndarray, cat_dims: list[int],
            fixed: Mapping[int, float], canonical: Canonical, rng: np.random.Generator,
            seed: int, n_candidates: int, n_refine: int, mc_samples: int,
            maxiter: int = 15, max_baseline: int = 32) -> np.ndarray | None:
    """The next point (see module), or None if every candidate duplicates an excluded row."""
    sampler = SobolQMCNormalSampler(torch.Size([mc_samples]), seed=seed)
    base = torch.as_tensor(baseline, dtype=DTYPE)
    if len(base) > max_baseline:  # keep the best posterior means (stable order)
        with torch.no_grad():
            mean = model.posterior(base).mean.reshape(-1).numpy()  # type: ignore[attr-defined]
        base = base[np.sort(np.argsort(-mean, kind="stable")[:max_baseline])]
    acqf = qLogNoisyExpectedImprovement(
        model, base, sampler=sampler,
        X_pending=torch.as_tensor(pending, dtype=DTYPE) if len(pending) else None)
    raw = candidates(bounds, cat_dims, centres, n_candidates, rng)
    for j, v in fixed.items():
        raw[:, j] = v
    cand = canonical(raw)
    for j, v in fixed.items():
        cand[:, j] = v
    scores = _score(acqf, cand)
    order = np.argsort(-scores, kind="stable")
    hold = sorted(set(cat_dims) | set(fixed))
    free = [j for j in range(cand.shape[1]) if j not in hold]
    refined: list[tuple[float, np.ndarray]] = []
    starts = order[:n_refine]
    if free and len(starts):
        x0 = torch.as_tensor(cand[starts], dtype=DTYPE).unsqueeze(1)
        hold_values = {j: torch.as_tensor(cand[starts, j], dtype=DTYPE) for j in hold}
        x, _ = optimize_acqf(acqf, torch.as_tensor(bounds, dtype=DTYPE), q=1,
                             num_restarts=len(starts), batch_initial_conditions=x0,
                             fixed_features=hold_values or None, return_best_only=False,
                             options={"maxiter": maxiter}, retry_on_optimization_warning=False)
        xc = canonical(x.detach().reshape(len(starts), -1).numpy().astype(np.float64))
        for j, v in fixed.items():
            xc[:, j] = v
        refined = list(zip(_score(acqf, xc).tolist(), xc))
    scored = refined + [(float(scores[i]), cand[i]) for i in order]
    for _, x in sorted(scored, key=lambda r: -r[0]):  # stable: refined first among ties
        if _is_new(x, exclude):
            return x
    return None

