"""Hugging Face ``Trainer``: report every evaluation to the trial, pause / stop on the
verdict, and resume from the Trainer's own checkpoint.

    from transformers import Trainer, TrainingArguments
    from hpo.integrations.huggingface import HPOTrainerCallback

    def objective(trial):
        hpo_cb = HPOTrainerCallback(trial)
        args = TrainingArguments(output_dir=str(trial.checkpoint_dir / "out"),
                                 num_train_epochs=trial.max_budget, eval_strategy="epoch",
                                 save_strategy="no", report_to=[])
        trainer = Trainer(model=build(trial.config), args=args, train_dataset=train,
                          eval_dataset=val, callbacks=[hpo_cb])
        trainer.train(resume_from_checkpoint=hpo_cb.resume_path)   # None for a new trial

Each ``on_evaluate`` reports the numeric evaluation metrics (``eval_loss``, ...; the study's
metric must be among them) at budget = epochs done (``unit="epoch"``, the epoch rounded) or
optimiser steps done (``unit="step"``). On PAUSE the callback asks the Trainer to save its
checkpoint (model, optimizer, scheduler, RNG and trainer state: ``checkpoint-<step>``) and to
stop; the checkpoint is moved into ``trial.checkpoint_dir / "huggingface"`` unless
``output_dir`` already lies inside the trial's checkpoint directory. On STOP it only stops
training. :attr:`HPOTrainerCallback.resume_path` is the saved checkpoint once the method resumes
the trial, and ``trainer.train(resume_from_checkpoint=...)`` continues at its step. Avoid
``save_strategy="best"``, which overrides the save request.

Requires ``transformers`` and ``accelerate`` (``pip install 'scaletune[hf]'``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpo.core.decisions import Verdict
from hpo.errors import IntegrationError
from hpo.execution.handle import TrialHandle

try:
    from transformers import TrainerCallback
except ImportError as err:  # pragma: no cover - exercised where transformers is missing
    raise IntegrationError(f"hpo.integrations.huggingface needs transformers ({err}); install "
                           "it with `pip install 'scaletune[hf]'`") from None

__all__ = ["CHECKPOINT_DIR", "POINTER", "HPOTrainerCallback"]

CHECKPOINT_DIR = "huggingface"
POINTER = "huggingface.json"  # which checkpoint of the trial the next segment resumes from
UNITS = ("epoch", "step")


def numeric_metrics(metrics: Mapping[str, Any] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in (metrics or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[str(key)] = float(value)
    return out


class HPOTrainerCallback(TrainerCallback):
    """Reports each evaluation to ``trial``; pauses (with a checkpoint) or stops on the verdict.

    Args:
        trial: the :class:`~hpo.TrialHandle` the objective received.
        unit: what a budget counts: ``"epoch"`` (evaluate every epoch) or ``"step"``
            (optimiser steps; evaluate every few steps).
    """

    def __init__(self, trial: TrialHandle, *, unit: str = "epoch") -> None:
        if not isinstance(trial, TrialHandle):
            raise IntegrationError(f"HPOTrainerCallback needs the hpo.TrialHandle the objective "
                                   f"received, got {trial!r}")
        if unit not in UNITS:
            raise IntegrationError(f"unit must be one of {list(UNITS)}, got {unit!r}")
        self.trial, self.unit = trial, unit
        self.verdict: Verdict | None = None
        self._pause_budget: Any = None

    @property
    def resume_path(self) -> str | None:
        """The checkpoint to pass as ``trainer.train(resume_from_checkpoint=...)``: the one
        saved at the last pause when the trial is resumed, else None."""
        if not self.trial.resume_from:
            return None
        pointer = self.trial.checkpoint_dir / POINTER
        try:
            path = self.trial.checkpoint_dir / json.loads(pointer.read_text())["path"]
        except (FileNotFoundError, KeyError, ValueError):
            return None
        return str(path) if path.is_dir() else None

    def _budget(self, state: Any) -> Any:
        if self.unit == "step":
            budget: Any = int(state.global_step)
        else:
            budget = int(round(float(state.epoch or 0)))
        top = self.trial.max_budget
        if top is not None and math.isfinite(float(top)) and budget > top:
            return top
        return budget

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None,
                    **kwargs: Any) -> Any:
        if not state.is_world_process_zero:
            return control
        budget = self._budget(state)
        if not budget:
            return control
        self.verdict = verdict = self.trial.report(numeric_metrics(metrics), budget=budget)
        if verdict.should_stop:
            control.should_training_stop = True
            if verdict.is_pause:
                control.should_save = True
                self._pause_budget = budget
        return control

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
        if self._pause_budget is None or not state.is_world_process_zero:
            return control
        budget, self._pause_budget = self._pause_budget, None
        saved = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if not saved.is_dir():
            raise IntegrationError(f"the Trainer saved no checkpoint at {saved} for the pause "
                                   f"of trial {self.trial.id}")
        home = self.trial.checkpoint_dir.resolve()
        if home not in saved.resolve().parents:  # move it into the trial's checkpoint dir
            target = home / CHECKPOINT_DIR / saved.name
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(saved), str(target))
            saved = target
        _write_pointer(home / POINTER, {"path": str(saved.resolve().relative_to(home)),
                                        "step": int(state.global_step), "budget": budget})
        for old in (home / CHECKPOINT_DIR).glob("checkpoint-*"):  # keep only the latest
            if old.resolve() != saved.resolve():
                shutil.rmtree(old, ignore_errors=True)
        return control


def _write_pointer(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)
