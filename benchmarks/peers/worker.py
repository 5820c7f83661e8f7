"""Runs inside a peer library's own virtualenv and speaks JSON lines on stdin / stdout.

It must not import scaletune (which is not installed there). Requests and replies::

    {"op": "init", "peer": "dehb", "algo": "dehb-ref", "space": [...], "fidelity": {...} | null,
     "seed": 0, "workers": 4, "evaluations": 30 | null}               -> {"ok": true}
    {"op": "ask"}                        -> {"action": "start", "key": 3, "config": {...},
                                             "budget": 9} | {"action": "wait"}
                                           | {"action": "resume", "key": 2, "budget": 27}
    {"op": "report", "key": 3, "budget": 9, "loss": 0.12, "cost": 4.2, "final": true}
                                         -> {"decision": "continue" | "pause" | "stop"}
    {"op": "end", "key": 3, "status": "failed"}                        -> {"ok": true}
    {"op": "overhead", "peer": "optuna", "sizes": [100], "decisions": 5, "seed": 0}
                                         -> {"results": [...]}  (peer_drivers/overhead.py)

``space`` is scaletune's parameter list (``SearchSpace.to_json()["params"]``). Each driver maps
it to its library's own space type; losses are minimised. ``algo`` is the benchmark method's
name (one peer family drives several methods); ``evaluations`` is the run's budget in full
evaluations (SMAC sizes its initial design from it). Pause / resume peers (Syne Tune DyHPO)
answer a report with ``pause`` and an ask with ``resume`` of a paused key up to a new budget.
The drivers live in ``peer_drivers/``
(``cs_peers``: DEHB and SMAC on ConfigSpace; ``native_peers``: Optuna and Syne Tune with their
own space types), imported only for the peer being run (this script's directory is
``sys.path[0]``).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback

DRIVERS = {"dehb": ("peer_drivers.cs_peers", "DEHBDriver"),
           "optuna": ("peer_drivers.native_peers", "OptunaDriver"),
           "smac": ("peer_drivers.cs_peers", "SMACDriver"),
           "synetune": ("peer_drivers.native_peers", "SyneTuneDriver"),
           "carbs": ("peer_drivers.carbs_peer", "CARBSDriver")}


def make_driver(request):
    """The driver an ``init`` request names, imported only now (one library per venv)."""
    module, cls = DRIVERS[request["peer"]]
    driver = getattr(importlib.import_module(module), cls)
    return driver(request["space"], request["fidelity"], request["seed"], request["workers"],
                  request.get("algo"), request.get("evaluations"))


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # library prints must not corrupt the protocol
    driver, key = None, 0
    for line in sys.stdin:
        request = json.loads(line)
        start = time.perf_counter()
        try:
            op = request["op"]
            if op == "init":
                driver = make_driver(request)
                reply = {"ok": True}
            elif op == "ask":
                key += 1
                reply = driver.ask(key)
                if reply["action"] == "resume":  # the resumed trial keeps its key: this one unused
                    key -= 1
            elif op == "report":
                reply = {"decision": driver.report(request["key"], request["budget"],
                                                   request["loss"], request["cost"],
                                                   request["final"])}
            elif op == "end":
                driver.end(request["key"], request["status"])
                reply = {"ok": True}
            elif op == "overhead":  # decision-time benchmark (peer_drivers/overhead.py)
                from peer_drivers.overhead import measure

                reply = {"results": measure(request["peer"], request["sizes"],
                                            request["decisions"], request.get("seed", 0))}
            elif op == "close":
                if driver is not None and hasattr(driver, "close"):
                    driver.close()
                return
            else:
                reply = {"error": f"unknown op {op!r}"}
        except Exception:  # noqa: BLE001 -- any failure goes back to the adapter as a reply
            reply = {"error": traceback.format_exc()}
        reply["t"] = time.perf_counter() - start  # seconds spent in the library itself
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
