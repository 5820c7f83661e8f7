"""Peers with their own space types: Optuna 5 (TPE + Hyperband pruner, plain TPE, the GP
sampler) and Syne Tune 0.13 (BOHB, MOBSTER and Hyper-Tune on ``HyperbandScheduler``).

Syne Tune budgets map to integer resource levels ``round(budget / fidelity.min)`` (its rungs
count whole resource units). Every scheduler keeps Syne Tune's documented defaults
(``type="stopping"``, ``grace_period=1``, ``reduction_factor=3``, one bracket, its default
searcher options: MOBSTER's ``gp_multitask`` model, Hyper-Tune's ``gp_independent`` model);
only the seed is set.
"""

from __future__ import annotations

import math

from .cs_peers import full_budget


class OptunaDriver:
    """Optuna's samplers with their documented defaults (only ``seed`` is set).

    * ``optuna-tpe-hb``: ``TPESampler`` + ``HyperbandPruner`` (plain TPE without a fidelity);
    * ``optuna-tpe``: ``TPESampler``, every trial at the full budget, no pruner;
    * ``optuna-gp``: ``GPSampler`` (Optuna's GP BO: Matern-5/2 ARD, log EI; 10 random
      startup trials), every trial at the full budget, no pruner.
    """

    def __init__(self, params, fidelity, seed, workers, algo, evaluations=None):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self.optuna = optuna
        self.params = params
        self.fidelity = fidelity if algo in (None, "optuna-tpe-hb") else None
        self.budget = full_budget(fidelity)
        pruner = optuna.pruners.NopPruner()
        if self.fidelity is not None:  # steps count units of fidelity.min (as for Syne
            self.unit = float(fidelity["min"])  # Tune), so a fidelity in (0, 1] gets rungs
            pruner = optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=self._step(fidelity["max"]), reduction_factor=3)
        if algo == "optuna-gp":
            sampler = optuna.samplers.GPSampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed)
        self.study = optuna.create_study(sampler=sampler, pruner=pruner, direction="minimize")
        self.trials = {}

    def _step(self, budget):
        return max(1, round(float(budget) / self.unit))

    def _suggest(self, trial):
        out = {}
        for p in self.params:
            name = p["name"]
            if p["type"] == "float":
                out[name] = trial.suggest_float(name, p["low"], p["high"], log=p["log"],
                                                step=None if p["log"] else p.get("step"))
            elif p["type"] == "int":
                out[name] = trial.suggest_int(name, p["low"], p["high"], log=p["log"],
                                              step=1 if p["log"] else p.get("step", 1))
            elif p["type"] in ("categorical", "ordinal"):
                values = p.get("choices", p.get("values"))
                out[name] = values[trial.suggest_categorical(name, list(range(len(values))))]
            else:
                out[name] = p["value"]
        return out

    def ask(self, key):
        trial = self.study.ask()
        self.trials[key] = trial
        return {"action": "start", "key": key, "config": self._suggest(trial),
                "budget": self.budget}

    def report(self, key, budget, loss, cost, final):
        trial = self.trials[key]
        if final:
            self.study.tell(trial, loss if math.isfinite(loss) else None,
                            state=None if math.isfinite(loss) else
                            self.optuna.trial.TrialState.FAIL)
            del self.trials[key]
            return "stop"
        if self.fidelity is not None:
            trial.report(loss, step=self._step(budget))
            if trial.should_prune():
                self.study.tell(trial, state=self.optuna.trial.TrialState.PRUNED)
                del self.trials[key]
                return "stop"
        return "continue"

    def end(self, key, status):
        trial = self.trials.pop(key, None)
        if trial is not None:
            self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)


def _space(params):
    from syne_tune.config_space import choice, loguniform, randint, uniform

    space = {}
    for p in params:
        name, kind = p["name"], p["type"]
        if kind == "float":
            space[name] = (loguniform if p["log"] else uniform)(p["low"], p["high"])
        elif kind == "int" and p["log"]:  # Syne Tune 0.13's KDE returns lograndint
            space[name] = loguniform(p["low"], p["high"])  # values off scale: round here
        elif kind == "int":
            space[name] = randint(p["low"], p["high"])
        elif kind in ("categorical", "ordinal"):
            values = p.get("choices", p.get("values"))
            space[name] = choice(list(range(len(values))))
        else:
            space[name] = p["value"]
    return space


