"""Warm-starting: begin a study from other studies' results (same or overlapping space).

    study = hpo.Study(space, "loss", method="random", storage="new")
    study.add_results(["old-study", "older-study"])     # directories, read-only
    study.add_results(old.dataframe())                  # or a results DataFrame

Results are mapped into the new space (:func:`map_config`): parameters the new space does not
have are dropped; a parameter the old config lacks is filled only when the new space holds it
as a :class:`~hpo.space.params.Constant`, else the config is skipped, as is a config whose
values lie outside the new domains. Each result's loss is recomputed under the new study's
objective (its metric must have been reported; a maximised metric flips sign).

The mapped results are used twice:

* **enqueued configs** (every method, random search included): the ``enqueue`` best distinct
  configs, best first, are evaluated by the first new trials (journaled ``enqueue`` events, so
  a resumed study replays them);
* **prior observations** for model-based searchers: journaled as one ``prior`` event (every
  mapped result: config, budget, loss, metrics, source), then handed to the scheduler's
  ``add_prior`` (the built-in ones pass them to their searcher: ``bo``, ``mobster`` and
  ``hyperband-bo`` fit them with their own rows). Replaying the journal hands the same
  observations over at the same point, so a reopened study decides as the uninterrupted one.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpo.core.trial import PriorObservation
from hpo.core.types import Config, Fidelity, Objective
from hpo.errors import HPOError, InvalidConfigError, ReportError
from hpo.journal.events import decode_metrics, encode_metrics
from hpo.space.params import Constant
from hpo.space.search_space import SearchSpace

__all__ = ["PriorObservation", "WarmStart", "WarmStartError", "add_results", "collect",
           "checked_prior", "from_dataframe", "from_studies", "map_config", "prior_event",
           "prior_from_event"]


class WarmStartError(HPOError, ValueError):
    """Results that cannot warm-start a study (an unknown source, a study that is not there)."""


@dataclass(frozen=True)
class WarmStart:
    """Mapped results: ``observations`` (every usable one) and ``skipped`` (results that did
    not map into the space or lacked the objective metric)."""

    observations: tuple[PriorObservation, ...]
    skipped: int = 0

    def configs(self, top: int | None = None) -> list[Config]:
        """Distinct configs, best first by their loss at their highest budget; finite only."""
        final: dict[str, tuple[float, float, Config]] = {}
        for obs in self.observations:
            key = repr(sorted(obs.config.items()))
            budget = -math.inf if obs.budget is None else float(obs.budget)
            if key not in final or budget >= final[key][0]:
                final[key] = (budget, obs.loss, obs.config)
        ranked = sorted((v for v in final.values() if math.isfinite(v[1])), key=lambda v: v[1])
        out = [dict(config) for _, _, config in ranked]
        return out if top is None else out[:top]


def map_config(config: Mapping[str, Any], space: SearchSpace) -> Config | None:
    """``config`` in ``space``: unknown names dropped, missing ones filled from Constants;
    None when a parameter is missing (not a Constant) or a value lies outside its domain."""
    mapped = {k: _plain(v) for k, v in config.items() if k in space and not _missing(v)}
    for param in space:
        if param.name not in mapped and isinstance(param, Constant):
            mapped[param.name] = param.value
    try:
        return space.validate(mapped)
    except InvalidConfigError:
        return None


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and not isinstance(value, str) else value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _budget(budget: Any, fidelity: Fidelity | None) -> float | None | bool:
    """The budget in the new study (None without a fidelity); False: beyond its maximum."""
    if fidelity is None:
        return None
    if _missing(budget):
        return fidelity.max
    value = float(budget)
    return False if value <= 0 or value > fidelity.max * (1 + 1e-9) else _plain(budget)


def _observation(config: Mapping[str, Any], metrics: Mapping[str, Any], budget: Any,
                 space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
                 source: str, cost: Any = None) -> PriorObservation | None:
    mapped = map_config(config, space)
    at = _budget(budget, fidelity)
    if mapped is None or at is False:
        return None
    clean = {k: float(_plain(v)) for k, v in metrics.items() if not _missing(v)}
    try:
        loss = objective.loss(clean)
    except ReportError:
        return None
    spent = None if _missing(cost) else float(_plain(cost))
    if spent is not None and not (math.isfinite(spent) and spent >= 0):
        spent = None
    return PriorObservation(mapped, at, loss, clean, source, spent)


def from_studies(directories: Iterable[str | os.PathLike[str]], space: SearchSpace,
                 objective: Objective, fidelity: Fidelity | None, *,
                 open_study: Callable[..., Any]) -> WarmStart:
    """The results of the studies in ``directories``, read-only (``open_study`` is
    ``hpo.Study.open``). Without a fidelity in the new study only each trial's last result
    is used; with one, every result within its maximum."""
    observations: list[PriorObservation] = []
    skipped = 0
    for directory in directories:
        path = Path(directory)
        if not (path / "journal.jsonl").is_file():
            raise WarmStartError(f"warm_start: {str(directory)!r} is not a study directory "
                                 "(no journal.jsonl)")
        old = open_study(path, read_only=True)
        for trial in old.trials.values():
            chosen = trial.observations if fidelity is not None else trial.observations[-1:]
            for obs in chosen:
                budget = obs.budget if old.fidelity is not None else None
                prior = _observation(trial.config, obs.metrics, budget, space, objective,
                                     fidelity, str(path), obs.cost)
                if prior is None:
                    skipped += 1
                else:
                    observations.append(prior)
    return WarmStart(tuple(observations), skipped)


def from_dataframe(frame: Any, space: SearchSpace, objective: Objective,
                   fidelity: Fidelity | None) -> WarmStart:
    """Results from a DataFrame: ``Study.dataframe()``'s layout (``config/<name>``,
    ``metric/<name>``, ``value``, ``budget``) or plain columns (parameter names, metric names
    and optionally ``budget``)."""
    if not hasattr(frame, "to_dict") or not hasattr(frame, "columns"):
        raise WarmStartError(f"warm_start: expected a pandas DataFrame, got {frame!r}")
    prefixed = any(str(c).startswith("config/") for c in frame.columns)
    observations: list[PriorObservation] = []
    skipped = 0
    for row in frame.to_dict("records"):
        if prefixed:
            config = {k[7:]: v for k, v in row.items() if str(k).startswith("config/")}
            metrics = {k[7:]: v for k, v in row.items() if str(k).startswith("metric/")}
            if objective.metric not in metrics and "value" in row:
                metrics[objective.metric] = row["value"]
        else:
            config = {k: v for k, v in row.items() if k in space}
            metrics = {k: v for k, v in row.items() if k not in space
                       and k not in ("budget", "cost")
                       and isinstance(_plain(v), (int, float)) and not isinstance(v, bool)}
        prior = _observation(config, metrics, row.get("budget"), space, objective, fidelity,
                             "dataframe", row.get("cost"))
        if prior is None:
            skipped += 1
        else:
            observations.append(prior)
    return WarmStart(tuple(observations), skipped)


def collect(source: Any, space: SearchSpace, objective: Objective, fidelity: Fidelity | None,
            *, open_study: Callable[..., Any]) -> WarmStart:
    """A DataFrame, a study directory or a list of them, or a :class:`WarmStart`."""
    if isinstance(source, WarmStart):
        return source
    if hasattr(source, "to_dict") and hasattr(source, "columns"):
        return from_dataframe(source, space, objective, fidelity)
    if isinstance(source, (str, os.PathLike)):
        source = [source]
    if isinstance(source, Iterable) and not isinstance(source, (bytes, Mapping)):
        items = list(source)
        if all(isinstance(s, (str, os.PathLike)) for s in items):
            return from_studies(items, space, objective, fidelity, open_study=open_study)
    raise WarmStartError(f"warm_start: expected study directories or a results DataFrame, "
                         f"got {source!r}")


def checked_prior(observations: Any, space: SearchSpace) -> WarmStart:
    """``observations`` (a WarmStart or PriorObservations) with every config validated."""
    if isinstance(observations, WarmStart):
        items: list[Any] = list(observations.observations)
    elif isinstance(observations, Iterable) and not isinstance(observations, (str, Mapping)):
        items = list(observations)
    else:
        raise WarmStartError(f"prior data must be a WarmStart or a list of PriorObservation, "
                             f"got {observations!r:.80}")
    out = []
    for obs in items:
        if not isinstance(obs, PriorObservation):
            raise WarmStartError(f"prior data must hold PriorObservation items, got {obs!r:.80}")
        config = space.validate(obs.config)
        out.append(PriorObservation(config, obs.budget, obs.loss, obs.metrics, obs.source,
                                    obs.cost))
    return WarmStart(tuple(out))


def prior_event(warm: WarmStart) -> dict[str, Any]:
    """The journal's ``prior`` event for ``warm.observations`` (strict JSON: a non-finite
    loss or metric is written by name, as in reports)."""
    rows = []
    for obs in warm.observations:
        row: dict[str, Any] = {"cfg": dict(obs.config), "b": obs.budget,
                               "l": encode_metrics({"l": obs.loss})["l"],
                               "m": encode_metrics(dict(obs.metrics)), "src": obs.source}
        if obs.cost is not None:
            row["c"] = obs.cost
        rows.append(row)
    return {"e": "prior", "obs": rows, "ts": time.time()}


def prior_from_event(event: Mapping[str, Any]) -> list[PriorObservation]:
    """The observations of a journaled ``prior`` event (its fields already checked)."""
    out = []
    for row in event["obs"]:
        loss = decode_metrics({"l": row["l"]})["l"]
        out.append(PriorObservation(dict(row["cfg"]), row["b"], float(loss),
                                    decode_metrics(row.get("m") or {}), str(row.get("src", "")),
                                    row.get("c")))
    return out


def add_results(study: Any, source: Any, *, enqueue: int | None = 10) -> WarmStart:
    """Warm-start ``study`` (see the module docstring); returns the mapped results.

    Args:
        enqueue: how many of the best distinct configs to enqueue (None: all; 0: none).

    Raises:
        WarmStartError: an unknown source or a directory without a study;
        StorageError: ``study`` is read-only.
    """
    if enqueue is not None and (isinstance(enqueue, bool) or not isinstance(enqueue, int)
                                or enqueue < 0):
        raise WarmStartError(f"enqueue must be an int >= 0 or None, got {enqueue!r}")
    warm = collect(source, study.space, study.objective, study.fidelity,
                   open_study=type(study).open)
    for config in warm.configs(enqueue):
        study.enqueue(config)
    if warm.observations:
        study.add_prior(warm)
    return warm
