"""The Hugging Face Trainer callback on a real (tiny, config-built) BERT: ASHA pauses it, the
Trainer's checkpoint lands in the trial's directory, and the resumed run continues at its step."""

from __future__ import annotations

import contextlib
import random
import warnings

import numpy as np
import pytest

import hpo
from hpo import Fidelity, Float, SearchSpace

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from hpo.integrations.huggingface import POINTER, HPOTrainerCallback  # noqa: E402

SPACE = SearchSpace([Float("lr", 1e-4, 1e-2, log=True)])
SAMPLES, BATCH = 16, 8  # 2 optimiser steps per epoch


@contextlib.contextmanager
def own_rng():
    """The Trainer seeds the global random / numpy / torch RNGs: give them back after."""
    py, np_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        random.setstate(py)
        np.random.set_state(np_state)


def dataset(seed):
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, 50, (SAMPLES, 8), generator=gen)
    labels = (ids[:, 0] > 25).long()
    return [{"input_ids": i, "attention_mask": torch.ones_like(i), "labels": y}
            for i, y in zip(ids, labels)]


class Starts(transformers.TrainerCallback):
    def __init__(self, record, trial):
        self.record, self.trial = record, trial

    def on_train_begin(self, args, state, control, **kwargs):
        self.record.append((self.trial.id, self.trial.resume_from, state.global_step))


def make_objective(record):
    def objective(trial):
        with own_rng(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1,
                                             num_attention_heads=2, intermediate_size=32,
                                             max_position_embeddings=16, num_labels=2)
            model = transformers.BertForSequenceClassification(config)
            hpo_cb = HPOTrainerCallback(trial)
            args = transformers.TrainingArguments(
                output_dir=str(trial.checkpoint_dir.parent / f"out-{trial.id}"),
                num_train_epochs=trial.max_budget, learning_rate=trial.config["lr"],
                per_device_train_batch_size=BATCH, per_device_eval_batch_size=SAMPLES,
                eval_strategy="epoch", save_strategy="no", logging_strategy="no",
                report_to=[], use_cpu=True, disable_tqdm=True, seed=trial.id,
                dataloader_num_workers=0)
            trainer = transformers.Trainer(model=model, args=args, train_dataset=dataset(0),
                                           eval_dataset=dataset(1),
                                           callbacks=[hpo_cb, Starts(record, trial)])
            trainer.train(resume_from_checkpoint=hpo_cb.resume_path)
    return objective


def test_asha_pauses_and_resumes_a_trainer_run_from_its_checkpoint(tmp_path):
    record = []
    result = hpo.tune(make_objective(record), SPACE, metric="eval_loss", method="asha",
                      fidelity=Fidelity("epochs", 1, 4, integer=True), max_budget=10, seed=0,
                      storage=tmp_path / "study")
    study = result.study
    resumed = [entry for entry in record if entry[1] > 0]
    assert resumed, f"ASHA resumed no trial: {record}"
    steps_per_epoch = SAMPLES // BATCH
    for tid, resume_from, step in resumed:  # the Trainer restored the pause's checkpoint
        assert step == resume_from * steps_per_epoch, (tid, resume_from, step)
        assert (study.storage.checkpoint_root / str(tid) / POINTER).is_file()
    assert all(entry[2] == 0 for entry in record if entry[1] == 0)
    for trial in study.trials.values():  # every epoch recorded once, in order
        budgets = [o.budget for o in trial.observations]
        assert budgets == list(range(1, len(budgets) + 1)), (trial.id, budgets)
        assert "eval_loss" in trial.observations[-1].metrics
    assert study.counts()["failed"] == 0


def test_the_callback_refuses_bad_arguments():
    with pytest.raises(hpo.IntegrationError, match="'trial'"):
        HPOTrainerCallback("trial")
