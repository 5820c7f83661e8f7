"""CARBS-style cost-aware Pareto search (Fetterman et al. 2023; algorithms.md §4).

:class:`CARBSSearcher` searches locally around the loss-cost Pareto front in a "basic" space
(:mod:`searchers.carbs_space`). Each suggestion is one of:

* ``random``: while fewer than ``num_random_samples`` results exist, a Gaussian sample around
  the search centre (radius ``search_radius``; bounds filter, unbounded dimensions are fine).
* ``resample``: when ``#results > (resamples + 1) * resample_frequency``, the cheapest Pareto
  group with the fewest (observations + outstanding duplicates) is suggested again (de-noises
  the front; feeds the conservative Pareto rule).
* ``model``: ``100 * d`` candidates around the Pareto origins (the first observation of each
  conservative Pareto group), each weighted by the radial Gaussian density of its nearest origin,
  are scored by ``EI * weight * P(success) * [cost < max_suggestion_cost]``: the output GP
  (quantile-normal ``-loss``; outstanding suggestions enter as Thompson pseudo-observations, so
  asynchronous workers get distinct points), the log-cost GP, the success GP (when a failure
  exists) and the 1-D Pareto GP, whose value at the candidate's own predicted cost is the EI
  baseline (matched cost), raised to its value at a log-uniform random cost on the front
  (pushes the search to higher cost). No hyper-parameter fitting (:mod:`searchers.models.
  carbs_models`).

The cost of a result is the study's cost (``Observation.cost``: wall seconds by default, or
what the objective reports); cost-driving hyper-parameters (width, epochs...) are ordinary
dimensions, the cost is learned by the cost GP. A trial's result is its report at its target
budget (the latest report without one); failed or non-finite results train the success GP.

**Determinism and replay.** Decision ``trial_id`` draws everything from
``derive_seed(seed, "carbs", trial_id)``; the only state carried between decisions is the data,
the outstanding suggestions and the resample counter, which :meth:`decision_record` journals
with the model's (fixed) hyper-parameters; :meth:`replay_suggest` restores it without any model.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpo import (
    Constant,
    HPOWarning,
    MethodError,
    Observation,
    PriorObservation,
    Searcher,
    SearchSpace,
    Trial,
    TrialStatus,
)
from hpo.rng import derive_seed
from searchers.carbs_acquisition import Data, score_candidates
from searchers.carbs_settings import CarbsSettings
from searchers.carbs_space import CarbsParam, carbs_params
from searchers.models.pareto import group_rows, pareto_groups

__all__ = ["CARBSSearcher", "CarbsSettings"]

RECORD_VERSION = 1
_EPS = 1e-9
_MIN_COST = 1e-12


class CARBSSearcher(Searcher):
    """Cost-aware local search around the Pareto front (see the module docstring).

    Args:
        space: the search space (Float / Int parameters; Constants are carried along).
        seed: the searcher's seed.
        settings: the options.
        spec: partial :class:`~searchers.carbs_space.CarbsParam` mappings by name overriding
            the derived parameters (a cheap search centre, a scale, a narrower range).
    """

    def __init__(self, space: SearchSpace, *, seed: int,
                 settings: CarbsSettings = CarbsSettings(),
                 spec: Sequence[Mapping[str, Any]] = ()) -> None:
        self.space, self.seed, self.settings = space, seed, settings
        self.params: list[CarbsParam] = carbs_params(space, spec)
        if not self.params:
            raise MethodError("CARBS needs at least one Float or Int parameter")
        self.dim = len(self.params)
        self.centre = np.array([p.to_basic(p.centre) for p in self.params])
        self.bounds = np.array([p.basic_bounds() for p in self.params], dtype=np.float64)
        self.oversample = 2 ** (sum(p.bounded for p in self.params) // 2)
        self._constants = {p.name: p.value for p in space.params if isinstance(p, Constant)}
        self._budget_param = self._budget_parameter(settings.budget_param)
        self._results: dict[int, tuple[np.ndarray, float, float, dict[str, Any]]] = {}
        self._failures: dict[int, np.ndarray] = {}
        self._pending: dict[int, np.ndarray] = {}
        self._target: dict[int, float | None] = {}
        self._resamples = 0
        self._record: dict[str, Any] | None = None

    # -- the protocol ---------------------------------------------------------------------
    def suggest(self, trial_id: int, *, budget: float | None = None) -> dict[str, Any]:
        seed = derive_seed(self.seed, "carbs", trial_id)
        kind, config, info = self._decide(seed, np.random.default_rng(seed))
        config = self.space.validate(config)
        self._commit(trial_id, budget, config)
        self._record = {"v": RECORD_VERSION, "kind": kind, "resamples": self._resamples,
                        "hypers": self.settings.hypers.to_json(), "info": info}
        return config

    def decision_record(self) -> dict[str, Any] | None:
        """JSON behind the last suggestion: its kind, the resample counter after it, the GP
        hyper-parameters and the predictions at the chosen point."""
        return self._record

    def replay_suggest(self, trial_id: int, *, budget: float | None, config: dict[str, Any],
                       record: Mapping[str, Any] | None) -> dict[str, Any]:
        """Restore the state :meth:`suggest` left (counter, outstanding point): no model."""
        if not isinstance(record, Mapping) or record.get("v") != RECORD_VERSION \
                or not isinstance(record.get("resamples"), int):
            return self.suggest(trial_id, budget=budget)
        config = self.space.validate(config)
        self._resamples = int(record["resamples"])
        self._commit(trial_id, budget, config)
        self._record = dict(record)
        return config

    @property
    def budget_low(self) -> float | None:
        """The ``budget_param`` dimension's lower bound (None without one)."""
        return None if self._budget_param is None else float(self._budget_param.domain[0])

    def _budget_parameter(self, name: str | None) -> CarbsParam | None:
        if name is None:
            return None
        for p in self.params:
            if p.name == name:
                return p
        raise MethodError(f"CARBS budget_param {name!r} is not a searched Float / Int "
                          f"parameter; searched: {[p.name for p in self.params]}")

    def observe(self, trial: Trial, obs: Observation) -> None:
        if self._budget_param is not None:
            self._observe_at_budget(trial, obs)
            return
        target = self._target.get(trial.id)
        if target is not None and obs.budget < target * (1 - _EPS):
            return
        x = self.basic(trial.config)
        self._pending.pop(trial.id, None)
        if math.isfinite(obs.loss):
            self._results[trial.id] = (x, -float(obs.loss), max(float(obs.cost), _MIN_COST),
                                       dict(trial.config))
            self._failures.pop(trial.id, None)
        else:
            self._failures[trial.id] = x
            self._results.pop(trial.id, None)

    def _observe_at_budget(self, trial: Trial, obs: Observation) -> None:
        """``budget_param`` mode: the trial's row is its config at the budget it reached
        (reports below the dimension's lower bound are not results)."""
        p = self._budget_param
        if p is None:
            return
        lo, hi = p.domain
        if obs.budget < lo * (1 - _EPS):
            return  # below the dimension's range: not a config the search could suggest
        value: float | int = min(float(obs.budget), float(hi))
        if p.integer:
            value = int(round(value))
        config = {**trial.config, p.name: value}
        x = self.basic(config)
        if math.isfinite(obs.loss):
            self._results[trial.id] = (x, -float(obs.loss), max(float(obs.cost), _MIN_COST),
                                       config)
            self._failures.pop(trial.id, None)
        else:
            self._failures[trial.id] = x
            self._results.pop(trial.id, None)

    def add_prior(self, observations: Sequence[PriorObservation]) -> bool:
        """Other studies' results with a known cost join the Pareto data (warm start): one
        row per config, its result at the highest budget, under a negative row id (so they
        count towards ``num_random_samples`` and may sit on the Pareto front); results
        without a cost are ignored. Replayed with the journal like the study's own."""
        best: dict[str, tuple[float, PriorObservation]] = {}
        for obs in observations:
            if obs.cost is None:
                continue
            key = repr(sorted(self.space.validate(obs.config).items()))
            rank = math.inf if obs.budget is None else float(obs.budget)
            if key not in best or rank >= best[key][0]:
                best[key] = (rank, obs)
        start = min([0, *self._results, *self._failures])
        for i, (_, obs) in enumerate(best.values()):
            x, row_id = self.basic(obs.config), start - i - 1
            if math.isfinite(obs.loss):
                self._results[row_id] = (x, -float(obs.loss),
                                         max(float(obs.cost or 0.0), _MIN_COST),
                                         dict(obs.config))
            else:
                self._failures[row_id] = x
        return bool(best)

    def on_end(self, trial: Trial) -> None:
        self._pending.pop(trial.id, None)
        self._target.pop(trial.id, None)
        if trial.status is TrialStatus.FAILED and trial.id not in self._results:
            self._failures[trial.id] = self.basic(trial.config)

    # -- conversions ----------------------------------------------------------------------
    def basic(self, config: Mapping[str, Any]) -> np.ndarray:
        """The basic-space vector of a config (the centre for a missing, inactive value)."""
        return np.array([p.to_basic(config[p.name]) if p.name in config else self.centre[j]
                         for j, p in enumerate(self.params)], dtype=np.float64)

    def config_of(self, x: np.ndarray) -> dict[str, Any]:
        """The config of a basic vector (rounded, clipped to the parameters' bounds)."""
        config: dict[str, Any] = {}
        for p, b in zip(self.params, x):
            v = p.from_basic(float(b))
            lo, hi = p.domain
            if v < lo or v > hi:
                v = type(v)(min(max(v, lo), hi))
            config[p.name] = v
        config.update(self._constants)
        return config

    # -- decisions ------------------------------------------------------------------------
    def _commit(self, trial_id: int, budget: float | None, config: dict[str, Any]) -> None:
        self._target[trial_id] = budget
        self._pending[trial_id] = self.basic(config)

    def _data(self) -> Data:
        ids = sorted(self._results)
        rows = [self._results[i] for i in ids]
        fails = [self._failures[i] for i in sorted(self._failures)]
        pending = [self._pending[i] for i in sorted(self._pending)]
        return Data(X=np.array([r[0] for r in rows]).reshape(-1, self.dim),
                    values=np.array([r[1] for r in rows], dtype=np.float64),
                    costs=np.array([r[2] for r in rows], dtype=np.float64),
                    failures=np.array(fails).reshape(-1, self.dim),
                    pending=np.array(pending).reshape(-1, self.dim), ids=ids)

    def _decide(self, seed: int, rng: np.random.Generator
                ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        s = self.settings
        data = self._data()
        if len(data.ids) < s.num_random_samples:
            return "random", self.config_of(self._around(self.centre[None], 32, rng)[0]), {}
        groups = pareto_groups(group_rows(data.X, data.values, data.costs), data.costs,
                               s.min_pareto_cost_fraction, s.conservative)
        if s.resample_frequency and len(data.ids) > (self._resamples + 1) * s.resample_frequency:
            return "resample", self._resample(data), {}
        origins = data.X[[g.members[0] for g in groups]]
        candidates, log_w = self._candidates(origins, s.candidates_per_dim * self.dim, rng)
        keep = ~_matches(candidates, data.pending)
        candidates, log_w = candidates[keep], log_w[keep]
        if not len(candidates):
            return "fallback", self.config_of(self._around(origins, 32, rng)[0]), \
                {"reason": "no valid candidate"}
        try:
            best, info = score_candidates(data, groups, candidates, log_w, s, rng, seed)
        except (RuntimeError, ValueError, np.linalg.LinAlgError) as err:
            warnings.warn(f"CARBS model failed, a sample around the Pareto set: {err}",
                          HPOWarning, stacklevel=3)
            return "fallback", self.config_of(candidates[0]), \
                {"reason": f"model failed ({type(err).__name__}: {err})"[:200]}
        return "model", self.config_of(candidates[best]), info

    def _resample(self, data: Data) -> dict[str, Any]:
        groups = pareto_groups(group_rows(data.X, data.values, data.costs), data.costs,
                               self.settings.min_pareto_cost_fraction, conservative=False)
        counts = [len(g) + int(_matches(data.pending, data.X[g.members[0]][None]).sum())
                  for g in groups]
        chosen = groups[int(np.argmin(counts))]
        self._resamples += 1
        return dict(self._results[data.ids[chosen.members[0]]][3])

    def _candidates(self, origins: np.ndarray, n: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``n`` rounded in-bounds samples around ``origins`` and their log weights."""
        r = self.settings.search_radius
        factor, kept = self.oversample, np.empty((0, self.dim))
        for _ in range(4):
            m = n * factor
            picks = origins[rng.integers(len(origins), size=m)]
            raw = picks + rng.normal(0.0, r, size=(m, self.dim))
            kept = np.vstack([kept, self._valid(self._round(raw))])[:n]
            if len(kept) >= n:
                break
            factor = min(2 * factor, 2 ** self.dim)
        dist = np.sqrt(((kept[:, None, :] - origins[None, :, :]) ** 2).sum(-1)).min(axis=1)
        log_w = -0.5 * (dist / r) ** 2 - math.log(r * math.sqrt(2 * math.pi))
        return kept, log_w

    def _around(self, origins: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        """Random-phase samples; the (clipped) first origin if none is valid."""
        for _ in range(8):
            out, _ = self._candidates(origins, n, rng)
            if len(out):
                return out
        fallback = np.clip(origins[:1], self.bounds[:, 0], self.bounds[:, 1])
        return self._round(fallback)

    def _round(self, X: np.ndarray) -> np.ndarray:
        out = X.copy()
        for j, p in enumerate(self.params):
            out[:, j] = p.round_basic(out[:, j])
        return out

    def _valid(self, X: np.ndarray) -> np.ndarray:
        ok = np.all((X >= self.bounds[:, 0]) & (X <= self.bounds[:, 1]), axis=1)
        ok &= np.all(np.isfinite(X), axis=1)
        return X[ok]


def _matches(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """For each row of ``X``, whether it (nearly) equals a row of ``Y``."""
    if not len(Y) or not len(X):
        return np.zeros(len(X), dtype=bool)
    diff = np.abs(X[:, None, :] - Y[None, :, :]).max(axis=-1)
    return np.any(diff <= 1e-9 * (1 + np.abs(Y).max()), axis=1)
