"""Synthetic scaling problems drawn from the §5.5 model with known drift, and the V6 coverage.

A problem has a learning rate (log scale, role ``lr``) and optionally an init multiplier
(``init``), a width axis (target 4096, proxies 64..512) and optionally a tokens axis. Its true
drift ``Γ[lr, width]`` is 0 ("mup", μP-like) or -1 ("sp", SP-like); every other entry of ``Γ``
and the loss-level / basin parameters are drawn from the priors of §5.5. A run diverges (NaN)
when its learning rate is more than ``2.5`` octaves above the optimum at its scale.

Run ``python -m benchmarks.scaling_synthetic --replicates 50`` for the V6 coverage figure:
the share of replicates whose fitted ``Γ`` lies within 2 posterior sd of the truth.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

import numpy as np

import hpo
from hpo import Float, Observation, ScaleAxis, Scaling, SearchSpace, Trial, TrialStatus
from searchers.models.scaling_prior import drift_prior

DIVERGE_OCTAVES = 2.5


@dataclass(frozen=True)
class SyntheticScaling:
    """A §5.5 problem with known parameters (natural coordinates: ``log2`` of lr and init)."""

    kind: str
    space: SearchSpace
    scaling: Scaling
    theta_star: np.ndarray      # p: optimum at the target
    gamma: np.ndarray           # p × k
    level: tuple[float, float, float, float, float]   # E, A, a, B, b
    h: np.ndarray
    nu: np.ndarray
    noise: float

    def optimum(self, scale: dict[str, float]) -> np.ndarray:
        rel = self.scaling.relative(scale)
        s = np.array([rel[a.name] for a in self.scaling.axes])
        return self.theta_star + self.gamma @ s

    def theta(self, config: dict[str, float]) -> np.ndarray:
        return np.array([math.log2(config[p.name]) for p in self.space.params])

    def mean_loss(self, config: dict[str, float], scale: dict[str, float]) -> float:
        E, A, a, B, b = self.level
        target = self.scaling.target
        s_n = math.log2(self.scaling.n_params(scale) / self.scaling.n_params(target))
        s_d = math.log2(self.scaling.tokens(scale) / self.scaling.tokens(target))
        delta = self.theta(config) - self.optimum(scale)
        q = np.sum(self.h * 0.5 * (1 + self.nu * np.sign(delta)) * delta ** 2)
        wiggle = 0.01 * math.sin(float(np.sum(delta)))
        return E + A * 2 ** (-a * s_n) + B * 2 ** (-b * s_d) + float(q) + wiggle

    def evaluate(self, config: dict[str, float], scale: dict[str, float],
                 rng: np.random.Generator) -> float:
        """One run's final loss (NaN when it diverges)."""
        if self.theta(config)[0] - self.optimum(scale)[0] > DIVERGE_OCTAVES:
            return math.nan
        return self.mean_loss(config, scale) + self.noise * float(rng.standard_normal())

    def best_target_loss(self) -> float:
        config = {p.name: 2.0 ** t for p, t in zip(self.space.params, self.theta_star)}
        return self.mean_loss(config, self.scaling.target)


def make_problem(kind: str, seed: int, *, init: bool = False, tokens: bool = False,
                 noise: float = 0.01) -> SyntheticScaling:
    """A problem with ``Γ[lr, width] = 0`` (``kind="mup"``) or ``-1`` (``"sp"``)."""
    rng = np.random.default_rng(seed)
    params = [Float("lr", 2.0 ** -16, 2.0 ** -2, log=True)]
    if init:
        params.append(Float("init", 2.0 ** -4, 2.0 ** 4, log=True))
    axes = [ScaleAxis("width", 4096, [64, 128, 256, 512], kind="width")]
    if tokens:
        axes.append(ScaleAxis("tokens", 1.6e10, [1e9, 2e9, 4e9], kind="tokens"))
    scaling = Scaling(axes, parametrization=kind)
    roles = ["lr", "init"][:len(params)]
    gamma = np.zeros((len(params), len(axes)))
    for j, role in enumerate(roles):
        for a, axis in enumerate(axes):
            m, sd = drift_prior(role, axis.kind, kind)
            gamma[j, a] = rng.normal(m, sd)
    gamma[0, 0] = 0.0 if kind == "mup" else -1.0
    theta_star = np.array([rng.uniform(-12, -8)] + ([rng.uniform(-1, 1)] if init else []))
    level = (1.7 + 0.2 * rng.random(), 0.3 + 0.4 * rng.random(),
             float(np.exp(rng.normal(math.log(0.3), 0.3))),
             0.3 + 0.4 * rng.random(), float(np.exp(rng.normal(math.log(0.3), 0.3))))
    h = np.exp(rng.normal(math.log(0.04), 0.3, len(params)))
    nu = np.array([0.3] + [0.0] * (len(params) - 1))
    return SyntheticScaling(kind, SearchSpace(params), scaling, theta_star, gamma, level, h, nu,
                            noise)


