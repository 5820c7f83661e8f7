"""Fencing of orphaned Ray workers: what a worker writes can never change what a resumed
trial loads (no Ray import; tested without it).

Ray's trial workers are not in the driver's process group, so after a driver crash a worker may
live on for a while (on a cluster, much longer) and keep writing checkpoints. The rules:

* **Generations.** Each driver run of a study takes the next generation number, recorded in
  ``<experiment>/hpo_generation.json`` (written atomically before any trial starts).
* **Stamped, atomic, write-once snapshots.** A worker of generation ``G`` writes the checkpoint
  of trial ``t`` at budget ``b`` to ``hpo_checkpoints/<t>/<b>-g<G>`` (a temporary name, then a
  rename; an existing snapshot is never replaced), with ``{"budget", "trial", "generation"}`` in
  its ``checkpoint.json``. Workers never delete anything.
* **The driver assigns what is loaded.** Only drivers write ``hpo_checkpoints/<t>/current.json``
  (generation, the trial's journal budget, the snapshot backing it): after each recorded result,
  and for every trial when a generation takes over, before any trial is launched. A worker loads
  exactly the snapshot its own generation's driver assigned, and nothing else (not Ray's
  restored checkpoint, which an orphan may have written into).
* **Stale writes are ignored and deleted.** At take-over the driver keeps, per trial, only the
  snapshot at the journal budget; anything written beyond it (in flight at the crash, or by an
  orphan before the take-over) is deleted. A snapshot of an older generation that appears after
  the take-over can only come from an orphan: it is counted and deleted, and is never loaded.
* **Reaping.** When the previous driver had started its Ray runtime itself (on this host) and is
  dead, the runtime's processes and the workers that registered under ``hpo_workers/`` are
  killed (and waited for) before the new generation launches anything.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

GENERATION_FILE = "hpo_generation.json"
WORKERS_DIR = "hpo_workers"
CURRENT = "current.json"
REAP_WAIT_S = 10.0

_registered: set[tuple[str, int, int]] = set()


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON atomically (temporary name in the same directory, rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, sort_keys=True))
    os.replace(tmp, path)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def snapshot_name(budget: Any, generation: int) -> str:
    return f"{float(budget):.17g}-g{int(generation)}"


def parse_snapshot(name: str) -> tuple[float, int] | None:
    """``(budget, generation)`` of a snapshot directory name; None for anything else (temporary
    names, ``current.json``). A name without ``-g`` (written before generations) is generation 0.
    """
    if name.startswith("."):
        return None
    budget, _, gen = name.partition("-g")
    try:
        return float(budget), int(gen) if gen else 0
    except ValueError:
        return None


def process_start(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot); None if it is gone, a
    zombie, or unknown on this platform (no ``/proc``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] in ("Z", "X") else int(fields[19])


def descendants(pids: Sequence[int]) -> list[int]:
    """``pids`` and all their descendants (from ``/proc``; just ``pids`` without it)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            parents[int(stat.parent.name)] = int(text[text.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = set(pids), set(pids)
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return sorted(found)


# -- worker side -------------------------------------------------------------------------

def register_worker(root: Path, generation: int) -> None:
    """Record this worker process under ``<root>/hpo_workers/g<G>/`` (once per process)."""
    key = (str(root), generation, os.getpid())
    if key in _registered:
        return
    folder = root / WORKERS_DIR / f"g{generation}"
    folder.mkdir(parents=True, exist_ok=True)
    host = socket.gethostname()
    write_json(folder / f"{host}-{os.getpid()}.json",
               {"host": host, "pid": os.getpid(), "start": process_start(os.getpid())})
    _registered.add(key)


def assignment(store: Path, trial: int, generation: int) -> dict[str, Any] | None:
    """What the driver of ``generation`` assigned trial ``trial`` to load (None: nothing, a new
    trial). An assignment of another generation is ignored."""
    current = read_json(store / str(trial) / CURRENT)
    if not isinstance(current, dict) or current.get("generation") != generation:
        return None
    return current


def write_snapshot(store: Path, trial: int, budget: Any, generation: int, src: Path) -> str:
    """Copy ``src`` to the write-once snapshot of (trial, budget, generation); its name."""
    name = snapshot_name(budget, generation)
    folder = store / str(trial)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / name
    if final.exists():
        return name  # first writer wins: a snapshot never changes once it exists
    tmp = folder / f".tmp-{name}-{socket.gethostname()}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    try:
        os.rename(tmp, final)
    except OSError:  # another writer got there first
        shutil.rmtree(tmp, ignore_errors=True)
    return name


# -- driver side -------------------------------------------------------------------------

class Fence:
    """The driver's side of the rules in the module docstring, for one experiment directory.

    Attributes:
        generation: this driver run's generation.
        beyond_journal: snapshots found at take-over beyond their trial's journal budget
            (ignored and deleted).
        orphan_writes: snapshots of an older generation that appeared after the take-over
            (ignored and deleted).
        reaped: processes of the previous driver's own Ray runtime killed at take-over.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.store = self.root / "hpo_checkpoints"
        self.generation = 0
        self.beyond_journal = self.orphan_writes = self.reaped = 0
        self._previous: dict[str, Any] = {}
        self._current: dict[int, dict[str, Any]] = {}
        self._runtime: dict[str, Any] = {}
        self._claimed: set[tuple[str, str]] = set()  # (trial, snapshot) kept at take-over

    @property
    def stats(self) -> dict[str, int]:
        return {"generation": self.generation, "beyond_journal": self.beyond_journal,
                "orphan_writes": self.orphan_writes, "reaped": self.reaped}

    def take_over(self, journal: Mapping[int, Any], *, local_runtime: bool,
                  runtime_pids: Sequence[int] = ()) -> int:
        """Start the next generation: reap the previous runtime's processes (when it was ours
        and its driver is dead), record the generation, and assign every trial the snapshot at
        its journal budget (``journal``: trial -> last recorded budget). Returns it."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._previous = read_json(self.root / GENERATION_FILE) or {}
        self.generation = int(self._previous.get("generation", 0)) + 1
        self.reaped = self._reap(self._previous, keep=set(runtime_pids))
        shutil.rmtree(self.root / WORKERS_DIR, ignore_errors=True)  # earlier generations'
        self._save(local_runtime=local_runtime, runtime_pids=runtime_pids)
        if self.store.is_dir():
            for folder in self.store.iterdir():
                if folder.is_dir() and folder.name.isdigit():
                    self._claim(int(folder.name), folder, journal.get(int(folder.name)))
        self._save(local_runtime=local_runtime, runtime_pids=runtime_pids)
        return self.generation

    def _claim(self, trial: int, folder: Path, budget: Any) -> None:
        previous = read_json(folder / CURRENT) or {}
        names = {n: p for n in os.listdir(folder) if (p := parse_snapshot(n)) is not None}
        chosen = None
        if budget is not None:
            exact = [n for n, (b, _) in names.items() if b == float(budget)]
            if exact:
                chosen = max(exact, key=lambda n: names[n][1])
            elif previous.get("snapshot") in names \
                    and names[previous["snapshot"]][0] <= float(budget):
                chosen = previous["snapshot"]  # no checkpoint at the journal budget: the last one
        for name, (b, _) in names.items():
            if name != chosen:
                self.beyond_journal += budget is None or b > float(budget)
                shutil.rmtree(folder / name, ignore_errors=True)
        for tmp in folder.glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
        if budget is None:
            (folder / CURRENT).unlink(missing_ok=True)
            return
        if chosen is not None:
            self._claimed.add((folder.name, chosen))
        self._assign(trial, budget, chosen)

    def _assign(self, trial: int, budget: Any, snapshot: str | None) -> None:
        current = {"generation": self.generation, "trial": trial, "budget": budget,
                   "snapshot": snapshot}
        self._current[trial] = current
        write_json(self.store / str(trial) / CURRENT, current)

    def record(self, trial: int, budget: Any, snapshot: str | None) -> None:
        """A result of ``trial`` at ``budget`` was recorded in the journal; ``snapshot``: the
        snapshot its worker wrote with it (None: none, the previous one still stands)."""
        folder = self.store / str(trial)
        if snapshot is None or not (folder / snapshot).is_dir():
            snapshot = (self._current.get(trial) or {}).get("snapshot")
        folder.mkdir(parents=True, exist_ok=True)
        self._assign(trial, budget, snapshot)
        self._prune(folder, snapshot)

    def _prune(self, folder: Path, keep: str | None) -> None:
        kept = parse_snapshot(keep) if keep else None
        for name in os.listdir(folder):
            parsed = parse_snapshot(name)
            if parsed is None or name == keep:
                continue
            if (folder.name, name) in self._claimed:  # kept at take-over, now superseded
                shutil.rmtree(folder / name, ignore_errors=True)
            elif parsed[1] < self.generation:  # an older generation wrote it after take-over
                self.orphan_writes += 1
                logger.warning("ignored checkpoint %s/%s written by a worker of driver "
                               "generation %d (now %d)", folder.name, name, parsed[1],
                               self.generation)
                shutil.rmtree(folder / name, ignore_errors=True)
            elif kept is not None and parsed[0] < kept[0]:  # superseded by the assigned one
                shutil.rmtree(folder / name, ignore_errors=True)

    def sweep(self) -> dict[str, int]:
        """At the end of the run: delete (and count) stale-generation writes; save the counts."""
        if self.store.is_dir():
            for folder in self.store.iterdir():
                if folder.is_dir() and folder.name.isdigit():
                    keep = (read_json(folder / CURRENT) or {}).get("snapshot")
                    self._prune(folder, keep)
        self._save(local_runtime=bool(self._runtime.get("local")),
                   runtime_pids=list(self._runtime.get("pids", [])))
        return self.stats

    def _save(self, *, local_runtime: bool, runtime_pids: Sequence[Any]) -> None:
        pids = [p if isinstance(p, list) else [p, process_start(p)] for p in runtime_pids]
        self._runtime = {"local": local_runtime, "pids": pids}
        totals = {k: int(self._previous.get("totals", {}).get(k, 0)) + v
                  for k, v in self.stats.items() if k != "generation"}
        write_json(self.root / GENERATION_FILE, {
            "generation": self.generation, "host": socket.gethostname(), "pid": os.getpid(),
            "pid_start": process_start(os.getpid()), "started": time.time(),
            "runtime": self._runtime, "stats": self.stats, "totals": totals})

    def _reap(self, previous: Mapping[str, Any], keep: set[int]) -> int:
        """Kill what is left of the previous driver's own runtime on this host."""
        runtime = previous.get("runtime") or {}
        if not runtime.get("local") or previous.get("host") != socket.gethostname():
            return 0
        driver = previous.get("pid")
        if driver == os.getpid() or (driver and process_start(driver) is not None
                                     and process_start(driver) == previous.get("pid_start")):
            return 0  # that driver is this process, or still alive: not ours to clean up
        targets = [tuple(p) for p in runtime.get("pids", []) if isinstance(p, list)]
        workers = self.root / WORKERS_DIR
        host = socket.gethostname()
        for path in sorted(workers.glob("g*/*.json")) if workers.is_dir() else []:
            entry = read_json(path) or {}
            if entry.get("host") == host and isinstance(entry.get("pid"), int):
                targets.append((entry["pid"], entry.get("start")))
        alive = [pid for pid, start in targets if pid not in keep and pid != os.getpid()
                 and start is not None and process_start(pid) == start]
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + REAP_WAIT_S
        while any(process_start(pid) is not None for pid in alive) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive:
            logger.warning("killed %d leftover process(es) of the previous driver's Ray "
                           "runtime before relaunching its trials", len(alive))
        return len(alive)
