"""GP Bayesian optimisation on botorch: single fidelity (``bo``), MOBSTER and BOHB-style proposals.

:class:`GPSearcher` has three modes:

* ``"single"`` (method ``bo``): one row per trial (its loss at the suggested budget, or its
  latest report without one). A scrambled Sobol design of ``n_init`` points (default
  ``2 * (dim + 1)``; seeded) comes first, then ``qLogNoisyExpectedImprovement``.
* ``"joint"`` (MOBSTER, Klein et al. 2020): rows at every rung level a trial reaches, the
  budget as an extra input column: with ``kernel="exp-decay-sum"`` (MOBSTER's default model,
  :func:`~searchers.models.gp.exp_decay_sum`) ``t = level / fidelity.max`` and a decaying
  curve mean plus transient, else ``t = fidelity.normalize(level)`` (log scale in [0, 1])
  as one more column of the default kernel; the
  acquisition is evaluated at ``r_acq``, the largest rung level with at least ``dim`` rows
  (the "BOHB rule" MOBSTER uses; the lowest level before that). Random configs until
  ``n_init`` rows exist.
* ``"rung"`` (BOHB's rule, Falkner et al. 2018): a GP on the rows of the largest rung level
  with at least ``n_init`` rows (``2 * (dim + 1)`` by default, BOHB's effective minimum);
  random configs until one exists.

**Warm start.** :meth:`add_prior` takes other studies' results (``Study.add_results``) as rows
of the model, before this study's own; each one also shortens the Sobol design by one point.

In every mode a fraction ``random_fraction`` of the model decisions is replaced by a uniform
random config (robustness against a misleading model; drawn from the decision's generator).
Running trials this searcher proposed and that have not reported their start budget yet are
*pending*: they are ``X_pending`` of the acquisition and excluded from proposals. (ASHA does not
tell its searcher about resumes, so in MOBSTER only new trials are pending.) Failed, NaN and
diverged results enter the model through :mod:`searchers.models.data`'s penalty.

**Refit schedule.** Model decisions are counted; decision ``j`` re-fits the hyper-parameters
when ``j % refit_every == 0`` (warm-started from the previous fit, ``warm_maxiter`` L-BFGS
iterations; the first fit runs cold with ``fit_maxiter``). Other decisions rebuild the GP on the
current data with the previous hyper-parameters (exact conditioning, no optimisation). At most
``max_rows`` rows are used (:func:`~searchers.models.data.capped_rows`). A failed fit falls back
to the previous hyper-parameters, else to a random config, with an :class:`hpo.HPOWarning`.

**Determinism and replay.** Decision ``trial_id`` draws all its randomness from
``derive_seed(seed, "decision", trial_id)`` (a numpy generator for candidates and random
configs, the same seed for torch inside :func:`~searchers.models.gp.torch_context`). The only
state carried between decisions is counters, data, pending trials and the last fitted
hyper-parameters, which :meth:`decision_record` exposes (JSON); :meth:`replay_suggest` restores
it from a record without fitting or optimising.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import qmc  # type: ignore[import-untyped]

from hpo import (
    Fidelity,
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
from searchers.models import (
    Encoder,
    build_model,
    fit_model,
    hypers_to_json,
    load_hypers,
    propose,
    torch_context,
    training_set,
)

MODES = ("single", "joint", "rung")
KERNELS = ("default", "exp-decay-sum")
RECORD_VERSION = 1
_EPS = 1e-9


@dataclass(frozen=True)
class GPSettings:
    """Options of :class:`GPSearcher` (see the module docstring for their role)."""

    n_init: int | None = None
    random_fraction: float = 0.0
    refit_every: int = 10
    max_rows: int = 300
    fit_maxiter: int = 100
    warm_maxiter: int = 15
    n_candidates: int = 256
    n_refine: int = 1
    mc_samples: int = 64
    threads: int = 1
    kernel: str = "default"

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise MethodError(f"kernel must be one of {list(KERNELS)}, got {self.kernel!r}")
        ints = {"refit_every": 1, "max_rows": 10, "fit_maxiter": 1, "warm_maxiter": 1,
                "n_candidates": 1, "n_refine": 0, "mc_samples": 1, "threads": 1}
        for name, low in ints.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise MethodError(f"{name} must be an int >= {low}, got {value!r}")
        if self.n_init is not None and (isinstance(self.n_init, bool)
                                        or not isinstance(self.n_init, int) or self.n_init < 1):
            raise MethodError(f"n_init must be an int >= 1 or None, got {self.n_init!r}")
        if not (isinstance(self.random_fraction, (int, float))
                and 0.0 <= self.random_fraction <= 1.0):
            raise MethodError(f"random_fraction must be in [0, 1], got {self.random_fraction!r}")


@dataclass(frozen=True)
class _Problem:
    """What one model decision optimises over (GP columns, plus ``t`` in joint mode)."""

    X: np.ndarray
    losses: list[float]
    ids: list[int]
    pending: np.ndarray
    exclude: np.ndarray
    bounds: np.ndarray
    fixed: dict[int, float]


class GPSearcher(Searcher):
    """GP-based proposals (see the module docstring).

    Args:
        space: the search space.
        seed: the searcher's seed (Sobol design and per-decision seeds derive from it).
        settings: the tuning knobs.
        mode: ``"single"``, ``"joint"`` (MOBSTER) or ``"rung"`` (BOHB's rule).
        fidelity: required by the multi-fidelity modes.
        levels: the rung levels (budgets) rows are recorded at, for the multi-fidelity modes.
    """

    def __init__(self, space: SearchSpace, *, seed: int, settings: GPSettings = GPSettings(),
                 mode: str = "single", fidelity: Fidelity | None = None,
                 levels: Sequence[float] = ()) -> None:
        if mode not in MODES:
            raise MethodError(f"unknown GP searcher mode {mode!r}; choose one of {list(MODES)}")
        if mode != "single" and (fidelity is None or not levels):
            raise MethodError(f"GP searcher mode {mode!r} needs a fidelity and rung levels")
        if settings.kernel != "default" and mode != "joint":
            raise MethodError(f"kernel {settings.kernel!r} models (config, budget) rows: it needs "
                              f"mode 'joint' (MOBSTER), not {mode!r}")
        self._curve = settings.kernel == "exp-decay-sum"
        self.space, self.seed, self.settings, self.mode = space, seed, settings, mode
        self.fidelity, self.levels = fidelity, sorted(levels)
        self.encoder = Encoder(space)
        self.n_init = settings.n_init if settings.n_init is not None else 2 * (space.dim + 1)
        m = max(0, math.ceil(math.log2(self.n_init)))
        sobol = qmc.Sobol(space.dim, scramble=True, seed=derive_seed(seed, "sobol"))
        self._sobol = sobol.random_base2(m)
        self._rows: dict[tuple[int, float | None], tuple[np.ndarray, float, float]] = {}
        self._target: dict[int, float | None] = {}
        self._pending: dict[int, tuple[np.ndarray, float | None]] = {}
        self._n_suggested = 0
        self._n_prior = 0  # rows from other studies (add_prior)
        self._n_model = 0
        self._hypers: dict[str, list[float]] | None = None
        self._record: dict[str, Any] | None = None

    # -- the protocol ---------------------------------------------------------------------
    def suggest(self, trial_id: int, *, budget: float | None = None) -> dict[str, Any]:
        seed = derive_seed(self.seed, "decision", trial_id)
        config, kind, reason = self._decide(budget, seed, np.random.default_rng(seed))
        config = self.space.validate(config)
        self._commit(trial_id, budget, config)
        self._record = {"v": RECORD_VERSION, "kind": kind, "reason": reason,
                        "n_model": self._n_model, "hypers": self._hypers}
        return config

    def decision_record(self) -> dict[str, Any] | None:
        """JSON state behind the last :meth:`suggest`: decision kind, model-decision counter
        and the hyper-parameters in force after it."""
        return self._record

    def replay_suggest(self, trial_id: int, *, budget: float | None, config: Mapping[str, Any],
                       record: Mapping[str, Any] | None) -> dict[str, Any]:
        """Restore the state :meth:`suggest` left for this recorded decision (no fit)."""
        if not isinstance(record, Mapping) or record.get("v") != RECORD_VERSION:
            return self.suggest(trial_id, budget=budget)
        config = self.space.validate(config)
        hypers = record.get("hypers")
        self._hypers = {k: list(v) for k, v in hypers.items()} if hypers else None
        self._n_model = int(record["n_model"])
        self._commit(trial_id, budget, config)
        self._record = dict(record)
        return config

    def observe(self, trial: Trial, obs: Observation) -> None:
        x = self.encoder.encode_one(trial.config)
        if self.mode == "single":
            target = self._target.get(trial.id)
            if target is not None and obs.budget < target - _EPS:
                return
            self._rows[(trial.id, None)] = (x, 1.0, obs.loss)
            self._pending.pop(trial.id, None)
            return
        level = self._level_of(obs.budget)
        if level is None:
            return
        self._rows.setdefault((trial.id, level), (x, self._t(level), obs.loss))
        pending = self._pending.get(trial.id)
        if pending is not None and obs.budget >= (pending[1] or 0) - _EPS:
            del self._pending[trial.id]

    def add_prior(self, observations: Sequence[PriorObservation]) -> bool:
        """Other studies' results become rows of the model (warm start).

        Prior rows get negative row ids, sit before this study's own rows (so the row cap
        drops them first, except the best) and are never re-proposed. ``single`` mode keeps
        one row per config (its result at the highest budget; with a fidelity, only results at
        the maximum budget); the multi-fidelity modes keep one row per config and rung level
        (budgets below the lowest level are dropped). In ``single`` mode each prior row
        replaces one point of the Sobol initial design. Called again with the same
        observations when the journal is replayed, so a reopened study has the same rows.
        """
        best: dict[tuple[str, float | None], tuple[float, np.ndarray, float]] = {}
        for obs in observations:
            config = self.space.validate(obs.config)
            budget = obs.budget
            if self.mode == "single":
                if (budget is not None and self.fidelity is not None
                        and budget < self.fidelity.max * (1 - _EPS)):
                    continue
                level, rank = None, -math.inf if budget is None else float(budget)
            else:
                top = self.levels[-1] if budget is None else float(budget)
                level = self._level_of(top)
                if level is None:
                    continue
                rank = float(level)
            key = (repr(sorted(config.items())), level)
            if key not in best or rank >= best[key][0]:
                best[key] = (rank, self.encoder.encode_one(config), float(obs.loss))
        if not best:
            return False
        prior = {(-(self._n_prior + i + 1), level): (x, 1.0 if level is None else self._t(level),
                                                    loss)
                 for i, ((_, level), (_, x, loss)) in enumerate(best.items())}
        self._n_prior += len(prior)
        self._rows = {**prior, **self._rows}
        return True

    def on_end(self, trial: Trial) -> None:
        pending = self._pending.pop(trial.id, None)
        self._target.pop(trial.id, None)
        if pending is None:
            return
        x, budget = pending
        if self.mode == "single":
            if (trial.id, None) in self._rows:
                return
            if trial.status is TrialStatus.FAILED:
                self._rows[(trial.id, None)] = (x, 1.0, math.inf)
            elif trial.observations:  # ended early without an error: its last result
                self._rows[(trial.id, None)] = (x, 1.0, trial.observations[-1].loss)
        elif trial.status is TrialStatus.FAILED:
            level = self._level_of(budget if budget is not None else self.levels[0])
            level = self.levels[0] if level is None else level
            self._rows.setdefault((trial.id, level), (x, self._t(level), math.inf))

    # -- decisions ------------------------------------------------------------------------
    def _commit(self, trial_id: int, budget: float | None, config: dict[str, Any]) -> None:
        self._n_suggested += 1
        self._target[trial_id] = budget
        self._pending[trial_id] = (self.encoder.encode_one(config), budget)

    def _decide(self, budget: float | None, seed: int,
                rng: np.random.Generator) -> tuple[dict[str, Any], str, str]:
        if self.mode == "single" and self._n_suggested + self._n_prior < self.n_init:
            return self.space.decode(self._sobol[self._n_suggested]), "init", ""
        problem = self._problem()
        if problem is None:
            return self.space.sample(rng), "random", "not enough data for a model"
        if self.settings.random_fraction and rng.random() < self.settings.random_fraction:
            return self.space.sample(rng), "random", "random fraction"
        return self._model_decision(problem, seed, rng)

    def _model_decision(self, problem: _Problem, seed: int,
                        rng: np.random.Generator) -> tuple[dict[str, Any], str, str]:
        s = self.settings
        data = training_set(problem.X, problem.losses, problem.ids, s.max_rows)
        if data is None:
            return self.space.sample(rng), "random", "no finite loss yet"
        refit = self._hypers is None or self._n_model % s.refit_every == 0
        self._n_model += 1
        kind, reason = "model", ""
        with torch_context(seed, s.threads):
            model = build_model(data.X, data.y, self.encoder.cat_dims,
                                curve_dim=self.encoder.dim if self._curve else None)
            if refit or not load_hypers(model, self._hypers or {}):
                warm = self._hypers is not None and load_hypers(model, self._hypers)
                report = fit_model(model, maxiter=s.warm_maxiter if warm else s.fit_maxiter)
                if report.ok:
                    self._hypers, kind = hypers_to_json(model), "refit"
                elif self._hypers is not None and load_hypers(model, self._hypers):
                    kind, reason = "previous-hypers", f"fit failed ({report.reason})"
                    warnings.warn(f"GP fit failed, using the previous hyper-parameters: "
                                  f"{report.reason}", HPOWarning, stacklevel=3)
                else:
                    warnings.warn(f"GP fit failed and no previous hyper-parameters: random "
                                  f"config ({report.reason})", HPOWarning, stacklevel=3)
                    return self.space.sample(rng), "fallback", f"fit failed ({report.reason})"
            centres = data.X[np.argsort(-data.y, kind="stable")[:5]]
            try:
                baseline = np.unique(_at(data.X, problem.fixed), axis=0)
                x = propose(model, baseline, problem.pending, problem.exclude, centres,
                            bounds=problem.bounds,
                            cat_dims=self.encoder.cat_dims, fixed=problem.fixed,
                            canonical=self._canonical, rng=rng, seed=seed,
                            n_candidates=s.n_candidates, n_refine=s.n_refine,
                            mc_samples=s.mc_samples)
            except (RuntimeError, ValueError) as err:
                warnings.warn(f"acquisition failed, random config: {err}", HPOWarning,
                              stacklevel=3)
                return self.space.sample(rng), "fallback", f"acquisition failed ({err})"[:200]
        if x is None:
            return self.space.sample(rng), "fallback", "every candidate was a duplicate"
        return self.encoder.decode_one(x[:self.encoder.dim]), kind, reason

    def _problem(self) -> _Problem | None:
        """The data, pending rows, exclusions and bounds of the next model decision."""
        if len(self._rows) < 2:
            return None
        keys = list(self._rows)
        if self.mode == "rung":
            counts = self._level_counts()
            ok = [lv for lv in self.levels if counts.get(lv, 0) >= self.n_init]
            if not ok:
                return None
            keys = [k for k in keys if k[1] == ok[-1]]
        elif self.mode == "joint" and len(self._rows) < self.n_init:
            return None
        rows = [self._rows[k] for k in keys]
        X = np.array([r[0] for r in rows], dtype=np.float64)
        seen = [r[0] for r in self._rows.values()] + [p[0] for p in self._pending.values()]
        pending = np.array([p[0] for p in self._pending.values()],
                           dtype=np.float64).reshape(-1, self.encoder.dim)
        exclude = np.array(seen, dtype=np.float64).reshape(-1, self.encoder.dim)
        bounds, fixed = self.encoder.bounds, {}
        if self.mode == "joint":
            X = np.column_stack([X, [r[1] for r in rows]])
            t_acq = self._t(self._acquisition_level())
            fixed = {self.encoder.dim: t_acq}
            pending, exclude = _at(_plus_col(pending), fixed), _at(_plus_col(exclude), fixed)
            bounds = np.column_stack([bounds, [0.0, 1.0]])
        return _Problem(X, [r[2] for r in rows], [k[0] for k in keys], pending, exclude,
                        bounds, fixed)

    def _acquisition_level(self) -> float:
        counts = self._level_counts()
        ok = [lv for lv in self.levels if counts.get(lv, 0) >= self.encoder.dim]
        return ok[-1] if ok else self.levels[0]

    def _level_counts(self) -> dict[float | None, int]:
        counts: dict[float | None, int] = {}
        for _, level in self._rows:
            counts[level] = counts.get(level, 0) + 1
        return counts

    def _level_of(self, budget: float) -> float | None:
        below = [lv for lv in self.levels if lv <= budget * (1 + _EPS)]
        return below[-1] if below else None

    def _t(self, level: float) -> float:
        if self.fidelity is None:
            return 1.0
        if self._curve:  # the exp-decay transient runs on the resource itself
            return float(level) / float(self.fidelity.max)
        return float(self.fidelity.normalize(level))

    def _canonical(self, X: np.ndarray) -> np.ndarray:
        d = self.encoder.dim
        out = X.copy()
        out[:, :d] = self.encoder.canonical(X[:, :d])
        return out


def _plus_col(X: np.ndarray) -> np.ndarray:
    return np.column_stack([X, np.zeros(len(X))])


def _at(X: np.ndarray, fixed: dict[int, float]) -> np.ndarray:
    out = X.copy()
    for j, v in fixed.items():
        out[:, j] = v
    return out
