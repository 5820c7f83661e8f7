"""How a study runs inside other tools: Ray Tune clusters, trackers and training frameworks.

Ray Tune (:mod:`~hpo.integrations.ray_tune`, fencing of orphaned workers in
:mod:`~hpo.integrations._ray_fence`), TensorBoard / MLflow / W&B trackers
(:mod:`~hpo.integrations.trackers`), and Lightning / Hugging Face Trainer callbacks. Each module
imports its third-party library lazily, so ``import hpo`` needs none of them.
"""
