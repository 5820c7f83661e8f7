"""Mirror every report of a study to TensorBoard, MLflow or Weights & Biases.

In-process (the local backend), as loop callbacks::

    from hpo.integrations.trackers import MLflowLogger, TensorBoardLogger, WandbLogger

    hpo.tune(objective, space, method="asha", fidelity=..., max_trials=20,
             callbacks=[TensorBoardLogger("runs/"), MLflowLogger("file:///tmp/mlruns")])

With Ray Tune (Ray's own loop, e.g. ``hpo.integrations.ray_tune.ray_components``), the same
trackers as Ray callbacks: ``tune.RunConfig(callbacks=[RayTracker(TensorBoardLogger("runs/"))])``
(:class:`hpo.integrations.ray_trackers.RayTracker`).

Each trial is one tracker run (TensorBoard: the sub-directory ``trial_<id>``; MLflow: a run
tagged ``hpo.trial``; W&B: a run named ``trial-<id>``) holding its config and, at every
recorded report, every reported metric plus ``hpo/budget`` and ``hpo/cost``, at step = the
budget (the report's index for a fractional budget). A paused trial's run stays open while the
driver lives; a later driver reopens it (MLflow finds it by its tags, W&B resumes its id,
TensorBoard appends a new event file in the same directory).

The framework is imported when a tracker is created, so ``hpo`` imports without it. Since the
loop calls trackers after the journal write and turns their errors into warnings, a broken
tracker (a full disk, a network error) never loses a result.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from hpo.core.trial import Observation, Trial
from hpo.errors import IntegrationError
from hpo.execution.callbacks import Callback

if TYPE_CHECKING:
    from hpo.core.study_state import StudyState

__all__ = ["MLflowLogger", "TensorBoardLogger", "Tracker", "WandbLogger"]

#: final W&B / MLflow status of a trial's run, by trial status
_MLFLOW_STATUS = {"completed": "FINISHED", "stopped": "KILLED", "failed": "FAILED"}


def _require(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise IntegrationError(f"{module!r} is not installed ({err}); install it with "
                               f"`pip install 'scaletune[{extra}]'`") from None


def _scalar(value: Any) -> Any:
    """A config value as a tracker parameter (numbers, strings and bools kept; else JSON)."""
    if isinstance(value, (bool, int, float, str)):
        return value
    return json.dumps(value, default=str)


def report_values(obs: Observation) -> dict[str, float]:
    """What is logged for one report: its metrics plus ``hpo/budget`` and ``hpo/cost``."""
    values = {k: float(v) for k, v in obs.metrics.items()}
    values["hpo/budget"] = float(obs.budget)
    values["hpo/cost"] = float(obs.cost)
    return values


def report_step(obs: Observation) -> int:
    """The tracker step of a report: its budget when whole, else its index + 1."""
    budget = float(obs.budget)
    return int(budget) if math.isfinite(budget) and budget == int(budget) else obs.step + 1


class Tracker(Callback):
    """One tracker run per trial; subclasses implement ``_open``, ``_log`` and ``_close``.

    The generic methods :meth:`open`, :meth:`log`, :meth:`close` and :meth:`close_all` take a
    string key per run, so the Ray adapter drives the same tracker with Ray's trial ids.
    """

    def __init__(self) -> None:
        self._runs: dict[str, Any] = {}
        self.group = "hpo"

    # -- hpo loop callbacks ----------------------------------------------------------------
    def on_run_start(self, study: StudyState) -> None:
        directory = study.directory
        self.group = directory.name if directory is not None else "hpo"

    def on_trial_start(self, trial: Trial) -> None:
        self.open(str(trial.id), f"trial-{trial.id}", trial.config)

    def on_report(self, trial: Trial, obs: Observation) -> None:
        if str(trial.id) not in self._runs:
            self.on_trial_start(trial)
        self.log(str(trial.id), report_values(obs), report_step(obs), obs.time)

    def on_trial_end(self, trial: Trial) -> None:
        self.close(str(trial.id), trial.status.value)

    def on_run_end(self, study: StudyState) -> None:
        self.close_all()

    # -- generic runs ------------------------------------------------------------------------
    def open(self, key: str, name: str, config: Mapping[str, Any]) -> None:
        """Open (or reopen) the run ``key``; a no-op while it is open."""
        if key not in self._runs:
            self._runs[key] = self._open(key, name, dict(config))

    def log(self, key: str, values: Mapping[str, float], step: int,
            timestamp: float | None = None) -> None:
        """Log ``values`` at ``step`` to the open run ``key`` (opened with no config if not)."""
        if key not in self._runs:
            self.open(key, key, {})
        self._log(self._runs[key], dict(values), int(step),
                  time.time() if timestamp is None else timestamp)

    def close(self, key: str, status: str) -> None:
        """Close the run ``key`` with the trial status (``completed``, ``paused``, ...)."""
        run = self._runs.pop(key, None)
        if run is not None:
            self._close(run, status)

    def close_all(self) -> None:
        """Close every open run (those of paused trials as ``paused``)."""
        for key in list(self._runs):
            self.close(key, "paused")

    def __getstate__(self) -> dict[str, Any]:  # Ray pickles its callbacks: drop open handles
        state = dict(self.__dict__)
        state["_runs"] = {}
        return state

    # -- the framework -----------------------------------------------------------------------
    def _open(self, key: str, name: str, config: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _log(self, run: Any, values: dict[str, float], step: int, timestamp: float) -> None:
        raise NotImplementedError

    def _close(self, run: Any, status: str) -> None:
        raise NotImplementedError


class TensorBoardLogger(Tracker):
    """Event files under ``log_dir/trial_<id>/`` (``torch.utils.tensorboard``; needs the
    ``tensorboard`` package): scalars per report, the config as text and, when the trial
    ends, its hyperparameters with its last metrics (TensorBoard's HParams tab)."""

    def __init__(self, log_dir: str | Path) -> None:
        super().__init__()
        if not isinstance(log_dir, (str, Path)) or not str(log_dir):
            raise IntegrationError(f"log_dir must be a directory path, got {log_dir!r}")
        self.log_dir = Path(log_dir)
        self._writer_class = _require("torch.utils.tensorboard", "trackers").SummaryWriter

    def _open(self, key: str, name: str, config: dict[str, Any]) -> Any:
        folder = f"trial_{key}" if key.isdigit() else re.sub(r"[^\w.-]", "_", key)
        writer = self._writer_class(log_dir=str(self.log_dir / folder))
        writer.add_text("config", json.dumps(config, default=str, sort_keys=True))
        return {"writer": writer, "config": config, "last": {}, "step": 0}

    def _log(self, run: Any, values: dict[str, float], step: int, timestamp: float) -> None:
        for tag, value in values.items():
            run["writer"].add_scalar(tag, value, global_step=step, walltime=timestamp)
        run["last"].update(values)
        run["step"] = step

    def _close(self, run: Any, status: str) -> None:
        writer = run["writer"]
        try:
            if status != "paused" and run["config"]:
                hparams = {k: _scalar(v) for k, v in run["config"].items()}
                final = {f"final/{k}": v for k, v in run["last"].items() if math.isfinite(v)}
                writer.add_hparams(hparams, final, run_name=".", global_step=run["step"])
            writer.add_text("status", status, global_step=run["step"])
        finally:
            writer.close()


class MLflowLogger(Tracker):
    """One MLflow run per trial in ``experiment`` (``mlflow`` or ``mlflow-skinny``).

    Args:
        tracking_uri: where MLflow stores runs (None: MLflow's default / ``MLFLOW_TRACKING_URI``).
            MLflow 3 refuses a plain file store unless ``MLFLOW_ALLOW_FILE_STORE=true``.
        experiment: the experiment name (created if missing).
        tags: extra tags on every run.
    """

    def __init__(self, tracking_uri: str | None = None, *, experiment: str = "hpo",
                 tags: Mapping[str, str] | None = None) -> None:
        super().__init__()
        if not isinstance(experiment, str) or not experiment:
            raise IntegrationError(f"experiment must be a non-empty name, got {experiment!r}")
        mlflow = _require("mlflow", "trackers")
        self.tracking_uri, self.experiment, self.tags = tracking_uri, experiment, dict(tags or {})
        self._client = mlflow.MlflowClient(tracking_uri=tracking_uri)
        self._experiment_id: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["_client"] = None
        return state

    def _mlflow(self) -> Any:
        if self._client is None:
            self._client = _require("mlflow", "trackers").MlflowClient(self.tracking_uri)
        return self._client

    def _experiment(self) -> str:
        if self._experiment_id is None:
            client = self._mlflow()
            found = client.get_experiment_by_name(self.experiment)
            if found is not None:
                self._experiment_id = found.experiment_id
            else:  # MLflow's file store draws the experiment id from the global `random`
                state = random.getstate()
                try:
                    self._experiment_id = client.create_experiment(self.experiment)
                finally:
                    random.setstate(state)
        return self._experiment_id

    def _open(self, key: str, name: str, config: dict[str, Any]) -> Any:
        from mlflow.entities import Param

        client, experiment = self._mlflow(), self._experiment()
        query = f"tags.`hpo.trial` = '{key}' and tags.`hpo.group` = '{self.group}'"
        found = client.search_runs([experiment], filter_string=query, max_results=1)
        if found:  # a trial resumed by a later driver: continue its run
            run_id = found[0].info.run_id
            client.update_run(run_id, status="RUNNING")
            return run_id
        tags = {**self.tags, "hpo.trial": key, "hpo.group": self.group}
        run_id = client.create_run(experiment, run_name=name, tags=tags).info.run_id
        params = [Param(k, str(_scalar(v))[:6000]) for k, v in config.items()]
        if params:
            client.log_batch(run_id, params=params)
        return run_id

    def _log(self, run: Any, values: dict[str, float], step: int, timestamp: float) -> None:
        from mlflow.entities import Metric

        stamp = int(timestamp * 1000)
        metrics = [Metric(_mlflow_key(k), v, stamp, step) for k, v in values.items()
                   if math.isfinite(v)]
        self._mlflow().log_batch(run, metrics=metrics)

    def _close(self, run: Any, status: str) -> None:
        client = self._mlflow()
        client.set_tag(run, "hpo.status", status)
        if status in _MLFLOW_STATUS:
            client.set_terminated(run, status=_MLFLOW_STATUS[status])


def _mlflow_key(key: str) -> str:
    return re.sub(r"[^\w\-. /]", "_", key)


class WandbLogger(Tracker):
    """One W&B run per trial, grouped by study (``wandb``; ``WANDB_MODE=offline`` or
    ``mode="offline"`` writes ``<dir>/wandb/offline-run-*`` without a network).

    Args:
        project: the W&B project.
        dir: where W&B writes its files (None: the working directory).
        mode: ``"online"``, ``"offline"`` or ``"disabled"`` (None: W&B's default / env).
        entity: the W&B entity (user or team; None: W&B's default).
        tags: tags put on every trial's run.
    """

    def __init__(self, project: str = "hpo", *, dir: str | Path | None = None,
                 mode: str | None = None, entity: str | None = None,
                 tags: Sequence[str] = ()) -> None:
        super().__init__()
        if not isinstance(project, str) or not project:
            raise IntegrationError(f"project must be a non-empty name, got {project!r}")
        if mode not in (None, "online", "offline", "disabled"):
            raise IntegrationError(f"mode must be 'online', 'offline' or 'disabled', got "
                                   f"{mode!r}")
        if entity is not None and (not isinstance(entity, str) or not entity):
            raise IntegrationError(f"entity must be a non-empty name or None, got {entity!r}")
        if isinstance(tags, str) or not all(isinstance(t, str) and t for t in tags):
            raise IntegrationError(f"tags must be a sequence of non-empty strings, got "
                                   f"{tags!r}")
        _require("wandb", "trackers")
        self.project, self.dir = project, dir
        self.mode = cast(Literal["online", "offline", "disabled"] | None, mode)
        self.entity, self.tags = entity, list(tags)

    def _open(self, key: str, name: str, config: dict[str, Any]) -> Any:
        import wandb

        if self.dir is not None:
            Path(self.dir).mkdir(parents=True, exist_ok=True)
        run_id = re.sub(r"[^\w-]", "-", f"{self.group}-{key}")[-64:]
        return wandb.init(project=self.project, entity=self.entity, name=name, id=run_id,
                          group=self.group, tags=self.tags or None, config=config,
                          dir=None if self.dir is None else str(self.dir), mode=self.mode,
                          reinit="create_new", resume="allow")

    def _log(self, run: Any, values: dict[str, float], step: int, timestamp: float) -> None:
        # commit: a report is a whole row, so W&B writes it now rather than holding it until
        # the next step or ``finish`` (a row held at finish went missing under load in CI)
        run.log(values, step=step, commit=True)

    def _close(self, run: Any, status: str) -> None:
        run.summary["hpo/status"] = status
        run.finish(exit_code=1 if status == "failed" else 0)
