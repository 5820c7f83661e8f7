"""``hpo.tune(..., backend="ray")``: run a study through Ray Tune, locally or on a cluster.

Our objective signature (``objective(trial)``) runs unchanged inside a Ray function trainable:
``trial.report`` becomes ``ray.tune.report`` with a Ray checkpoint made of the trial's
checkpoint directory (``trial.save_checkpoint`` bytes or files written to
``trial.checkpoint_dir``), and a restarted or promoted trial finds it again in
``trial.load_checkpoint()`` / ``trial.checkpoint_dir``. Ray decides when the trainable is
paused or stopped (from our verdicts), so ``report`` always answers CONTINUE here.

If the run directory already holds a Ray experiment (the driver crashed or was stopped), it is
restored with ``Tuner.restore`` and the study continues from its journal.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpo.decisions import Verdict
from hpo.errors import HPOError
from hpo.handle import BLOB, META, TrialHandle
from hpo.integrations.ray_tune import TRIAL_KEY, ray_components
from hpo.loop import Limits
from hpo.ray_space import flatten
from hpo.study import Study
from hpo.trial import Ticket

BUDGET_KEY = "hpo_budget"
COST_KEY = "hpo_cost"


class RayTrialHandle(TrialHandle):
    """A trial handle whose reports go to ``ray.tune.report`` with a directory checkpoint."""

    def __init__(self, config: Mapping[str, Any], *, metric: str, max_budget: Any) -> None:
        from ray import tune

        flat = flatten(dict(config))
        trial_id = int(flat.pop(TRIAL_KEY, -1))
        root = Path(tempfile.mkdtemp(prefix="hpo-ray-trial-"))
        self._tune = tune
        resume_from = 0
        restored = tune.get_checkpoint()
        if restored is not None:
            with restored.as_directory() as src:
                shutil.copytree(src, root / str(trial_id), dirs_exist_ok=True)
            meta = root / str(trial_id) / META
            if meta.exists():
                resume_from = json.loads(meta.read_text()).get("budget") or 0
        ticket = Ticket(trial_id=trial_id, config=flat, budget=max_budget,
                        resume_from=resume_from, max_budget=max_budget)
        super().__init__(ticket, self._send, metric=metric, checkpoint_root=root)
        self._pending_checkpoint = False

    def _send(self, trial_id: int, metrics: dict[str, Any], budget: Any,
              cost: float) -> Verdict:
        step = budget if budget is not None else (self._last_budget or 0) + 1
        result = {**metrics, BUDGET_KEY: step, COST_KEY: cost}
        directory = self._root / str(self.id) if self._root is not None else None
        if directory is not None and directory.exists() and any(directory.iterdir()):
            from ray.tune import Checkpoint

            self._tune.report(result, checkpoint=Checkpoint.from_directory(str(directory)))
        else:
            self._tune.report(result)
        return Verdict.cont()

    def report(self, metrics: Mapping[str, Any] | float, *, budget: Any = None,
               cost: float | None = None, checkpoint: Any = None) -> Verdict:
        """Checkpoint first (Ray stores it with the result), then report."""
        if budget is not None and self._last_budget and budget <= self._last_budget:
            return Verdict.cont("duplicate report ignored")
        if isinstance(checkpoint, (bytes, bytearray)):
            self.save_checkpoint(bytes(checkpoint), budget=budget)
        elif callable(checkpoint):
            self.save_checkpoint(checkpoint(), budget=budget)
        return super().report(metrics, budget=budget, cost=cost)


def make_trainable(objective: Any, metric: str, max_budget: Any) -> Any:
    """A Ray function trainable running ``objective(trial)``."""

    def trainable(config: dict[str, Any]) -> None:
        handle = RayTrialHandle(config, metric=metric, max_budget=max_budget)
        try:
            handle._finish(objective(handle))
        finally:
            shutil.rmtree(handle._root, ignore_errors=True)

    trainable.__name__ = getattr(objective, "__name__", "objective")
    return trainable


def _concurrency(resources: Mapping[str, float]) -> int:
    import ray

    cluster = ray.cluster_resources()
    slots = []
    for ours, theirs in (("cpu", "CPU"), ("gpu", "GPU")):
        need = float(resources.get(ours, 0))
        if need > 0:
            slots.append(int(cluster.get(theirs, 0) // need))
    return max(1, min(slots)) if slots else 1


def run_ray(study: Study, objective: Any, *, limits: Limits,
            resources: Mapping[str, float] | None = None, max_concurrent: int | None = None,
            address: str | None = None, storage_path: str | None = None, name: str = "tune",
            max_failures: int = 0, verbose: int = 0) -> Study:
    """Run ``objective`` under ``study`` with Ray Tune (see the module docstring).

    Args:
        resources: per trial, e.g. ``{"cpu": 1, "gpu": 0.5}`` (fractional GPUs allowed).
        max_concurrent: trials running at once (default: what the resources allow).
        address: a running cluster (``"auto"``, ``"ray://host:10001"``); None starts or
            joins a local Ray runtime.
        storage_path: where Ray keeps the experiment (default: ``<study dir>/ray``).
        max_failures: Ray retries of a crashed trial (``FailureConfig``).
    """
    import ray
    from ray import tune

    resources = dict(resources or {"cpu": 1})
    if not ray.is_initialized():
        ray.init(address=address, configure_logging=False, log_to_driver=verbose > 0)
    if max_concurrent is None:
        max_concurrent = _concurrency(resources)
    searcher, scheduler = ray_components(study, max_concurrent=max_concurrent, limits=limits,
                                         time_attr=BUDGET_KEY, cost_attr=COST_KEY)
    searcher._bridge.embed_trial_id = True
    max_budget = study.fidelity.max if study.fidelity else None
    trainable = tune.with_resources(make_trainable(objective, study.objective.metric,
                                                   max_budget),
                                    {k: v for k, v in resources.items() if v})
    if storage_path is None:
        base = study.directory if study.directory is not None else Path(
            tempfile.mkdtemp(prefix="hpo-ray-"))
        storage_path = str(Path(base).resolve() / "ray")
    path = Path(storage_path) / name
    if tune.Tuner.can_restore(str(path)):
        tuner = tune.Tuner.restore(str(path), trainable, resume_unfinished=True,
                                   resume_errored=True)
    else:
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler,
                                        num_samples=-1, reuse_actors=True),
            run_config=tune.RunConfig(name=name, storage_path=storage_path, verbose=verbose,
                                      failure_config=tune.FailureConfig(
                                          max_failures=max_failures)))
    tuner.fit()
    study.refresh()
    bridge = searcher._bridge
    if bridge.fatal:
        raise HPOError(bridge.fatal)
    return study
