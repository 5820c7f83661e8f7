"""Error hierarchy of scaletune.

Every error a user can trigger is an :class:`HPOError`. Subclasses also inherit
the matching builtin (``ValueError``, ``KeyError``, ``RuntimeError``) so that
generic ``except ValueError`` code keeps working. Messages always name the
offending value.
"""

from __future__ import annotations


class HPOError(Exception):
    """Base class of every scaletune error."""


class SpaceError(HPOError, ValueError):
    """The search space definition is invalid (empty, low >= high, bad log bounds, ...)."""


class InvalidConfigError(HPOError, ValueError):
    """A configuration does not belong to the search space."""


class FidelityError(HPOError, ValueError):
    """A fidelity / budget definition or a reported budget is invalid."""


class MethodError(HPOError, ValueError):
    """An unknown method name or invalid method options."""


class LimitError(HPOError, ValueError):
    """A stop criterion of the tuning loop is invalid (``max_trials=inf``, a negative budget)."""


class UnknownTrialError(HPOError, KeyError):
    """A trial id that the study does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class TrialStateError(HPOError, RuntimeError):
    """An operation the trial's current status does not allow (e.g. report after completion)."""


class ReportError(HPOError, ValueError):
    """A reported result is malformed (wrong type, negative cost, budget beyond the maximum)."""


class StorageError(HPOError, RuntimeError):
    """The journal cannot be read or written (newer schema, corrupt line, wrong study)."""


class ReplayError(StorageError):
    """Replaying a journal produced a different decision than the one recorded.

    This happens when a study is reopened with another method, other method options or
    another seed than it was created with, or when a scheduler is not deterministic.
    """


class SchedulerError(HPOError, RuntimeError):
    """A scheduler returned an invalid action (a bug in the scheduler, never in user input)."""


class IntegrationError(HPOError, RuntimeError):
    """A conflict with an external framework (e.g. Ray Tune's metric/mode disagree with ours)."""


class HPOWarning(UserWarning):
    """Warnings emitted by scaletune (duplicate reports ignored, truncated journal line, ...)."""
