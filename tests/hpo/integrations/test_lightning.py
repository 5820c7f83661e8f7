"""The Lightning callback on a real (tiny) training run: ASHA pauses it, saves Lightning's
checkpoint, resumes it from there, and the run continues at the right epoch and step."""

from __future__ import annotations

import warnings

import pytest

import hpo
from hpo import Fidelity, Float, Int, SearchSpace

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")
import lightning.pytorch as pl  # noqa: E402

from hpo.integrations.lightning import CHECKPOINT, HPOCallback  # noqa: E402

SPACE = SearchSpace([Float("lr", 0.01, 0.3, log=True), Int("width", 4, 16)])
BATCHES = 4  # batches per epoch


class MLP(pl.LightningModule):
    def __init__(self, lr: float, width: int) -> None:
        super().__init__()
        self.lr = lr
        self.net = torch.nn.Sequential(torch.nn.Linear(3, width), torch.nn.Tanh(),
                                       torch.nn.Linear(width, 1))

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.lr, momentum=0.9)


class Starts(pl.Callback):
    """Records where each fit starts (after Lightning restored its checkpoint)."""

    def __init__(self, log, trial):
        self.record, self.trial, self.seen = log, trial, False

    def on_train_epoch_start(self, trainer, pl_module):
        if not self.seen:
            self.seen = True
            self.record.append((self.trial.id, self.trial.resume_from, trainer.current_epoch,
                             trainer.global_step))


def data(seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(8 * BATCHES, 3, generator=gen)
    y = x.sum(dim=1, keepdim=True).sin()
    return torch.utils.data.TensorDataset(x, y)


def make_objective(log):
    def objective(trial):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(trial.id)
            hpo_cb = HPOCallback(trial)
            trainer = pl.Trainer(max_epochs=trial.max_budget, callbacks=[hpo_cb,
                                 Starts(log, trial)], logger=False, enable_checkpointing=False,
                                 enable_progress_bar=False, enable_model_summary=False,
                                 accelerator="cpu", devices=1)
            loader = torch.utils.data.DataLoader(data(0), batch_size=8, shuffle=True)
            val = torch.utils.data.DataLoader(data(1), batch_size=16)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*(num_workers|bottleneck|"
                                        "LeafSpec|litlogger).*")
                trainer.fit(MLP(**trial.config), loader, val, ckpt_path=hpo_cb.resume_path)
    return objective


def test_asha_pauses_and_resumes_a_lightning_run_from_its_checkpoint(tmp_path):
    log = []
    result = hpo.tune(make_objective(log), SPACE, metric="val_loss", method="asha",
                      fidelity=Fidelity("epochs", 1, 9), max_budget=24, seed=0,
                      storage=tmp_path / "study")
    study = result.study
    resumed = [entry for entry in log if entry[1] > 0]
    assert resumed, f"ASHA resumed no trial: {log}"
    for tid, resume_from, epoch, step in resumed:
        # Lightning restored the checkpoint of the pause: the next epoch, the next step
        assert (epoch, step) == (resume_from, resume_from * BATCHES), (tid, resume_from)
        assert (tmp_path / "study" / "checkpoints" / str(tid) / CHECKPOINT).is_file() \
            or (study.storage.checkpoint_root / str(tid) / CHECKPOINT).is_file()
    for entry in log:
        if entry[1] == 0:
            assert entry[2:] == (0, 0)
    for trial in study.trials.values():  # every budget recorded once, in order, no gap
        budgets = [o.budget for o in trial.observations]
        assert budgets == list(range(1, len(budgets) + 1)), (trial.id, budgets)
        assert "train_loss" in trial.observations[-1].metrics
    counts = study.counts()
    assert counts["failed"] == 0 and counts["paused"] + counts["completed"] + \
        counts["stopped"] == len(study)
    assert any(t.budget == 9 for t in study.trials.values() if t.status.value == "completed")


def test_the_callback_refuses_what_is_not_a_trial():
    with pytest.raises(hpo.IntegrationError, match="'trial'"):
        HPOCallback("trial")
