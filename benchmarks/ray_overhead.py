"""Overhead of running our methods through Ray Tune, against Ray Tune's own ASHA.

``n`` trivial trials (a closed-form learning curve, 9 reports each, no sleep) on a local Ray
runtime with 2 CPUs, 1 CPU per trial (2 at once), ``reuse_actors=True`` for everyone; measured
in one process, one after the other, in the same Ray session (``ray.init`` excluded):

* ``ray-asha``: Ray's ``ASHAScheduler`` (grace 1, reduction 3, max_t 9) + its random search
  (``BasicVariantGenerator``) on the same ``param_space``;
* ``ours-asha-stopping``: ``hpo.tune(..., method=ASHA(variant="stopping"), backend="ray")``:
  the same algorithm, every report journaled (fsync on completed results) and decided by our
  scheduler; the headline ratio is its wall time over ``ray-asha``'s;
* ``ours-asha-promotion``: our default ASHA, which pauses trials at rungs and resumes them
  from a Ray checkpoint when promoted (more work by design: checkpoints and restores).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

MAX_T = 9


def _loss(config: dict[str, Any], epoch: int) -> float:
    return (config["x"] - 0.3) ** 2 + 0.01 * config["n"] + (0.5 + 0.1 * config["n"]) / epoch


def native_trainable(config: dict[str, Any]) -> None:
    from ray import tune

    for epoch in range(1, MAX_T + 1):
        tune.report({"loss": _loss(config, epoch)})


def our_objective(trial: Any) -> None:
    """The same work as ``native_trainable`` (no checkpoints)."""
    for epoch in range(1, MAX_T + 1):
        trial.report({"loss": _loss(trial.config, epoch)}, budget=epoch)


def our_checkpointed_objective(trial: Any) -> None:
    """Saves a (tiny) checkpoint at every report, so that promoted trials resume."""
    start = trial.resume_from or 0
    for epoch in range(int(start) + 1, MAX_T + 1):
        trial.report({"loss": _loss(trial.config, epoch)}, budget=epoch,
                     checkpoint=str(epoch).encode())


def _param_space() -> dict[str, Any]:
    from ray import tune

    return {"x": tune.uniform(0.0, 1.0), "n": tune.randint(1, 5)}


def _ray_asha(n: int, workdir: Path, seed: int) -> dict[str, Any]:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    scheduler = ASHAScheduler(time_attr="training_iteration", max_t=MAX_T, grace_period=1,
                              reduction_factor=3)
    tuner = tune.Tuner(
        tune.with_resources(native_trainable, {"cpu": 1}), param_space=_param_space(),
        tune_config=tune.TuneConfig(metric="loss", mode="min", scheduler=scheduler,
                                    num_samples=n, reuse_actors=True,
                                    max_concurrent_trials=2),
        run_config=tune.RunConfig(storage_path=str(workdir), name=f"ray-asha-{n}", verbose=0))
    t0 = time.perf_counter()
    grid = tuner.fit()
    wall = time.perf_counter() - t0
    best = grid.get_best_result(metric="loss", mode="min", scope="all").metrics["loss"]
    frame = grid.get_dataframe()
    return {"wall_s": wall, "trials": len(frame), "reports": int(frame.training_iteration.sum()),
            "best_loss": float(best)}


def _ours(n: int, workdir: Path, seed: int, variant: str) -> dict[str, Any]:
    import hpo
    from schedulers import ASHA

    t0 = time.perf_counter()
    objective = our_objective if variant == "stopping" else our_checkpointed_objective
    result = hpo.tune(objective, _param_space(), method=ASHA(variant=variant),
                      fidelity=hpo.Fidelity("epoch", 1, MAX_T), max_trials=n, seed=seed,
                      storage=workdir / f"ours-{variant}", backend="ray",
                      resources={"cpu": 1}, max_concurrent=2)
    wall = time.perf_counter() - t0
    study = result.study
    return {"wall_s": wall, "trials": len(study),
            "reports": sum(len(t.observations) for t in study.trials.values()),
            "best_loss": result.best_value}


def run(out: Path, *, trials: int = 500, seed: int = 0) -> dict[str, Any]:
    """Run the three configurations; write ``ray_overhead.json`` and ``.md`` under ``out``."""
    import ray

    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="hpo-ray-overhead-"))
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False,
             log_to_driver=False)
    try:
        _ray_asha(10, workdir, seed + 1)  # warm-up (imports, registration), not timed
        _ours(10, workdir / "warm", seed + 1, "stopping")
        rows = {"ray-asha": _ray_asha(trials, workdir, seed),
                "ours-asha-stopping": _ours(trials, workdir, seed, "stopping"),
                "ours-asha-promotion": _ours(trials, workdir, seed, "promotion")}
    finally:
        ray.shutdown()
        shutil.rmtree(workdir, ignore_errors=True)
    base = rows["ray-asha"]["wall_s"]
    for row in rows.values():
        row["ratio"] = row["wall_s"] / base
    record = {"trials": trials, "cpus": 2, "max_t": MAX_T, "runs": rows}
    (out / "ray_overhead.json").write_text(json.dumps(record, indent=1))
    lines = [f"Ray Tune overhead: {trials} trivial trials, 2 CPUs, 9 reports max per trial",
             "", "| run | wall s | ratio to Ray's ASHA | trials | reports | best loss |",
             "|---|---|---|---|---|---|"]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['wall_s']:.1f} | {row['ratio']:.2f} | {row['trials']} "
                     f"| {row['reports']} | {row['best_loss']:.4f} |")
    (out / "ray_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return record
