"""Peer adapters: failed installs are reported, not fatal; real peers run (slow: installs)."""

import pytest

from benchmarks.peers import envs
from benchmarks.peers.envs import PeerUnavailable, ensure_env


@pytest.fixture
def fake_peer(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements"
    requirements.mkdir()
    (requirements / "nope.txt").write_text("scaletune-no-such-package-xyz==9.9.9\n")
    monkeypatch.setattr(envs, "REQUIREMENTS", requirements)
    monkeypatch.setitem(envs.IMPORTS, "nope", "nope")
    monkeypatch.setenv("SCALETUNE_PEER_ENVS", str(tmp_path / "envs"))
    return "nope"


def test_failed_install_is_reported_once(fake_peer):
    with pytest.raises(PeerUnavailable, match=r"nope: .*failed .*install.log"):
        ensure_env(fake_peer)
    with pytest.raises(PeerUnavailable, match="an earlier install failed"):
        ensure_env(fake_peer)


def test_unknown_peer():
    with pytest.raises(PeerUnavailable, match="unknown peer 'zzz'"):
        ensure_env("zzz")


def test_unavailable_peer_is_marked_in_the_table(fake_peer, tmp_path, monkeypatch):
    from benchmarks import methods
    from benchmarks.peers.adapter import PeerMethod
    from benchmarks.report import report
    from benchmarks.runner import Task, run_tasks

    real = methods.registry

    def fake_registry():
        return {**real(), "nope-peer": PeerMethod("nope-peer", fake_peer)}

    monkeypatch.setattr("benchmarks.runner.registry", fake_registry)
    tasks = [Task("t", "branin", m, 0, 2, 3, 10) for m in ("random", "nope-peer")]
    records = run_tasks(tasks, tmp_path / "out", jobs=1, echo=False)
    assert "PeerUnavailable" in next(r for r in records if r["method"] == "nope-peer")["error"]
    assert "| nope-peer | unavailable |" in report(tmp_path / "out")


def test_ray_asha_adapter_leaves_the_global_rng_alone():
    from benchmarks.methods import get_methods
    from benchmarks.problems import get_problem
    from benchmarks.simulator import simulate

    problem = get_problem("branin")
    method = get_methods(["ray-asha"])[0]
    a = simulate(method.start(problem, 1), problem, workers=2, max_budget=5 * 81, seed=1)
    b = simulate(method.start(problem, 1), problem, workers=2, max_budget=5 * 81, seed=1)
    assert a.trajectory == b.trajectory and a.n_trials > 5


@pytest.mark.slow
@pytest.mark.parametrize("name, problem", [
    ("dehb-ref", "branin"), ("optuna-tpe-hb", "branin"), ("smac-mf", "branin"),
    ("synetune-bohb", "branin"), ("synetune-mobster", "branin"),
    ("synetune-hypertune", "branin"), ("optuna-gp", "branin@full"),
    ("optuna-tpe", "branin@full"), ("smac-hpo", "branin@full"), ("carbs-ref", "branin@full")])
def test_real_peers_run_in_their_own_env(name, problem):
    from benchmarks.methods import get_methods
    from benchmarks.problems import get_problem
    from benchmarks.simulator import simulate

    problem = get_problem(problem)
    method = get_methods([name])[0]
    # SMAC's Hyperband opens a new bracket whenever a worker would wait, so with two workers
    # its first full-budget evaluation comes after about 9 full evaluations' worth of budget
    # the CARBS reference spends 10-20 s per suggestion after its 4 random ones
    evaluations = {"smac-mf": 16, "carbs-ref": 6}.get(name, 8)
    method.evaluations = evaluations
    study = method.start(problem, 0)
    try:
        record = simulate(study, problem, workers=2, max_budget=evaluations * problem.max_budget,
                          seed=0,
                          report_levels=method.report_levels(problem))
    finally:
        method.stop(study)
    assert record.trajectory and record.n_trials >= 3
    assert all(problem.space.contains(t.config) for t in study.trials.values())


@pytest.mark.slow
def test_dyhpo_pauses_and_resumes_the_same_trials():
    """Syne Tune's DyHPO is pause / resume: trials stop at linear milestones (1, 3, 5, ...) and
    are later resumed from their checkpoint, never retrained from scratch."""
    from benchmarks.methods import get_methods
    from benchmarks.problems import get_problem
    from benchmarks.simulator import simulate

    problem = get_problem("curves")
    method = get_methods(["synetune-dyhpo"])[0]
    method.evaluations = 3
    study = method.start(problem, 0)
    try:
        record = simulate(study, problem, workers=2, max_budget=3 * problem.max_budget, seed=0,
                          report_levels=method.report_levels(problem))
    finally:
        method.stop(study)
    assert record.n_trials >= 3  # (no trial reaches 81 epochs this early: empty trajectory)
    trials = list(study.trials.values())
    assert all(problem.space.contains(t.config) for t in trials)
    assert all(t.status.value == "paused" for t in trials)  # the budget ran out mid-study
    resumed = [t for t in trials if t.budget > 1]  # a trial's first milestone is 1 epoch
    assert resumed, "DyHPO never resumed a paused trial"
    for t in resumed:  # one curve per trial: every epoch reported once, in order
        assert [o.budget for o in t.observations] == list(range(1, int(t.budget) + 1))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["optuna-gp", "optuna-tpe", "smac-hpo"])
def test_single_fidelity_peers_train_every_trial_to_the_full_budget(name):
    from benchmarks.methods import get_methods
    from benchmarks.problems import get_problem
    from benchmarks.simulator import simulate

    problem = get_problem("branin")
    method = get_methods([name])[0]
    study = method.start(problem, 1)
    try:
        simulate(study, problem, workers=2, max_budget=6 * 81, seed=1)
    finally:
        method.stop(study)
    assert {t.target_budget for t in study.trials.values()} == {81}


