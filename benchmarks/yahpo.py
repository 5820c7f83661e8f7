"""YAHPO Gym surrogate benchmarks with our own numpy + onnxruntime loader (batched).

Each scenario folder holds ``model.onnx`` (inputs ``x_cont`` float32 ``(n, n_cont)`` and
``x_cat`` int32 ``(n, n_cat)``; output float32 ``(n, n_targets)`` in original units),
``config_space.json`` (ConfigSpace JSON, read with ``json``) and ``encoding.json`` (categorical
value -> integer code; inactive categoricals are ``"#na#"``, inactive continuous inputs 0).

Any scenario whose folder a user has downloaded runs: its parameters, ranges, instances,
fidelity bounds and conditions are read from ``config_space.json``, its codes from
``encoding.json``; the column orders (not stored in those files) come from
:mod:`benchmarks.yahpo_meta` (YAHPO Gym v1.0's scenario configs) or from a ``scenario.json``
in the folder, and are checked against the model's input and output widths.

Conditions are parsed into :class:`Condition` objects (``YahpoProblem.conditions``, full
ConfigSpace semantics, used by the surrogate's encoding) and those a ``hpo.SearchSpace`` can
express become its conditional parameters (:func:`space_conditions`): on rbv2, e.g., xgboost's
tree parameters exist only for tree boosters, so methods neither sample nor model them otherwise.

Regret is normalised with YAHPO's ``global_statistics`` (per instance and target: the best and
worst value in the surrogate's training data).
Source: Pfisterer et al., "YAHPO Gym", AutoML-Conf 2022; data github.com/slds-lmu/yahpo_data.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

import hpo
from benchmarks.data import DataMissingError, data_path, data_root
from benchmarks.problem import Problem
from benchmarks.yahpo_meta import SCENARIO_META, TARGET_CHOICES
from hpo import Categorical, Constant, Fidelity, Float, HPOError, Int, SearchSpace
from hpo.core.types import Config

#: fidelity parameters a trial can continue along (checkpoints); others mean retraining
RESUMABLE_FIDELITIES = frozenset({"epoch"})
_META_FIELDS = ("cont", "cat", "targets", "minimize", "fidelity", "instance", "runtime")


class YahpoError(HPOError, ValueError):
    """A YAHPO scenario, instance or target that cannot be used (the message names it)."""


@dataclass(frozen=True)
class Condition:
    """``child`` is active iff the condition on ``parent`` holds (ConfigSpace semantics).

    ``kind`` is ``EQ`` / ``NEQ`` / ``IN`` (``values``), ``LT`` / ``GT`` (``values[0]``), or
    ``AND`` / ``OR`` over ``parts`` (then ``parent`` is empty).
    """

    child: str
    kind: str
    parent: str = ""
    values: tuple[Any, ...] = ()
    parts: tuple[Condition, ...] = ()

    def holds(self, config: Mapping[str, Any]) -> bool:
        if self.kind == "AND":
            return all(p.holds(config) for p in self.parts)
        if self.kind == "OR":
            return any(p.holds(config) for p in self.parts)
        value = config.get(self.parent)
        if value is None:
            return False
        if self.kind in ("EQ", "IN"):
            return value in self.values
        if self.kind == "NEQ":
            return value not in self.values
        return value < self.values[0] if self.kind == "LT" else value > self.values[0]

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(q for p in self.parts for q in p.parents) if self.parts else (self.parent,)


def parse_condition(raw: Mapping[str, Any]) -> Condition:
    """One ConfigSpace JSON condition (``{"child", "parent", "type", "value(s)"}`` or a
    conjunction ``{"type": "AND" | "OR", "conditions": [...]}``)."""
    kind = raw.get("type")
    if kind in ("AND", "OR"):
        parts = tuple(parse_condition(c) for c in raw["conditions"])
        return Condition(parts[0].child, kind, parts=parts)
    if kind in ("EQ", "NEQ", "LT", "GT"):
        return Condition(raw["child"], kind, raw["parent"], (raw["value"],))
    if kind == "IN":
        return Condition(raw["child"], kind, raw["parent"], tuple(raw["values"]))
    raise YahpoError(f"unsupported ConfigSpace condition type {kind!r} in {dict(raw)}")


def parse_conditions(config_space: Mapping[str, Any]) -> dict[str, Condition]:
    """child name -> its condition (several on one child are joined with AND)."""
    out: dict[str, Condition] = {}
    for raw in config_space.get("conditions") or []:
        cond = parse_condition(raw)
        if cond.child in out:
            cond = Condition(cond.child, "AND", parts=(out[cond.child], cond))
        out[cond.child] = cond
    return out


def is_active(conditions: Mapping[str, Condition], config: Mapping[str, Any], name: str,
              ) -> bool:
    """Whether ``name`` is active in ``config``: its condition holds and its parents are."""
    cond = conditions.get(name)
    if cond is None:
        return True
    return cond.holds(config) and all(is_active(conditions, config, p) for p in cond.parents)


def space_conditions(conditions: Mapping[str, Condition],
                     params: Sequence[Any]) -> list[hpo.Condition]:
    """The scenario's conditions that a :class:`hpo.SearchSpace` can express.

    ``EQ`` / ``IN`` (and ``AND`` of them) become ``hpo.Condition``; ``NEQ`` on a categorical
    parent becomes ``IN`` of the other choices. ``LT`` / ``GT`` / ``OR`` conditions, and those
    on constants (the instance, fixed fidelity columns), stay flat: that child is then always
    sampled and the surrogate ignores it where it is inactive (as before).
    """
    searchable = {p.name: p for p in params if not isinstance(p, Constant)}
    out: list[hpo.Condition] = []
    for child, cond in conditions.items():
        if child not in searchable:
            continue
        parts = cond.parts if cond.kind == "AND" else (cond,)
        converted = [_as_in(child, part, searchable) for part in parts]
        if all(c is not None for c in converted):
            out.extend(c for c in converted if c is not None)
    return out


def _as_in(child: str, cond: Condition, params: Mapping[str, Any]) -> hpo.Condition | None:
    parent = params.get(cond.parent)
    if parent is None:
        return None
    if cond.kind in ("EQ", "IN"):
        return hpo.Condition(child, cond.parent, list(cond.values))
    if cond.kind == "NEQ" and isinstance(parent, Categorical):
        others = [c for c in parent.choices if c not in cond.values]
        return hpo.Condition(child, cond.parent, others) if others else None
    return None


@dataclass(frozen=True)
class Scenario:
    """A scenario's column layout (see :mod:`benchmarks.yahpo_meta`)."""

    name: str
    cont: tuple[str, ...]
    cat: tuple[str, ...]
    targets: tuple[str, ...]
    minimize: tuple[bool, ...]
    fidelity: tuple[str, ...]
    instance: str
    runtime: str


