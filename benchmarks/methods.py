"""The methods the benchmark suite compares: ours (registered methods) and peer libraries.

Every method is turned into a :class:`~hpo.study.Study` on a problem, so the simulator runs
ours and the peers' decisions through exactly the same harness. Peers run in their own
virtualenvs behind a subprocess adapter (``benchmarks.peers``) or, for Ray Tune, in process.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.bench_method import BenchMethod
from benchmarks.peers import peer_methods
from benchmarks.problem import Problem
from hpo import MethodError, Study
from hpo.core.methods import Method, resolve_method


@dataclass
class Ours(BenchMethod):
    """One of scaletune's registered methods."""

    name: str
    method: Method

    def __post_init__(self) -> None:
        self.needs_fidelity = self.method.needs_fidelity

    def start(self, problem: Problem, seed: int) -> Study:
        return Study(problem.space, "loss", method=self.method, fidelity=problem.fidelity,
                     seed=seed)

    def report_levels(self, problem: Problem) -> list[float] | None:
        """A stopping-type method (ASHA ``variant="stopping"``) decides at its rung levels."""
        fidelity = problem.fidelity
        if fidelity is None or getattr(self.method, "variant", None) != "stopping":
            return None
        from schedulers import rung_levels

        return rung_levels(fidelity.min, fidelity.max, getattr(self.method, "eta", 3),
                           integer=fidelity.integer)[:-1]


@dataclass
class OwnBudgetCARBS(BenchMethod):
    """``carbs`` on an ``@cost-steps`` problem: each trial to its own epochs
    (``budget_param``), every report a result; ``stop_eta`` adds early stopping."""

    name: str
    stop_eta: float | None = None
    own_budget = True
    needs_fidelity = True

    def start(self, problem: Problem, seed: int) -> Study:
        from schedulers.carbs_method import CARBS

        axis = getattr(problem, "own_budget_axis", None)
        if axis is None:
            raise MethodError(f"{self.name} needs a problem whose trials choose their own "
                              f"budget (an @cost-steps problem), got {problem.name!r}")
        method = CARBS(budget_param=axis, stop_eta=self.stop_eta)
        return Study(problem.space, "loss", method=method, fidelity=problem.fidelity,
                     seed=seed)


def _ours() -> dict[str, BenchMethod]:
    from schedulers import ASHA
    from schedulers.freeze_thaw import FreezeThaw
    from schedulers.model_based import MOBSTER

    methods: dict[str, BenchMethod] = {
        "random": Ours("random", resolve_method("random")),
        "hyperband": Ours("hyperband", resolve_method("hyperband")),
        "asha": Ours("asha", resolve_method("asha")),
        "asha-stop": Ours("asha-stop", ASHA(variant="stopping")),
        "dehb": Ours("dehb", resolve_method("dehb")),
        "de": Ours("de", resolve_method("de")),
        "bo": Ours("bo", resolve_method("bo")),
        "mobster": Ours("mobster", resolve_method("mobster")),
        "mobster-log-t": Ours("mobster-log-t", MOBSTER(kernel="default")),
        "mobster-exp-decay": Ours("mobster-exp-decay", MOBSTER(kernel="exp-decay-sum")),
        "hyperband-bo": Ours("hyperband-bo", resolve_method("hyperband-bo")),
        "freeze-thaw": Ours("freeze-thaw", resolve_method("freeze-thaw")),
        # ablations of the default (geometric grid, ratio sqrt(2), p_sh 1)
        "freeze-thaw-linear": Ours("freeze-thaw-linear", FreezeThaw(grid="linear")),
        "freeze-thaw-geo3": Ours("freeze-thaw-geo3", FreezeThaw(ratio=3.0)),
        "freeze-thaw-sh50": Ours("freeze-thaw-sh50", FreezeThaw(p_sh=0.5)),
        "freeze-thaw-r0": Ours("freeze-thaw-r0", FreezeThaw(random_fraction=0.0)),
        "freeze-thaw-nocal": Ours("freeze-thaw-nocal", FreezeThaw(calibrate=False)),
        "freeze-thaw-nospare": Ours("freeze-thaw-nospare", FreezeThaw(spare_promotable=False)),
        "freeze-thaw-sh100": Ours("freeze-thaw-sh100", FreezeThaw(p_sh=1.0)),
        "freeze-thaw-sh25": Ours("freeze-thaw-sh25", FreezeThaw(p_sh=0.25)),
        "carbs": Ours("carbs", resolve_method("carbs")),
        "carbs-steps": OwnBudgetCARBS("carbs-steps"),
        "carbs-es": OwnBudgetCARBS("carbs-es", stop_eta=3),
    }
    return methods


def registry() -> dict[str, BenchMethod]:
    """Every method the suite knows: ours and the peers."""
    return {**_ours(), **peer_methods()}


def get_methods(names: list[str]) -> list[BenchMethod]:
    """Methods by name; an unknown name raises MethodError listing the valid ones."""
    known = registry()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise MethodError(f"unknown benchmark method(s) {unknown}; valid: {sorted(known)}")
    return [known[n] for n in names]
