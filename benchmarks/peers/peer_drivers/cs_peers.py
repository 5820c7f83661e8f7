"""ConfigSpace-based peers: the reference DEHB and SMAC3 (plus the helpers every driver
shares: scratch directories, ConfigSpace mapping, the full budget)."""

from __future__ import annotations

import atexit
import json
import math
import shutil
import tempfile


def scratch(prefix):
    """A temporary directory removed when the worker exits (peers insist on writing files)."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def cs_space(params, seed):
    """scaletune's parameter list as a ConfigSpace ``ConfigurationSpace``."""
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


def from_cs(config, params):
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


def full_budget(fidelity):
    """The budget a single-fidelity peer runs every trial at (None without a fidelity)."""
    return float(fidelity["max"]) if fidelity is not None else None


class DEHBDriver:
    """``dehb-ref``: DEHB's own ask / tell, eta 3, one job per ask."""

    def __init__(self, params, fidelity, seed, workers, algo, evaluations=None):
        try:
            from loguru import logger

            logger.remove()  # DEHB logs through loguru; keep stderr quiet
        except ImportError:
            pass
        from dehb import DEHB

        self.params = params
        out = scratch("dehb-")
        self.dehb = DEHB(f=None, cs=cs_space(params, seed), dimensions=len(params),
                         min_fidelity=fidelity["min"], max_fidelity=fidelity["max"], eta=3,
                         n_workers=workers, seed=seed, output_path=out, save_freq=None)
        self.jobs = {}

    def ask(self, key):
        job = self.dehb.ask()
        self.jobs[key] = job
        return {"action": "start", "key": key, "config": from_cs(job["config"], self.params),
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


class SMACDriver:
    """SMAC3 with its facades' defaults.

    * ``smac-mf``: ``MultiFidelityFacade`` (RF surrogate + Hyperband intensifier, eta 3), or
      the HPO facade without a fidelity (``n_trials`` unbounded, as before);
    * ``smac-hpo``: ``HyperparameterOptimizationFacade`` (RF surrogate, log EI, Sobol initial
      design, SMAC's default intensifier), every trial at the full budget. SMAC sizes its
      initial design from ``Scenario.n_trials`` (10 configs per dimension, at most a quarter
      of ``n_trials``), so ``n_trials`` is the run's budget in full evaluations.
    """

    def __init__(self, params, fidelity, seed, workers, algo, evaluations=None):
        from smac import HyperparameterOptimizationFacade, MultiFidelityFacade, Scenario
        from smac.intensifier.hyperband import Hyperband

        self.params = params
        out = scratch("smac-")
        cs = cs_space(params, seed)
        single = algo == "smac-hpo" or fidelity is None
        n_trials = 100000
        if algo == "smac-hpo" and evaluations:
            n_trials = max(1, math.ceil(evaluations))
        if single:
            scenario = Scenario(cs, deterministic=True, n_trials=n_trials, seed=seed,
                                output_directory=out)
            self.smac = HyperparameterOptimizationFacade(
                scenario, lambda config, seed=0: 0.0, overwrite=True, logging_level=40)
        else:
            scenario = Scenario(cs, deterministic=True, n_trials=n_trials, seed=seed,
                                min_budget=fidelity["min"], max_budget=fidelity["max"],
                                output_directory=out)
            self.smac = MultiFidelityFacade(
                scenario, lambda config, seed=0, budget=1: 0.0, overwrite=True,
                intensifier=Hyperband(scenario, eta=3, incumbent_selection="highest_budget"),
                logging_level=40)
        self.multi = not single
        self.budget = full_budget(fidelity)
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
        budget = float(info.budget) if self.multi and info.budget is not None else self.budget
        return {"action": "start", "key": key, "config": from_cs(info.config, self.params),
                "budget": budget}

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
