"""Trials carry their whole curve: observations, status with reason, lineage.

Status machine (each transition is an event in the journal)::

    PENDING --report--> RUNNING --verdict PAUSE--> PAUSED --ask: Resume--> PENDING
       |                   |  \\--verdict STOP / tell--> COMPLETED | STOPPED
       |                   \\--tell(FAILED) / missing metric / crash--> FAILED
       \\--tell--> COMPLETED | FAILED              PAUSED --Retire / tell--> STOPPED | COMPLETED

* PENDING: handed out by ``ask`` (new or resumed), no result reported yet in this segment.
* RUNNING: has reported in the current segment.
* PAUSED: checkpointed at a rung; the scheduler may resume it to a higher budget.
* COMPLETED: finished normally (reached the maximum budget or the objective returned).
* STOPPED: ended early by the scheduler (not promoted, or a non-finite loss).
* FAILED: the objective raised, the worker died, or a report lacked the objective metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from hpo.core.types import Config
from hpo.errors import ReportError


class TrialStatus(str, Enum):
    """A trial's status; equal to (and hashed as) its string value, so ``"failed"`` and
    ``TrialStatus.FAILED`` index the same entry of ``Study.counts()``."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"

    @classmethod
    def _missing_(cls, value: object) -> TrialStatus:
        key = value.strip().lower() if isinstance(value, str) else value
        for member in cls:
            if member.value == key:
                return member
        raise ReportError(f"unknown trial status {value!r}; valid: "
                          f"{[m.value for m in cls]}")

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_active(self) -> bool:
        """Handed out and not yet paused or ended (PENDING or RUNNING)."""
        return self in _ACTIVE


_TERMINAL = frozenset({TrialStatus.COMPLETED, TrialStatus.STOPPED, TrialStatus.FAILED})
_ACTIVE = frozenset({TrialStatus.PENDING, TrialStatus.RUNNING})


@dataclass(frozen=True, slots=True)
class Observation:
    """One recorded report of a trial.

    Attributes:
        budget: cumulative resource consumed when this was measured (fidelity units).
        metrics: every metric reported (the objective metric among them).
        loss: the objective's loss (lower is better; ``inf`` for a non-finite metric).
        cost: cumulative cost of the trial up to and including this report.
        time: unix timestamp of the report.
        step: index of this observation within its trial (0, 1, 2, ...).
    """

    budget: float
    metrics: Mapping[str, Any]
    loss: float
    cost: float
    time: float
    step: int


@dataclass(frozen=True, slots=True)
class PriorObservation:
    """One result of another study, mapped into this study's space and objective (warm start:
    :mod:`hpo.core.warm_start`); model-based searchers take these as prior data.

    Attributes:
        config: the config in the new space.
        budget: its budget (None when the new study has no fidelity: a final result).
        loss: the new objective's loss (lower is better; ``inf`` for a non-finite metric).
        metrics: every metric reported with it.
        source: where it came from (a study directory or ``"dataframe"``).
        cost: the trial's cumulative cost up to this result, where known (cost-aware
            searchers such as CARBS use only results that have one).
    """

    config: Config
    budget: float | None
    loss: float
    metrics: Mapping[str, float]
    source: str
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class Trial:
    """An immutable snapshot of a trial. The study replaces it on every event."""

    id: int
    config: Config
    status: TrialStatus
    observations: tuple[Observation, ...] = ()
    target_budget: float | None = None
    parent_id: int | None = None
    scale: Mapping[str, float] = field(default_factory=dict)
    reason: str = ""
    created: float = 0.0

    @property
    def budget(self) -> float:
        """Highest budget reached so far (0 before the first report)."""
        return self.observations[-1].budget if self.observations else 0

    @property
    def loss(self) -> float:
        """Loss at the highest budget reached (``inf`` before the first report)."""
        return self.observations[-1].loss if self.observations else math.inf

    @property
    def best_loss(self) -> float:
        return min((o.loss for o in self.observations), default=math.inf)

    @property
    def cost(self) -> float:
        """Total cost spent on this trial so far."""
        return self.observations[-1].cost if self.observations else 0.0

    @property
    def last(self) -> Observation | None:
        return self.observations[-1] if self.observations else None

    def loss_at(self, budget: float) -> float | None:
        """Loss of the observation at exactly ``budget``, or None."""
        for obs in reversed(self.observations):
            if obs.budget == budget:
                return obs.loss
            if obs.budget < budget:
                break
        return None

    def curve(self) -> tuple[list[float], list[float]]:
        """``(budgets, losses)`` of every observation, in order."""
        return [o.budget for o in self.observations], [o.loss for o in self.observations]

    def __repr__(self) -> str:
        """One short line: id, status, budget, loss, report count, config (observations are in
        ``trial.observations``; ``dataclasses.asdict(trial)`` has every field)."""
        config = repr(self.config)
        if len(config) > _REPR_CONFIG_CHARS:
            config = config[:_REPR_CONFIG_CHARS - 4] + " ...}"
        extra = f", parent_id={self.parent_id}" if self.parent_id is not None else ""
        extra += f", reason={_short(self.reason)!r}" if self.reason else ""
        return (f"Trial(id={self.id}, status={self.status.value!r}, budget={self.budget:g}, "
                f"loss={self.loss:.6g}, reports={len(self.observations)}{extra}, "
                f"config={config})")


_REPR_CONFIG_CHARS = 200


def _short(text: str, limit: int = 80) -> str:
    line = text.strip().splitlines()[-1] if text.strip() else ""
    return line if len(line) <= limit else line[:limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class Ticket:
    """What ``Study.ask`` hands out: run ``config`` from ``resume_from`` up to ``budget``.

    Attributes:
        trial_id: the trial to report for.
        config: the hyperparameters.
        budget: the milestone of this segment (the scheduler decides when it is reached);
            ``None`` for a study without a fidelity.
        resume_from: budget already reached (0 for a new trial). A resumed trial continues
            from its checkpoint; it never restarts.
        max_budget: the fidelity maximum (``None`` without a fidelity).
        parent_id: lineage (e.g. the DEHB parent), or None.
        scale: fixed scale axes of the trial (width, depth...), empty if none.
        checkpoint_dir: the trial's checkpoint directory when the study has one on disk.
    """

    trial_id: int
    config: Config
    budget: float | None
    resume_from: float
    max_budget: float | None
    parent_id: int | None = None
    scale: Mapping[str, float] = field(default_factory=dict)
    checkpoint_dir: Path | None = None

    @property
    def is_resume(self) -> bool:
        return self.resume_from > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "trial_id": self.trial_id, "config": self.config, "budget": self.budget,
            "resume_from": self.resume_from, "max_budget": self.max_budget,
            "parent_id": self.parent_id, "scale": dict(self.scale),
            "checkpoint_dir": str(self.checkpoint_dir) if self.checkpoint_dir else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ticket:
        ckpt = data.get("checkpoint_dir")
        return cls(
            trial_id=data["trial_id"], config=dict(data["config"]), budget=data["budget"],
            resume_from=data["resume_from"], max_budget=data["max_budget"],
            parent_id=data.get("parent_id"), scale=dict(data.get("scale") or {}),
            checkpoint_dir=Path(ckpt) if ckpt else None,
        )
