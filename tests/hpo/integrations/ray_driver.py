"""A Ray tuning driver run as a subprocess by the kill/restore and cluster tests.

usage: python ray_driver.py ROOT STORAGE METHOD MAX_BUDGET LOG [ADDRESS]
"""

import functools
import sys

root, storage, method, max_budget, log = sys.argv[1:6]
address = sys.argv[6] if len(sys.argv) > 6 else None
sys.path.insert(0, root)

import ray  # noqa: E402

import hpo  # noqa: E402
from tests.hpo.helpers import FIDELITY, SPACE  # noqa: E402
from tests.hpo.objectives import epochs  # noqa: E402

if address is None:  # a fresh local runtime; with an address (a job), join that cluster
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": root}})
else:
    ray.init(address=address, configure_logging=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": root}})
result = hpo.tune(functools.partial(epochs, log=log, delay=0.01), SPACE, method=method,
                  fidelity=FIDELITY, max_budget=float(max_budget), seed=11, storage=storage,
                  backend="ray", max_concurrent=1)
print("BEST", result.best_value, len(result.study))
