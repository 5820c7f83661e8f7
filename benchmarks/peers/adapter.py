"""Peer libraries as scaletune schedulers: a subprocess in the peer's virtualenv decides.

:class:`PeerScheduler` implements :class:`hpo.protocols.Scheduler` by forwarding ``ask`` /
``report`` / ``end`` to ``worker.py`` running in the peer's own environment, so the simulator
runs the peer's decisions through the same harness (same problems, seeds, budgets, workers) as
ours. A peer job becomes one trial started at the job's budget; peers without pause / resume
(DEHB, SMAC) therefore retrain from scratch at every budget, exactly as they do natively. A
pause / resume peer (Syne Tune DyHPO) pauses a trial at a milestone and later resumes the same
trial from its checkpoint up to the next one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.bench_method import BenchMethod, geometric_levels
from benchmarks.peers.envs import PeerUnavailable, ensure_env
from benchmarks.problem import Problem
from hpo import Study
from hpo.core.decisions import CONTINUE, Resume, Start, Verdict
from hpo.core.protocols import Scheduler, StudyView
from hpo.core.trial import Observation, Trial

WORKER = Path(__file__).resolve().parent / "worker.py"


class PeerProcess:
    """A JSON-lines conversation with ``worker.py`` in a peer's virtualenv."""

    def __init__(self, python: Path) -> None:
        self._proc = subprocess.Popen([str(python), str(WORKER)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                      text=True, bufsize=1)

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        try:
            self._proc.stdin.write(json.dumps(request) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            raise PeerUnavailable(f"peer process exited (code {self._proc.poll()}) on "
                                  f"{request['op']}")
        reply = json.loads(line)
        if "error" in reply:
            raise PeerUnavailable(f"peer failed on {request['op']}: {reply['error']}")
        return reply

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self._proc.stdin.write(json.dumps({"op": "close"}) + "\n")  # type: ignore
                self._proc.stdin.flush()  # type: ignore[union-attr]
                self._proc.wait(10)
            except (BrokenPipeError, subprocess.TimeoutExpired, OSError):
                self._proc.kill()


class PeerScheduler(Scheduler):
    """A :class:`Scheduler` whose decisions come from a peer process."""

    def __init__(self, process: PeerProcess) -> None:
        self._process = process
        self._key_of: dict[int, int] = {}
        self._trial_of: dict[int, int] = {}

    def next_action(self, view: StudyView) -> Start | Resume | None:
        reply = self._process.call({"op": "ask"})
        if reply["action"] == "wait":
            return None
        if reply["action"] == "resume":
            trial_id = self._trial_of.get(reply["key"])
            if trial_id is None or view[trial_id].status.value != "paused":
                raise PeerUnavailable(f"peer asked to resume key {reply['key']} (trial "
                                      f"{trial_id}), which is not paused")
            return Resume(trial_id, reply["budget"])
        self._key_of[view.next_trial_id] = reply["key"]
        self._trial_of[reply["key"]] = view.next_trial_id
        return Start(reply["config"], reply["budget"])

    def on_result(self, trial: Trial, obs: Observation) -> Verdict:
        target = trial.target_budget
        final = target is None or obs.budget >= target - 1e-9
        reply = self._process.call({"op": "report", "key": self._key_of[trial.id],
                                    "budget": obs.budget, "loss": obs.loss, "cost": obs.cost,
                                    "final": final})
        if reply["decision"] == "pause":
            return Verdict.pause("peer decision")
        return Verdict.stop("peer decision") if reply["decision"] == "stop" else CONTINUE

    def on_end(self, trial: Trial) -> None:
        key = self._key_of.pop(trial.id, None)
        if key is not None and trial.status.value == "failed":
            self._process.call({"op": "end", "key": key, "status": trial.status.value})


@dataclass
class PeerMethod(BenchMethod):
    """A peer library driven through :class:`PeerScheduler`."""

    name: str
    peer: str
    needs_fidelity: bool = True
    family: str = "peer"
    stopping: bool = False  # stopping-type: decides at rungs min * 3**k (see worker.py)

    def start(self, problem: Problem, seed: int) -> Study:
        process = PeerProcess(ensure_env(self.peer))
        try:
            process.call({"op": "init", "peer": self.peer, "algo": self.name,
                          "space": problem.space.to_json()["params"],
                          "fidelity": problem.fidelity.to_json() if problem.fidelity else None,
                          "seed": seed, "workers": 4, "evaluations": self.evaluations})
        except PeerUnavailable:
            process.close()
            raise
        study = Study(problem.space, "loss", method=PeerScheduler(process),
                      fidelity=problem.fidelity, seed=seed)
        study._peer_process = process  # type: ignore[attr-defined]
        return study

    def report_levels(self, problem: Problem) -> list[float] | None:
        if not self.stopping or problem.fidelity is None:
            return None
        return geometric_levels(problem.fidelity, 3)

    def stop(self, study: Study) -> None:
        process = getattr(study, "_peer_process", None)
        if process is not None:
            process.close()


def peer_python_version() -> str:
    return sys.version.split()[0]
