"""Table-backed problems: FCNet (final values, single fidelity) and LCDB learning curves.

* **FCNet** (Klein & Hutter 2019; HPOLib tabular benchmark, 4 UCI regression tasks): the
  validation MSE after 100 epochs of 62,208 configurations, 4 seeds each. An evaluation returns
  one of the 4 seeds (drawn from the run seed); regret is measured on the seed mean. No
  fidelity; each evaluation costs 1 unit.
* **LCDB** (Mohr et al. 2022): learning curves of 20 scikit-learn learners over training-set
  sizes. The config is the learner; the fidelity is the training-set size (16 .. the dataset's
  final size); the loss is the validation error at the largest anchor <= budget; the cost is
  the measured training time there. Larger training sets mean retraining (not resumable).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from benchmarks.data import data_path
from benchmarks.problem import Problem, noise_rng
from hpo import Categorical, Fidelity, Ordinal, SearchSpace
from hpo.core.types import Config

FCNET_AXES = (
    ("activation_fn_1", ("relu", "tanh"), False),
    ("activation_fn_2", ("relu", "tanh"), False),
    ("batch_size", (8, 16, 32, 64), True),
    ("dropout_1", (0.0, 0.3, 0.6), True),
    ("dropout_2", (0.0, 0.3, 0.6), True),
    ("init_lr", (5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1), True),
    ("lr_schedule", ("cosine", "const"), False),
    ("n_units_1", (16, 32, 64, 128, 256, 512), True),
    ("n_units_2", (16, 32, 64, 128, 256, 512), True),
)
FCNET_TASKS = ("naval_propulsion", "parkinsons_telemonitoring", "protein_structure",
               "slice_localization")


class FCNet(Problem):
    """One FCNet task, e.g. ``fcnet/protein_structure``."""

    def __init__(self, task: str) -> None:
        if task not in FCNET_TASKS:
            raise ValueError(f"unknown FCNet task {task!r}; valid: {list(FCNET_TASKS)}")
        self.name = f"fcnet/{task}"
        with np.load(data_path("fcnet_final", f"hpolib_{task}.npz")) as data:
            self.values = np.asarray(data["values"], dtype=float)
        self.space = SearchSpace([Ordinal(n, v) if ordered else Categorical(n, v)
                                  for n, v, ordered in FCNET_AXES])
        self.fidelity = None
        self.resumable = True
        means = self.values.mean(axis=-1)
        self.optimum = float(means.min())
        self.reference = float(np.median(means))

    def _index(self, config: Config) -> tuple[int, ...]:
        return tuple(values.index(config[name]) for name, values, _ in FCNET_AXES)

    def curve(self, config: Config, budgets: Sequence[float], seed: int,
              ) -> tuple[np.ndarray, np.ndarray]:
        run_seed = int(noise_rng(config, 1.0, seed).integers(self.values.shape[-1]))
        value = self.values[self._index(config) + (run_seed,)]
        return np.full(len(budgets), value), np.ones(len(budgets))

    def true_loss(self, config: Config) -> float:
        return float(self.values[self._index(config)].mean())


@lru_cache(maxsize=1)
def _lcdb() -> object:
    import pandas as pd

    return pd.read_csv(data_path("lcdb", "lcdb_accuracy_agg.csv.gz"))


class LCDB(Problem):
    """The learner-selection problem of one LCDB dataset, e.g. ``lcdb/6``."""

    def __init__(self, openmlid: int) -> None:
        frame = _lcdb()
        rows = frame[frame.openmlid == int(openmlid)]  # type: ignore[attr-defined]
        if rows.empty:
            raise ValueError(f"LCDB has no dataset {openmlid}")
        final = int(rows.size_train.max())
        learners = sorted(rows[rows.size_train == final].learner.unique())
        self.name = f"lcdb/{openmlid}"
        self.space = SearchSpace([Categorical("learner", learners)])
        self.fidelity = Fidelity("train_size", int(rows.size_train.min()), final)
        self.resumable = False
        self._curves: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for learner in learners:
            part = rows[rows.learner == learner].sort_values("size_train")
            self._curves[learner] = (part.size_train.to_numpy(float),
                                     1.0 - part.valid_mean.to_numpy(float),
                                     part.traintime_mean.to_numpy(float))
        finals = [self.true_loss({"learner": name}) for name in learners]
        self.optimum = float(min(finals))
        self.reference = float(np.median(finals))

    def curve(self, config: Config, budgets: Sequence[float], seed: int,
              ) -> tuple[np.ndarray, np.ndarray]:
        sizes, errors, times = self._curves[config["learner"]]
        idx = np.clip(np.searchsorted(sizes, np.asarray(budgets, float), side="right") - 1,
                      0, len(sizes) - 1)
        return errors[idx], np.maximum(times[idx], 1e-3)

    def true_loss(self, config: Config) -> float:
        return float(self._curves[config["learner"]][1][-1])


LCDB_DATASETS = (6, 1485, 1590, 41027)
