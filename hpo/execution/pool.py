"""The local process pool: N worker processes on this machine, talking to the driver by pipes.

Reports travel to the driver and block until the verdict comes back, so ``trial.report``
behaves exactly as in-process. A worker that dies (the objective's ``os._exit``, a segfault, the
OOM killer) fails its trial, also when it dies between sending a report and receiving the
verdict; the slot gets a fresh worker before its next segment. A segment past its deadline
(``trial_timeout_s``, ``max_wall_s``) is terminated with its worker (SIGTERM, then SIGKILL).
On Ctrl-C every worker prints one line and exits with status 130.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import time
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from hpo import errors
from hpo.core.decisions import Decision, Verdict
from hpo.core.trial import Ticket
from hpo.execution.deadline import TERMINATE_GRACE_S, Deadline, SegmentLimits
from hpo.execution.handle import Reporter
from hpo.execution.segment import (
    REIMPORT_EXIT,
    Crashed,
    Executor,
    Finished,
    Objective,
    Outcome,
    at_deadline,
    run_segment,
)

#: consecutive worker deaths (without any message in between) before the pool gives up
MAX_DEATHS_IN_A_ROW = 5


def _remote_reporter(conn: Connection) -> Reporter:
    def report(trial_id: int, metrics: dict[str, Any], budget: Any, cost: float) -> Verdict:
        conn.send(("report", trial_id, metrics, budget, cost))
        reply = conn.recv()
        if reply[0] == "error":
            error_type = getattr(errors, reply[1], errors.HPOError)
            raise error_type(reply[2])
        return Verdict(Decision(reply[1]), reply[2])

    return report


def _worker_main(conn: Connection, objective: Objective, metric: str,
                 checkpoint_root: Path | None) -> None:
    reporter = _remote_reporter(conn)
    trial_id = None
    try:
        conn.send(("ready",))  # segments' time limits count from here, not from the spawn
        while True:
            message = conn.recv()
            if message[0] == "exit":
                return
            ticket = Ticket.from_json(message[1])
            trial_id = ticket.trial_id
            outcome = run_segment(objective, ticket, reporter, metric, checkpoint_root)
            if isinstance(outcome, Crashed):
                conn.send(("crash", outcome.trial_id, outcome.reason))
            else:
                conn.send(("done", outcome.trial_id))
            trial_id = None
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group: one line, no traceback
        doing = f" while running trial {trial_id}" if trial_id is not None else ""
        print(f"hpo: worker {os.getpid()} interrupted{doing}", file=sys.stderr, flush=True)
        raise SystemExit(130) from None
    except (EOFError, OSError):  # the driver is gone: nobody to report to
        raise SystemExit(1) from None


def _reimport_message() -> str:
    main = getattr(sys.modules.get("__main__"), "__file__", None)
    where = f" ({main})" if main else ""
    return ("the worker processes ran the tuning call again: with the 'spawn' start method every "
            f"worker imports the main module{where} anew, and its module-level hpo.tune(...) / "
            "hpo.run(...) call started a tuning run inside each worker. Put the tuning call "
            'under `if __name__ == "__main__":`')


class ProcessPoolExecutor(Executor):
    """``workers`` persistent processes; a dead worker fails its trial and is replaced.

    Args:
        workers: number of processes (>= 1).
        start_method: ``"spawn"`` (default, safe with torch / threads) or ``"fork"``. With
            ``spawn`` the objective must be picklable (a module-level function), and a script
            must keep its tuning call under ``if __name__ == "__main__":``.
    """

    def __init__(self, workers: int, *, start_method: str = "spawn") -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive int, got {workers!r}")
        self.workers = workers
        self._ctx: Any = multiprocessing.get_context(start_method)
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        self._busy: dict[int, int] = {}  # worker index -> trial id
        self._limits: dict[int, SegmentLimits | None] = {}
        self._started: dict[int, float | None] = {}  # when the worker got the segment
        self._ready: set[int] = set()  # slots whose worker has started up
        self._dead: set[int] = set()  # slots whose worker is gone: respawned at next launch
        self._deaths_in_a_row = 0

    def start(self, objective: Objective, reporter: Reporter, *, metric: str,
              checkpoint_root: Path | None) -> None:
        try:
            pickle.dumps(objective)
        except Exception as err:  # noqa: BLE001 - any pickling failure means the same
            raise errors.HPOError(
                f"the objective {objective!r} cannot be sent to worker processes ({err}); "
                "define it at module level, or use workers=1") from None
        self._args = (objective, metric, checkpoint_root)
        self._reporter = reporter
        for _ in range(self.workers):
            self._spawn()

    def _spawn(self, index: int | None = None) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_worker_main, args=(child, *self._args), daemon=True)
        proc.start()
        child.close()
        if index is None:
            self._procs.append(proc)
            self._conns.append(parent)
        else:
            self._procs[index], self._conns[index] = proc, parent
            self._dead.discard(index)
            self._ready.discard(index)

    def capacity(self) -> int:
        return self.workers - len(self._busy)

    def running(self) -> int:
        return len(self._busy)

    def launch(self, ticket: Ticket, limits: SegmentLimits | None = None) -> None:
        index = next(i for i in range(self.workers) if i not in self._busy)
        if index in self._dead:
            self._spawn(index)
        self._busy[index] = ticket.trial_id
        self._limits[index] = limits
        self._started[index] = time.monotonic() if index in self._ready else None
        try:
            self._conns[index].send(("run", ticket.to_json()))
        except OSError:  # the worker died while idle: the next poll reports it
            pass

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._busy:
            return []
        for index in self._busy:
            deadline = self._deadline(index)
            if deadline is not None:
                timeout = min(timeout, deadline.remaining())
        watched: dict[Any, int] = {}
        for index in self._busy:
            watched[self._conns[index]] = index
            watched[self._procs[index].sentinel] = index
        outcomes: list[Outcome] = []
        for ready in wait(list(watched), max(timeout, 0.0)):
            index = watched[ready]
            if index not in self._busy:
                continue
            outcome = self._serve(index)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes + self._stop_late()

    def _deadline(self, index: int) -> Deadline | None:
        limits = self._limits.get(index)
        return limits.deadline(self._started.get(index)) if limits is not None else None

    def _serve(self, index: int) -> Outcome | None:
        conn = self._conns[index]
        try:
            if not conn.poll():
                if self._procs[index].is_alive():
                    return None
                raise EOFError
            message = conn.recv()
        except (EOFError, OSError):
            return self._died(index)
        if message[0] == "ready":
            self._ready.add(index)
            self._started[index] = time.monotonic()
            return None
        self._deaths_in_a_row = 0
        if message[0] == "report":
            _, tid, metrics, budget, cost = message
            try:
                verdict = self._reporter(tid, metrics, budget, cost)
            except errors.HPOError as err:
                reply: tuple[Any, ...] = ("error", type(err).__name__, str(err))
            else:
                reply = ("verdict", verdict.decision.value, verdict.reason)
            try:
                conn.send(reply)
            except OSError:  # died after sending the report (which is recorded)
                return self._died(index, ", after its report was recorded, before the verdict")
            return None
        del self._busy[index]
        if message[0] == "crash":
            return Crashed(message[1], message[2])
        return Finished(message[1])

    def _died(self, index: int, detail: str = "") -> Crashed:
        trial_id = self._busy.pop(index)
        proc = self._procs[index]
        proc.join(5)
        if proc.is_alive():  # closed its pipe yet lingers: make sure it is gone
            proc.kill()
            proc.join(5)
        code = proc.exitcode
        self._conns[index].close()
        self._dead.add(index)
        self._ready.discard(index)
        if code == REIMPORT_EXIT:
            raise errors.HPOError(_reimport_message())
        self._deaths_in_a_row += 1
        if self._deaths_in_a_row >= MAX_DEATHS_IN_A_ROW:
            raise errors.HPOError(
                f"worker processes died {self._deaths_in_a_row} times in a row (last exit "
                f"code {code}) without finishing a segment; see their stderr above. With "
                "the 'spawn' start method the objective must live in an importable module "
                "(not in an interactive session or a script read from stdin)")
        return Crashed(trial_id, f"worker process died (exit code {code}) while running trial "
                                 f"{trial_id}{detail}")

    def _stop_late(self) -> list[Outcome]:
        late = {index: deadline for index in self._busy
                if (deadline := self._deadline(index)) is not None and deadline.remaining() <= 0}
        if not late:
            return []
        self._terminate(list(late))
        return [at_deadline(self._busy.pop(index), deadline, "its worker process was terminated")
                for index, deadline in late.items()]

    def _terminate(self, indices: list[int]) -> None:
        procs = [self._procs[i] for i in indices]
        for proc in procs:
            proc.terminate()
        end = time.monotonic() + TERMINATE_GRACE_S
        for proc in procs:
            proc.join(max(end - time.monotonic(), 0.0))
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join(5)
        for index in indices:
            self._conns[index].close()
            self._dead.add(index)
            self._ready.discard(index)

    def close(self) -> None:
        """Stop the workers: busy ones at once (their segments are abandoned), idle ones by
        asking them to exit."""
        self._terminate([i for i in self._busy if i not in self._dead])
        idle = [i for i in range(len(self._procs)) if i not in self._dead]
        for index in idle:
            try:
                self._conns[index].send(("exit",))
            except OSError:
                pass
        for index in idle:
            proc = self._procs[index]
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            self._conns[index].close()
        self._procs, self._conns, self._busy, self._dead, self._ready = [], [], {}, set(), set()