def known_scenarios() -> list[str]:
    """Scenarios with built-in column orders, plus downloaded ones with a ``scenario.json``."""
    names = set(SCENARIO_META)
    root = data_root()
    if root is not None and (root / "yahpo").is_dir():
        names |= {p.parent.name for p in (root / "yahpo").glob("*/scenario.json")}
    return sorted(names)


@cache
def load_scenario(name: str) -> Scenario:
    """The layout of scenario ``name``: its folder's ``scenario.json``, else the built-in one.

    Raises:
        YahpoError: no layout is known for ``name``, or it is malformed.
        DataMissingError: a scenario.json is needed but the scenario's folder is missing.
    """
    meta = SCENARIO_META.get(name)
    try:
        meta = json.loads(data_path("yahpo", name, "scenario.json").read_text())
    except DataMissingError:
        if meta is None:
            raise YahpoError(f"unknown YAHPO scenario {name!r}: its column order is not built "
                             f"in and {name}/scenario.json is missing; built in: "
                             f"{sorted(SCENARIO_META)}") from None
    missing = [f for f in _META_FIELDS if f not in meta]
    if missing or len(meta["minimize"]) != len(meta["targets"]):
        raise YahpoError(f"YAHPO scenario {name!r}: layout needs {list(_META_FIELDS)} with one "
                         f"minimize flag per target; missing {missing}")
    return Scenario(name, tuple(meta["cont"]), tuple(meta["cat"]), tuple(meta["targets"]),
                    tuple(bool(m) for m in meta["minimize"]), tuple(meta["fidelity"]),
                    meta["instance"], meta["runtime"])


@cache
def _session(scenario: str) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(data_path("yahpo", scenario, "model.onnx")), options,
                                providers=["CPUExecutionProvider"])


@cache
def _meta(scenario: str) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    config_space = json.loads(data_path("yahpo", scenario, "config_space.json").read_text())
    encoding = json.loads(data_path("yahpo", scenario, "encoding.json").read_text())
    return config_space, encoding


@cache
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
        self.name = scenario
        self.spec = load_scenario(scenario)
        self.config_space, self.encoding = _meta(scenario)
        self.params = {hp["name"]: hp for hp in self.config_space["hyperparameters"]}
        self.conditions = parse_conditions(self.config_space)
        self.session = _session(scenario)
        self._check()

    def _check(self) -> None:
        spec = self.spec
        unknown = [n for n in spec.cont + spec.cat if n not in self.params]
        no_codes = [n for n in spec.cat if n not in self.encoding]
        widths = {i.name: i.shape[1] for i in self.session.get_inputs()}
        out = self.session.get_outputs()[0].shape[1]
        if unknown or no_codes or widths != {"x_cont": len(spec.cont), "x_cat": len(spec.cat)} \
                or out != len(spec.targets) or spec.instance not in spec.cat:
            raise YahpoError(
                f"YAHPO scenario {self.name!r}: its layout does not fit its files (not in "
                f"config_space.json: {unknown}; not in encoding.json: {no_codes}; model "
                f"inputs {widths} and {out} outputs vs {len(spec.cont)} cont, {len(spec.cat)} "
                f"cat, {len(spec.targets)} targets)")

    def predict(self, configs: Sequence[dict[str, Any]]) -> np.ndarray:
        """Outputs (n, n_targets) for full configs (instance and fidelity included)."""
        x_cont = np.zeros((len(configs), len(self.spec.cont)), dtype=np.float32)
        x_cat = np.zeros((len(configs), len(self.spec.cat)), dtype=np.int32)
        for i, config in enumerate(configs):
            for j, name in enumerate(self.spec.cont):
                if name in config and is_active(self.conditions, config, name):
                    x_cont[i, j] = config[name]
            for j, name in enumerate(self.spec.cat):
                active = is_active(self.conditions, config, name)
                value = config.get(name) if active else None
                codes = self.encoding[name]
                x_cat[i, j] = codes[str(value)] if value is not None else codes["#na#"]
        return self.session.run(None, {"x_cont": x_cont, "x_cat": x_cat})[0]


