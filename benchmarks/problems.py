"""Problem names -> problems (built once per process)."""

from __future__ import annotations

from functools import cache

from benchmarks.problem import Problem
from hpo.errors import HPOError

SYNTHETIC = ("branin", "hartmann", "curves")


def all_names() -> list[str]:
    from benchmarks.tabular import FCNET_TASKS, LCDB_DATASETS
    from benchmarks.yahpo import INSTANCES

    names = list(SYNTHETIC) + ["digits"]
    for scenario, instances in INSTANCES.items():
        names += [f"{scenario}/{i}" for i in instances]
    names += [f"fcnet/{t}" for t in FCNET_TASKS]
    names += [f"lcdb/{d}" for d in LCDB_DATASETS]
    return names


class UnknownProblem(HPOError, KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@cache
def get_problem(name: str) -> Problem:
    """Build a problem by name (see :func:`all_names`; any downloaded YAHPO scenario runs as
    ``<scenario>/<instance>``, see :func:`benchmarks.yahpo.known_scenarios`).

    Raises:
        UnknownProblem: the message lists the valid names.
        benchmarks.data.DataMissingError: its data is not available.
    """
    family, _, instance = name.partition("/")
    if name in ("branin", "hartmann"):
        from benchmarks.synthetic import BotorchMF

        return BotorchMF(name)
    if name == "curves":
        from benchmarks.synthetic import LearningCurves

        return LearningCurves()
    if name == "digits":
        from benchmarks.training import DigitsMLP

        return DigitsMLP()
    if family == "fcnet" and instance:
        from benchmarks.tabular import FCNet

        return FCNet(instance)
    if family == "lcdb" and instance.isdigit():
        from benchmarks.tabular import LCDB

        return LCDB(int(instance))
    if instance:
        from benchmarks.yahpo import YahpoProblem, known_scenarios

        if family in known_scenarios():  # any YAHPO scenario with a known column layout
            return YahpoProblem(family, instance)
    raise UnknownProblem(f"unknown problem {name!r}; valid problems: {all_names()}")
