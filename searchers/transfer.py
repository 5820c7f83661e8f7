"""Transfer Thompson sampling over the proxy ladder (algorithms.md §5.7, option 2).

Each decision after the initial design:

1. fit the scaling model (multi-start MAP + Laplace + failure model) on the ended runs; the
   model is refitted when the number of ended runs crosses ``n_init·growth^j`` (a pure function
   of the data, so replay and resume agree) and reused in between;
2. draw one joint Laplace sample of ``(θ*_T, Γ)`` with a generator seeded by (seed, trial id)
   and map its target optimum to every proxy point, ``θ̂*(s) = θ̂*_T + Γ̂ s``;
3. around each mapped optimum, score ``candidates`` designs (offsets of about one basin width)
   by the expected reduction of the target regret ``½ Σ_j h_j Var(θ*_T,j)`` (Laplace
   linearisation, running trials conditioned on first) times ``P(not diverging)``, divided by
   the run's cost (6·N·D FLOPs of the scale point);
4. start the best (config, scale).

So cheap proxies win while the drift is uncertain (every run there teaches ``Γ`` nearly as much
as a large one), and larger ones once the cheap scales are saturated. The initial design (the
first ``n_init`` trials) alternates the two cheapest proxies with configs drawn uniformly.
Without a scaling (a single-scale study) it is Thompson sampling of the basin model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo import Scaling, Searcher, SearchSpace, Trial
from hpo.core.types import Config
from hpo.rng import derive_seed, make_rng
from searchers.models import scaling_laplace as lp
from searchers.models.gp import torch_context
from searchers.scaling_data import Coords, scaling_data
from searchers.scaling_fit import ScalingFit


class TransferSearcher(Searcher):
    """Proposes ``(config, scale)`` pairs; :meth:`suggest` returns the config alone."""

    def __init__(self, space: SearchSpace, *, seed: int, n_init: int = 8, growth: float = 1.5,
                 starts: int = 2, maxiter: int = 60, candidates: int = 16, threads: int = 1,
                 roles: Mapping[str, str] | None = None, diverge_above: float | None = None,
                 batch_policy: str = "fixed", completep: bool = False) -> None:
        self.space, self.seed = space, seed
        self.n_init, self.growth, self.starts, self.maxiter = n_init, growth, starts, maxiter
        self.candidates, self.threads = candidates, threads
        self.roles = dict(roles or {})
        self.diverge_above, self.batch_policy, self.completep = (diverge_above, batch_policy,
                                                                 completep)
        self.scaling: Scaling | None = None
        self.coords = Coords(space, None, self.roles)
        self._ended: dict[int, Trial] = {}
        self._pending: dict[int, tuple[Config, dict[str, float]]] = {}
        self._fit_key: tuple[int, tuple[int, ...]] | None = None
        self._fit: ScalingFit | None = None
        self._record: dict[str, Any] | None = None

    def bind(self, scaling: Scaling | None) -> None:
        """Use the study's scaling (idempotent; call before the first proposal)."""
        if scaling != self.scaling:
            self.scaling = scaling
            self.coords = Coords(self.space, scaling, self.roles)
            self._fit_key, self._fit = None, None

    # -- the ladder -----------------------------------------------------------------------
    def ladder(self) -> list[dict[str, float]]:
        if self.scaling is None:
            return [{}]
        return sorted(self.scaling.proxies(),
                      key=lambda p: (self.scaling.flops(p), sorted(p.items())))  # type: ignore

    def cost(self, scale: Mapping[str, float]) -> float:
        if self.scaling is None or not scale:
            return 1.0
        return self.scaling.flops(scale) / self.scaling.flops(self.scaling.target)

    # -- proposals ------------------------------------------------------------------------
    def propose(self, trial_id: int) -> tuple[Config, dict[str, float]]:
        rng = make_rng(self.seed, "propose", trial_id)
        fit, key = self._current_fit()
        if trial_id < self.n_init or fit is None:
            ladder = self.ladder()
            scale = ladder[trial_id % min(2, len(ladder))]
            config = self.space.decode(rng.random(self.space.dim))
            mode = "init" if trial_id < self.n_init else "fallback"
        else:
            with torch_context(derive_seed(self.seed, "acquire", trial_id), self.threads):
                config, scale = self._acquire(fit, rng)
            mode = "model"
        self._pending[trial_id] = (config, dict(scale))
        self._record = {"scale": dict(scale), "mode": mode,
                        "fit": None if key is None else [key[0], list(key[1])]}
        return config, dict(scale)

    def suggest(self, trial_id: int, *, budget: float | None = None) -> Config | None:
        return self.propose(trial_id)[0]

    def decision_record(self) -> dict[str, Any] | None:
        return self._record

    def replay_propose(self, trial_id: int, config: Config, record: Mapping[str, Any] | None
                       ) -> tuple[Config, dict[str, float]]:
        """Restore a journaled proposal without fitting (recomputes it without a record)."""
        if record is None or "scale" not in record:
            return self.propose(trial_id)
        fit = record.get("fit")
        if fit is not None:
            key = (int(fit[0]), tuple(int(i) for i in fit[1]))
            if key != self._fit_key:
                self._fit_key, self._fit = key, None  # refitted lazily from the same runs
        scale = {str(k): float(v) for k, v in dict(record["scale"]).items()}
        self._pending[trial_id] = (dict(config), scale)
        self._record = dict(record)
        return dict(config), scale

    def replay_suggest(self, trial_id: int, *, budget: float | None, config: Config,
                       record: Mapping[str, Any] | None) -> Config | None:
        return self.replay_propose(trial_id, config, record)[0]

    def on_end(self, trial: Trial) -> None:
        self._pending.pop(trial.id, None)
        self._ended[trial.id] = trial

    # -- model ----------------------------------------------------------------------------
    def _refit_index(self, m: int) -> int:
        if m < max(self.n_init, 3):
            return -1
        return int(math.floor(math.log(m / max(self.n_init, 3)) / math.log(self.growth) + 1e-9))

    def _current_fit(self) -> tuple[ScalingFit | None, tuple[int, tuple[int, ...]] | None]:
        j = self._refit_index(len(self._ended))
        if j < 0:
            return None, None
        if self._fit_key is None or self._fit_key[0] != j:
            self._fit_key, self._fit = (j, tuple(sorted(self._ended))), None
        if self._fit is None:
            trials = [self._ended[i] for i in self._fit_key[1] if i in self._ended]
            data = scaling_data(trials, self.coords, diverge_above=self.diverge_above)
            parametrization = self.scaling.parametrization if self.scaling else "mup"
            with torch_context(derive_seed(self.seed, "fit", j), self.threads):
                self._fit = ScalingFit.fit(self.coords, data, parametrization,
                                           seed=derive_seed(self.seed, "map", j),
                                           starts=self.starts, maxiter=self.maxiter,
                                           batch_policy=self.batch_policy,
                                           completep=self.completep)
        return self._fit, self._fit_key

    def scores(self, fit: ScalingFit, rng: np.random.Generator
               ) -> tuple[np.ndarray, list[dict[str, float]], np.ndarray]:
        """Candidate rows, their scale points and their acquisition scores (see module doc)."""
        c = self.coords
        draw = fit.laplace.draws(rng, 1)[0]
        theta_t = draw[lp.index(fit.model, "theta_star")]
        gamma = draw[lp.index(fit.model, "gamma")].reshape(c.p, c.k) if c.k else \
            np.zeros((c.p, 0))
        width = 1.0 / np.sqrt(np.maximum(fit.curvature(), 1e-9))
        rows, scales = [], []
        for scale in self.ladder():
            srow = c.scale_row(scale)
            centre = theta_t + gamma @ srow[:c.k]
            offsets = rng.standard_normal((self.candidates, c.p)) * width
            for theta in np.clip(centre + offsets, c.bounds[0], c.bounds[1]):
                rows.append(np.concatenate([theta, srow]))
                scales.append(scale)
        X = np.array(rows)
        pending = [c.row(cfg, sc) for cfg, sc in self._pending.values()]
        gain = fit.design_gain(X, np.array(pending) if pending else None)
        cost = np.array([self.cost(s) for s in scales])
        score = gain * (1.0 - fit.p_fail(X)) / cost
        return X, scales, np.where(np.isfinite(score), score, -np.inf)

    def _acquire(self, fit: ScalingFit, rng: np.random.Generator
                 ) -> tuple[Config, dict[str, float]]:
        X, scales, score = self.scores(fit, rng)
        i = int(np.argmax(score))
        best = fit.data.configs[int(np.argmin(fit.data.y))]
        return self.coords.config(X[i, :self.coords.p], best), dict(scales[i])
