"""Runs inside a peer library's own virtualenv and speaks JSON lines on stdin / stdout.

It must not import scaletune (which is not installed there). Requests and replies::

    {"op": "init", "peer": "dehb", "algo": "dehb", "space": [...], "fidelity": {...} | null,
     "seed": 0, "workers": 4}                                        -> {"ok": true}
    {"op": "ask"}                        -> {"action": "start", "key": 3, "config": {...},
                                             "budget": 9} | {"action": "wait"}
    {"op": "report", "key": 3, "budget": 9, "loss": 0.12, "cost": 4.2, "final": true}
                                         -> {"decision": "continue" | "stop"}
    {"op": "end", "key": 3, "status": "failed"}                        -> {"ok": true}

``space`` is scaletune's parameter list (``SearchSpace.to_json()["params"]``). Each driver maps
it to its library's own space type; losses are minimised.
"""

from __future__ import annotations

import atexit
import json
import math
import os
import shutil
import sys
import tempfile
import time
import traceback


def _scratch(prefix):
    """A temporary directory removed when the worker exits (peers insist on writing files)."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def _cs_space(params, seed):
    import ConfigSpace as CS

    cs = CS.ConfigurationSpace(seed=seed)
    for p in params:
        kind, name = p["type"], p["name"]
        if kind == "float":
            hp = CS.UniformFloatHyperparameter(name, p["low"], p["high"], log=p["log"])
        elif kind == "int":
            hp = CS.UniformIntegerHyperparameter(name, p["low"], p["high"], log=p["log"])
        elif kind == "categorical":
            hp = CS.CategoricalHyperparameter(name, [json.dumps(c) for c in p["choices"]])
        elif kind == "ordinal":
            hp = CS.OrdinalHyperparameter(name, [json.dumps(v) for v in p["values"]])
        else:
            hp = CS.Constant(name, json.dumps(p["value"]))
        cs.add(hp) if hasattr(cs, "add") else cs.add_hyperparameter(hp)
    return cs


def _from_cs(config, params):
    """A ConfigSpace configuration as a plain dict in scaletune's types."""
    values = dict(config)
    out = {}
    for p in params:
        value = values[p["name"]]
        if p["type"] in ("categorical", "ordinal", "constant"):
            out[p["name"]] = json.loads(value)
        elif p["type"] == "int":
            out[p["name"]] = round(float(value))
        else:
            out[p["name"]] = min(max(float(value), p["low"]), p["high"])
        if p["type"] in ("float", "int") and p.get("step"):
            step = p["step"]
            k = round((out[p["name"]] - p["low"]) / step)
            out[p["name"]] = type(out[p["name"]])(p["low"] + k * step)
    return out


class DEHBDriver:
    """The reference DEHB (automl/DEHB 0.1.2) through its ask / tell interface."""

    def __init__(self, params, fidelity, seed, workers, algo):
        try:
            from loguru import logger

            logger.remove()  # DEHB logs through loguru; keep stderr quiet
        except ImportError:
            pass
        from dehb import DEHB

        self.params = params
        out = _scratch("dehb-")
        self.dehb = DEHB(f=None, cs=_cs_space(params, seed), dimensions=len(params),
                         min_fidelity=fidelity["min"], max_fidelity=fidelity["max"], eta=3,
                         n_workers=workers, seed=seed, output_path=out, save_freq=None)
        self.jobs = {}

    def ask(self, key):
        job = self.dehb.ask()
        self.jobs[key] = job
        return {"action": "start", "key": key, "config": _from_cs(job["config"], self.params),
                "budget": float(job["fidelity"])}

    def report(self, key, budget, loss, cost, final):
        if not final:
            return "continue"
        self.dehb.tell(self.jobs.pop(key), {"fitness": loss, "cost": cost})
        return "stop"

    def end(self, key, status):
        job = self.jobs.pop(key, None)
        if job is not None:  # a failed job counts as the worst result
            self.dehb.tell(job, {"fitness": float("inf"), "cost": 0.0})


class OptunaDriver:
    """Optuna's TPE with its Hyperband pruner (or plain TPE without a fidelity)."""

    def __init__(self, params, fidelity, seed, workers, algo):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self.optuna = optuna
        self.params, self.fidelity = params, fidelity
        pruner = optuna.pruners.NopPruner()
        if fidelity is not None:  # steps count units of fidelity.min (as for Syne Tune), so
            self.unit = float(fidelity["min"])  # a fidelity in (0, 1] gets real rungs
            pruner = optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=self._step(fidelity["max"]), reduction_factor=3)
        self.study = optuna.create_study(
            sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner, direction="minimize")
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
        budget = self.fidelity["max"] if self.fidelity else None
        return {"action": "start", "key": key, "config": self._suggest(trial),
                "budget": budget}

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


