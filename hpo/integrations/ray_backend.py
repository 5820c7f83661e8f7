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
re-created from the journal), and Ray's workers can outlive a killed driver. Each report
therefore also keeps the trial's checkpoint under
``<storage_path>/<name>/hpo_checkpoints/<trial>/<budget>-g<generation>/`` (a filesystem every
node sees, as Ray requires for multi-node runs; skipped for ``s3://``-style URIs), and a
restored trial loads exactly the one the driver assigned it, at its journal budget: nothing
recorded is trained twice, and an orphaned worker of an earlier driver run can never change
what is loaded (see :mod:`hpo.integrations._ray_fence`).

Ctrl-C (SIGINT) lets Ray save its state, then raises ``KeyboardInterrupt`` as the local path
does; rerunning with the same storage resumes.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpo.core.decisions import Verdict
from hpo.core.study import Study
from hpo.core.trial import Ticket
from hpo.errors import HPOError
from hpo.execution.handle import META, TrialHandle
from hpo.execution.loop import Limits
from hpo.integrations import _ray_fence as fence
from hpo.integrations import _ray_runtime as runtime
from hpo.integrations._ray_convert import check_resources
from hpo.integrations.ray_tune import TRIAL_KEY, ray_components
from hpo.space.ray import flatten

logger = logging.getLogger(__name__)

BUDGET_KEY = "hpo_budget"
COST_KEY = "hpo_cost"
SNAPSHOT_KEY = "hpo_snapshot"  # the snapshot a result's checkpoint was stored as (a string)


class RayTrialHandle(TrialHandle):
    """A trial handle whose reports go to ``ray.tune.report`` with a directory checkpoint."""

    fsync_checkpoints = False  # a scratch copy: Ray / the snapshot store persist it

    def __init__(self, config: Mapping[str, Any], *, metric: str, max_budget: Any,
                 store: Path | None = None, generation: int = 0) -> None:
        from ray import tune

        flat = flatten(dict(config))
        trial_id = int(flat.pop(TRIAL_KEY, -1))
        root = Path(tempfile.mkdtemp(prefix="hpo-ray-trial-"))
        self._tune = tune
        self._store = store
        self._generation = generation
        here = root / str(trial_id)
        resume_from: Any = 0
        if store is not None:  # load exactly what this generation's driver assigned
            fence.register_worker(store.parent, generation)
            assigned = fence.assignment(store, trial_id, generation)
            if assigned is not None:
                resume_from = assigned["budget"]
                snapshot = assigned.get("snapshot")
                if snapshot and (store / str(trial_id) / snapshot).is_dir():
                    shutil.copytree(store / str(trial_id) / snapshot, here)
                elif snapshot:
                    logger.warning("trial %d: its checkpoint %s is missing; restarting it from "
                                   "scratch (results up to %s are kept)", trial_id, snapshot,
                                   resume_from)
        else:  # no shared store (e.g. s3:// storage): Ray's checkpoint, if it is this trial's
            restored = tune.get_checkpoint()
            if restored is not None:
                with restored.as_directory() as src:
                    shutil.copytree(src, here, dirs_exist_ok=True)
                meta = json.loads((here / META).read_text()) if (here / META).exists() else {}
                if meta.get("trial", trial_id) != trial_id:
                    shutil.rmtree(here, ignore_errors=True)
                else:
                    resume_from = meta.get("budget") or 0
        ticket = Ticket(trial_id=trial_id, config=flat, budget=max_budget,
                        resume_from=resume_from, max_budget=max_budget)
        super().__init__(ticket, self._send, metric=metric, checkpoint_root=root)

    def _checkpoint_meta(self, budget: Any) -> dict[str, Any]:
        return {**super()._checkpoint_meta(budget), "generation": self._generation}

    def _send(self, trial_id: int, metrics: dict[str, Any], budget: Any,
              cost: float) -> Verdict:
        step = budget if budget is not None else (self._last_budget or 0) + 1
        result = {**metrics, BUDGET_KEY: step, COST_KEY: cost}
        directory = self._root / str(self.id) if self._root is not None else None
        if directory is not None and directory.exists() and any(directory.iterdir()):
            from ray.tune import Checkpoint

            meta = directory / META  # stamp: (trial, budget, generation) of this checkpoint
            old = json.loads(meta.read_text()) if meta.exists() else {}
            meta.write_text(json.dumps({**old, **self._checkpoint_meta(step),
                                        "budget": old.get("budget", step)}))
            if self._store is not None:
                result[SNAPSHOT_KEY] = fence.write_snapshot(self._store, self.id, step,
                                                            self._generation, directory)
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


def make_trainable(objective: Any, metric: str, max_budget: Any, *, store: str | None = None,
                   generation: int = 0) -> Any:
    """A Ray function trainable running ``objective(trial)``.

    ``store``: the checkpoint snapshot directory (see the module docstring); ``generation``:
    this driver run's generation (what its workers stamp on what they write).
    """

    def trainable(config: dict[str, Any]) -> None:
        handle = RayTrialHandle(config, metric=metric, max_budget=max_budget,
                                store=Path(store) if store else None, generation=generation)
        try:
            handle._finish(objective(handle))
        finally:
            if handle._root is not None:
                shutil.rmtree(handle._root, ignore_errors=True)

    trainable.__name__ = getattr(objective, "__name__", "objective")
    return trainable


def run_ray(study: Study, objective: Any, *, limits: Limits,
            resources: Mapping[str, float] | None = None, max_concurrent: int | None = None,
            address: str | None = None, storage_path: str | None = None, name: str = "tune",
            max_failures: int = 0, verbose: int = 0) -> Study:
    """Run ``objective`` under ``study`` with Ray Tune (see the module docstring).

    Args:
        resources: per trial, e.g. ``{"cpu": 1, "gpu": 0.5}`` (fractional GPUs allowed).
        max_concurrent: trials running at once (default: what the resources allow).
        address: a running cluster (``"auto"``, ``"ray://host:10001"``); None starts a local
            Ray runtime bound to 127.0.0.1 (or joins ``RAY_ADDRESS``, as in a Ray job).
        storage_path: where Ray keeps the experiment (default: ``<study dir>/ray``).
        max_failures: Ray retries of a crashed trial (``FailureConfig``).

    Raises:
        IntegrationError: a trial can never be placed on a runtime started in this process,
            or the cluster at ``address`` refused the connection (e.g. authentication).
        KeyboardInterrupt: the run was interrupted (SIGINT); the study resumes on a rerun.
    """
    from ray import tune

    resources = check_resources(resources)
    started = runtime.connect(address, verbose=verbose)
    runtime.check_placement(resources, fixed=runtime.started_in_this_process())
    if max_concurrent is None:
        max_concurrent = runtime.cluster_slots(resources, runtime.cluster_nodes())
    searcher, scheduler = ray_components(study, max_concurrent=max_concurrent, limits=limits,
                                         time_attr=BUDGET_KEY, cost_attr=COST_KEY)
    bridge = searcher._bridge
    bridge.embed_trial_id = True
    max_budget = study.fidelity.max if study.fidelity else None
    if storage_path is None:
        base = study.directory if study.directory is not None else Path(
            tempfile.mkdtemp(prefix="hpo-ray-"))
        storage_path = str(Path(base).resolve() / "ray")
    path = Path(storage_path) / name
    store = None if "://" in storage_path else str(path / "hpo_checkpoints")
    guard = None
    if store is not None:
        guard = fence.Fence(path)
        guard.take_over({t.id: t.budget for t in study.trials.values() if t.observations},
                        local_runtime=started, runtime_pids=runtime.runtime_pids())

        def recorded(tid: int, budget: Any, result: dict) -> None:
            snapshot = result.get(SNAPSHOT_KEY)
            guard.record(tid, study.trials[tid].budget,
                         snapshot if isinstance(snapshot, str) else None)

        bridge.on_recorded = recorded
    trainable = tune.with_resources(
        make_trainable(objective, study.objective.metric, max_budget, store=store,
                       generation=guard.generation if guard else 0),
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
    try:
        tuner.fit()
    finally:
        bridge.on_recorded = None
        stats = _sweep(guard)
        if stats:
            logger.warning("driver generation %(generation)d: ignored %(beyond_journal)d "
                           "checkpoint(s) beyond the journal at take-over and "
                           "%(orphan_writes)d written later by orphaned workers; killed "
                           "%(reaped)d leftover runtime process(es)", stats)
    study.refresh()
    if bridge.fatal:
        raise HPOError(bridge.fatal)
    if not bridge.finished:  # Ray's SIGINT handler ended fit() early, after saving its state
        where = study.directory if study.directory is not None else path
        raise KeyboardInterrupt(f"the Ray run was interrupted; rerun with storage={where} "
                                "to resume")
    return study


def _sweep(guard: fence.Fence | None) -> dict[str, int] | None:
    """End-of-run fencing sweep; its counts when anything was fenced (None otherwise)."""
    if guard is None:
        return None
    try:
        stats = guard.sweep()
    except OSError as err:  # never mask how the run ended
        logger.warning("could not sweep %s: %s", guard.store, err)
        return None
    return stats if stats["orphan_writes"] or stats["beyond_journal"] or stats["reaped"] \
        else None