def _in_peer_env(peer, code):
    import subprocess

    from benchmarks.peers.adapter import WORKER

    out = subprocess.run([str(ensure_env(peer)), "-c", code], cwd=WORKER.parent, check=True,
                         capture_output=True, text=True, timeout=300)
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_smac_hpo_sizes_its_initial_design_by_the_runs_budget():
    code = ("from peer_drivers.cs_peers import SMACDriver; "
            "from peer_drivers.overhead import SPACE; "
            "d = SMACDriver(SPACE, None, 0, 4, 'smac-hpo', 20); "
            "print(d.smac._scenario.n_trials, "
            "len(d.smac._initial_design.select_configurations()))")
    assert _in_peer_env("smac", code) == "20 5"  # 10 per dimension, capped at n_trials / 4


@pytest.mark.slow
@pytest.mark.parametrize("peer", ["optuna", "synetune"])
def test_peer_decision_overhead_is_measured_in_the_peers_env(peer):
    from benchmarks.gp_overhead import measure_peer

    rows = measure_peer(peer, [12, 20], 2)
    assert [r["observations"] for r in rows] == [12, 20]
    assert all(len(r["seconds"]) == 2 and r["max_s"] >= r["median_s"] > 0 for r in rows)


def test_new_peers_are_registered_with_their_fidelity_needs():
    from benchmarks.methods import registry

    known = registry()
    for name in ("optuna-gp", "optuna-tpe", "smac-hpo"):
        assert not known[name].needs_fidelity and known[name].report_levels(
            __import__("benchmarks.problems").problems.get_problem("branin")) is None
    for name in ("synetune-mobster", "synetune-hypertune"):
        assert known[name].needs_fidelity and known[name].stopping
    for name, peer in (("optuna-gp", "optuna"), ("smac-hpo", "smac"),
                       ("synetune-mobster", "synetune"), ("synetune-hypertune", "synetune")):
        assert known[name].peer == peer
    for name in ("bo", "mobster", "hyperband-bo"):
        assert known[name].family == "ours"
    assert not known["bo"].needs_fidelity and known["mobster"].needs_fidelity


def test_peer_drivers_import_no_scaletune_and_no_peer_library():
    """``worker.py`` runs where scaletune is not installed; each driver module must import
    with the standard library only (its library is imported when the driver is built)."""
    import subprocess
    import sys

    from benchmarks.peers.adapter import WORKER

    code = ("import sys; sys.path.insert(0, '.'); import importlib, worker; "
            "mods = [m for m, _ in worker.DRIVERS.values()] + ['peer_drivers.overhead']; "
            "[importlib.import_module(m) for m in mods]; "
            "bad = {'hpo', 'searchers', 'schedulers', 'benchmarks', 'optuna', 'smac', "
            "'syne_tune', 'dehb', 'torch', 'numpy', 'ConfigSpace'} & "
            "{m.split('.')[0] for m in sys.modules}; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=WORKER.parent, check=True)


def test_worker_answers_bad_requests_with_an_error_reply():
    import json
    import subprocess
    import sys

    from benchmarks.peers.adapter import WORKER

    lines = [{"op": "init", "peer": "nope", "space": [], "fidelity": None, "seed": 0,
              "workers": 1}, {"op": "frobnicate"}, {"op": "close"}]
    out = subprocess.run([sys.executable, str(WORKER)], check=True, capture_output=True,
                         text=True, input="".join(json.dumps(x) + "\n" for x in lines),
                         timeout=60).stdout.splitlines()
    replies = [json.loads(line) for line in out]
    assert len(replies) == 2 and "KeyError: 'nope'" in replies[0]["error"]
    assert replies[1]["error"] == "unknown op 'frobnicate'"


def test_peer_overhead_function_is_ours():
    """The peers are timed on the same function as our GP (``benchmarks.gp_overhead``)."""
    import numpy as np

    from benchmarks.gp_overhead import SPACE, loss
    from benchmarks.peers.peer_drivers import overhead

    assert [p["name"] for p in overhead.SPACE] == [p.name for p in SPACE.params]
    for config in SPACE.sample(np.random.default_rng(3), 20):
        assert overhead.loss(config) == pytest.approx(loss(config), abs=1e-12)
    assert overhead.loss(config, 1) == pytest.approx(loss(config) + 1 - 1 / 81)


def test_overhead_table_lists_every_method_with_its_load():
    from benchmarks.gp_overhead import table

    row = {"observations": 100, "mean_s": 0.2, "median_s": 0.1, "max_s": 0.9}
    text = table({"ours": [row], "peer": [{**row, "observations": 500}]},
                 {"ours": 3.5, "peer": 4.25})
    assert "| ours | 0.100 (0.200, 0.900) | - | 3.50 |" in text
    assert "| peer | - | 0.100 (0.200, 0.900) | 4.25 |" in text


def test_peers_do_not_import_the_method_registry():
    """Imports go one way: benchmarks.methods -> benchmarks.peers -> benchmarks.bench_method."""
    import subprocess
    import sys

    code = ("import sys, benchmarks.peers, benchmarks.peers.adapter, benchmarks.peers.ray_asha; "
            "assert 'benchmarks.methods' not in sys.modules, 'peers import the registry'; "
            "from benchmarks.methods import BenchMethod, registry; "
            "from benchmarks.bench_method import BenchMethod as Base; "
            "assert BenchMethod is Base and 'ray-asha' in registry()")
    subprocess.run([sys.executable, "-c", code], check=True)
