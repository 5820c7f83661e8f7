"""Starting / joining the Ray runtime without starting one: placement checks, the
authentication hint (Ray's calls replaced by fakes)."""

from __future__ import annotations

import time
import warnings

import pytest

from hpo import HPOWarning, IntegrationError
from hpo.integrations import _ray_runtime as runtime

ONE_NODE = [{"CPU": 2.0, "memory": 1e9, "object_store_memory": 1e8, "node:127.0.0.1": 1.0}]


def test_a_gpu_trial_on_a_cpu_only_runtime_names_the_resource_and_what_there_is():
    message = runtime.unplaceable({"cpu": 2, "gpu": 0.5}, ONE_NODE)
    assert "gpu=0.5 but the Ray cluster has 0 GPU" in message
    assert "the cluster has CPU=2" in message and "memory" not in message
    assert runtime.unplaceable({"cpu": 2}, ONE_NODE) is None


def test_a_resource_typo_suggests_the_name():
    message = runtime.unplaceable({"cpus": 1}, ONE_NODE)
    assert "cpus=1 but the Ray cluster has 0 cpus (did you mean 'cpu'?)" in message


def test_a_trial_must_fit_on_one_node():
    nodes = [{"CPU": 2.0}, {"CPU": 2.0}]
    message = runtime.unplaceable({"cpu": 3}, nodes)
    assert "4 in all (at most 2 on one node)" in message
    assert runtime.cluster_slots({"cpu": 1}, nodes) == 4
    assert runtime.cluster_slots({"cpu": 1, "gpu": 1}, [{"CPU": 8.0, "GPU": 2.0}]) == 2


def test_unplaceable_on_our_own_runtime_is_an_error():
    with pytest.raises(IntegrationError, match=r"gpu=0.5 .* started in this process"):
        runtime.check_placement({"cpu": 1, "gpu": 0.5}, fixed=True, nodes=lambda: ONE_NODE)
    assert runtime.check_placement({"cpu": 1}, fixed=True, nodes=lambda: ONE_NODE) is None


def test_unplaceable_on_a_cluster_warns_after_a_short_wait():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        began = time.monotonic()
        thread = runtime.check_placement({"gpu": 1}, fixed=False, nodes=lambda: ONE_NODE,
                                         wait_s=0.3)
        assert not caught  # no warning yet: the run goes on, a node may join
        thread.join(10)
    assert time.monotonic() - began >= 0.3
    assert [w.category for w in caught] == [HPOWarning]
    assert "gpu=1" in str(caught[0].message) and "autoscaler" in str(caught[0].message)


def test_a_node_that_joins_in_time_silences_the_warning():
    nodes = [ONE_NODE]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        thread = runtime.check_placement({"gpu": 1}, fixed=False, nodes=lambda: nodes[0],
                                         wait_s=2.0)
        nodes[0] = ONE_NODE + [{"CPU": 1.0, "GPU": 1.0}]
        thread.join(10)
    assert not caught


def test_a_refused_connection_explains_token_authentication(monkeypatch):
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray runtime is already running in this process")

    def refuse(**kwargs):
        raise ConnectionError(f"Failed to connect to Ray cluster at {kwargs['address']}")

    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    with pytest.raises(IntegrationError) as info:
        runtime.connect("10.0.0.1:6379")
    message = str(info.value)
    assert "'10.0.0.1:6379'" in message and "RAY_AUTH_MODE is unset" in message
    assert "RAY_AUTH_MODE=token" in message and "ray get-auth-token" in message
    assert "RAY_AUTH_MODE=disabled" in message
