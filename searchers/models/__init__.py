"""The GP layer of the model-based searchers (botorch + gpytorch, float64).

* :mod:`~searchers.models.encoding`: :class:`Encoder` (spaces to GP inputs and back);
* :mod:`~searchers.models.data`: failure penalty, outlier clipping, the row cap;
* :mod:`~searchers.models.gp`: model building, fitting with fallback, hyper-parameter JSON,
  :func:`torch_context` (seeded, thread-pinned, global RNG restored);
* :mod:`~searchers.models.acquisition`: qLogNEI with pending points and its optimisation.

Takes numpy arrays; imports nothing from ``schedulers`` and no ``Study``.
"""

from searchers.models.acquisition import propose
from searchers.models.data import TrainingSet, capped_rows, penalised_targets, training_set
from searchers.models.encoding import INACTIVE_CATEGORY, INACTIVE_NUMERIC, Encoder
from searchers.models.gp import (
                                 FitReport,
                                 build_model,
                                 fit_model,
                                 hypers_to_json,
                                 load_hypers,
                                 noise_variance,
                                 predict,
                                 torch_context,
)

__all__ = [
                                 "INACTIVE_CATEGORY",
                                 "INACTIVE_NUMERIC",
                                 "Encoder",
                                 "FitReport",
                                 "TrainingSet",
                                 "build_model",
                                 "capped_rows",
                                 "fit_model",
                                 "hypers_to_json",
                                 "load_hypers",
                                 "noise_variance",
                                 "penalised_targets",
                                 "predict",
                                 "propose",
                                 "torch_context",
                                 "training_set",
]
