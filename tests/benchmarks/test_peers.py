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
@pytest.mark.parametrize("name", ["dehb-ref", "optuna-tpe-hb", "smac-mf", "synetune-bohb"])
def test_real_peers_run_in_their_own_env(name):
    from benchmarks.methods import get_methods
    from benchmarks.problems import get_problem
    from benchmarks.simulator import simulate

    problem = get_problem("branin")
    method = get_methods([name])[0]
    study = method.start(problem, 0)
    try:
        record = simulate(study, problem, workers=1, max_budget=8 * 81, seed=0)
    finally:
        method.stop(study)
    assert record.trajectory and record.n_trials >= 3


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
