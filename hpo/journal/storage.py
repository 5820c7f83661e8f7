"""Append-only event storage: in memory, or a JSON-lines journal on disk.

Invariants (both storages):

* Events are appended, never rewritten; their order is total and the same for every reader.
* An ``append`` is atomic per batch: one ``write(2)`` of whole lines under an exclusive lock.
* ``append(..., durable=True)`` returns only after ``fsync``: the study passes it for every
  completed, paused, stopped or failed result, so those survive a crash of the process *and* of
  the machine. Intermediate results are written (they survive a killed process) but not fsynced.
* Several processes on one machine may share a journal: every study operation runs under an
  exclusive ``flock`` and first folds in what other processes appended (:meth:`read_new`).

A journal whose last line was cut by a crash mid-write is detected on the next read: the intact
prefix is used, an :class:`~hpo.errors.HPOWarning` names the dropped bytes, and (when writable)
the torn tail is truncated away under the lock before anything new is appended.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hpo.errors import HPOWarning, StorageError
from hpo.journal.events import check_event, check_header, dumps

JOURNAL_NAME = "journal.jsonl"
CHECKPOINTS_NAME = "checkpoints"


class Storage(ABC):
    """Where a study's events live."""

    #: directory of an on-disk study (journal + checkpoints), None in memory
    directory: Path | None = None

    @abstractmethod
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Exclusive access for one read-decide-append transaction (re-entrant)."""

    @abstractmethod
    def read_new(self) -> list[dict[str, Any]]:
        """Events appended since this handle last read (by any process), in order."""

    @abstractmethod
    def append(self, events: Sequence[dict[str, Any]], *, durable: bool = False) -> None:
        """Append events (call under :meth:`lock`, after :meth:`read_new`)."""

    @property
    def checkpoint_root(self) -> Path | None:
        return self.directory / CHECKPOINTS_NAME if self.directory is not None else None


class MemoryStorage(Storage):
    """Events in a Python list: for tests, benchmarks and throw-away studies."""

    def __init__(self) -> None:
        self._events: list[dict[str, Any]] = []
        self._read = 0
        self._lock = threading.RLock()

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock:
            yield

    def read_new(self) -> list[dict[str, Any]]:
        new = self._events[self._read:]
        self._read = len(self._events)
        return new

    def append(self, events: Sequence[dict[str, Any]], *, durable: bool = False) -> None:
        with self._lock:
            if self._read != len(self._events):
                raise StorageError("append without read_new: call read_new() under lock() first")
            self._events.extend(events)
            self._read = len(self._events)

    @property
    def events(self) -> list[dict[str, Any]]:
        return list(self._events)


class JournalStorage(Storage):
    """A JSON-lines journal in ``directory/journal.jsonl`` (checkpoints beside it).

    Args:
        directory: the study directory; created if missing (unless ``read_only``).
        read_only: open for inspection only (the CLI's ``status`` / ``best``); never locks for
            writing, never repairs a torn tail.

    Raises:
        StorageError: ``read_only`` and there is no journal.
    """

    def __init__(self, directory: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.directory = Path(directory)
        self.path = self.directory / JOURNAL_NAME
        self.read_only = read_only
        if read_only:
            if not self.path.exists():
                raise StorageError(f"no study journal at {self.path}")
            self._fd = os.open(self.path, os.O_RDONLY)
        else:
            if self.directory.exists() and not self.directory.is_dir():
                raise StorageError(f"study path {self.directory} exists and is not a directory")
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
            except OSError as err:
                raise _write_error(self.path, err, opening=True) from None
        self._offset = 0
        self._lineno = 0
        self._depth = 0
        self._thread_lock = threading.RLock()

    def __repr__(self) -> str:
        return f"JournalStorage({str(self.directory)!r})"

    def close(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)
            self._fd = -1

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except OSError:
            pass

    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._thread_lock:
            if self._depth == 0 and not self.read_only:
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and not self.read_only:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)

    def read_new(self) -> list[dict[str, Any]]:
        size = os.fstat(self._fd).st_size
        if size == self._offset:
            return []
        if size < self._offset:
            raise StorageError(
                f"{self.path} shrank from {self._offset} to {size} bytes while open: another "
                "program rewrote the journal"
            )
        data = os.pread(self._fd, size - self._offset, self._offset)
        end = data.rfind(b"\n") + 1
        events = []
        for line in data[:end].split(b"\n")[:-1]:
            self._lineno += 1
            where = f"{self.path}:{self._lineno}"
            try:
                event = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                raise StorageError(
                    f"{where}: corrupt journal line {line[:80]!r} (not JSON); the study cannot be "
                    "replayed past it"
                ) from None
            if self._lineno == 1:
                events.append(check_header(event, where))
            else:
                events.append(check_event(event, where))
        if end < len(data):
            self._torn_tail(data[end:], keep=self._offset + end)
        self._offset += end
        return events

    def _torn_tail(self, tail: bytes, keep: int) -> None:
        where = f"{self.path}:{self._lineno + 1}"
        if self.read_only or self._depth == 0:
            warnings.warn(f"{where}: ignoring an incomplete last line ({len(tail)} bytes, "
                          f"{tail[:60]!r}...), probably cut by a crash", HPOWarning, stacklevel=3)
            return
        warnings.warn(f"{where}: removing an incomplete last line ({len(tail)} bytes, "
                      f"{tail[:60]!r}...) cut by a crash; the intact prefix is kept",
                      HPOWarning, stacklevel=3)
        os.ftruncate(self._fd, keep)

    def append(self, events: Sequence[dict[str, Any]], *, durable: bool = False) -> None:
        if self.read_only:
            raise StorageError(f"{self.path} is open read-only")
        if self._depth == 0:
            raise StorageError("append outside lock(): wrap read_new() and append() in lock()")
        if os.fstat(self._fd).st_size != self._offset:
            raise StorageError("append without read_new: another process appended meanwhile")
        data = b"".join(encode_events(events))
        try:
            written = os.write(self._fd, data)
            while written < len(data):  # pragma: no cover - regular files write fully
                written += os.write(self._fd, data[written:])
            if durable:
                os.fsync(self._fd)
        except OSError as err:
            try:  # nothing half-recorded: cut what this append managed to write
                os.ftruncate(self._fd, self._offset)
            except OSError:  # pragma: no cover - the torn tail is dropped on the next read
                pass
            raise _write_error(self.path, err) from None
        self._offset += len(data)
        self._lineno += len(events)


def encode_events(events: Sequence[dict[str, Any]]) -> list[bytes]:
    """Each event as one strict-JSON journal line (StorageError if one cannot be encoded)."""
    try:
        return [dumps(e) for e in events]
    except (TypeError, ValueError) as err:
        raise StorageError(f"cannot record an event as strict JSON ({err}): "
                           f"{events!r:.200}") from None


def _write_error(path: Path, err: OSError, *, opening: bool = False) -> StorageError:
    """A StorageError for a failed write, with the likely cause and the way out."""
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = ("the study directory is read-only or not yours; to inspect the study use "
                "Study.open(path, read_only=True) or the hpo status / best / trials commands")
    elif err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = "the disk (or quota, or file size limit) is full; free space, then reopen"
    else:
        hint = "check the path and its file system"
    what = "cannot open the journal" if opening else "cannot write to the journal"
    return StorageError(f"{what} {path}: {err.strerror or err} (errno {err.errno}); {hint}")
