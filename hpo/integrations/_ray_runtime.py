"""The Ray runtime under ``hpo.tune(backend="ray")``: start or join it, check that a trial can
be placed at all, and explain authentication failures.

* **A runtime we start is bound to loopback.** Without ``ray_address`` (and without
  ``RAY_ADDRESS``, which ``ray job submit`` sets for its jobs) a fresh local runtime is started
  with every server (GCS, raylet, agents, workers, dashboard) listening on 127.0.0.1 only.
  Joining a cluster is always explicit.
* **Placement.** On a runtime started in this process (by us or by your ``ray.init()``: nothing
  will ever add resources to it) a trial that cannot be placed on any node is an
  :class:`~hpo.errors.IntegrationError` naming the resource and what the cluster has. On a
  cluster (an autoscaler may add nodes) it is an :class:`~hpo.errors.HPOWarning` after a short
  wait (``PLACEMENT_WAIT_S``), while the run goes on.
* **Authentication.** A failed connection to ``ray_address`` becomes an IntegrationError saying
  how to give this process the cluster's token (Ray >= 2.52 token authentication).
"""

from __future__ import annotations

import difflib
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hpo.errors import HPOWarning, IntegrationError
from hpo.integrations._ray_fence import descendants

logger = logging.getLogger(__name__)

PLACEMENT_WAIT_S = 15.0
LOOPBACK = "127.0.0.1"
_OURS_TO_RAY = {"cpu": "CPU", "gpu": "GPU"}
_HIDDEN = ("node:", "accelerator_type:", "object_store_memory", "memory")

AUTH_HINT = (
    "If the cluster uses Ray's token authentication (the default for clusters started where a "
    "token exists, e.g. ~/.ray/auth_token, and for every ray.init() head since Ray 2.59), this "
    "process needs RAY_AUTH_MODE=token and the cluster's token: the file ~/.ray/auth_token, "
    "RAY_AUTH_TOKEN_PATH=<file> or RAY_AUTH_TOKEN=<token> (`ray get-auth-token` on the head "
    "prints it). A private cluster can opt out instead: start every node with "
    "RAY_AUTH_MODE=disabled. See https://docs.ray.io/en/latest/ray-security/token-auth.html")


def connect(address: str | None, *, verbose: int = 0) -> bool:
    """Start or join the Ray runtime; True when this call started it (bound to loopback)."""
    import ray

    if ray.is_initialized():
        return False
    if address is None and not os.environ.get("RAY_ADDRESS"):
        _start_on_loopback(verbose)
        return True
    try:
        ray.init(address=address, configure_logging=False, log_to_driver=verbose > 0)
    except Exception as err:  # ConnectionError, ray.exceptions.AuthenticationError, ...
        where = address or os.environ.get("RAY_ADDRESS")
        mode = os.environ.get("RAY_AUTH_MODE", "unset")
        raise IntegrationError(f"could not connect to the Ray cluster at {where!r} "
                               f"({type(err).__name__}: {str(err)[:300]}); RAY_AUTH_MODE is "
                               f"{mode} here. {AUTH_HINT}") from err
    return False


def _start_on_loopback(verbose: int) -> None:
    """``ray.init()`` with every server on 127.0.0.1 (Ray resolves a loopback node IP to the
    host's address unless it runs as a single-machine runtime, which this switch selects)."""
    import ray

    ray_constants: Any = None
    try:
        from ray._private import ray_constants
    except ImportError:  # pragma: no cover - a Ray without the switch: its default binding
        pass
    saved = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    env = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # read by Ray's child processes
    if saved is not None:
        ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        ray.init(address="local", _node_ip_address=LOOPBACK, dashboard_host=LOOPBACK,
                 configure_logging=False, log_to_driver=verbose > 0)
    finally:
        if saved is not None:
            ray_constants.ENABLE_RAY_CLUSTER = saved
        if env is None:
            os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        else:
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = env


