"""Benchmark suites: which problems, methods, seeds, workers and budget.

The budget of a run is ``budget`` full-fidelity evaluations' worth of resource
(``budget * fidelity.max``; single-fidelity problems: ``single_budget`` evaluations).

Issue 10's comparisons: ``bo`` against random search, Optuna GP / TPE and SMAC on the
single-fidelity problems (FCNet, and Branin / Hartmann / LCBench ``@full``: at full fidelity
only; the ``single`` suite), ``mobster`` and ``hyperband-bo`` against ASHA, Hyperband, DEHB,
Syne Tune MOBSTER / Hyper-Tune / BOHB and Optuna TPE-HB on the multi-fidelity ones. Methods
that need a fidelity are skipped on single-fidelity problems.

Issue 12's ``cost`` suite: ``carbs`` against the reference CARBS, ``bo`` and random search on
cost-aware problems (epochs and width searched, :mod:`benchmarks.cost_aware`), and ``carbs``
with each trial's row moving along its epochs (``carbs-steps``) and early stopping along them
(``carbs-es``) on the ``@cost-steps`` twins, scored by the
Pareto metrics of :mod:`benchmarks.pareto_metrics` (``python -m benchmarks cost-report``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from hpo.errors import HPOError

OURS = ("random", "hyperband", "asha", "asha-stop", "dehb")
MODEL_BASED = ("bo", "mobster", "hyperband-bo")
PEERS = ("dehb-ref", "optuna-tpe-hb", "smac-mf", "synetune-bohb", "ray-asha")
GP_PEERS = ("synetune-mobster", "synetune-hypertune")
SINGLE_PEERS = ("optuna-gp", "optuna-tpe", "smac-hpo")
SINGLE_FIDELITY = ("fcnet/protein_structure", "fcnet/naval_propulsion", "branin@full",
                   "hartmann@full", "lcbench/167168@full", "lcbench/189873@full",
                   "lcbench/189906@full")
#: issue 12's cost-aware problems (compute searched; :mod:`benchmarks.cost_aware`)
COST_AWARE = ("lcbench/189873@cost", "lcbench/167168@cost", "digits@cost",
              "lcbench/189873@cost-steps", "lcbench/167168@cost-steps", "digits@cost-steps")


@dataclass(frozen=True)
class Suite:
    name: str
    problems: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: int = 10
    workers: int = 4
    budget: float = 30.0
    single_budget: float = 100.0

    def with_overrides(self, *, problems: list[str] | None = None,
                       methods: list[str] | None = None, seeds: int | None = None,
                       workers: int | None = None, budget: float | None = None,
                       single_budget: float | None = None) -> Suite:
        return replace(self, problems=tuple(problems) if problems else self.problems,
                       methods=tuple(methods) if methods else self.methods,
                       seeds=seeds or self.seeds, workers=workers or self.workers,
                       budget=budget or self.budget,
                       single_budget=single_budget or self.single_budget)


SUITES = {
    "quick": Suite("quick", ("branin", "hartmann", "curves", "digits"), OURS, seeds=10,
                   workers=4, budget=20),
    "standard": Suite("standard", (
        "branin", "hartmann", "curves", "digits",
        "lcbench/167168", "lcbench/189873", "lcbench/189906",
        "rbv2_xgboost/12", "rbv2_xgboost/1501",
        "iaml_glmnet/40981", "iaml_glmnet/1489",
        "lcdb/6", "lcdb/1590") + SINGLE_FIDELITY,
        OURS + MODEL_BASED + PEERS + GP_PEERS + SINGLE_PEERS, seeds=10, workers=4, budget=30),
    "single": Suite("single", SINGLE_FIDELITY, ("random", "bo") + SINGLE_PEERS, seeds=10,
                    workers=4, budget=30, single_budget=30),
    "cost": Suite("cost", COST_AWARE, ("random", "bo", "carbs", "carbs-ref", "carbs-steps",
                                       "carbs-es"), seeds=10,
                  workers=4, budget=40, single_budget=40),
    "full": Suite("full", (), OURS + MODEL_BASED + PEERS + GP_PEERS + SINGLE_PEERS, seeds=30,
                  workers=4, budget=50, single_budget=200),
}


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise HPOError(f"unknown suite {name!r}; valid suites: {sorted(SUITES)}")
    suite = SUITES[name]
    if name == "full":
        from benchmarks.problems import all_names

        suite = replace(suite, problems=tuple(all_names()))
    return suite