def sweep(problem: SyntheticScaling, rng: np.random.Generator, *, lrs: int = 5,
          span: float = 6.0) -> list[Trial]:
    """Completed trials: at every proxy point, ``lrs`` learning rates evenly spread over
    ``span`` octaves around a guess of the optimum there (the truth plus ±1 octave of error)."""
    trials: list[Trial] = []
    for scale in problem.scaling.proxies():
        centre = problem.optimum(scale)[0] + rng.uniform(-1, 1)
        for lr in np.linspace(centre - span / 2, centre + span / 2, lrs):
            config = {"lr": float(2.0 ** np.clip(lr, -16, -2))}
            if len(problem.space.params) > 1:
                config["init"] = float(2.0 ** rng.uniform(-2, 2))
            config = problem.space.validate(config)
            y = problem.evaluate(config, scale, rng)
            obs = Observation(1, {"loss": y}, y if math.isfinite(y) else math.inf,
                              problem.scaling.flops(scale), 0.0, 0)
            trials.append(Trial(len(trials), config, TrialStatus.COMPLETED, (obs,), 1,
                                scale=dict(scale)))
    return trials


def replicate(kind: str, seed: int, *, starts: int = 2, maxiter: int = 100,
              **options: bool) -> dict[str, float]:
    """Fit one replicate; z-scores of the fitted Γ against the truth."""
    from searchers.models.gp import torch_context
    from searchers.scaling_data import Coords, scaling_data
    from searchers.scaling_fit import ScalingFit

    problem = make_problem(kind, seed, **options)
    trials = sweep(problem, np.random.default_rng(seed + 1))
    coords = Coords(problem.space, problem.scaling)
    with torch_context(seed, 1):
        fit = ScalingFit.fit(coords, scaling_data(trials, coords), kind, seed=seed,
                             starts=starts, maxiter=maxiter)
    if fit is None:
        return {"ok": 0.0}
    mean, sd = fit.gamma()
    z = (mean - problem.gamma) / sd
    t_mean, t_sd = fit.theta_star()
    return {"ok": 1.0, "z_lr_width": float(z[0, 0]), "max_abs_z": float(np.max(np.abs(z))),
            "gamma_lr_width": float(mean[0, 0]), "sd_lr_width": float(sd[0, 0]),
            "z_theta": float((t_mean[0] - problem.theta_star[0]) / t_sd[0])}


def coverage(kind: str, replicates: int, *, first_seed: int = 0, **options: bool
             ) -> dict[str, float]:
    rows = [replicate(kind, first_seed + r, **options) for r in range(replicates)]
    ok = [r for r in rows if r["ok"]]
    return {"replicates": replicates, "fitted": len(ok),
            "coverage_lr_width": float(np.mean([abs(r["z_lr_width"]) <= 2 for r in ok])),
            "coverage_all_gamma": float(np.mean([r["max_abs_z"] <= 2 for r in ok])),
            "coverage_theta_star": float(np.mean([abs(r["z_theta"]) <= 2 for r in ok])),
            "mean_sd_lr_width": float(np.mean([r["sd_lr_width"] for r in ok]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=50)
    parser.add_argument("--tokens", action="store_true", help="add a tokens axis")
    parser.add_argument("--init", action="store_true", help="add an init hyper-parameter")
    args = parser.parse_args()
    for kind in ("mup", "sp"):
        start = time.time()
        result = coverage(kind, args.replicates, tokens=args.tokens, init=args.init)
        print(kind, {k: round(v, 3) for k, v in result.items()},
              f"{time.time() - start:.0f}s", flush=True)


if __name__ == "__main__":
    hpo.__name__  # noqa: B018  (keeps the package import explicit for the CLI)
    main()
