"""A real training problem that runs on CPU in seconds: an MLP on scikit-learn's digits.

Hyperparameters: learning rate, momentum, weight decay, hidden width, batch size; fidelity:
epochs (1..27); loss: validation cross-entropy (accuracy is reported too). Training is
deterministic per config (the torch generator is seeded from the config), so a trial resumed
from its checkpoint continues exactly where it paused, and the loss at 27 epochs is the
"true" loss. Costs are measured training seconds.

The same code is a real ``hpo.tune`` objective (:func:`objective`): it saves and loads real
checkpoints through the trial handle.
"""

from __future__ import annotations

import io
import math
import time
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from benchmarks.problem import Problem
from hpo import Fidelity, Float, Int, Ordinal, SearchSpace
from hpo.core.types import Config

SPACE = SearchSpace([Float("lr", 1e-3, 1.0, log=True), Float("momentum", 0.0, 0.99),
                     Float("weight_decay", 1e-6, 1e-1, log=True),
                     Int("hidden", 16, 256, log=True), Ordinal("batch_size", [16, 32, 64, 128])])
FIDELITY = Fidelity("epochs", 1, 27)

#: Regret constants of the ``digits`` problem, measured once so that a regret figure means the
#: same in every results set: the best and the median validation loss at 27 epochs of a
#: recorded sweep (:func:`sweep`) of 600 random configurations (seed 0), run with
#: ``python -m benchmarks digits-sweep --configs 600 --seed 0 --out benchmarks/digits_sweep.json``
#: (about 6 CPU-minutes; the record, with every config's loss, is ``digits_sweep.json``).
#: A run that beats the sweep's best gets a (slightly) negative regret.
DIGITS_OPTIMUM = 0.035447366535663605
DIGITS_REFERENCE = 0.3876107633113861


@lru_cache(maxsize=1)
def _data() -> tuple[Any, Any, Any, Any]:
    import torch
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    x = (x[order] / 16.0).astype(np.float32)
    y = y[order].astype(np.int64)
    cut = 1200
    return (torch.from_numpy(x[:cut]), torch.from_numpy(y[:cut]),
            torch.from_numpy(x[cut:]), torch.from_numpy(y[cut:]))


class Trainer:
    """Model, optimiser and data order of one config; ``state`` / ``load`` are checkpoints."""

    def __init__(self, config: Config) -> None:
        import torch

        torch.set_num_threads(1)
        seed = zlib.crc32(repr(sorted(config.items())).encode())
        self.generator = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng():  # default init draws globally: keep the global state
            self.model = torch.nn.Sequential(torch.nn.Linear(64, config["hidden"]),
                                             torch.nn.ReLU(),
                                             torch.nn.Linear(config["hidden"], 10))
        with torch.no_grad():  # then re-initialise from our own generator (PyTorch's scheme)
            for layer in (self.model[0], self.model[2]):
                bound = 1.0 / layer.in_features ** 0.5
                for param in (layer.weight, layer.bias):
                    param.uniform_(-bound, bound, generator=self.generator)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=config["lr"],
                                         momentum=config["momentum"],
                                         weight_decay=config["weight_decay"])
        self.batch = config["batch_size"]
        self.epoch = 0

    def train_epoch(self) -> dict[str, float]:
        import torch

        xt, yt, xv, yv = _data()
        self.model.train()
        order = torch.randperm(len(yt), generator=self.generator)
        for start in range(0, len(order), self.batch):
            idx = order[start:start + self.batch]
            self.optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(self.model(xt[idx]), yt[idx])
            loss.backward()
            self.optimizer.step()
        self.epoch += 1
        self.model.eval()
        with torch.no_grad():
            logits = self.model(xv)
            val = torch.nn.functional.cross_entropy(logits, yv).item()
            acc = (logits.argmax(1) == yv).float().mean().item()
        if not np.isfinite(val):
            val = float("nan")
        return {"loss": val, "accuracy": acc}

    def state(self) -> bytes:
        import torch

        buffer = io.BytesIO()
        torch.save({"model": self.model.state_dict(), "opt": self.optimizer.state_dict(),
                    "gen": self.generator.get_state(), "epoch": self.epoch}, buffer)
        return buffer.getvalue()

    def load(self, data: bytes) -> None:
        import torch

        state = torch.load(io.BytesIO(data), weights_only=True)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["opt"])
        self.generator.set_state(state["gen"])
        self.epoch = int(state["epoch"])


