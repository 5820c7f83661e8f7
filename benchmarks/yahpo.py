"""YAHPO Gym surrogate benchmarks with our own numpy + onnxruntime loader (batched).

Each scenario folder holds ``model.onnx`` (inputs ``x_cont`` float32 ``(n, n_cont)`` and
``x_cat`` int32 ``(n, n_cat)``; output float32 ``(n, n_targets)`` in original units),
``config_space.json`` (ConfigSpace JSON, read with ``json``) and ``encoding.json`` (categorical
value -> integer code; inactive categoricals are ``"#na#"``, inactive continuous inputs 0).
The column orders below are the scenarios' ``cont_names`` / ``cat_names`` (YAHPO Gym v1.0).

Regret is normalised with YAHPO's ``global_statistics`` (per instance and target: the best and
worst value in the surrogate's training data).
Source: Pfisterer et al., "YAHPO Gym", AutoML-Conf 2022; data github.com/slds-lmu/yahpo_data.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from benchmarks.data import data_path
from benchmarks.problem import Problem
from hpo import Categorical, Constant, Fidelity, Float, Int, SearchSpace
from hpo.core.types import Config


@dataclass(frozen=True)
class Scenario:
    cont: tuple[str, ...]
    cat: tuple[str, ...]
    targets: tuple[str, ...]
    instance: str
    fidelity: str
    runtime: str
    fixed: tuple[tuple[str, Any], ...] = ()  # other fidelity parameters, held at their max


SCENARIOS = {
    "lcbench": Scenario(
        cont=("epoch", "batch_size", "learning_rate", "momentum", "weight_decay", "num_layers",
              "max_units", "max_dropout"),
        cat=("OpenML_task_id",),
        targets=("time", "val_accuracy", "val_cross_entropy", "val_balanced_accuracy",
                 "test_cross_entropy", "test_balanced_accuracy"),
        instance="OpenML_task_id", fidelity="epoch", runtime="time"),
    "rbv2_xgboost": Scenario(
        cont=("nrounds", "eta", "gamma", "lambda", "alpha", "subsample", "max_depth",
              "min_child_weight", "colsample_bytree", "colsample_bylevel", "rate_drop",
              "skip_drop", "trainsize", "repl"),
        cat=("task_id", "booster", "num.impute.selected.cpo"),
        targets=("acc", "bac", "auc", "brier", "f1", "logloss", "timetrain", "timepredict",
                 "memory"),
        instance="task_id", fidelity="trainsize", runtime="timetrain", fixed=(("repl", 10),)),
    "iaml_glmnet": Scenario(
        cont=("alpha", "s", "trainsize"), cat=("task_id",),
        targets=("mmce", "f1", "auc", "logloss", "ramtrain", "rammodel", "rampredict",
                 "timetrain", "timepredict", "mec", "ias", "nf"),
        instance="task_id", fidelity="trainsize", runtime="timetrain"),
}

#: target metric and whether larger is better, per scenario (the YAHPO-SO choices)
TARGETS = {"lcbench": ("val_accuracy", True), "rbv2_xgboost": ("acc", True),
           "iaml_glmnet": ("mmce", False)}


@lru_cache(maxsize=None)
def _session(scenario: str) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(data_path("yahpo", scenario, "model.onnx")), options,
                                providers=["CPUExecutionProvider"])


@lru_cache(maxsize=None)
def _meta(scenario: str) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    config_space = json.loads(data_path("yahpo", scenario, "config_space.json").read_text())
    encoding = json.loads(data_path("yahpo", scenario, "encoding.json").read_text())
    return config_space, encoding


@lru_cache(maxsize=None)
def global_statistics() -> dict[tuple[str, str, str, str], float]:
    """(scenario, instance, metric, min|max) -> value."""
    out = {}
    with open(data_path("yahpo", "global_statistics", "instance_target_statistics.csv")) as fh:
        for row in csv.DictReader(fh):
            out[(row["scenario"], row["instance"], row["metric"], row["statistic"])] = \
                float(row["value"])
    return out


class YahpoSurrogate:
    """Batched evaluation of one scenario's ONNX surrogate."""

    def __init__(self, scenario: str) -> None:
        if scenario not in SCENARIOS:
            raise ValueError(f"unsupported YAHPO scenario {scenario!r}; supported: "
                             f"{sorted(SCENARIOS)}")
        self.name = scenario
        self.spec = SCENARIOS[scenario]
        self.config_space, self.encoding = _meta(scenario)
        self.session = _session(scenario)
        self.conditions = self.config_space.get("conditions") or []

    def _active(self, config: dict[str, Any], name: str) -> bool:
        for cond in self.conditions:
            if cond["child"] != name:
                continue
            parent = config.get(cond["parent"])
            if cond["type"] == "IN" and parent not in cond["values"]:
                return False
            if cond["type"] == "EQ" and parent != cond["value"]:
                return False
        return True

    def predict(self, configs: Sequence[dict[str, Any]]) -> np.ndarray:
        """Outputs (n, n_targets) for full configs (instance and fidelity included)."""
        x_cont = np.zeros((len(configs), len(self.spec.cont)), dtype=np.float32)
        x_cat = np.zeros((len(configs), len(self.spec.cat)), dtype=np.int32)
        for i, config in enumerate(configs):
            for j, name in enumerate(self.spec.cont):
                if name in config and self._active(config, name):
                    x_cont[i, j] = config[name]
            for j, name in enumerate(self.spec.cat):
                value = config.get(name) if self._active(config, name) else None
                codes = self.encoding[name]
                x_cat[i, j] = codes[str(value)] if value is not None else codes["#na#"]
        return self.session.run(None, {"x_cont": x_cont, "x_cat": x_cat})[0]


