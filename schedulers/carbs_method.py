"""The ``carbs`` method: the CARBS searcher, each trial to its own budget, optional stopping.

Without ``budget_param`` every trial runs to the fidelity maximum (or, single-fidelity, until
the objective returns), as the reference CARBS does. With ``budget_param`` (a searched
dimension in fidelity units: epochs, steps) a trial's target is its own value of that
dimension and every report is a result of the config at the budget reached
(:class:`~searchers.carbs_settings.CarbsSettings`). ``stop_eta`` then adds early stopping
along a candidate's own budget (ASHA's stopping rule on the rungs
``rung_levels(fidelity.min, fidelity.max, stop_eta)`` from the dimension's lower bound on, since
reports below it are not results): a trial reaching a rung below its
target continues iff its loss ranks within the best ``ceil(n / stop_eta)`` of the ``n``
losses recorded at that rung so far (itself included; the first arrival continues), otherwise
it is stopped, and its last report stays its result, a cheaper point on the loss-cost plane.

Example:
    >>> import hpo
    >>> from schedulers.carbs_method import CARBS
    >>> space = hpo.SearchSpace([hpo.Float("lr", 1e-4, 1.0, log=True)])
    >>> study = hpo.Study(space, "loss", method=CARBS(spec=({"name": "lr", "centre": 1e-3},)),
    ...                   seed=0)
    >>> 1e-4 <= study.ask().config["lr"] <= 1.0
    True
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from hpo import Fidelity, Method, MethodError, Objective, Scheduler, SearchSpace
from hpo.core.decisions import CONTINUE, Start, Verdict
from hpo.core.protocols import StudyView
from hpo.core.trial import Observation, Trial
from hpo.rng import derive_seed
from schedulers.base import SearcherScheduler
from schedulers.brackets import rung_levels
from schedulers.fifo import FIFOScheduler
from searchers.carbs import CARBSSearcher, CarbsSettings
from searchers.carbs_space import CarbsParam

_EPS = 1e-9


@dataclass(frozen=True)
class CARBS(CarbsSettings, Method):
    """CARBS-style cost-aware Pareto search: the options of
    :class:`~searchers.carbs_settings.CarbsSettings` (validated by it), plus ``spec``: partial
    :class:`~searchers.carbs_space.CarbsParam` mappings by name, e.g. a cheap search centre
    ``({"name": "width", "centre": 64},)``."""

    spec: tuple[Mapping[str, Any], ...] = ()
    stop_eta: float | None = None
    name = "carbs"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.stop_eta is not None:
            if isinstance(self.stop_eta, bool) or not isinstance(self.stop_eta, (int, float)) \
                    or not math.isfinite(self.stop_eta) or self.stop_eta < 2:
                raise MethodError(f"CARBS stop_eta must be a number >= 2 or None, got "
                                  f"{self.stop_eta!r}")
            if self.budget_param is None:
                raise MethodError("CARBS stop_eta needs budget_param (the dimension a trial "
                                  "is stopped along)")
        if isinstance(self.spec, (str, bytes, Mapping)) or not isinstance(self.spec,
                                                                          (list, tuple)):
            raise MethodError(f"CARBS spec must be a list of parameter mappings, got "
                              f"{self.spec!r}")
        known = set(CarbsParam.__dataclass_fields__)
        for item in self.spec:
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) \
                    or set(item) - known:
                raise MethodError(f"CARBS spec entry {item!r} must be a mapping with a 'name' "
                                  f"and fields among {sorted(known)}")
        object.__setattr__(self, "spec", tuple(dict(item) for item in self.spec))

    def settings(self) -> CarbsSettings:
        return CarbsSettings(**{f.name: getattr(self, f.name) for f in fields(CarbsSettings)})

    def build(self, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
              seed: int) -> Scheduler:
        searcher = CARBSSearcher(space, seed=derive_seed(seed, "searcher"),
                                 settings=self.settings(), spec=self.spec)
        if self.budget_param is None:
            return FIFOScheduler(searcher, fidelity)
        if fidelity is None:
            raise MethodError(f"CARBS budget_param {self.budget_param!r} needs a fidelity (the "
                              "trials report along it)")
        return OwnBudgetScheduler(searcher, fidelity, self.budget_param, self.stop_eta)


class OwnBudgetScheduler(SearcherScheduler):
    """Each trial to its own ``budget_param`` value; ASHA stopping on rungs (see module)."""

    def __init__(self, searcher: CARBSSearcher, fidelity: Fidelity, budget_param: str,
                 stop_eta: float | None) -> None:
        super().__init__(searcher, fidelity)
        self.fidelity: Fidelity = fidelity
        self.budget_param = budget_param
        low = searcher.budget_low or fidelity.min
        self.rungs = [] if stop_eta is None else [
            r for r in rung_levels(fidelity.min, fidelity.max, stop_eta,
                                   integer=fidelity.integer)[:-1] if r >= low * (1 - _EPS)]
        self.stop_eta = stop_eta
        self._targets: dict[int, float] = {}
        self._rung_losses: dict[float, list[float]] = {r: [] for r in self.rungs}
        self._reached: dict[int, int] = {}  # trial -> rungs already judged

    def target(self, config: Mapping[str, Any]) -> float:
        value = float(config[self.budget_param])
        return min(max(value, float(self.fidelity.min)), float(self.fidelity.max))

    def next_action(self, view: StudyView) -> Start | None:
        config = self._suggest(view, None)
        if config is None:
            return None
        budget = self.target(config)
        self._targets[view.next_trial_id] = budget
        return Start(config, budget)

    def _decide(self, trial: Trial, obs: Observation) -> Verdict:
        target = self._targets.get(trial.id, self.target(trial.config))
        if obs.budget >= target * (1 - _EPS):
            return Verdict.stop(f"reached its own budget {target:g}")
        judged = self._reached.get(trial.id, 0)
        k = bisect.bisect_right(self.rungs, obs.budget * (1 + _EPS))
        if k <= judged or self.stop_eta is None:
            return CONTINUE
        self._reached[trial.id] = k
        rung = self.rungs[k - 1]  # the highest rung this report reached
        losses = self._rung_losses[rung]
        bisect.insort(losses, obs.loss if math.isfinite(obs.loss) else math.inf)
        allowed = int(math.ceil(len(losses) / self.stop_eta - _EPS))
        if bisect.bisect_left(losses, obs.loss if math.isfinite(obs.loss) else math.inf) \
                < allowed:
            return CONTINUE
        return Verdict.stop(f"early stop at rung {rung:g}: not in the best {allowed} of "
                            f"{len(losses)}")

    def _ended(self, trial: Trial) -> None:
        self._targets.pop(trial.id, None)
        self._reached.pop(trial.id, None)
