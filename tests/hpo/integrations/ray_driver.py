"""A Ray tuning driver run as a subprocess by the kill/restore, cluster and SIGINT tests.

usage: python ray_driver.py ROOT STORAGE METHOD MAX_BUDGET LOG [ADDRESS [CONCURRENCY [DELAY]]]

ADDRESS: omitted or ``-``: this script starts a local runtime with ``ray.init``; ``hpo``: hpo
starts it (bound to loopback; workers import ``tests`` through PYTHONPATH); anything else:
join that cluster (e.g. ``auto`` inside a job).
"""

import functools
import json
import os
import sys

root, storage, method, max_budget, log = sys.argv[1:6]
address = sys.argv[6] if len(sys.argv) > 6 and sys.argv[6] != "-" else None
concurrency = int(sys.argv[7]) if len(sys.argv) > 7 else 1
delay = float(sys.argv[8]) if len(sys.argv) > 8 else 0.01
sys.path.insert(0, root)

import ray  # noqa: E402

import hpo  # noqa: E402
from tests.hpo.helpers import FIDELITY, SPACE  # noqa: E402
from tests.hpo.objectives import epochs  # noqa: E402

if address is None:  # a fresh local runtime; with an address (a job), join that cluster
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": root}})
elif address == "hpo":
    os.environ["PYTHONPATH"] = root  # inherited by the runtime hpo starts, and its workers
else:
    ray.init(address=address, configure_logging=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": root}})
result = hpo.tune(functools.partial(epochs, log=log, delay=delay), SPACE, method=method,
                  fidelity=FIDELITY, max_budget=float(max_budget), seed=11, storage=storage,
                  backend="ray", max_concurrent=concurrency)
if address == "hpo":  # where do the runtime hpo started and its workers listen?
    import re
    import subprocess
    from pathlib import Path

    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(text[text.rindex(")") + 2:].split()[1])
    ours, grew = {os.getpid()}, True
    while grew:  # every descendant of this driver (gcs_server, raylet, agents, workers)
        more = {pid for pid, parent in parents.items() if parent in ours} - ours
        ours |= more
        grew = bool(more)
    listening = []
    for line in subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout \
            .splitlines():
        pids = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if pids & ours:
            listening.append(line.split()[3])
    print("LISTEN", json.dumps(listening))
print("BEST", result.best_value, len(result.study))