def runtime_pids() -> list[int]:
    """Processes of the runtime this process started (GCS, raylet, the agents the raylet
    started, ...); [] otherwise."""
    import ray

    node = getattr(ray._private.worker, "_global_node", None)
    if node is None or not getattr(node, "head", False):
        return []
    pids = []
    for infos in getattr(node, "all_processes", {}).values():
        pids += [info.process.pid for info in infos if getattr(info, "process", None)]
    return descendants(pids) if pids else []


def started_in_this_process() -> bool:
    """Whether this process runs the runtime's head (no autoscaler can add resources)."""
    import ray

    node = getattr(ray._private.worker, "_global_node", None)
    return bool(node is not None and getattr(node, "head", False))


def unplaceable(resources: Mapping[str, float],
                nodes: Sequence[Mapping[str, float]]) -> str | None:
    """Why no node in ``nodes`` (each node's total resources) can hold one trial; None if one
    can. Names each missing resource, what the cluster has, and a likely spelling."""
    demand = {_OURS_TO_RAY.get(k, k): float(v) for k, v in resources.items()}
    if any(all(node.get(k, 0.0) >= v for k, v in demand.items()) for node in nodes):
        return None
    total: dict[str, float] = {}
    for node in nodes:
        for key, value in node.items():
            total[key] = total.get(key, 0.0) + float(value)
    ours = {v: k for k, v in _OURS_TO_RAY.items()}
    problems = []
    for key, need in demand.items():
        most = max((node.get(key, 0.0) for node in nodes), default=0.0)
        if most >= need:
            continue
        name = ours.get(key, key)
        known = [k.lower() for k in _OURS_TO_RAY] + [k for k in total if not k.startswith(
            _HIDDEN)]
        guess = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
        hint = f" (did you mean {guess[0]!r}?)" if guess and guess[0] != name else ""
        have = f"{total.get(key, 0.0):g}" if len(nodes) < 2 else \
            f"{total.get(key, 0.0):g} in all (at most {most:g} on one node)"
        problems.append(f"{name}={need:g} but the Ray cluster has {have} {key}{hint}")
    shown = ", ".join(f"{k}={v:g}" for k, v in sorted(total.items())
                      if not k.startswith(_HIDDEN))
    return (f"each trial asks for {'; '.join(problems)}; the cluster has {shown or 'nothing'}"
            "; a trial that does not fit on one node never starts")


def cluster_nodes() -> list[dict[str, float]]:
    """The total resources of each live node."""
    import ray

    return [dict(n.get("Resources", {})) for n in ray.nodes() if n.get("Alive")]


def check_placement(resources: Mapping[str, float], *, fixed: bool,
                    nodes: Callable[[], list[dict[str, float]]] = cluster_nodes,
                    wait_s: float = PLACEMENT_WAIT_S) -> threading.Thread | None:
    """Raise IntegrationError (``fixed``) or, after ``wait_s`` if it still does not fit, warn
    (HPOWarning, from a daemon thread that is returned) when no node can hold a trial."""
    problem = unplaceable(resources, nodes())
    if problem is None:
        return None
    if fixed:
        raise IntegrationError(f"{problem}. This Ray runtime was started in this process, so "
                               "nothing will add resources: give per-trial resources that fit "
                               "(e.g. resources={'cpu': 1}), or pass ray_address to use a "
                               "cluster")

    def later() -> None:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            time.sleep(min(1.0, wait_s))
            if unplaceable(resources, nodes()) is None:
                return
        message = (f"{unplaceable(resources, nodes())}. No node that fits has joined in "
                   f"{wait_s:g} s: no trial can start until the cluster (its autoscaler) adds "
                   "one")
        logger.warning(message)
        warnings.warn(message, HPOWarning, stacklevel=1)

    thread = threading.Thread(target=later, name="hpo-ray-placement", daemon=True)
    thread.start()
    return thread


def cluster_slots(resources: Mapping[str, float],
                  nodes: Sequence[Mapping[str, float]]) -> int:
    """How many trials fit at once (at least 1): per node, the tightest resource."""
    demand = {_OURS_TO_RAY.get(k, k): float(v) for k, v in resources.items() if v > 0}
    slots = 0
    for node in nodes:
        slots += min((int(node.get(k, 0.0) // v) for k, v in demand.items()), default=1)
    return max(1, slots)

