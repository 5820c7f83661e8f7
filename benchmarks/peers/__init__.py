"""Peer libraries as benchmark opponents (never imported by hpo / searchers / schedulers).

==================  =====================================================================
name                what runs
==================  =====================================================================
``dehb-ref``        the reference DEHB package (automl/DEHB 0.1.2), own virtualenv
``optuna-tpe-hb``   Optuna 5: TPE sampler + HyperbandPruner (plain TPE without fidelity)
``smac-mf``         SMAC3 2.4 multi-fidelity facade (RF + Hyperband intensifier), or its
                    HPO facade without fidelity
``synetune-bohb``   Syne Tune 0.13 BOHB (KDE + asynchronous Hyperband, stopping type), or
                    its KDE searcher without fidelity; own virtualenv
``ray-asha``        Ray Tune's ASHAScheduler with random sampling (in process: ray is a core
                    dependency)
==================  =====================================================================
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
        "ray-asha": RayASHA(),
    }
