"""``hpo.tune(..., backend="ray")``: run a study through Ray Tune, locally or on a cluster.

Our objective signature (``objective(trial)``) runs unchanged inside a Ray function trainable:
``trial.report`` becomes ``ray.tune.report`` with a Ray checkpoint made of the trial's
checkpoint directory (``trial.save_checkpoint`` bytes or files written to
``trial.checkpoint_dir``), and a restarted or promoted trial finds it again in
``trial.load_checkpoint()`` / ``trial.checkpoint_dir``. Ray decides when the trainable is
paused or stopped (from our verdicts), so ``report`` always answers CONTINUE here.

If the run directory already holds a Ray experiment (the driver crashed or was stopped), it is
restored with ``Tuner.restore`` and the study continues from its journal.

Ray saves its experiment state only every few seconds, so after a driver crash it may hand a
trial an older checkpoint than the journal's last result, or none (a trial Ray never saw is
re-created from the journal). Each report therefore also keeps the trial's last checkpoints
under ``<storage_path>/<name>/hpo_checkpoints/<trial>/<budget>/`` (a filesystem every node
sees, as Ray requires for multi-node runs; skipped for ``s3://``-style URIs), and a restored
trial starts from the one at its journal budget: nothing recorded is trained twice.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpo.core.decisions import Verdict
from hpo.errors import HPOError, HPOWarning
from hpo.execution.handle import BLOB, META, TrialHandle
from hpo.integrations._ray_convert import check_resources
from hpo.integrations.ray_tune import TRIAL_KEY, ray_components
from hpo.execution.loop import Limits
from hpo.space.ray import flatten
from hpo.core.study import Study
from hpo.core.trial import Ticket

BUDGET_KEY = "hpo_budget"
COST_KEY = "hpo_cost"
KEEP_SNAPSHOTS = 2  # per trial: the journal is at most one result behind the trainable


def _snapshot_name(budget: Any) -> str:
    return f"{float(budget):.17g}"


class RayTrialHandle(TrialHandle):
    """A trial handle whose reports go to ``ray.tune.report`` with a directory checkpoint."""

    fsync_checkpoints = False  # a scratch copy: Ray persists the checkpoint it is given

    def __init__(self, config: Mapping[str, Any], *, metric: str, max_budget: Any,
                 store: Path | None = None, journal_budget: Any = None) -> None:
        from ray import tune

        flat = flatten(dict(config))
        trial_id = int(flat.pop(TRIAL_KEY, -1))
        root = Path(tempfile.mkdtemp(prefix="hpo-ray-trial-"))
        self._tune = tune
        self._store = store / str(trial_id) if store is not None else None
        resume_from = 0
        restored = tune.get_checkpoint()
        if restored is not None:
            with restored.as_directory() as src:
                shutil.copytree(src, root / str(trial_id), dirs_exist_ok=True)
            meta = root / str(trial_id) / META
            if meta.exists():
                resume_from = json.loads(meta.read_text()).get("budget") or 0
        if self._store is not None and journal_budget and journal_budget > resume_from:
            snapshot = self._store / _snapshot_name(journal_budget)
            if snapshot.is_dir():  # Ray's experiment state lagged the journal (driver crash)
                shutil.rmtree(root / str(trial_id), ignore_errors=True)
                shutil.copytree(snapshot, root / str(trial_id))
                resume_from = journal_budget
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

            self._snapshot(directory, step)
            self._tune.report(result, checkpoint=Checkpoint.from_directory(str(directory)))
        else:
            self._tune.report(result)
        return Verdict.cont()

    def _snapshot(self, directory: Path, budget: Any) -> None:
        """Keep this checkpoint under the store (atomic rename), and only the last few."""
        if self._store is None:
            return
        final = self._store / _snapshot_name(budget)
        tmp = self._store / f".tmp-{_snapshot_name(budget)}"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(directory, tmp)
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        kept = sorted((p for p in self._store.iterdir() if not p.name.startswith(".")),
                      key=lambda p: float(p.name))
        for old in kept[:-KEEP_SNAPSHOTS]:
            shutil.rmtree(old, ignore_errors=True)

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


def make_trainable(objective: Any, metric: str, max_budget: Any, *, store: str | None = None,
                   journal_budgets: Mapping[int, Any] | None = None) -> Any:
    """A Ray function trainable running ``objective(trial)``.

    ``store``: the checkpoint snapshot directory (see the module docstring);
    ``journal_budgets``: each unfinished trial's last budget in the journal at start.
    """
    budgets = dict(journal_budgets or {})

    def trainable(config: dict[str, Any]) -> None:
        tid = int(flatten(dict(config)).get(TRIAL_KEY, -1))
        handle = RayTrialHandle(config, metric=metric, max_budget=max_budget,
                                store=Path(store) if store else None,
                                journal_budget=budgets.get(tid))
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
            if cluster.get(theirs, 0) < need:
                warnings.warn(f"each trial asks for {ours}={need:g} but the Ray cluster has "
                              f"{cluster.get(theirs, 0):g} {theirs}: trials wait until an "
                              "autoscaler adds some", HPOWarning, stacklevel=3)
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

    resources = check_resources(resources)
    if not ray.is_initialized():
        ray.init(address=address, configure_logging=False, log_to_driver=verbose > 0)
    if max_concurrent is None:
        max_concurrent = _concurrency(resources)
    searcher, scheduler = ray_components(study, max_concurrent=max_concurrent, limits=limits,
                                         time_attr=BUDGET_KEY, cost_attr=COST_KEY)
    searcher._bridge.embed_trial_id = True
    max_budget = study.fidelity.max if study.fidelity else None
    if storage_path is None:
        base = study.directory if study.directory is not None else Path(
            tempfile.mkdtemp(prefix="hpo-ray-"))
        storage_path = str(Path(base).resolve() / "ray")
    path = Path(storage_path) / name
    store = None if "://" in storage_path else str(path / "hpo_checkpoints")
    unfinished = {t.id: t.budget for t in study.trials.values()
                  if not t.status.is_terminal and t.observations}
    trainable = tune.with_resources(
        make_trainable(objective, study.objective.metric, max_budget, store=store,
                       journal_budgets=unfinished),
        resources)
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
