"""Ray Tune's own ``ASHAScheduler`` (stopping-type) with Ray's random sampling, in process.

The decisions are Ray's: every report is passed to ``AsyncHyperBandScheduler.on_trial_result``
and its CONTINUE / STOP is obeyed; configs are sampled from the space's Ray Tune domains
(``SearchSpace.to_ray``), as ``BasicVariantGenerator`` does. Ray draws its bracket with the
*global* ``numpy.random`` (a known Ray defect), and importing Ray draws from the global
``random``; the adapter swaps in a per-run state around those calls (and restores ``random``
around the import) so runs stay reproducible and the global states are left untouched.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from benchmarks.bench_method import BenchMethod, geometric_levels
from benchmarks.problem import Problem
from hpo import Study
from hpo.core.decisions import CONTINUE, Start, Verdict
from hpo.core.protocols import Scheduler, StudyView
from hpo.core.trial import Observation, Trial
from hpo.core.types import Fidelity
from hpo.space.search_space import SearchSpace


class _IsolatedGlobalRNG:
    """Run a block with private ``numpy.random`` and ``random`` global states."""

    def __init__(self, seed: int) -> None:
        self._state = np.random.RandomState(seed).get_state()
        self._py_state = random.Random(seed).getstate()

    def __enter__(self) -> None:
        self._saved = np.random.get_state()
        self._py_saved = random.getstate()
        np.random.set_state(self._state)
        random.setstate(self._py_state)

    def __exit__(self, *exc: object) -> None:
        self._state, self._py_state = np.random.get_state(), random.getstate()
        np.random.set_state(self._saved)
        random.setstate(self._py_saved)


class RayASHAScheduler(Scheduler):
    """Adapter: Ray's ASHAScheduler decides, Ray's domains sample."""

    def __init__(self, space: SearchSpace, fidelity: Fidelity, seed: int, eta: int = 3) -> None:
        saved = random.getstate()  # importing Ray draws from the global ``random``
        try:
            from ray.tune.schedulers import ASHAScheduler
        finally:
            random.setstate(saved)

        self._ray = ASHAScheduler(time_attr="training_iteration", metric="loss", mode="min",
                                  max_t=fidelity.max, grace_period=fidelity.min,
                                  reduction_factor=eta)
        self._domains = space.to_ray(nested=False)
        self._space = space
        self._fidelity = fidelity
        self._rng = np.random.default_rng(seed)
        self._global = _IsolatedGlobalRNG(seed)
        self._trials: dict[int, Any] = {}

    def next_action(self, view: StudyView) -> Start:
        config = {name: (d.sample(random_state=self._rng) if hasattr(d, "sample") else d)
                  for name, d in self._domains.items()}
        trial = SimpleNamespace(trial_id=str(view.next_trial_id))
        with self._global:
            self._ray.on_trial_add(None, trial)
        self._trials[view.next_trial_id] = trial
        return Start(config, self._fidelity.max)

    def on_result(self, trial: Trial, obs: Observation) -> Verdict:
        result = {"training_iteration": obs.budget, "loss": obs.loss}
        with self._global:
            action = self._ray.on_trial_result(None, self._trials[trial.id], result)
        if action == "STOP":
            return Verdict.stop("Ray ASHAScheduler: STOP")
        return CONTINUE

    def on_end(self, trial: Trial) -> None:
        ray_trial = self._trials.pop(trial.id, None)
        if ray_trial is not None:
            self._ray.on_trial_remove(None, ray_trial)


@dataclass
class RayASHA(BenchMethod):
    name: str = "ray-asha"
    family: str = "peer"
    needs_fidelity: bool = True

    def start(self, problem: Problem, seed: int) -> Study:
        return Study(problem.space, "loss",
                     method=RayASHAScheduler(problem.space, problem.fidelity, seed),
                     fidelity=problem.fidelity, seed=seed)

    def report_levels(self, problem: Problem) -> list[float] | None:
        """Ray's rungs: ``grace_period * reduction_factor**k`` (grace = fidelity.min, 3)."""
        return geometric_levels(problem.fidelity, 3) if problem.fidelity else None
