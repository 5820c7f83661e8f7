"""Peer libraries as benchmark opponents (never imported by hpo / searchers / schedulers).

======================  ===================================================================
name                    what runs
======================  ===================================================================
``dehb-ref``            the reference DEHB package (automl/DEHB 0.1.2), own virtualenv
``optuna-tpe-hb``       Optuna 5: TPE sampler + HyperbandPruner (plain TPE without fidelity)
``optuna-tpe``          Optuna 5: TPE sampler, single fidelity (every trial at the full budget)
``optuna-gp``           Optuna 5: GPSampler (GP BO), single fidelity; torch in its virtualenv
``smac-mf``             SMAC3 2.4 multi-fidelity facade (RF + Hyperband intensifier), or its
                        HPO facade without fidelity
``smac-hpo``            SMAC3 2.4 HyperparameterOptimizationFacade (RF + log EI), single
                        fidelity; its initial design is sized by the run's budget
``synetune-bohb``       Syne Tune 0.13 BOHB (KDE + asynchronous Hyperband, stopping type), or
                        its KDE searcher without fidelity; own virtualenv
``synetune-mobster``    Syne Tune 0.13 MOBSTER (GP over config and resource + asynchronous
                        Hyperband, stopping type, its default ``gp_multitask`` model)
``synetune-hypertune``  Syne Tune 0.13 Hyper-Tune (independent GPs per rung, stopping type)
``synetune-dyhpo``      Syne Tune 0.13 DyHPO (pause / resume: MOBSTER's GP decides between
                        resuming a paused trial by one linear rung and starting a new one)
``carbs-ref``           the CARBS reference (imbue-ai/carbs @ 8f7fee0, MIT; Pyro GPs), built
                        offline from ``<shared>/peers/carbs-8f7fee0.tar.gz``; numeric spaces
``ray-asha``            Ray Tune's ASHAScheduler with random sampling (in process: ray is a core
                        dependency)
======================  ===================================================================
"""

from __future__ import annotations

from benchmarks.bench_method import BenchMethod


def peer_methods() -> dict[str, BenchMethod]:
    from benchmarks.peers.adapter import PeerMethod
    from benchmarks.peers.ray_asha import RayASHA

    return {
        "dehb-ref": PeerMethod("dehb-ref", "dehb"),
        "optuna-tpe-hb": PeerMethod("optuna-tpe-hb", "optuna", needs_fidelity=False,
                                    stopping=True),
        "smac-mf": PeerMethod("smac-mf", "smac", needs_fidelity=False),
        "synetune-bohb": PeerMethod("synetune-bohb", "synetune", needs_fidelity=False,
                                    stopping=True),
        "optuna-tpe": PeerMethod("optuna-tpe", "optuna", needs_fidelity=False),
        "optuna-gp": PeerMethod("optuna-gp", "optuna", needs_fidelity=False),
        "smac-hpo": PeerMethod("smac-hpo", "smac", needs_fidelity=False),
        "synetune-mobster": PeerMethod("synetune-mobster", "synetune", stopping=True),
        "synetune-hypertune": PeerMethod("synetune-hypertune", "synetune", stopping=True),
        "synetune-dyhpo": PeerMethod("synetune-dyhpo", "synetune"),
        "carbs-ref": PeerMethod("carbs-ref", "carbs", needs_fidelity=False),
        "ray-asha": RayASHA(),
    }