class SMACDriver:
    """SMAC3's multi-fidelity facade (BOHB-like: RF surrogate + Hyperband intensifier)."""

    def __init__(self, params, fidelity, seed, workers, algo):
        from smac import HyperparameterOptimizationFacade, MultiFidelityFacade, Scenario
        from smac.intensifier.hyperband import Hyperband

        self.params = params
        out = _scratch("smac-")
        cs = _cs_space(params, seed)
        if fidelity is None:
            scenario = Scenario(cs, deterministic=True, n_trials=100000, seed=seed,
                                output_directory=out)
            self.smac = HyperparameterOptimizationFacade(
                scenario, lambda config, seed=0: 0.0, overwrite=True, logging_level=40)
        else:
            scenario = Scenario(cs, deterministic=True, n_trials=100000, seed=seed,
                                min_budget=fidelity["min"], max_budget=fidelity["max"],
                                output_directory=out)
            self.smac = MultiFidelityFacade(
                scenario, lambda config, seed=0, budget=1: 0.0, overwrite=True,
                intensifier=Hyperband(scenario, eta=3, incumbent_selection="highest_budget"),
                logging_level=40)
        self.fidelity = fidelity
        self.infos = {}
        self.exhausted = False

    def ask(self, key):
        from smac.main.exceptions import ConfigurationSpaceExhaustedException

        if self.exhausted:
            return {"action": "wait"}
        try:
            info = self.smac.ask()
        except (ConfigurationSpaceExhaustedException, StopIteration):  # a small finite
            self.exhausted = True  # space, all sampled: the run ends when its running
            return {"action": "wait"}  # trials have finished
        self.infos[key] = info
        budget = info.budget if self.fidelity is not None else None
        return {"action": "start", "key": key, "config": _from_cs(info.config, self.params),
                "budget": float(budget) if budget is not None else None}

    def report(self, key, budget, loss, cost, final):
        if not final:
            return "continue"
        from smac.runhistory.dataclasses import TrialValue

        value = loss if math.isfinite(loss) else 1e12
        self.smac.tell(self.infos.pop(key), TrialValue(cost=value, time=cost))
        return "stop"

    def end(self, key, status):
        info = self.infos.pop(key, None)
        if info is not None:
            from smac.runhistory.dataclasses import TrialValue
            from smac.runhistory.enumerations import StatusType

            self.smac.tell(info, TrialValue(cost=1e12, status=StatusType.CRASHED))


class SyneTuneDriver:
    """Syne Tune 0.13: BOHB (KDE searcher + asynchronous Hyperband, stopping type), or its
    KDE searcher alone without a fidelity. Budgets map to integer resource levels
    ``round(budget / fidelity.min)`` (Syne Tune's rungs count whole resource units)."""

    LEVEL_KEY, MAX_KEY = "hpo_level", "hpo_max_level"

    def __init__(self, params, fidelity, seed, workers, algo):
        from syne_tune.config_space import choice, loguniform, randint, uniform
        from syne_tune.optimizer.baselines import BOHB, KDE

        self.params, self.fidelity = params, fidelity
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
        common = {"metric": "loss", "mode": "min", "random_seed": seed}
        if fidelity is None:
            self.scheduler = KDE(space, **common)
        else:
            self.unit = float(fidelity["min"])
            space[self.MAX_KEY] = self._level(fidelity["max"])
            self.scheduler = BOHB(space, resource_attr=self.LEVEL_KEY,
                                  max_resource_attr=self.MAX_KEY, type="stopping",
                                  grace_period=1, reduction_factor=3, **common)
        self.trials = {}

    def _level(self, budget):
        return max(1, round(float(budget) / self.unit))

    def ask(self, key):
        import datetime

        from syne_tune.backend.trial_status import Trial

        suggestion = self.scheduler.suggest(trial_id=key)
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
        budget = self.fidelity["max"] if self.fidelity else None
        return {"action": "start", "key": key, "config": config, "budget": budget}

    def report(self, key, budget, loss, cost, final):
        from syne_tune.optimizer.scheduler import SchedulerDecision

        trial = self.trials[key]
        result = {"loss": loss if math.isfinite(loss) else 1e12}
        if self.fidelity is not None:
            result[self.LEVEL_KEY] = self._level(budget)
        decision = self.scheduler.on_trial_result(trial, result)
        if final or decision != SchedulerDecision.CONTINUE:
            self.scheduler.on_trial_complete(trial, result)
            del self.trials[key]
            return "stop"
        return "continue"

    def end(self, key, status):
        trial = self.trials.pop(key, None)
        if trial is not None:
            self.scheduler.on_trial_error(trial)


DRIVERS = {"dehb": DEHBDriver, "optuna": OptunaDriver, "smac": SMACDriver,
           "synetune": SyneTuneDriver}


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # library prints must not corrupt the protocol
    driver, key = None, 0
    for line in sys.stdin:
        request = json.loads(line)
        start = time.perf_counter()
        try:
            op = request["op"]
            if op == "init":
                driver = DRIVERS[request["peer"]](request["space"], request["fidelity"],
                                                  request["seed"], request["workers"],
                                                  request.get("algo"))
                reply = {"ok": True}
            elif op == "ask":
                key += 1
                reply = driver.ask(key)
            elif op == "report":
                reply = {"decision": driver.report(request["key"], request["budget"],
                                                   request["loss"], request["cost"],
                                                   request["final"])}
            elif op == "end":
                driver.end(request["key"], request["status"])
                reply = {"ok": True}
            elif op == "close":
                return
            else:
                reply = {"error": f"unknown op {op!r}"}
        except Exception:  # noqa: BLE001 -- any failure goes back to the adapter as a reply
            reply = {"error": traceback.format_exc()}
        reply["t"] = time.perf_counter() - start  # seconds spent in the library itself
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
