"""The trackers of :mod:`hpo.integrations.trackers` as Ray Tune callbacks.

    from ray import tune
    from hpo.integrations.ray_trackers import RayTracker
    from hpo.integrations.trackers import TensorBoardLogger

    tracker = RayTracker(TensorBoardLogger("runs/"))
    tune.Tuner(trainable, tune_config=...,
               run_config=tune.RunConfig(callbacks=[tracker])).fit()

Ray calls its callbacks in the driver. :class:`RayTracker` forwards ``on_trial_start`` (one
tracker run per Ray trial, its config flattened to ``a/b`` keys), ``on_trial_result`` (the
numeric entries of the result, at step ``result[step_key]``) and the ends
(``on_trial_complete`` / ``on_trial_error``); ``on_experiment_end`` closes what is open. A
trial built by ``hpo.tune(backend="ray")`` (its config carries our trial id) is named
``trial-<id>`` as in-process. A tracker error is a warning, as in the local loop.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from ray.tune import Callback as RayCallback

from hpo.errors import HPOWarning, IntegrationError
from hpo.integrations.trackers import Tracker

logger = logging.getLogger(__name__)

__all__ = ["RayTracker"]

TRIAL_KEY = "__hpo_trial_id__"  # = hpo.integrations.ray_tune.TRIAL_KEY (not imported: cheap)

#: Ray's bookkeeping entries of a result, not logged as metrics
RAY_KEYS = frozenset({"done", "training_iteration", "timestamp", "time_this_iter_s",
                      "time_total_s", "time_since_restore", "iterations_since_restore",
                      "timesteps_since_restore", "pid", "trial_id", "experiment_id", "date",
                      "hostname", "node_ip", "config", "checkpoint_dir_name", "should_checkpoint",
                      "experiment_tag", "timesteps_total", "episodes_total"})


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "/"))
        else:
            out[name] = value
    return out


class RayTracker(RayCallback):
    """A ``ray.tune.Callback`` that mirrors Ray trials to a :class:`Tracker`.

    Args:
        tracker: a :class:`~hpo.integrations.trackers.Tracker` (TensorBoard, MLflow, W&B).
        step_key: the result entry used as the step (default Ray's ``training_iteration``;
            e.g. ``"hpo_budget"`` under ``hpo.tune(backend="ray")``).
        metrics: the result entries to log (None: every number that is not Ray bookkeeping).
    """

    def __init__(self, tracker: Tracker, *, step_key: str = "training_iteration",
                 metrics: Sequence[str] | None = None) -> None:
        if not isinstance(tracker, Tracker):
            raise IntegrationError(f"RayTracker needs an hpo tracker (TensorBoardLogger, "
                                   f"MLflowLogger, WandbLogger), got {tracker!r}")
        if not isinstance(step_key, str) or not step_key:
            raise IntegrationError(f"step_key must be a result key, got {step_key!r}")
        if metrics is not None and (isinstance(metrics, str)
                                    or not all(isinstance(m, str) for m in metrics)):
            raise IntegrationError(f"metrics must be a list of result keys, got {metrics!r}")
        self.tracker, self.step_key = tracker, step_key
        self.metrics = None if metrics is None else list(metrics)

    def _guard(self, hook: str, call: Any, *args: Any) -> None:
        try:
            call(*args)
        except Exception as err:  # noqa: BLE001 - a tracker never stops the experiment
            logger.debug("tracker %r failed in %s", self.tracker, hook, exc_info=True)
            warnings.warn(f"tracker {type(self.tracker).__name__} raised {type(err).__name__} "
                          f"in {hook}: {err}", HPOWarning, stacklevel=2)

    @staticmethod
    def _key(trial: Any) -> tuple[str, str, dict[str, Any]]:
        config = _flatten(dict(getattr(trial, "config", None) or {}))
        hpo_id = config.pop(TRIAL_KEY, None)
        if hpo_id is not None:
            return str(int(hpo_id)), f"trial-{int(hpo_id)}", config
        return str(trial.trial_id), str(trial), config

    def _values(self, result: Mapping[str, Any]) -> dict[str, float]:
        names = self.metrics if self.metrics is not None else [
            k for k in result if k not in RAY_KEYS and k != self.step_key]
        values: dict[str, float] = {}
        for name in names:
            value = result.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(float(value)):
                values[name] = float(value)
        return values

    # -- Ray's hooks -------------------------------------------------------------------------
    def setup(self, *args: Any, **info: Any) -> None:
        """Ray's experiment starts (the group is the experiment name when Ray tells it)."""
        name = info.get("experiment_name") or getattr(self, "experiment_name", None)
        if isinstance(name, str) and name:
            self.tracker.group = name

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        key, name, config = self._key(trial)
        self._guard("on_trial_start", self.tracker.open, key, name, config)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        key, name, config = self._key(trial)
        step = result.get(self.step_key, result.get("training_iteration", 0))
        try:
            step = int(step)
        except (TypeError, ValueError, OverflowError):
            step = int(result.get("training_iteration", 0))

        def forward() -> None:
            self.tracker.open(key, name, config)
            self.tracker.log(key, self._values(result), step, result.get("timestamp"))

        self._guard("on_trial_result", forward)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._guard("on_trial_complete", self.tracker.close, self._key(trial)[0], "completed")

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._guard("on_trial_error", self.tracker.close, self._key(trial)[0], "failed")

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self._guard("on_experiment_end", self.tracker.close_all)