def _scheduler(algo, space, fidelity, level_key, max_key, seed):
    from syne_tune.optimizer.baselines import BOHB, KDE, MOBSTER, DyHPO, HyperTune

    common = {"metric": "loss", "mode": "min", "random_seed": seed}
    if algo in (None, "synetune-bohb") and fidelity is None:
        return KDE(space, **common)
    if algo == "synetune-dyhpo":  # pause / resume; its defaults: linear rungs 1, 3, 5, ...
        if fidelity is None:
            raise ValueError(f"{algo} needs a fidelity")
        return DyHPO(space, resource_attr=level_key, max_resource_attr=max_key, **common)
    cls = {None: BOHB, "synetune-bohb": BOHB, "synetune-mobster": MOBSTER,
           "synetune-hypertune": HyperTune}[algo]
    if fidelity is None:
        raise ValueError(f"{algo} needs a fidelity")
    return cls(space, resource_attr=level_key, max_resource_attr=max_key, type="stopping",
               grace_period=1, reduction_factor=3, **common)


class SyneTuneDriver:
    """``synetune-bohb`` (KDE + asynchronous Hyperband, or KDE alone without a fidelity),
    ``synetune-mobster`` (GP over (config, resource) + asynchronous Hyperband) and
    ``synetune-hypertune`` (independent GPs per rung, ensemble acquisition), all stopping type,
    and ``synetune-dyhpo`` (DyHPO: pause / resume, a GP decides between thawing a paused trial
    by one rung and starting a new one)."""

    LEVEL_KEY, MAX_KEY = "hpo_level", "hpo_max_level"

    def __init__(self, params, fidelity, seed, workers, algo, evaluations=None):
        self.params, self.fidelity = params, fidelity
        space = _space(params)
        if fidelity is not None:
            self.unit = float(fidelity["min"])
            space[self.MAX_KEY] = self._level(fidelity["max"])
        self.scheduler = _scheduler(algo, space, fidelity, self.LEVEL_KEY, self.MAX_KEY, seed)
        pause_resume = getattr(self.scheduler, "does_pause_resume", None)  # not on FIFO (KDE)
        self.pause_resume = fidelity is not None and pause_resume is not None and pause_resume()
        self.trials = {}

    def _level(self, budget):
        return max(1, round(float(budget) / self.unit))

    def ask(self, key):
        import datetime

        from syne_tune.backend.trial_status import Trial

        suggestion = self.scheduler.suggest(trial_id=key)
        if suggestion is not None and not suggestion.spawn_new_trial_id:
            resumed = self.trials[suggestion.checkpoint_trial_id]
            if suggestion.config is not None:  # as Syne Tune's backend does on a resume
                resumed.config = dict(suggestion.config)
            return {"action": "resume", "key": resumed.trial_id,
                    "budget": self._budget(resumed.config)}
        if suggestion is None or suggestion.config is None:
            return {"action": "wait"}
        trial = Trial(trial_id=key, config=suggestion.config,
                      creation_time=datetime.datetime.now())
        self.scheduler.on_trial_add(trial)
        self.trials[key] = trial
        config = {}
        for p in self.params:
            value = suggestion.config[p["name"]]
            if p["type"] in ("categorical", "ordinal"):
                value = p.get("choices", p.get("values"))[int(value)]
            elif p["type"] == "int":
                value = min(max(round(float(value)), p["low"]), p["high"])
            config[p["name"]] = value
        return {"action": "start", "key": key, "config": config,
                "budget": self._budget(suggestion.config)}

    def _budget(self, config):
        """Where the trial stops next: the full budget, or a pause / resume scheduler's next
        milestone (it writes that into the config's max-resource entry)."""
        if self.fidelity is None:
            return None
        if not self.pause_resume:
            return self.fidelity["max"]
        budget = min(float(config[self.MAX_KEY]) * self.unit, float(self.fidelity["max"]))
        return int(budget) if budget.is_integer() else budget

    def report(self, key, budget, loss, cost, final):
        from syne_tune.optimizer.scheduler import SchedulerDecision

        trial = self.trials[key]
        if self.pause_resume:
            final = float(budget) >= float(self.fidelity["max"]) * (1 - 1e-12)  # not a milestone
        result = {"loss": loss if math.isfinite(loss) else 1e12}
        if self.fidelity is not None:
            result[self.LEVEL_KEY] = self._level(budget)
        decision = self.scheduler.on_trial_result(trial, result)
        if decision == SchedulerDecision.PAUSE and not final:
            return "pause"  # the trial stays registered: it may be resumed
        if final or decision != SchedulerDecision.CONTINUE:
            self.scheduler.on_trial_complete(trial, result)
            del self.trials[key]
            return "stop"
        return "continue"

    def end(self, key, status):
        trial = self.trials.pop(key, None)
        if trial is not None:
            self.scheduler.on_trial_error(trial)
