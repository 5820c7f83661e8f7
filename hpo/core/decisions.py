"""What schedulers return: verdicts on results and actions for free workers.

Schedulers only *decide*; the :class:`~hpo.study.Study` records the decision and executors act on
it. A verdict answers "this trial just reported: continue, pause or stop?"; an action answers
"a worker is free: what should it do?".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from hpo.core.types import Config


class Decision(Enum):
    CONTINUE = "continue"
    PAUSE = "pause"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to a report.

    Attributes:
        decision: CONTINUE training, PAUSE (checkpoint and return; may be resumed later) or
            STOP (return; the trial will not be resumed).
        reason: a human-readable why (kept in the journal for PAUSE / STOP).
        predicted_final: a model's extrapolation of the final loss, if any.
    """

    decision: Decision
    reason: str = ""
    predicted_final: float | None = None

    @property
    def should_stop(self) -> bool:
        """True when the training loop must return now (PAUSE or STOP)."""
        return self.decision is not Decision.CONTINUE

    @property
    def is_pause(self) -> bool:
        return self.decision is Decision.PAUSE

    @classmethod
    def cont(cls, reason: str = "") -> Verdict:
        return cls(Decision.CONTINUE, reason)

    @classmethod
    def pause(cls, reason: str = "") -> Verdict:
        return cls(Decision.PAUSE, reason)

    @classmethod
    def stop(cls, reason: str = "") -> Verdict:
        return cls(Decision.STOP, reason)


CONTINUE = Verdict(Decision.CONTINUE)


@dataclass(frozen=True, slots=True)
class Start:
    """Start a new trial with ``config`` and run it up to ``budget``."""

    config: Config
    budget: float | None
    parent_id: int | None = None
    scale: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Resume:
    """Resume the PAUSED trial ``trial_id`` from its checkpoint up to ``budget``."""

    trial_id: int
    budget: float


@dataclass(frozen=True, slots=True)
class Retire:
    """The PAUSED trial ``trial_id`` will never be resumed: mark it STOPPED."""

    trial_id: int
    reason: str


Action = Start | Resume | Retire
