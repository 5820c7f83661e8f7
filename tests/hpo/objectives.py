"""Module-level objectives (importable by spawned worker processes)."""

from __future__ import annotations

import json
import os
import time

from .helpers import curve


def single(trial):
    return curve(trial.config, 27)


def checkpointed(trial):
    """Trains epoch by epoch, resuming from a bytes checkpoint; logs every evaluation."""
    state = trial.load_checkpoint()
    epoch = json.loads(state)["epoch"] if state else 0
    log = os.environ.get("HPO_TEST_EVAL_LOG")
    delay = float(os.environ.get("HPO_TEST_DELAY", "0"))
    while epoch < trial.max_budget:
        epoch += 1
        if delay:
            time.sleep(delay)
        if log:
            with open(log, "a") as fh:
                fh.write(f"{trial.id} {epoch}\n")
        verdict = trial.report({"loss": curve(trial.config, epoch), "epoch": epoch},
                               budget=epoch, checkpoint=json.dumps({"epoch": epoch}).encode())
        if verdict.should_stop:
            return None
    return None


def flaky(trial):
    if trial.id % 3 == 1:
        raise RuntimeError(f"boom in trial {trial.id}")
    return curve(trial.config, 27)


def dies(trial):
    if trial.id == 2:
        os._exit(13)
    return curve(trial.config, 27)


def always_dies(trial):
    os._exit(3)
