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


# --- objectives for the Ray tests (bound with functools.partial; Ray pickles the partial) ---

def _log(path, *fields):
    if path:
        with open(path, "a") as fh:
            fh.write(" ".join(str(f) for f in fields) + "\n")


def epochs(trial, log=None, delay=0.0):
    """Checkpointed epoch loop; logs ``trial epoch start end gpu_ids`` for every epoch."""
    state = trial.load_checkpoint()
    epoch = json.loads(state)["epoch"] if state else 0
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES", "-") or "-"
    while epoch < trial.max_budget:
        epoch += 1
        began = time.time()
        if delay:
            time.sleep(delay)
        _log(log, trial.id, epoch, began, time.time(), gpus)
        verdict = trial.report({"loss": curve(trial.config, epoch)}, budget=epoch,
                               checkpoint=json.dumps({"epoch": epoch}).encode())
        if verdict.should_stop:
            return None
    return None


def crashes_once(trial, markers=None, log=None):
    """Like ``epochs``, but trials 1 and 4 kill their process once at epoch 3 (before
    reporting it) and trial 3 raises every time."""
    if trial.id == 3:
        raise RuntimeError("trial 3 always fails")
    state = trial.load_checkpoint()
    epoch = json.loads(state)["epoch"] if state else 0
    while epoch < trial.max_budget:
        epoch += 1
        marker = os.path.join(markers, str(trial.id))
        if trial.id in (1, 4) and epoch == 3 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        _log(log, trial.id, epoch)
        verdict = trial.report({"loss": curve(trial.config, epoch)}, budget=epoch,
                               checkpoint=json.dumps({"epoch": epoch}).encode())
        if verdict.should_stop:
            return None
    return None


def native_ray_trainable(config):
    """An unmodified Ray Tune function trainable (``tune.report`` + directory checkpoints)."""
    import tempfile

    from ray import tune

    start = 0
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as d:
            with open(os.path.join(d, "state.json")) as fh:
                start = json.load(fh)["epoch"]
    for epoch in range(start + 1, 28):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "state.json"), "w") as fh:
                json.dump({"epoch": epoch}, fh)
            tune.report({"loss": curve(config, epoch), "epoch": epoch, "resumed_from": start},
                        checkpoint=tune.Checkpoint.from_directory(d))