def default_target(scenario: Scenario) -> tuple[str, bool]:
    """The scenario family's YAHPO-SO target (``TARGET_CHOICES``), else its first target."""
    for key in (scenario.name, scenario.name.split("_")[0]):
        if key in TARGET_CHOICES and TARGET_CHOICES[key][0] in scenario.targets:
            return TARGET_CHOICES[key]
    return scenario.targets[0], not scenario.minimize[0]


class YahpoProblem(Problem):
    """One YAHPO instance (e.g. ``lcbench/167168``): minimise the loss of its target.

    Attributes:
        conditions: child parameter -> :class:`Condition`, parsed from the scenario's
            ``config_space.json`` (empty for unconditional scenarios). Not yet part of
            ``space``, which samples every parameter (see the module docstring).
    """

    def __init__(self, scenario: str, instance: str, target: str | None = None) -> None:
        self.surrogate = YahpoSurrogate(scenario)
        spec = self.surrogate.spec
        self.scenario, self.instance = scenario, instance
        self.name = f"{scenario}/{instance}"
        metric, maximise = default_target(spec)
        if target is not None:
            if target not in spec.targets:
                raise YahpoError(f"YAHPO scenario {scenario!r} has no target {target!r}; "
                                 f"valid: {list(spec.targets)}")
            metric, maximise = target, not spec.minimize[spec.targets.index(target)]
        self.target = metric
        self._col = spec.targets.index(metric)
        self._runtime = spec.targets.index(spec.runtime)
        self._sign = -1.0 if maximise else 1.0
        self.conditions = self.surrogate.conditions
        self.space, self.fidelity = self._spaces(instance)
        self.resumable = spec.fidelity[0] in RESUMABLE_FIDELITIES
        stats = global_statistics()
        try:
            best = stats[(scenario, instance, metric, "max" if maximise else "min")]
            worst = stats[(scenario, instance, metric, "min" if maximise else "max")]
        except KeyError:
            raise YahpoError(f"no global_statistics for {scenario}/{instance} target "
                             f"{metric!r} (needed for normalised regret)") from None
        self.optimum, self.reference = self._sign * best, self._sign * worst

    def _spaces(self, instance: str) -> tuple[SearchSpace, Fidelity]:
        """The search space, with the conditions it can express (see :func:`space_conditions`)."""
        spec = self.surrogate.spec
        params: list[Any] = []
        fidelity = None
        for hp in self.surrogate.config_space["hyperparameters"]:
            name, kind = hp["name"], hp["type"]
            if name not in spec.cont and name not in spec.cat:
                continue  # not a model input
            if name == spec.instance:
                if instance not in hp["choices"]:
                    raise YahpoError(f"{self.surrogate.name} has no instance {instance!r}; "
                                     f"valid: {hp['choices']}")
                params.append(Constant(name, instance))
            elif name == spec.fidelity[0]:
                fidelity = Fidelity(name, hp["lower"], hp["upper"],
                                    integer=kind == "uniform_int")
            elif name in spec.fidelity:  # other fidelity parameters: held at their maximum
                params.append(Constant(name, hp["upper"]))
            elif kind == "uniform_float":
                params.append(Float(name, float(hp["lower"]), float(hp["upper"]),
                                    log=hp.get("log", False)))
            elif kind == "uniform_int":
                params.append(Int(name, hp["lower"], hp["upper"], log=hp.get("log", False)))
            elif kind in ("categorical", "ordinal"):
                params.append(Categorical(name, hp.get("choices", hp.get("sequence"))))
            elif kind == "constant":
                params.append(Constant(name, hp["value"]))
            else:
                raise YahpoError(f"{self.surrogate.name}: unsupported parameter type "
                                 f"{kind!r} of {name!r}")
        if fidelity is None:
            raise YahpoError(f"{self.surrogate.name}: fidelity {spec.fidelity[0]!r} is not "
                             "in config_space.json")
        return SearchSpace(params, space_conditions(self.conditions, params)), fidelity

    def evaluate_many(self, configs: Sequence[Config], budgets: Sequence[float],
                      ) -> tuple[np.ndarray, np.ndarray]:
        """Losses and costs of (config, budget) pairs in one surrogate call."""
        name = self.surrogate.spec.fidelity[0]
        rows = [{**c, name: b} for c, b in zip(configs, budgets, strict=True)]
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
