"""Module-level objectives of the local-execution tests (importable by spawned workers)."""

from __future__ import annotations

import os
import sys
import time

from tests.hpo.helpers import curve


def exits_on_trial_0(trial):
    """Ends the whole (driver) process on trial 0, as ``sys.exit`` in training code does."""
    if trial.id == 0:
        sys.exit(5)
    return curve(trial.config, 27)


def hangs_on_trial_1(trial):
    """Trial 1 never returns (until it is interrupted or its process is terminated)."""
    if trial.id == 1:
        marker = os.environ.get("HPO_TEST_HANG_MARKER")
        if marker:
            open(marker, "w").close()
        time.sleep(3600)
    return curve(trial.config, 27)


def reports_pid(trial):
    """One report carrying the worker's pid (the driver-side test kills that worker)."""
    trial.report({"loss": curve(trial.config, 27), "pid": os.getpid()})


def sleeps_forever(trial):
    """For Ctrl-C tests: mark that a worker runs a trial, then wait."""
    directory = os.environ["HPO_TEST_MARKERS"]
    open(os.path.join(directory, f"{os.getpid()}-{trial.id}"), "w").close()
    time.sleep(3600)


def dies_after_its_report(trial):
    """Reports its one result, then the process dies before the trial is told finished."""
    trial.report({"loss": curve(trial.config, 1)})
    if trial.id == 2 and os.environ.get("HPO_TEST_DIE") == "1":
        os._exit(3)
    return None
