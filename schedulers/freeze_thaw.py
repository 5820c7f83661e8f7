"""Freeze-thaw Bayesian optimisation: a learning-curve GP decides which paused trial to thaw by
one step, or whether to start a new configuration (algorithms.md §3.6, §7.1).

Every trial pauses at each level of a step grid (:func:`~schedulers.freeze_thaw_rules.step_grid`:
geometric ``min * ratio**k``, ``ratio = sqrt(2)``, by default, not §3.6d's linear grid of at most
``steps`` levels: on issue 11's problems, equal or lower regret with 5-10x fewer decisions).

For each free worker :meth:`FreezeThawScheduler.next_action`:

1. starts random configurations until ``n_init`` trials exist (initial design);
2. with probability ``p_sh`` (1 by default: whenever one qualifies) takes an ASHA promotion,
   rungs a factor ``eta`` apart walked in grid steps
   (:func:`~schedulers.freeze_thaw_rules.asha_promotion`). algorithms.md §3.6b has 0.25 (Syne
   Tune's value), a safety net under the model; issue 11's ablation (README, 10 seeds, six
   problems) found the model's own thaws the weaker allocator: with 0.25 they spent the budget
   growing one basin's trials to the end (lcbench/189873: 3 of 10 runs at regret 0.15-0.42);
   with 1 the model decides what ASHA leaves open (which new configs to start, which trial
   outside a rung's top ``1 / eta`` to thaw): lower mean regret on 4 of 6, never far behind;
3. retires ("abandons") a paused trial whose curve diverged, or whose chance of beating the
   incumbent at the maximum budget (the lowest loss observed there or pessimistically
   predicted there: mean + 2 sd) is below ``abandon``, one per call; with
   ``spare_promotable`` (default) never one that step 2 would still promote: forecasts from a
   curve's first levels are the model's least reliable (it learns asymptotes from the curves
   it grew), and on lcbench/189873 they retired the best configs started, 4 sd off;
4. with probability ``random_fraction`` (0.2) starts a uniformly random configuration
   (exploration against a misleading model, as ``mobster``'s 0.1 and BOHB's 1/3; README);
5. otherwise scores every paused trial at ``t_x + h`` steps and ``n_candidates`` new configs
   (half uniform, half perturbations of the five best predicted trials) at their ``h``-th step
   by MFPI with a random horizon ``h`` and threshold ``tau``, divided by the predicted step cost
   to the power ``kappa``, and thaws / starts the argmax. Running trials are pending work:
   kriging-believer fantasies at the budget they will reach.

**The model** (:mod:`searchers.models.learning_curve`) is conditioned on every usable curve
point (caps ``per_curve`` / ``max_points``) at each decision, with hyper-parameters refitted
only when the number of observed points has grown by ``refit_growth`` since the last fit (on at
most ``fit_points`` rows, warm-started, ``fit_maxiter`` iterations): a pure function of the data,
so a replay rebuilds the same chain. At each refit the predictive variances are calibrated on
the study's own curves (``calibrate``, on by default: the factor of
:func:`~searchers.models.curve_calibration.extrapolation_inflation`, until the next refit).

**Determinism and replay.** Decision ``k`` draws from ``make_rng(seed, "decision", k)`` only, so
skipping a decision's computation on replay desynchronises nothing. Every decision's record
(journaled with its start / resume / retire event) carries ``k``, the refit counter and, when
that decision refitted, the fitted hyper-parameters and the variance factor: a replayed
decision (``view.replaying``) is restored from it without any model work. A journal without
records is recomputed (slow but exact: the refit schedule is a pure function of the data).

Abandoned trials get a :class:`~hpo.Retire`; deleting their checkpoint belongs to the study /
executor (the scheduler does not know where checkpoints live).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo import (
    Fidelity,
    Method,
    MethodError,
    Objective,
    Resume,
    Retire,
    SearchSpace,
    Start,
    Trial,
    TrialStatus,
    Verdict,
)
from hpo.core.decisions import CONTINUE, Action
from hpo.core.protocols import RecordedStart, Scheduler, StudyView
from hpo.core.trial import Observation
from hpo.rng import derive_seed, make_rng
from schedulers.freeze_thaw_rules import (
    GRIDS,
    asha_promotion,
    asha_qualified,
    choose,
    curve_state,
    mfpi_scores,
    next_level,
    step_grid,
    threshold,
)
from schedulers.freeze_thaw_state import CurveState, abandonment, build_state
from searchers.models.curve_calibration import extrapolation_inflation
from searchers.models.curve_data import Curve, curve_rows
from searchers.models.learning_curve import LearningCurveModel

RECORD_VERSION = 1
_RESCORE = 16  # raw new candidates canonicalised and scored again


@dataclass(frozen=True)
class FreezeThaw(Method):
    """Freeze-thaw BO (options: see :mod:`schedulers.freeze_thaw`)."""

    grid: str = "geometric"
    steps: int = 50
    ratio: float = math.sqrt(2)
    n_init: int | None = None
    p_sh: float = 1.0
    random_fraction: float = 0.2
    eta: float = 3
    kappa: float = 0.0
    abandon: float = 1e-3
    n_candidates: int = 512
    per_curve: int = 16
    max_points: int = 2000
    fit_points: int = 240
    fit_per_curve: int = 8
    fit_maxiter: int = 50
    warm_maxiter: int = 20
    refit_growth: float = 1.5
    calibrate: bool = True
    spare_promotable: bool = True
    threads: int = 1
    name = "freeze-thaw"
    needs_fidelity = True

    def __post_init__(self) -> None:
        if self.grid not in GRIDS:
            raise MethodError(f"unknown freeze-thaw grid {self.grid!r}; choose one of "
                              f"{list(GRIDS)}")
        minimum = {"steps": 1, "n_candidates": 1, "per_curve": 2, "max_points": 2,
                   "fit_points": 2, "fit_per_curve": 2, "fit_maxiter": 1, "warm_maxiter": 1,
                   "threads": 1}
        for label, low in minimum.items():
            value = getattr(self, label)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise MethodError(f"freeze-thaw {label} must be an int >= {low}, got {value!r}")
        if self.n_init is not None and (isinstance(self.n_init, bool)
                                        or not isinstance(self.n_init, int) or self.n_init < 1):
            raise MethodError(f"freeze-thaw n_init must be None or an int >= 1, "
                              f"got {self.n_init!r}")
        for name, number, lo, hi in (("p_sh", self.p_sh, 0.0, 1.0),
                                     ("random_fraction", self.random_fraction, 0.0, 1.0),
                                     ("abandon", self.abandon, 0.0, 0.5),
                                     ("kappa", self.kappa, 0.0, 10.0)):
            if isinstance(number, bool) or not isinstance(number, (int, float)) \
                    or not lo <= number <= hi:
                raise MethodError(f"freeze-thaw {name} must be in [{lo}, {hi}], got {number!r}")
        if isinstance(self.eta, bool) or not isinstance(self.eta, (int, float)) or self.eta < 2:
            raise MethodError(f"freeze-thaw eta must be >= 2, got {self.eta!r}")
        if isinstance(self.refit_growth, bool) or not isinstance(self.refit_growth, (int, float)) \
                or not self.refit_growth > 1:
            raise MethodError(f"freeze-thaw refit_growth must be > 1, got {self.refit_growth!r}")
        for flag, value in (("calibrate", self.calibrate),
                            ("spare_promotable", self.spare_promotable)):
            if not isinstance(value, bool):
                raise MethodError(f"freeze-thaw {flag} must be True or False, got {value!r}")
        if not isinstance(self.ratio, (int, float)) or not self.ratio > 1:
            raise MethodError(f"freeze-thaw geometric ratio must be > 1, got {self.ratio!r}")

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        self.check(fidelity)
        if fidelity is None:
            raise MethodError("method 'freeze-thaw' needs a fidelity")
        return FreezeThawScheduler(space, fidelity, self, seed=seed)


@dataclass(frozen=True)
class DecisionEvent:
    """One entry of :attr:`FreezeThawScheduler.history` (what the plot marks).

    ``kind``: "start", "thaw", "abandon" (decisions) or "freeze", "complete" (verdicts).
    """

    decision: int
    kind: str
    trial_id: int
    budget: float
    reason: str = ""


class FreezeThawScheduler(Scheduler):
    """The freeze-thaw scheduler (see the module docstring); built by :class:`FreezeThaw`."""

    def __init__(self, space: SearchSpace, fidelity: Fidelity, options: FreezeThaw, *,
                 seed: int) -> None:
        self.space, self.fidelity, self.options, self.seed = space, fidelity, options, seed
        self.grid = step_grid(fidelity, options.grid, steps=options.steps, ratio=options.ratio)
        self.n_init = options.n_init if options.n_init is not None else max(3, space.dim + 1)
        self.model = LearningCurveModel(space.dim)
        self.history: list[DecisionEvent] = []
        self.fit_reports: list[tuple[int, int, str]] = []  # (decision, rows, "" or why failed)
        self._decisions = 0
        self._fits = 0
        self._next_refit = 1  # number of usable observations at which the next fit is due
        self._inflation = 1.0  # variance factor measured at the last refit (curve_calibration)
        self._record: dict[str, Any] | None = None
        self._refitted = False
        self._u: dict[int, np.ndarray] = {}
        self._cache: tuple[Any, CurveState] | None = None

    # -- protocol ----------------------------------------------------------------------------
    def next_action(self, view: StudyView) -> Action:
        k = self._decisions
        recorded = view.replaying
        record = recorded.record if recorded is not None else None
        if recorded is not None and record is not None and record.get("v") == RECORD_VERSION \
                and record.get("k") == k:  # replay: restore, no model work
            self._refitted = "h" in record
            if self._refitted:
                self.model.load_hypers(dict(record["h"]))
                self._inflation = float(record.get("c", 1.0))
                self.fit_reports.append((k, -1, "restored from the journal"))
            self._fits, self._next_refit = int(record["fits"]), int(record["nr"])
            why = str(record.get("why", ""))
            action: Action
            if isinstance(recorded, RecordedStart):
                action = Start(dict(recorded.config), self.grid[0])
            elif recorded.kind == "resume" and recorded.budget is not None:
                action = Resume(recorded.trial_id, recorded.budget)
            else:
                action = Retire(recorded.trial_id, str(record.get("r", why)))
        else:
            self._refitted = False
            action, why = self._decide(view, make_rng(self.seed, "decision", k))
        self._commit(view, action, why)
        return action

    def decision_record(self) -> dict[str, Any] | None:
        return self._record

    def on_result(self, trial: Trial, obs: Observation) -> Verdict:
        if obs.budget >= self.fidelity.max * (1 - 1e-9):
            self.history.append(DecisionEvent(self._decisions, "complete", trial.id, obs.budget))
            return Verdict.stop("reached the maximum budget")
        target = trial.target_budget
        if target is not None and obs.budget >= target * (1 - 1e-9):
            self.history.append(DecisionEvent(self._decisions, "freeze", trial.id, obs.budget))
            return Verdict.pause(f"frozen at {obs.budget}")
        return CONTINUE

    def is_finished(self, view: StudyView) -> bool:
        return False

    # -- state -------------------------------------------------------------------------------
    def encoded(self, trial: Trial) -> np.ndarray:
        u = self._u.get(trial.id)
        if u is None:
            u = self._u[trial.id] = np.asarray(self.space.encode(trial.config), dtype=np.float64)
        return u

    def state(self, view: StudyView, *, refit: bool = True) -> CurveState | None:
        """The model conditioned on the view (cached; refits when due unless ``refit`` is
        False, as for read-only predictions). None without data."""
        o, t_max = self.options, float(self.fidelity.max)
        trials = [t for t in view if t.status is not TrialStatus.FAILED]
        key = (self._fits, tuple((t.id, len(t.observations), t.status.value, t.target_budget)
                                 for t in trials))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        curves = [Curve(t.id, self.encoded(t), np.array([b.budget for b in t.observations],
                                                        dtype=np.float64),
                        np.array([b.loss for b in t.observations], dtype=np.float64),
                        curve_state(t, t_max)) for t in trials if t.observations]
        rows = curve_rows(curves, t_max, per_curve=o.per_curve, total=o.max_points)
        if len(rows) == 0:
            return None
        n_obs = sum(len(c.losses) for c in curves)
        if refit and n_obs >= self._next_refit:
            fit_rows = curve_rows(curves, t_max, per_curve=o.fit_per_curve, total=o.fit_points)
            scale = float(np.std(rows.y)) if len(rows) > 1 else 1.0
            report = self.model.fit(fit_rows.X, fit_rows.y, center=float(np.mean(rows.y)),
                                    scale=scale if scale > 1e-12 else 1.0,
                                    maxiter=o.warm_maxiter if self._fits else o.fit_maxiter,
                                    seed=derive_seed(self.seed, "fit", self._fits),
                                    threads=o.threads)
            self.fit_reports.append((self._decisions, len(fit_rows), report.reason))
            self._fits += 1
            self._refitted = True
            self._next_refit = max(n_obs + 1, int(math.ceil(n_obs * o.refit_growth)))
            # calibrated on the rows the fit saw (``fit_points`` at most: cheap at any size)
            self._inflation = extrapolation_inflation(self.model, fit_rows, threads=o.threads) \
                if o.calibrate else 1.0
        pending = [np.r_[self.encoded(t), t.target_budget / t_max] for t in trials
                   if t.status.is_active and t.target_budget is not None
                   and t.id not in rows.diverged]
        state = build_state(self.model, rows, pending, trials, self.encoded, max_budget=t_max,
                            inflation=self._inflation, threads=o.threads)
        if refit:  # a read-only state never enters the cache: it may lack a due refit
            self._cache = ((self._fits,) + key[1:], state)
        return state

    def _commit(self, view: StudyView, action: Action, why: str) -> None:
        k = self._decisions
        self._decisions += 1
        if isinstance(action, Start):
            self.history.append(DecisionEvent(k, "start", view.next_trial_id, self.grid[0], why))
        elif isinstance(action, Resume):
            self.history.append(DecisionEvent(k, "thaw", action.trial_id,
                                              view[action.trial_id].budget, why))
        else:
            self.history.append(DecisionEvent(k, "abandon", action.trial_id,
                                              view[action.trial_id].budget, action.reason))
        record: dict[str, Any] = {"v": RECORD_VERSION, "k": k, "why": why, "fits": self._fits,
                                  "nr": self._next_refit}
        if self._refitted:
            record["h"] = self.model.hypers()
            record["c"] = self._inflation
        if isinstance(action, Retire):
            record["r"] = action.reason
        self._record = record

    # -- the decision ------------------------------------------------------------------------
    def _start_random(self, rng: np.random.Generator, why: str) -> tuple[Action, str]:
        return Start(self.space.sample(rng), self.grid[0]), why

    def _decide(self, view: StudyView, rng: np.random.Generator) -> tuple[Action, str]:
        o = self.options
        draws = rng.random(3)  # safety net, horizon, threshold
        if view.next_trial_id < self.n_init:
            return self._start_random(rng, "initial design")
        paused = sorted(view.with_status(TrialStatus.PAUSED), key=lambda t: t.id)
        if paused and draws[0] < o.p_sh:
            tid = asha_promotion(list(view), paused, self.grid, o.eta)
            if tid is not None:
                return Resume(tid, self.grid[next_level(self.grid, view[tid].budget)]), "asha"
        state = self.state(view)
        if state is None:
            return self._start_random(rng, "no usable curve yet")
        retire = self._abandonment(view, state, paused)
        if retire is not None:
            return retire, "abandon"
        if o.random_fraction and rng.random() < o.random_fraction:
            return self._start_random(rng, "random exploration")
        return self._mfpi(view, state, paused, rng, draws)

    def _abandonment(self, view: StudyView, state: CurveState,
                     paused: list[Trial]) -> Retire | None:
        o = self.options
        spared: set[int] = set()
        if o.spare_promotable and o.abandon and paused:
            spared = {t.id for group in asha_qualified(list(view), paused, self.grid,
                                                       o.eta).values() for t in group}
        return abandonment(state, paused, threshold=o.abandon, spared=spared,
                           max_budget=float(self.fidelity.max))

    def _mfpi(self, view: StudyView, state: CurveState, paused: list[Trial],
              rng: np.random.Generator, draws: np.ndarray) -> tuple[Action, str]:
        grid, t_max = self.grid, float(self.fidelity.max)
        last = len(grid) - 1
        h = 1 + int(draws[1] * len(grid))
        tau = threshold(state.y_best, state.y_floor, float(draws[2]))
        usable = [t for t in paused if t.id not in state.rows.failed]
        nxt = [next_level(grid, t.budget) for t in usable]
        U = self._candidates(state, rng)
        Q_old = [np.r_[self.encoded(t), grid[min(j + h - 1, last)] / t_max]
                 for t, j in zip(usable, nxt)]
        t_new = grid[min(h - 1, last)] / t_max
        raw = self._scores(state, Q_old, U, t_new, usable, nxt, tau)
        # canonicalise (decode -> encode: integers snapped, inactive parameters fixed) only the
        # best raw candidates, then score them again as the configs they really are
        top = np.sort(np.argsort(-raw[len(usable):], kind="stable")[:_RESCORE])
        configs = self.space.decode_many(U[top]) if self.space.dim else \
            [self.space.decode(np.empty(0))]
        U_c = self.space.encode_many(configs) if self.space.dim else np.empty((1, 0))
        scores = np.concatenate([raw[:len(usable)],
                                 self._scores(state, [], U_c, t_new, [], [], tau)])
        is_paused = np.arange(len(scores)) < len(usable)
        budgets = np.concatenate([[t.budget for t in usable], np.zeros(len(U_c))])
        best = choose(scores, is_paused, budgets)
        why = f"mfpi h={h} tau={tau:.6g} score={scores[best]:.4g}"
        if best < len(usable):
            return Resume(usable[best].id, grid[nxt[best]]), why
        return Start(configs[best - len(usable)], grid[0]), why

    def _scores(self, state: CurveState, Q_old: list[np.ndarray], U: np.ndarray, t_new: float,
                usable: list[Trial], nxt: list[int], tau: float) -> np.ndarray:
        """MFPI scores of the paused rows ``Q_old`` then of new configs ``U`` at ``t_new``."""
        grid = self.grid
        Q = np.vstack(Q_old + [np.column_stack([U, np.full(len(U), t_new)])])
        mean, var = state.posterior.predict(Q, noise=True)
        log_cost = None
        if self.options.kappa:
            log_cost = np.concatenate([
                [state.log_rate(t) + math.log(max(grid[j] - t.budget, 1e-12))
                 for t, j in zip(usable, nxt)],
                state.new_log_rates(U) + math.log(grid[0])])
        return mfpi_scores(mean, var, tau, log_cost=log_cost, kappa=self.options.kappa)

    def _candidates(self, state: CurveState, rng: np.random.Generator) -> np.ndarray:
        """Raw new points: half uniform, half local around the five best predicted trials."""
        d, n = self.space.dim, self.options.n_candidates
        if d == 0:
            return np.empty((1, 0))
        n_local = n // 2 if state.top else 0
        raw = rng.random((n - n_local, d))
        if n_local:
            centres = np.stack([state.u[i] for i in state.top])
            pick = rng.integers(len(centres), size=n_local)
            local = np.clip(centres[pick] + 0.05 * rng.standard_normal((n_local, d)), 0.0, 1.0)
            raw = np.vstack([raw, local])
        return raw
