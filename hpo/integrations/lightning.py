"""PyTorch Lightning: report every epoch to the trial, pause / stop on the verdict, resume.

    import lightning.pytorch as pl
    from hpo.integrations.lightning import HPOCallback

    def objective(trial):
        hpo_cb = HPOCallback(trial)
        trainer = pl.Trainer(max_epochs=trial.max_budget, callbacks=[hpo_cb],
                             enable_checkpointing=False, logger=False)
        trainer.fit(Model(**trial.config), train_loader, val_loader,
                    ckpt_path=hpo_cb.resume_path)   # None for a new trial

At the end of every training epoch (after its validation) the callback reports the numeric
``trainer.callback_metrics`` (what the module ``self.log``-ged, e.g. ``val_loss``; the study's
metric must be among them) at budget = epochs done. On PAUSE it saves Lightning's own
checkpoint (model, optimizer, schedulers, loops, callbacks' state) to
``trial.checkpoint_dir / "lightning.ckpt"`` and stops the trainer; on STOP it only stops it.
When the method resumes the trial, :attr:`HPOCallback.resume_path` is that checkpoint, and
``trainer.fit(..., ckpt_path=...)`` continues at the next epoch: the study sees budgets
``b + 1, b + 2, ...`` after a pause at ``b``, never a restart. Single-process training only
(under DDP each rank would report).

Requires ``lightning`` (``pip install 'scaletune[lightning]'``); ``hpo`` imports without it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpo.core.decisions import Verdict
from hpo.errors import IntegrationError
from hpo.execution.handle import TrialHandle

try:
    import lightning.pytorch as pl
except ImportError as err:  # pragma: no cover - exercised where lightning is missing
    raise IntegrationError(f"hpo.integrations.lightning needs PyTorch Lightning ({err}); "
                           "install it with `pip install 'scaletune[lightning]'`") from None

__all__ = ["CHECKPOINT", "HPOCallback"]

CHECKPOINT = "lightning.ckpt"


def numeric_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The scalar entries of a metrics mapping (tensors of one element, numbers) as floats."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if hasattr(value, "numel"):
            if value.numel() != 1:
                continue
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[str(key)] = float(value)
    return out


class HPOCallback(pl.Callback):
    """Reports each epoch to ``trial`` and pauses / stops the trainer on the verdict.

    Args:
        trial: the :class:`~hpo.TrialHandle` the objective received.
        every_n_epochs: report every n-th epoch (and the last one the trainer runs).
    """

    def __init__(self, trial: TrialHandle, *, every_n_epochs: int = 1) -> None:
        if not isinstance(trial, TrialHandle):
            raise IntegrationError(f"HPOCallback needs the hpo.TrialHandle the objective "
                                   f"received, got {trial!r}")
        if isinstance(every_n_epochs, bool) or not isinstance(every_n_epochs, int) \
                or every_n_epochs < 1:
            raise IntegrationError(f"every_n_epochs must be an int >= 1, got "
                                   f"{every_n_epochs!r}")
        self.trial, self.every_n_epochs = trial, every_n_epochs
        self.verdict: Verdict | None = None

    @property
    def checkpoint_path(self) -> Path:
        """Where the Lightning checkpoint of a paused trial is saved."""
        return self.trial.checkpoint_dir / CHECKPOINT

    @property
    def resume_path(self) -> str | None:
        """The checkpoint to pass as ``trainer.fit(ckpt_path=...)``: the one saved at the
        last pause when the trial is resumed, else None (train from scratch)."""
        if not self.trial.resume_from:
            return None
        path = self.checkpoint_path
        return str(path) if path.is_file() else None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch + 1
        last = trainer.max_epochs is not None and epoch >= trainer.max_epochs
        if epoch % self.every_n_epochs and not last:
            return
        metrics = numeric_metrics(trainer.callback_metrics)
        self.verdict = verdict = self.trial.report(metrics, budget=_budget(self.trial, epoch))
        if not verdict.should_stop:
            return
        if verdict.is_pause:
            self._save(trainer)
        trainer.should_stop = True

    def _save(self, trainer: pl.Trainer) -> None:
        """Lightning's checkpoint, written to a temporary name and renamed (never torn)."""
        path = self.checkpoint_path
        tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
        trainer.save_checkpoint(str(tmp))
        os.replace(tmp, path)


def _budget(trial: TrialHandle, epoch: int) -> Any:
    """The budget of a report after ``epoch`` epochs (clipped to the fidelity maximum)."""
    top = trial.max_budget
    if top is not None and math.isfinite(float(top)) and epoch > top:
        return top
    return epoch
