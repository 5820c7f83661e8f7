"""Executors run objective segments; the loop (``hpo.loop.run``) drives them.

* :class:`InlineExecutor`: in this process, one trial at a time (the default for one worker).
* :class:`ProcessPoolExecutor`: N worker processes on this machine (the embedded default for
  several workers: nothing to start). Reports travel to the driver over pipes and block until
  the verdict comes back, so ``trial.report`` behaves exactly as in-process.

Executors never decide anything: they launch tickets, forward reports to the ``reporter`` and
tell the loop when a segment finished or crashed.
"""

from __future__ import annotations

import multiprocessing
import pickle
import traceback
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from hpo import errors
from hpo.core.decisions import Decision, Verdict
from hpo.execution.handle import Reporter, TrialHandle
from hpo.core.trial import Ticket

Objective = Callable[[TrialHandle], Any]

#: consecutive worker deaths (without any message in between) before the pool gives up
MAX_DEATHS_IN_A_ROW = 5


@dataclass(frozen=True)
class Finished:
    """The objective returned for this segment."""

    trial_id: int


@dataclass(frozen=True)
class Crashed:
    """The objective raised or its worker process died; ``reason`` has the traceback."""

    trial_id: int
    reason: str


Outcome = Finished | Crashed


def run_segment(objective: Objective, ticket: Ticket, reporter: Reporter, metric: str,
                checkpoint_root: Path | None) -> Outcome:
    """Run one segment of a trial and classify the outcome."""
    handle = TrialHandle(ticket, reporter, metric=metric, checkpoint_root=checkpoint_root)
    try:
        handle._finish(objective(handle))
    except Exception:  # the objective's own failure: recorded, the study goes on
        return Crashed(ticket.trial_id, traceback.format_exc())
    return Finished(ticket.trial_id)


class Executor(ABC):
    """Runs segments. Call order: ``start``, then ``launch`` / ``poll`` ..., then ``close``."""

    @abstractmethod
    def start(self, objective: Objective, reporter: Reporter, *, metric: str,
              checkpoint_root: Path | None) -> None:
        """Prepare to run ``objective``; reports go to ``reporter``."""

    @abstractmethod
    def capacity(self) -> int:
        """Free worker slots."""

    @abstractmethod
    def running(self) -> int:
        """Segments launched and not yet finished."""

    @abstractmethod
    def launch(self, ticket: Ticket) -> None:
        """Start a segment (requires ``capacity() > 0``)."""

    @abstractmethod
    def poll(self, timeout: float) -> list[Outcome]:
        """Serve reports and return the segments that ended (waits up to ``timeout`` s)."""

    def close(self) -> None:
        """Release workers."""


class InlineExecutor(Executor):
    """Runs each segment synchronously in the calling process (one worker)."""

    def __init__(self) -> None:
        self._queue: deque[Ticket] = deque()

    def start(self, objective: Objective, reporter: Reporter, *, metric: str,
              checkpoint_root: Path | None) -> None:
        self._objective, self._reporter = objective, reporter
        self._metric, self._root = metric, checkpoint_root

    def capacity(self) -> int:
        return 0 if self._queue else 1

    def running(self) -> int:
        return len(self._queue)

    def launch(self, ticket: Ticket) -> None:
        self._queue.append(ticket)

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._queue:
            return []
        ticket = self._queue[0]
        try:
            return [run_segment(self._objective, ticket, self._reporter, self._metric,
                                self._root)]
        finally:
            self._queue.popleft()


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
    while True:
        message = conn.recv()
        if message[0] == "exit":
            return
        ticket = Ticket.from_json(message[1])
        outcome = run_segment(objective, ticket, reporter, metric, checkpoint_root)
        if isinstance(outcome, Crashed):
            conn.send(("crash", outcome.trial_id, outcome.reason))
        else:
            conn.send(("done", outcome.trial_id))


class ProcessPoolExecutor(Executor):
    """``workers`` persistent processes; a dead worker fails its trial and is replaced.

    Args:
        workers: number of processes (>= 1).
        start_method: ``"spawn"`` (default, safe with torch / threads) or ``"fork"``. With
            ``spawn`` the objective must be picklable (a module-level function).
    """

    def __init__(self, workers: int, *, start_method: str = "spawn") -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive int, got {workers!r}")
        self.workers = workers
        self._ctx = multiprocessing.get_context(start_method)
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        self._busy: dict[int, int] = {}  # worker index -> trial id
        self._deaths_in_a_row = 0

    def start(self, objective: Objective, reporter: Reporter, *, metric: str,
              checkpoint_root: Path | None) -> None:
        try:
            pickle.dumps(objective)
        except Exception as err:
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

    def capacity(self) -> int:
        return self.workers - len(self._busy)

    def running(self) -> int:
        return len(self._busy)

    def launch(self, ticket: Ticket) -> None:
        index = next(i for i in range(self.workers) if i not in self._busy)
        self._busy[index] = ticket.trial_id
        self._conns[index].send(("run", ticket.to_json()))

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._busy:
            return []
        watched = {}
        for index in self._busy:
            watched[self._conns[index]] = index
            watched[self._procs[index].sentinel] = index
        outcomes: list[Outcome] = []
        for ready in wait(list(watched), timeout):
            index = watched[ready]
            if index not in self._busy:
                continue
            outcome = self._serve(index)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _serve(self, index: int) -> Outcome | None:
        conn, trial_id = self._conns[index], self._busy[index]
        try:
            if not conn.poll():
                if self._procs[index].is_alive():
                    return None
                raise EOFError
            message = conn.recv()
        except (EOFError, OSError):
            code = self._procs[index].exitcode
            del self._busy[index]
            self._deaths_in_a_row += 1
            if self._deaths_in_a_row >= MAX_DEATHS_IN_A_ROW:
                raise errors.HPOError(
                    f"worker processes died {self._deaths_in_a_row} times in a row (last exit "
                    f"code {code}) without finishing a segment; see their stderr above. With "
                    "the 'spawn' start method the objective must live in an importable module "
                    "(not in an interactive session or a script read from stdin)")
            self._spawn(index)
            return Crashed(trial_id, f"worker process died (exit code {code}) while running "
                                     f"trial {trial_id}")
        self._deaths_in_a_row = 0
        if message[0] == "report":
            _, tid, metrics, budget, cost = message
            try:
                verdict = self._reporter(tid, metrics, budget, cost)
            except errors.HPOError as err:
                conn.send(("error", type(err).__name__, str(err)))
            else:
                conn.send(("verdict", verdict.decision.value, verdict.reason))
            return None
        del self._busy[index]
        if message[0] == "crash":
            return Crashed(message[1], message[2])
        return Finished(message[1])

    def close(self) -> None:
        for conn in self._conns:
            try:
                conn.send(("exit",))
            except (OSError, BrokenPipeError):
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        self._procs, self._conns, self._busy = [], [], {}
