"""Our methods inside a real Ray Tune runtime (2 CPUs, 2 declared logical GPUs)."""

from __future__ import annotations

import functools
import json
from collections import Counter
from pathlib import Path

import pytest

import hpo
from hpo import IntegrationError, Study
from hpo.core.trial import TrialStatus
from hpo.integrations.ray_tune import ray_components
from tests.hpo.helpers import FIDELITY, SPACE, journal_decisions
from tests.hpo.objectives import crashes_once, epochs, native_ray_trainable

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def global_rng_untouched():
    """Overrides the suite-wide sentinel for the stdlib ``random`` module only: Ray Tune's own
    driver loop shuffles its futures with it (``ray/air/execution/_internal/actor_manager.py``).
    numpy's global RNG must still be untouched."""
    import numpy as np

    state = np.random.get_state()
    yield
    after = np.random.get_state()
    assert np.array_equal(after[1], state[1]) and after[2:] == state[2:], \
        "the global numpy.random state changed"


@pytest.fixture(scope="module", autouse=True)
def ray_session(tmp_path_factory):
    """One local Ray runtime for the module; workers can import the ``tests`` package."""
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, configure_logging=False,
             log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}})
    yield
    ray.shutdown()


def observations(study: Study) -> Counter:
    return Counter((t.id, o.budget) for t in study.trials.values() for o in t.observations)


@pytest.mark.parametrize("method, budget", [("asha", 27 * 6), ("hyperband", 27 * 5)])
def test_same_decisions_in_process_and_through_ray(tmp_path, method, budget):
    """Equivalence: one concurrent Ray trial makes exactly the in-process decision sequence."""
    runs = {}
    for backend in ("local", "ray"):
        result = hpo.tune(functools.partial(epochs), SPACE, method=method, fidelity=FIDELITY,
                          max_budget=budget, seed=3, storage=tmp_path / backend,
                          backend=backend, max_concurrent=1)
        runs[backend] = result
    local, through_ray = (journal_decisions(tmp_path / b) for b in ("local", "ray"))
    assert len(local) > 60
    assert through_ray == local
    assert runs["ray"].best_config == runs["local"].best_config
    counts = runs["ray"].study.counts()
    assert counts[TrialStatus.PAUSED] + counts[TrialStatus.COMPLETED] > 0
    assert max(observations(runs["ray"].study).values()) == 1


def test_existing_tuner_script_with_native_trainable_pauses_and_resumes(tmp_path):
    """Drop-in: ``ray_components`` inside a plain ``tune.Tuner`` with a native trainable."""
    from ray import tune

    study = Study(SPACE, method="asha", fidelity=FIDELITY,
                  seed=5, storage=tmp_path / "study")
    searcher, scheduler = ray_components(study, max_concurrent=2,
                                         limits=hpo.Limits(max_trials=12), time_attr="epoch")
    tuner = tune.Tuner(native_ray_trainable,
                       tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler,
                                                   num_samples=-1, reuse_actors=True),
                       run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"),
                                                 name="dropin", verbose=0))
    grid = tuner.fit()
    assert not grid.errors
    study.refresh()
    assert len(study) == 12
    assert all(t.status.is_terminal or t.status is TrialStatus.PAUSED
               for t in study.trials.values())
    promoted = [t for t in study.trials.values() if t.budget > 1]
    assert promoted, "ASHA promoted nobody"
    for trial in promoted:  # resumed from the Ray checkpoint: the curve continues, no restart
        budgets = [o.budget for o in trial.observations]
        assert budgets == list(range(1, len(budgets) + 1)), budgets
        resumed = [o.metrics["resumed_from"] for o in trial.observations]
        assert max(resumed) > 0, "a promoted trial restarted from scratch"
    assert study.best() is not None


@pytest.mark.parametrize("tune_config, message", [
    ({"metric": "accuracy"}, "optimises 'loss'"),
    ({"metric": "loss", "mode": "max"}, "mode='max'"),
])
def test_conflicting_metric_or_mode_is_a_clear_error(tmp_path, tune_config, message):
    from ray import tune

    study = Study(SPACE, method="asha", fidelity=FIDELITY, seed=0, storage=tmp_path / "s")
    searcher, scheduler = ray_components(study, limits=hpo.Limits(max_trials=2))
    tuner = tune.Tuner(native_ray_trainable,
                       tune_config=tune.TuneConfig(search_alg=searcher, scheduler=scheduler,
                                                   num_samples=-1, **tune_config),
                       run_config=tune.RunConfig(storage_path=str(tmp_path / "ray"), verbose=0))
    with pytest.raises(Exception, match=message) as info:
        tuner.fit()
    assert isinstance(info.value, IntegrationError) or "IntegrationError" in repr(info.value)


