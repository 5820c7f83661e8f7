"""Column orders of the YAHPO Gym v1.0 surrogates, which a scenario's files do not store.

A scenario folder holds ``model.onnx``, ``config_space.json`` and ``encoding.json``: the
parameters, their ranges, conditions and categorical codes are read from those. The order of
the model's ``x_cont`` / ``x_cat`` input columns and of its outputs is fixed only by the
yahpo-gym package's scenario configs (yahpo_gym 1.0.x, ``benchmarks/lcbench.py``, ``rbv2.py``,
``iaml.py``; Apache-2.0, github.com/slds-lmu/yahpo_gym), copied here per scenario:

* ``cont`` / ``cat``: the input columns in order (the fidelity parameters are among ``cont``);
* ``targets`` / ``minimize``: the outputs in order and whether lower is better;
* ``fidelity``: the fidelity parameters; the first is the fidelity, the others are held at
  their maximum;
* ``instance``: the instance parameter; ``runtime``: the output that is an evaluation's cost.

A scenario not listed here runs when its folder holds a ``scenario.json`` with these fields.
"""

from __future__ import annotations

from typing import Any

_XGB = ["nrounds", "eta", "gamma", "lambda", "alpha", "subsample", "max_depth",
        "min_child_weight", "colsample_bytree", "colsample_bylevel", "rate_drop", "skip_drop"]
_RBV2_Y = ["acc", "bac", "auc", "brier", "f1", "logloss", "timetrain", "timepredict", "memory"]
_RBV2_MIN = [False, False, False, True, True, True, True, True, True]
_IAML_Y = ["mmce", "f1", "auc", "logloss", "ramtrain", "rammodel", "rampredict", "timetrain",
           "timepredict", "mec", "ias", "nf"]
_IAML_MIN = [True, False, False, True, True, True, True, True, True, True, True, True]


def _rbv2(cont: list[str], cat: list[str]) -> dict[str, Any]:
    return {"cont": [*cont, "trainsize", "repl"],
            "cat": ["task_id", *cat, "num.impute.selected.cpo"], "targets": _RBV2_Y,
            "minimize": _RBV2_MIN, "fidelity": ["trainsize", "repl"], "instance": "task_id",
            "runtime": "timetrain"}


def _iaml(cont: list[str], cat: list[str]) -> dict[str, Any]:
    return {"cont": [*cont, "trainsize"], "cat": ["task_id", *cat], "targets": _IAML_Y,
            "minimize": _IAML_MIN, "fidelity": ["trainsize"], "instance": "task_id",
            "runtime": "timetrain"}


SCENARIO_META: dict[str, dict[str, Any]] = {
    "lcbench": {
        "cont": ["epoch", "batch_size", "learning_rate", "momentum", "weight_decay",
                 "num_layers", "max_units", "max_dropout"],
        "cat": ["OpenML_task_id"],
        "targets": ["time", "val_accuracy", "val_cross_entropy", "val_balanced_accuracy",
                    "test_cross_entropy", "test_balanced_accuracy"],
        "minimize": [True, False, True, False, True, False],
        "fidelity": ["epoch"], "instance": "OpenML_task_id", "runtime": "time"},
    "rbv2_svm": _rbv2(["cost", "gamma", "tolerance", "degree"], ["kernel"]),
    "rbv2_ranger": _rbv2(["num.trees", "sample.fraction", "mtry.power", "min.node.size",
                          "num.random.splits"], ["respect.unordered.factors", "splitrule"]),
    "rbv2_rpart": _rbv2(["cp", "maxdepth", "minbucket", "minsplit"], []),
    "rbv2_glmnet": _rbv2(["alpha", "s"], []),
    "rbv2_xgboost": _rbv2(_XGB, ["booster"]),
    "rbv2_aknn": _rbv2(["k", "M", "ef", "ef_construction"], ["distance"]),
    "rbv2_super": _rbv2(
        ["svm.cost", "svm.gamma", "svm.tolerance", "svm.degree", "glmnet.alpha", "glmnet.s",
         "rpart.cp", "rpart.maxdepth", "rpart.minbucket", "rpart.minsplit",
         "ranger.num.trees", "ranger.sample.fraction", "ranger.mtry.power",
         "ranger.min.node.size", "ranger.num.random.splits", "aknn.k", "aknn.M", "aknn.ef",
         "aknn.ef_construction", *[f"xgboost.{x}" for x in _XGB]],
        ["learner_id", "svm.kernel", "ranger.respect.unordered.factors", "ranger.splitrule",
         "aknn.distance", "xgboost.booster"]),
    "iaml_ranger": _iaml(["num.trees", "sample.fraction", "mtry.ratio", "min.node.size",
                          "num.random.splits"],
                         ["replace", "respect.unordered.factors", "splitrule"]),
    "iaml_rpart": _iaml(["cp", "maxdepth", "minbucket", "minsplit"], []),
    "iaml_glmnet": _iaml(["alpha", "s"], []),
    "iaml_xgboost": _iaml(_XGB, ["booster"]),
    "iaml_super": _iaml(
        ["ranger.num.trees", "ranger.sample.fraction", "ranger.mtry.ratio",
         "ranger.min.node.size", "ranger.num.random.splits", "rpart.cp", "rpart.maxdepth",
         "rpart.minbucket", "rpart.minsplit", "glmnet.alpha", "glmnet.s",
         *[f"xgboost.{x}" for x in _XGB]],
        ["learner", "ranger.replace", "ranger.respect.unordered.factors", "ranger.splitrule",
         "xgboost.booster"]),
}

#: the target each scenario family optimises and whether larger is better (YAHPO-SO's choices:
#: ``benchmark_suites/v1.0/single.json`` uses val_accuracy for lcbench and acc for rbv2; iaml
#: has no single-objective suite entry, its first target mmce is used)
TARGET_CHOICES = {"lcbench": ("val_accuracy", True), "rbv2": ("acc", True),
                  "iaml": ("mmce", False)}