class YahpoProblem(Problem):
    """One YAHPO instance (e.g. ``lcbench/167168``): minimise the loss of its target."""

    def __init__(self, scenario: str, instance: str) -> None:
        self.surrogate = YahpoSurrogate(scenario)
        spec = self.surrogate.spec
        self.scenario, self.instance = scenario, instance
        self.name = f"{scenario}/{instance}"
        metric, maximise = TARGETS[scenario]
        self._col = spec.targets.index(metric)
        self._runtime = spec.targets.index(spec.runtime)
        self._sign = -1.0 if maximise else 1.0
        self.space, self.fidelity = self._spaces(instance)
        self.resumable = spec.fidelity == "epoch"
        stats = global_statistics()
        best = stats[(scenario, instance, metric, "max" if maximise else "min")]
        worst = stats[(scenario, instance, metric, "min" if maximise else "max")]
        self.optimum, self.reference = self._sign * best, self._sign * worst

    def _spaces(self, instance: str) -> tuple[SearchSpace, Fidelity]:
        spec = self.surrogate.spec
        params: list[Any] = []
        fidelity = None
        fixed = dict(spec.fixed)
        for hp in self.surrogate.config_space["hyperparameters"]:
            name, kind = hp["name"], hp["type"]
            if name == spec.instance:
                if instance not in hp["choices"]:
                    raise ValueError(f"{self.surrogate.name} has no instance {instance!r}; "
                                     f"valid: {hp['choices']}")
                params.append(Constant(name, instance))
            elif name == spec.fidelity:
                fidelity = Fidelity(name, hp["lower"], hp["upper"],
                                    integer=kind == "uniform_int")
            elif name in fixed:
                params.append(Constant(name, fixed[name]))
            elif kind == "uniform_float":
                params.append(Float(name, float(hp["lower"]), float(hp["upper"]),
                                    log=hp.get("log", False)))
            elif kind == "uniform_int":
                params.append(Int(name, hp["lower"], hp["upper"], log=hp.get("log", False)))
            elif kind == "categorical":
                params.append(Categorical(name, hp["choices"]))
            elif kind == "constant":
                params.append(Constant(name, hp["value"]))
        return SearchSpace(params), fidelity

    def evaluate_many(self, configs: Sequence[Config], budgets: Sequence[float],
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Losses and costs of (config, budget) pairs in one surrogate call."""
        name = self.surrogate.spec.fidelity
        rows = [{**c, name: b} for c, b in zip(configs, budgets)]
        out = self.surrogate.predict(rows)
        return self._sign * out[:, self._col].astype(float), \
            np.maximum(out[:, self._runtime].astype(float), 0.0)

    def curve(self, config: Config, budgets: Sequence[float], seed: int,
              ) -> tuple[np.ndarray, np.ndarray]:
        losses, costs = self.evaluate_many([config] * len(budgets), budgets)
        return losses, np.maximum.accumulate(costs) if self.resumable else costs

    def true_loss(self, config: Config) -> float:
        return float(self.evaluate_many([config], [self.fidelity.max])[0][0])


#: the instances used by the suites (YAHPO-SO picks for lcbench and rbv2_xgboost)
INSTANCES = {"lcbench": ("167168", "189873", "189906", "3945", "7593", "34539"),
             "rbv2_xgboost": ("12", "1501", "16", "40499"),
             "iaml_glmnet": ("40981", "41146", "1489", "1067")}