def test_paused_trials_hold_no_gpu(tmp_path):
    """2 logical GPUs, trials of {"gpu": 1}: more trials than GPUs sit paused at once while
    others run, and no two running epochs ever share a GPU."""
    log = tmp_path / "epochs.log"
    result = hpo.tune(functools.partial(epochs, log=str(log), delay=0.05), SPACE,
                      method="asha", fidelity=hpo.Fidelity("epochs", 1, 9), max_trials=10,
                      seed=1, storage=tmp_path / "study", backend="ray",
                      resources={"cpu": 1, "gpu": 1})
    study = result.study
    assert len(study) == 10 and study.counts()[TrialStatus.FAILED] == 0
    rows = [line.split() for line in log.read_text().splitlines()]
    assert {r[4] for r in rows} <= {"0", "1"}, "a trial ran without its own GPU"
    spans = [(float(r[2]), float(r[3]), r[4]) for r in rows]
    for i, (a0, a1, gpu_a) in enumerate(spans):
        for b0, b1, gpu_b in spans[i + 1:]:
            if a0 < b1 and b0 < a1:
                assert gpu_a != gpu_b, "two running epochs shared one GPU"
    # when was each trial paused (journal timestamps)? count paused trials while an epoch ran
    intervals, since = [], {}
    for line in (tmp_path / "study" / "journal.jsonl").read_text().splitlines()[1:]:
        event = json.loads(line)
        if event["e"] == "report" and event.get("v") == "p":
            since[event["t"]] = event["ts"]
        elif event["e"] in ("resume", "retire", "end") and event["t"] in since:
            intervals.append((since.pop(event["t"]), event.get("ts", float("inf"))))
    intervals += [(t0, float("inf")) for t0 in since.values()]
    most = max(sum(p0 < began < p1 for p0, p1 in intervals) for began, _, _ in spans)
    assert most >= 2, f"at most {most} trials were paused while an epoch ran on a GPU"


@pytest.mark.timeout(900)  # every crash restarts a Ray worker: minutes on a loaded machine
def test_crashed_worker_is_retried_and_an_always_failing_trial_is_recorded(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    log = tmp_path / "evals.log"
    result = hpo.tune(functools.partial(crashes_once, markers=str(markers), log=str(log)),
                      SPACE, method="random", fidelity=hpo.Fidelity("epochs", 1, 6),
                      max_trials=6, seed=2, storage=tmp_path / "study", backend="ray",
                      max_concurrent=2, max_failures=2)
    study = result.study
    assert sorted(p.name for p in markers.iterdir()) == ["1", "4"]  # both crashed once
    assert study.trials[3].status is TrialStatus.FAILED
    assert "failed" in study.trials[3].reason
    for tid in (1, 4):  # retried from the checkpoint: the curve goes on, nothing re-run
        assert [o.budget for o in study.trials[tid].observations] == [1, 2, 3, 4, 5, 6]
        assert study.trials[tid].status is TrialStatus.COMPLETED
    assert max(observations(study).values()) == 1
    evaluated = Counter(tuple(line.split()) for line in log.read_text().splitlines())
    assert max(evaluated.values()) == 1, "an epoch was evaluated twice"
    assert sum(t.status is TrialStatus.FAILED for t in study.trials.values()) == 1
    assert len(study) == 6 and result.best_config is not None


@pytest.mark.parametrize("resources, message", [
    ({"cpu": 1, "gpu": 3}, r"gpu=3 but the Ray cluster has 2 GPU"),
    ({"cpus": 1}, r"cpus=1 but the Ray cluster has 0 cpus \(did you mean 'cpu'\?\)"),
])
def test_a_trial_that_can_never_be_placed_is_an_error_on_our_runtime(tmp_path, resources,
                                                                     message):
    """This runtime was started in this process (2 CPUs, 2 GPUs): nothing will ever add
    resources, so an unplaceable trial is an error naming the resource, not a silent hang."""
    with pytest.raises(IntegrationError, match=message):
        hpo.tune(functools.partial(epochs), SPACE, method="random", max_trials=2, seed=0,
                 storage=tmp_path / "s", backend="ray", resources=resources)


def _outcome(study: Study) -> tuple[dict, dict, int]:
    configs = {t.id: t.config for t in study.trials.values()}
    losses = {(t.id, o.budget): o.metrics[study.objective.metric]
              for t in study.trials.values() for o in t.observations}
    return configs, losses, study.best().id


def test_two_concurrent_ray_trials_keep_configs_losses_and_the_best_of_a_sync_schedule(
        tmp_path):
    """The README's guarantee at max_concurrent >= 2: a synchronous schedule run to its end
    (Hyperband with ``iterations``) gives every trial the same config, the same loss at every
    (trial, budget) and the same best as a sequential in-process run; only the event order
    may differ."""
    from schedulers.methods import Hyperband

    runs = {}
    for backend, concurrency in (("local", 1), ("ray", 2)):
        runs[backend] = hpo.tune(functools.partial(epochs), SPACE,
                                 method=Hyperband(iterations=1),
                                 fidelity=hpo.Fidelity("epochs", 1, 9), seed=3,
                                 storage=tmp_path / backend, backend=backend,
                                 max_concurrent=concurrency).study
    local, through_ray = _outcome(runs["local"]), _outcome(runs["ray"])
    assert len(local[0]) == 17 and len(local[1]) > 30
    assert through_ray == local


@pytest.mark.slow
def test_two_concurrent_ray_trials_of_asha_keep_each_trials_config_and_curve(tmp_path):
    """ASHA is asynchronous: at max_concurrent=2 which trials get promoted (and so the best)
    may differ from a sequential run; each trial id still gets the same config and the same
    loss at every budget both runs evaluated."""
    runs = {}
    for backend, concurrency in (("local", 1), ("ray", 2)):
        runs[backend] = hpo.tune(functools.partial(epochs), SPACE, method="asha",
                                 fidelity=FIDELITY, max_trials=12, seed=3,
                                 storage=tmp_path / backend, backend=backend,
                                 max_concurrent=concurrency).study
    (c1, l1, _), (c2, l2, _) = _outcome(runs["local"]), _outcome(runs["ray"])
    assert set(c1) == set(c2) and c1 == c2
    common = set(l1) & set(l2)
    assert len(common) >= 12 and all(l1[k] == l2[k] for k in common)
    assert max(observations(runs["ray"]).values()) == 1