def objective(trial: Any) -> None:
    """A real ``hpo.tune`` objective with checkpoints (the README's main example)."""
    trainer = Trainer(trial.config)
    state = trial.load_checkpoint()
    if state is not None:
        trainer.load(state)
    while trainer.epoch < trial.max_budget:
        metrics = trainer.train_epoch()
        verdict = trial.report(metrics, budget=trainer.epoch, checkpoint=trainer.state)
        if verdict.should_stop:
            return


class DigitsMLP(Problem):
    """The digits MLP as a simulator problem: real training, real (in-memory) checkpoints."""

    def __init__(self) -> None:
        self.name = "digits"
        self.space = SPACE
        self.fidelity = FIDELITY
        self.resumable = True
        self.incremental = True
        self.optimum = DIGITS_OPTIMUM  # fixed constants from a recorded sweep (see above)
        self.reference = DIGITS_REFERENCE
        self._checkpoints: dict[Any, tuple[bytes, float]] = {}
        self._final: dict[str, float] = {}

    def segment(self, key: Any, config: Config, budgets: Sequence[float], seed: int,
                ) -> tuple[np.ndarray, np.ndarray]:
        trainer = Trainer(config)
        spent = 0.0
        if key in self._checkpoints:
            data, spent = self._checkpoints[key]
            trainer.load(data)
        if trainer.epoch >= budgets[0]:
            raise ValueError(f"segment {key} starts at budget {budgets[0]} but its checkpoint "
                             f"is at epoch {trainer.epoch}")
        losses, costs = [], []
        for budget in budgets:
            start = time.perf_counter()
            while trainer.epoch < budget:
                metrics = trainer.train_epoch()
            spent += time.perf_counter() - start
            losses.append(metrics["loss"])
            costs.append(spent)
        self._checkpoints[key] = (trainer.state(), spent)
        if trainer.epoch >= FIDELITY.max:
            self._final[repr(sorted(config.items()))] = losses[-1]
        return np.array(losses), np.array(costs)

    def end_run(self, run: Any) -> None:
        for key in [k for k in self._checkpoints if isinstance(k, tuple) and k[0] == run]:
            del self._checkpoints[key]

    def curve(self, config: Config, budgets: Sequence[float], seed: int,
              ) -> tuple[np.ndarray, np.ndarray]:
        key = ("curve", object())  # a one-off trial: train from scratch, keep nothing
        try:
            return self.segment(key, config, budgets, seed)
        finally:
            self._checkpoints.pop(key, None)

    def true_loss(self, config: Config) -> float:
        key = repr(sorted(config.items()))
        if key not in self._final:
            self.curve(config, [FIDELITY.max], 0)
        value = self._final[key]
        return value if np.isfinite(value) else float("inf")


def sweep(configs: int, seed: int) -> dict[str, Any]:
    """Full-fidelity losses of ``configs`` random configs (``SPACE.sample`` with
    ``numpy.random.default_rng(seed)``), their best (``optimum``) and median (``reference``):
    how :data:`DIGITS_OPTIMUM` and :data:`DIGITS_REFERENCE` were measured. Deterministic."""
    problem = DigitsMLP()
    start = time.perf_counter()
    rows = [(c, problem.true_loss(c)) for c in SPACE.sample(np.random.default_rng(seed), configs)]
    losses = np.array([loss for _, loss in rows], dtype=float)
    best = int(np.argmin(losses))
    return {"configs": configs, "seed": seed, "optimum": float(losses[best]),
            "reference": float(np.median(losses)), "best_config": rows[best][0],
            "seconds": round(time.perf_counter() - start, 1),
            "losses": [round(loss, 6) if math.isfinite(loss) else None for _, loss in rows]}
